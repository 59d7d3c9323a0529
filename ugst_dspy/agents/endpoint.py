"""Any OpenAI-compatible chat endpoint as the agent under test, with native tool calls.

The policy is the system message, the conversation the chat history; when the endpoint answers with tool
calls, they run on the environment and their results go back as ``tool`` messages, up to ``max_steps``
per turn. Spec: ``endpoint:MODEL@URL`` (``URL`` like ``http://127.0.0.1:8000/v1``); the API key comes from
``$UGST_AGENT_API_KEY`` or ``$OPENAI_API_KEY`` (``none`` when unset, as local servers expect).

A request waits at most ``timeout`` seconds at each step (connect, send, each read) and is retried
``max_retries`` times by the OpenAI client, with exponential backoff (0.5 s doubling to at most 8 s,
jittered), on timeouts, broken connections, 408/409/429 and 5xx; then :meth:`EndpointAgent.respond` raises.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any

from ugst_dspy.agents.base import AgentReply, Environment, run_tool
from ugst_dspy.conversation import Turn
from ugst_dspy.errors import UgstError

_SPEC = re.compile(r"^endpoint:(?P<model>[^@\s]+)@(?P<url>https?://\S+)$")


def history_messages(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """Earlier turns as chat messages, tool calls and results included."""
    messages: list[dict[str, Any]] = []
    for turn in turns:
        messages.append({"role": "user", "content": turn.user})
        if turn.tool_calls:
            ids = [call.id or f"call_{i}" for i, call in enumerate(turn.tool_calls)]
            messages.append({
                "role": "assistant", "content": None,
                "tool_calls": [
                    {"id": ident, "type": "function", "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
                    for ident, call in zip(ids, turn.tool_calls)
                ],
            })
            for ident, call in zip(ids, turn.tool_calls):
                result = call.result if isinstance(call.result, str) else json.dumps(call.result)
                messages.append({"role": "tool", "tool_call_id": ident, "content": result})
        messages.append({"role": "assistant", "content": turn.agent})
    return messages


class EndpointAgent:
    """An agent behind an OpenAI-compatible ``/chat/completions`` endpoint."""

    name = "endpoint"

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, max_steps: int = 5,
                 temperature: float = 0.0, timeout: float = 120.0, max_retries: int = 3) -> None:
        self.base_url, self.model = base_url.rstrip("/"), model
        self.api_key = api_key or os.environ.get("UGST_AGENT_API_KEY") or os.environ.get("OPENAI_API_KEY") or "none"
        self.max_steps, self.temperature = max_steps, temperature
        self.timeout, self.max_retries = timeout, max_retries
        self._client: Any = None

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> EndpointAgent:
        match = _SPEC.match(spec.strip())
        if match is None:
            raise UgstError(f"bad agent spec {spec!r}: an endpoint agent is endpoint:MODEL@http://HOST:PORT/v1")
        return cls(match.group("url"), match.group("model"), **kwargs)

    def client(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout,
                                  max_retries=self.max_retries)
        return self._client

    def respond(self, turns: Sequence[Turn], user_message: str, env: Environment) -> AgentReply:
        messages = [{"role": "system", "content": env.policy}, *history_messages(turns),
                    {"role": "user", "content": user_message}]
        calls = []
        for step in range(self.max_steps + 1):
            allow_tools = step < self.max_steps
            try:
                completion = self.client().chat.completions.create(
                    model=self.model, messages=messages, temperature=self.temperature,
                    **({"tools": env.schemas} if allow_tools else {}),
                )
            except Exception as err:  # connection refused, HTTP errors after the client's retries
                raise UgstError(f"agent endpoint {self.base_url} failed: {type(err).__name__}: {err}") from None
            message = completion.choices[0].message
            if not allow_tools or not message.tool_calls:
                return AgentReply(message.content or "", calls, stop=env.done)
            messages.append(message.model_dump(exclude_none=True))
            for tool_call in message.tool_calls:
                call = run_tool(env, tool_call.function.name, tool_call.function.arguments, tool_call.id)
                calls.append(call)
                result = call.result if isinstance(call.result, str) else json.dumps(call.result)
                messages.append({"role": "tool", "tool_call_id": tool_call.id, "content": result})
            if env.done:
                return AgentReply("", calls, stop=True)
        raise AssertionError("unreachable")  # pragma: no cover
