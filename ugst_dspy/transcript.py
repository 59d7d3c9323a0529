"""How a conversation is written into prompts: numbered turns for judges, the user's own view for simulators.

The judge transcript is append-only: turn i is written the same way in every later prompt, so a server's
prefix cache reuses it. Tool calls are summarised on one line each and long results are cut.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ugst_dspy.conversation import ToolCall, Turn

TOOL_RESULT_CHARS = 300
NOT_STARTED = "(The conversation has not started yet: you speak first.)"


def _compact(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def tool_line(call: ToolCall, limit: int = TOOL_RESULT_CHARS) -> str:
    """``name(args) -> result``, cut to ``limit`` characters per part."""
    return f"{call.name}({_compact(call.arguments, limit)}) -> {_compact(call.result, limit)}"


def judge_transcript(turns: Sequence[Turn], tools: bool = True, limit: int = TOOL_RESULT_CHARS) -> str:
    """The conversation as a judge reads it: ``Turn 1`` with ``User:``, the agent's tool calls and ``Agent:``."""
    blocks = []
    for number, turn in enumerate(turns, start=1):
        lines = [f"Turn {number}", f"User: {turn.user}"]
        if tools:
            lines += [f"Agent tool call: {tool_line(call, limit)}" for call in turn.tool_calls]
        lines.append(f"Agent: {turn.agent}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) if blocks else "(no turns yet)"


def user_view(turns: Sequence[Turn]) -> str:
    """The conversation as the simulated user saw it (no tool calls): ``You:`` and ``Agent:`` lines."""
    if not turns:
        return NOT_STARTED
    return "\n".join(f"You: {turn.user}\nAgent: {turn.agent}" for turn in turns)


def turn_budget(turn_number: int, max_turns: int) -> str:
    """What the simulator is told about the length limit before it writes turn ``turn_number``."""
    left = max_turns - turn_number
    if left <= 0:
        return f"This is turn {turn_number} of at most {max_turns}: it is your last message."
    return f"This is turn {turn_number} of at most {max_turns}; {left} more after this one."
