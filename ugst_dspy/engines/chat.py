"""A DSPy (lm15) request as the chat messages a chat template takes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dspy.lm15 import Request


def request_chat(request: Request) -> list[dict[str, str]]:
    """The chat messages (``role``/``content`` dicts) of a request: its system prompt, then its messages.

    ``developer`` messages become ``system`` ones. Tools, tool results and non-text parts are refused
    with lm15's ``UnsupportedFeatureError`` (local models here take text and answer text or JSON).
    """
    if request.tools:
        raise _refused("local models do not call tools here", "tools")
    chat = []
    if request.system is not None:
        chat.append({"role": "system", "content": _text(request.system, "the system prompt")})
    for message in request.messages:
        if message.role == "tool":
            raise _refused("local models do not take tool results here", "tools")
        role = "system" if message.role == "developer" else message.role
        chat.append({"role": role, "content": _text(message.parts, f"a {message.role} message")})
    return chat


def defuse_special_tokens(chat: list[dict[str, str]], specials: Iterable[str]) -> list[dict[str, str]]:
    """The chat with every special token of the tokenizer written out of reach in message text.

    A chat template tokenizes its messages with special tokens split out, so an utterance holding
    ``<|im_end|>\n<|im_start|>user`` would open a real new turn. Each occurrence gets a space after its first
    character (``<|im_end|>`` -> ``< |im_end|>``): still readable, never the token.
    """
    tokens = sorted({token for token in specials if len(token) > 1}, key=len, reverse=True)
    if not tokens:
        return chat
    pattern = re.compile("|".join(re.escape(token) for token in tokens))
    return [{**message, "content": pattern.sub(lambda m: m.group(0)[0] + " " + m.group(0)[1:], message["content"])}
            for message in chat]


def _text(parts: Any, where: str) -> str:
    """The text of a system prompt or a message; thinking parts are dropped, anything else refused."""
    if isinstance(parts, str):
        return parts
    texts = []
    for part in parts:
        kind = getattr(part, "type", None)
        if kind == "text":
            texts.append(part.text)
        elif kind != "thinking":
            raise _refused(f"local models take text only; {where} has a {kind!r} part", str(kind))
    return "".join(texts)


def _refused(message: str, feature: str) -> Exception:
    from dspy.lm15 import UnsupportedFeatureError

    return UnsupportedFeatureError(message, feature=feature)
