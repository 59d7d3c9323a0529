"""Import conversations kept as OpenAI-style message lists (the format of τ-bench's published trajectories).

A trajectory file is a JSON list (or JSON Lines) of records
``{"task_id", "trial", "reward", "info": {"task": {"user_id", "instruction", "actions", "outputs"}},
"traj": [messages]}``. ``traj`` holds ``system``, ``user``, ``assistant`` (text and/or ``tool_calls``) and
``tool`` messages. Each user message opens a turn; the agent messages and tool results that follow it, up
to the next user message, fold into that turn's ``agent`` text and ``tool_calls``.

How a conversation ended is read off the messages: a user message holding τ-bench's ``###STOP###`` (or the
paper's ``Terminate.``) is a user stop; a call of ``transfer_to_human_agents`` is an agent stop; anything
else is taken as the step limit (``max_turns``).

Records are checked as they are read: a field of the wrong type (``traj`` not a list, a message not an
object, ``content`` neither text nor content parts, ``tool_calls`` not a list of calls, ``info`` not an
object, ...) raises a :class:`RecordError` naming the file, the record and the field, e.g.
``t.json: record 2: field 'traj[3].tool_calls[0].function.name': must be a string``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ugst_dspy.conversation import Conversation, EndedBy, ToolCall, Turn
from ugst_dspy.files.jsonl import RecordError, decode_text
from ugst_dspy.run_meta import RunMeta

STOP_MARKERS = ("###STOP###", "Terminate.")
TRANSFER_TOOLS = ("transfer_to_human_agents",)


def load_trajectory_records(path: str | Path) -> tuple[str, list[tuple[int, Any]]]:
    """``(unit, [(position, record)])`` from a JSON list (unit ``record``) or JSON Lines (unit ``line``)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise RecordError(path, 0, "", err.strerror or str(err)) from None
    text = decode_text(raw, path, "a trajectory file is UTF-8 JSON")
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


def _bad(field: str, problem: str) -> ValueError:
    """The error :func:`read_trajectories` turns into a :class:`RecordError` naming ``field``."""
    return ValueError(f"{field}: {problem}")


