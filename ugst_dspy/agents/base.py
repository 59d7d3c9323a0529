"""The agent interface: given the conversation and the user's latest message, answer (using tools)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ugst_dspy.conversation import ToolCall, Turn


@dataclass
class AgentReply:
    """The agent's side of a turn: its message, the tool calls it made, and whether it ended the conversation."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    stop: bool = False


class Environment(Protocol):
    """What an agent needs of an environment (see :class:`ugst_dspy.envs.base.ToolEnvironment`)."""

    policy: str
    schemas: list[dict[str, Any]]
    done: bool

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> str: ...


class Agent(Protocol):
    """An agent under test. ``respond`` sees the turns so far and the user's new message."""

    name: str

    def respond(self, turns: Sequence[Turn], user_message: str, env: Environment) -> AgentReply: ...


def run_tool(env: Environment, name: str, arguments: Any, call_id: str | None = None) -> ToolCall:
    """Call a tool on the environment; arguments that are not a JSON object become an error result."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as err:
            return ToolCall(id=call_id, name=name, arguments=arguments, result=f"Error: arguments are not JSON ({err.msg})")
    if not isinstance(arguments, dict):
        return ToolCall(id=call_id, name=name, arguments=str(arguments), result="Error: arguments must be a JSON object")
    return ToolCall(id=call_id, name=name, arguments=arguments, result=env.call(name, arguments))


def tool_catalogue(schemas: Sequence[dict[str, Any]]) -> str:
    """Tools on one line each: ``name(arg: type*, ...) - description`` (``*`` marks required arguments)."""
    lines = []
    for schema in schemas:
        function = schema.get("function", schema)
        params = function.get("parameters", {}) or {}
        required = set(params.get("required", []))
        args = ", ".join(
            f"{name}: {spec.get('type', 'any')}{'*' if name in required else ''}"
            for name, spec in (params.get("properties") or {}).items()
        )
        lines.append(f"{function['name']}({args}) - {' '.join(function.get('description', '').split())}")
    return "\n".join(lines)
