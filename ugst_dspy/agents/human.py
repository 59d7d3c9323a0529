"""A person at the terminal plays the agent: they read the user's message and type the reply.

A line ``/tool NAME {"json": "arguments"}`` calls a tool and shows its result; ``/tools`` lists the
tools; ``/end`` ends the conversation; any other line is the reply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from ugst_dspy.agents.base import AgentReply, Environment, run_tool, tool_catalogue
from ugst_dspy.conversation import Turn


class HumanAgent:
    """Reads the agent's side of each turn from ``read`` (``input`` by default) and shows with ``show``."""

    name = "human"

    def __init__(self, read: Callable[[str], str] = input, show: Callable[[str], None] = print) -> None:
        self.read, self.show = read, show

    def respond(self, turns: Sequence[Turn], user_message: str, env: Environment) -> AgentReply:
        self.show(f"\nUSER: {user_message}")
        calls = []
        while True:
            line = self.read("AGENT> ").strip()
            if line == "/tools":
                self.show(tool_catalogue(env.schemas))
            elif line.startswith("/tool "):
                name, _, arguments = line[len("/tool ") :].strip().partition(" ")
                call = run_tool(env, name, arguments or "{}", f"call_{len(calls) + 1}")
                calls.append(call)
                shown = call.result if isinstance(call.result, str) else json.dumps(call.result)
                self.show(f"[{name}] {shown}")
                if env.done:
                    return AgentReply("", calls, stop=True)
            elif line == "/end":
                return AgentReply("", calls, stop=True)
            elif line:
                return AgentReply(line, calls)
