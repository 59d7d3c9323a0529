"""Import conversations kept as OpenAI-style message lists (the format of τ-bench's published trajectories).

A trajectory file is a JSON list (or JSON Lines) of records
``{"task_id", "trial", "reward", "info": {"task": {"user_id", "instruction", "actions", "outputs"}},
"traj": [messages]}``. ``traj`` holds ``system``, ``user``, ``assistant`` (text and/or ``tool_calls``) and
``tool`` messages. Each user message opens a turn; the agent messages and tool results that follow it, up
to the next user message, fold into that turn's ``agent`` text and ``tool_calls``.

How a conversation ended is read off the messages: a user message holding τ-bench's ``###STOP###`` (or the
paper's ``Terminate.``) is a user stop; a call of ``transfer_to_human_agents`` is an agent stop; anything
else is taken as the step limit (``max_turns``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ugst_dspy.conversation import Conversation, ToolCall, Turn
from ugst_dspy.files.jsonl import RecordError

STOP_MARKERS = ("###STOP###", "Terminate.")
TRANSFER_TOOLS = ("transfer_to_human_agents",)


def load_trajectory_records(path: str | Path) -> tuple[str, list[tuple[int, Any]]]:
    """``(unit, [(position, record)])`` from a JSON list (unit ``record``) or JSON Lines (unit ``line``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise RecordError(path, 0, "", err.strerror or str(err)) from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise RecordError(path, err.lineno, "", f"not valid JSON ({err.msg})") from None
        if not isinstance(data, list):
            raise RecordError(path, 0, "", "a trajectory file is a JSON list of records")
        return "record", [(i, record) for i, record in enumerate(data, start=1)]
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                records.append((number, json.loads(line)))
            except json.JSONDecodeError as err:
                raise RecordError(path, number, "", f"not valid JSON ({err.msg})") from None
    return "line", records


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _arguments(raw: Any) -> dict[str, Any] | str:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            return raw
        return parsed if isinstance(parsed, dict) else raw
    return {}


def _result(content: Any) -> Any:
    text = _text(content)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text


def messages_to_turns(messages: list[dict[str, Any]]) -> tuple[list[Turn], list[str], str | None]:
    """Fold a message list into turns; returns ``(turns, agent_preamble, system_prompt)``.

    ``agent_preamble`` holds agent text sent before the first user message (the SPEC has the user speak
    first, so it is kept aside in ``meta``).
    """
    turns: list[Turn] = []
    preamble: list[str] = []
    system: str | None = None
    pending: dict[str, ToolCall] = {}
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message:
            raise ValueError(f"traj[{index}]: a message needs a role")
        role = message["role"]
        if role == "system":
            system = _text(message.get("content"))
            continue
        if role == "user":
            turns.append(Turn(user=_text(message.get("content")), agent="", tool_calls=[], state=None))
            pending = {}
            continue
        if role not in ("assistant", "tool"):
            raise ValueError(f"traj[{index}].role: unknown role {role!r}")
        if not turns:
            if role == "assistant" and _text(message.get("content")):
                preamble.append(_text(message.get("content")))
            continue
        turn = turns[-1]
        if role == "assistant":
            said = _text(message.get("content")).strip()
            if said:
                turn.agent = f"{turn.agent}\n{said}" if turn.agent else said
            for call in message.get("tool_calls") or []:
                function = call.get("function", call)
                tool_call = ToolCall(
                    id=call.get("id"),
                    name=function.get("name", ""),
                    arguments=_arguments(function.get("arguments")),
                )
                turn.tool_calls.append(tool_call)
                if tool_call.id:
                    pending[tool_call.id] = tool_call
        else:
            call_id = message.get("tool_call_id")
            target = pending.pop(call_id, None) if call_id else None
            if target is None:  # no id: the oldest call of this turn still without a result
                target = next((c for c in turn.tool_calls if c.result is None), None)
            if target is None:
                target = ToolCall(name=message.get("name") or "unknown", arguments={})
                turn.tool_calls.append(target)
            target.result = _result(message.get("content"))
    return turns, preamble, system


def _ended_by(turns: list[Turn]) -> str:
    if not turns:
        return "max_turns"
    last = turns[-1]
    if any(marker in last.user for marker in STOP_MARKERS):
        return "user_stop"
    if any(call.name in TRANSFER_TOOLS for call in last.tool_calls):
        return "agent_stop"
    return "max_turns"


def trajectory_to_conversation(record: dict[str, Any], goal_prefix: str = "") -> Conversation:
    """One trajectory record as a conversation (untracked: every state is ``None``)."""
    if not isinstance(record, dict):
        raise ValueError("a trajectory record must be a JSON object")
    for field in ("task_id", "traj"):
        if field not in record:
            raise ValueError(f"{field}: required field is missing")
    task = (record.get("info") or {}).get("task") or {}
    instruction = task.get("instruction")
    if not isinstance(instruction, str) or not instruction:
        raise ValueError("info.task.instruction: required field is missing")
    if not isinstance(record["traj"], list):
        raise ValueError("traj: must be a list of messages")
    turns, preamble, system = messages_to_turns(record["traj"])
    goal_id = f"{goal_prefix}{record['task_id']}"
    trial = record.get("trial")
    meta: dict[str, Any] = {
        "source": "tau-bench-trajectory",
        "tau_bench": {
            "task_id": record["task_id"],
            "trial": trial,
            "reward": record.get("reward"),
            "user_id": task.get("user_id"),
            "actions": task.get("actions", []),
            "outputs": task.get("outputs", []),
        },
    }
    if preamble:
        meta["agent_preamble"] = preamble
    if system is not None:
        meta["agent_system_chars"] = len(system)
    return Conversation(
        id=goal_id if trial is None else f"{goal_id}#{trial}",
        goal_id=goal_id,
        instruction=instruction,
        initial_state=None,
        turns=turns,
        ended_by=_ended_by(turns),  # type: ignore[arg-type]
        meta=meta,
    )


def read_trajectories(path: str | Path, goal_prefix: str = "") -> list[Conversation]:
    """Every trajectory of a file as a conversation; a malformed one names the record and field."""
    conversations = []
    unit, records = load_trajectory_records(path)
    for position, record in records:
        try:
            conversations.append(trajectory_to_conversation(record, goal_prefix))
        except ValueError as err:
            field, _, message = str(err).partition(": ")
            raise RecordError(path, position, field, message or str(err), unit) from None
    return conversations
