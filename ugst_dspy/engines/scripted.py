"""A scripted engine: a Python function plays the model. For tests, demos and dry runs with no model at all.

The function receives a :class:`ScriptedCall` (the system text, the chat messages and the JSON schema the
adapter asked for, if any) and returns the answer text, or a dict that is sent as JSON. Calls are recorded,
and usage is counted in whitespace-separated words so accounting code has numbers to sum.
"""

from __future__ import annotations

import itertools
import json
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_names = itertools.count()


@dataclass(frozen=True)
class ScriptedCall:
    """What the scripted model was asked."""

    system: str
    messages: tuple[dict[str, str], ...]
    schema: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        """System text and every message, joined (handy for ``in`` checks)."""
        return "\n".join([self.system, *(m["content"] for m in self.messages)])

    @property
    def last_user(self) -> str:
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")

    def field(self, name: str) -> str | None:
        """The value of an input field ``[[ ## name ## ]]`` in the last user message, if present."""
        text = self.last_user
        marker = f"[[ ## {name} ## ]]\n"
        start = text.find(marker)
        if start < 0:
            return None
        start += len(marker)
        end = text.find("\n\n[[ ## ", start)
        if end < 0:
            end = text.find("\n\nRespond with", start)
        return text[start:] if end < 0 else text[start:end]


Responder = Callable[[ScriptedCall], "str | dict[str, Any]"]


class ScriptedEngine:
    """A DSPy engine whose answers come from a function (see the module docstring)."""

    supports_response_schema = True
    supported_params = frozenset({"temperature", "max_tokens", "top_p", "response_format", "seed"})

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.calls: list[ScriptedCall] = []
        self._lock = threading.Lock()

    def complete(self, request: Any) -> Any:
        from dspy.lm15 import Message, Response, TextPart, Usage

        system = request.system if isinstance(request.system, str) or request.system is None else "".join(
            part.text for part in request.system
        )
        messages = tuple({"role": m.role, "content": m.text or ""} for m in request.messages)
        config = request.config
        response_format = getattr(config, "response_format", None) or {}
        schema = response_format.get("schema") if isinstance(response_format, dict) else None
        if schema is None and isinstance(response_format, dict) and "json_schema" in response_format:
            schema = response_format["json_schema"].get("schema")
        call = ScriptedCall(system or "", messages, schema, {"temperature": getattr(config, "temperature", None)})
        with self._lock:
            self.calls.append(call)
        answer = self.respond(call)
        text = answer if isinstance(answer, str) else json.dumps(answer)
        words_in = len(call.prompt.split())
        return Response(
            id=None,
            model="scripted",
            message=Message.assistant([TextPart(text)]),
            finish_reason="stop",
            usage=Usage(input_tokens=words_in, output_tokens=len(text.split()), total_tokens=words_in + len(text.split())),
        )

    def stream(self, request: Any) -> Any:
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass


def scripted_lm(respond: Responder, name: str | None = None) -> Any:
    """A ``dspy.LM`` answered by ``respond``; returns the LM (its engine is ``lm.engine``)."""
    import dspy

    engine = ScriptedEngine(respond)
    return dspy.LM(f"local/scripted-{name or next(_names)}", engine=engine, cache=False)


def load_responder(target: str) -> Responder:
    """The function named ``package.module:function`` (a ``scripted:`` model spec)."""
    import importlib

    from ugst_dspy.errors import UgstError

    module_name, _, function_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise UgstError(f"scripted model {target!r}: cannot import {module_name!r} ({err})") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise UgstError(f"scripted model {target!r}: {module_name} has no function {function_name!r}")
    return function


CHECKSUM_VERDICTS = {
    "user_profile": ("ALIGNED", "MISALIGNED"),
    "user_policy": ("ALIGNED", "MISALIGNED"),
    "task_objective": ("COMPLETE", "INCOMPLETE"),
    "requirement": ("ATTEMPTED", "INCOMPLETE"),
    "preference": ("ALIGNED", "MISALIGNED"),
}


def latest_user_message(conversation: str) -> str:
    """The last ``User:`` message of a judge transcript (see :func:`ugst_dspy.transcript.read_transcript`)."""
    from ugst_dspy.transcript import latest_user_message as latest

    return latest(conversation).strip()


def checksum_judge(call: ScriptedCall) -> dict[str, Any]:
    """A scripted batched tracker (``scripted:ugst_dspy.engines.scripted:checksum_judge``).

    The verdict of every open sub-component is a bit of a checksum of the latest user message (kept to what
    the rules allow next), so different replies get different rewards (GRPO needs the spread) and the same
    message always gets the same verdicts. For tests and benchmarks of training without a real judge.
    """
    bits = zlib.crc32(latest_user_message(call.field("conversation") or "").encode())
    verdicts = []
    for line in (call.field("open_sub_components") or "").splitlines():
        key, category = [part.strip() for part in line.split("|")][:2]
        shift = list(CHECKSUM_VERDICTS).index(category)
        status = CHECKSUM_VERDICTS[category][(bits >> shift) & 1]
        if status not in line.split("|")[3]:  # keep to what the rules allow next
            status = line.split("|")[2].split()[-1]
        verdicts.append({"id": key, "reason": "scripted", "status": status})
    return {"verdicts": verdicts}