def _text(content: Any, field: str = "content") -> str:
    """A message's text: a string, OpenAI content parts (``[{"type": "text", "text": ...}]``) or null."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(field, f"must be a string, a list of content parts or null, not {_kind(content)}")
    texts = []
    for number, part in enumerate(content):
        if not isinstance(part, dict):
            raise _bad(f"{field}[{number}]", f"a content part must be an object, not {_kind(part)}")
        text = part.get("text", "")
        if not isinstance(text, str):
            raise _bad(f"{field}[{number}].text", f"must be a string, not {_kind(text)}")
        texts.append(text)
    return "".join(texts)


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    for kind, name in ((bool, "a boolean"), (str, "a string"), (int, "a number"), (float, "a number"),
                       (list, "a list"), (dict, "an object")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _optional(value: Any, kinds: tuple[type, ...], field: str, what: str) -> Any:
    """``value`` when it is ``None`` or of ``kinds`` (never a boolean for numbers), else a field error."""
    if value is None or (isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)):
        return value
    raise _bad(field, f"must be {what}, not {_kind(value)}")


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


def _result(content: Any, field: str) -> Any:
    text = _text(content, field)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text


def _tool_calls(message: dict[str, Any], where: str) -> list[ToolCall]:
    """The calls of an assistant message (``tool_calls``: OpenAI's ``{"id", "function": {"name",
    "arguments"}}``, or the flat ``{"id", "name", "arguments"}``)."""
    calls = message.get("tool_calls")
    if calls is None:
        return []
    if not isinstance(calls, list):
        raise _bad(f"{where}.tool_calls", f"must be a list of tool calls, not {_kind(calls)}")
    parsed = []
    for number, call in enumerate(calls):
        field = f"{where}.tool_calls[{number}]"
        if not isinstance(call, dict):
            raise _bad(field, f"a tool call must be an object, not {_kind(call)}")
        function = call.get("function", call)
        inner = f"{field}.function" if "function" in call else field
        if not isinstance(function, dict):
            raise _bad(inner, f"must be an object, not {_kind(function)}")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            problem = "required field is missing" if name is None else f"must be a tool name, not {_kind(name)}"
            raise _bad(f"{inner}.name", problem)
        arguments = _optional(function.get("arguments"), (dict, str), f"{inner}.arguments",
                              "an object or a JSON string")
        call_id = _optional(call.get("id"), (str,), f"{field}.id", "a string")
        parsed.append(ToolCall(id=call_id, name=name, arguments=_arguments(arguments)))
    return parsed


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
        where = f"traj[{index}]"
        if not isinstance(message, dict):
            raise _bad(where, f"a message must be an object, not {_kind(message)}")
        if "role" not in message:
            raise _bad(f"{where}.role", "required field is missing")
        role = message["role"]
        if not isinstance(role, str):
            raise _bad(f"{where}.role", f"must be a string, not {_kind(role)}")
        if role not in ("system", "user", "assistant", "tool"):
            raise _bad(f"{where}.role", f"unknown role {role!r} (use system, user, assistant or tool)")
        content = _text(message.get("content"), f"{where}.content")
        if role == "system":
            system = content
            continue
        if role == "user":
            turns.append(Turn(user=content, agent="", tool_calls=[], state=None))
            pending = {}
            continue
        calls = _tool_calls(message, where) if role == "assistant" else []
        if not turns:
            if role == "assistant" and content:
                preamble.append(content)
            continue
        turn = turns[-1]
        if role == "assistant":
            said = content.strip()
            if said:
                turn.agent = f"{turn.agent}\n{said}" if turn.agent else said
            for tool_call in calls:
                turn.tool_calls.append(tool_call)
                if tool_call.id:
                    pending[tool_call.id] = tool_call
        else:
            call_id = _optional(message.get("tool_call_id"), (str,), f"{where}.tool_call_id", "a string")
            name = _optional(message.get("name"), (str,), f"{where}.name", "a string")
            target = pending.pop(call_id, None) if call_id else None
            if target is None:  # no id: the oldest call of this turn still without a result
                target = next((c for c in turn.tool_calls if c.result is None), None)
            if target is None:
                target = ToolCall(name=name or "unknown", arguments={})
                turn.tool_calls.append(target)
            target.result = _result(message.get("content"), f"{where}.content")
    return turns, preamble, system


def _ended_by(turns: list[Turn]) -> EndedBy:
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
        raise ValueError(f"a trajectory record must be a JSON object, not {_kind(record)}")
    for field in ("task_id", "traj"):
        if field not in record:
            raise _bad(field, "required field is missing")
    task_id = _optional(record["task_id"], (str, int), "task_id", "a string or a whole number")
    if task_id is None or task_id == "":
        raise _bad("task_id", f"must be a string or a whole number, not {'null' if task_id is None else 'empty'}")
    _optional(record.get("trial"), (int,), "trial", "a whole number")
    _optional(record.get("reward"), (int, float), "reward", "a number")
    info = _optional(record.get("info"), (dict,), "info", "an object") or {}
    task = _optional(info.get("task"), (dict,), "info.task", "an object") or {}
    instruction = task.get("instruction")
    if instruction is None or instruction == "":
        raise _bad("info.task.instruction", "required field is missing")
    if not isinstance(instruction, str):
        raise _bad("info.task.instruction", f"must be a string, not {_kind(instruction)}")
    _optional(task.get("user_id"), (str,), "info.task.user_id", "a string")
    for key in ("actions", "outputs"):
        _optional(task.get(key), (list,), f"info.task.{key}", "a list")
    if not isinstance(record["traj"], list):
        raise _bad("traj", f"must be a list of messages, not {_kind(record['traj'])}")
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
        ended_by=_ended_by(turns),
        meta=RunMeta.model_validate(meta),
    )


def read_trajectories(path: str | Path, goal_prefix: str = "") -> list[Conversation]:
    """Every trajectory of a file as a conversation; a malformed one names the record and field."""
    conversations = []
    unit, records = load_trajectory_records(path)
    for position, record in records:
        try:
            conversations.append(trajectory_to_conversation(record, goal_prefix))
        except ValueError as err:
            field, found, message = str(err).partition(": ")
            if not found:
                field, message = "", str(err)
            raise RecordError(path, position, field, message, unit) from None
    return conversations
