"""JSON Schemas of the goal state and of the records in goal, decomposition and conversation files.

Every record read or written by :mod:`ugst_dspy.files` is validated here. Errors name the offending field
as a path such as ``turns[2].state.task_objectives[0].status``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from ugst_dspy.errors import UgstError
from ugst_dspy.rules import DEFAULT_RULES
from ugst_dspy.state import Category

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ENDED_BY = ("user_stop", "max_turns", "agent_stop", "error")


def _item(category: Category, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "text": {"type": "string", "minLength": 1},
        "status": {"enum": [s.value for s in DEFAULT_RULES.statuses(category)]},
        "reason": {"type": ["string", "null"]},
    }
    props.update(extra or {})
    return {
        "type": "object",
        "properties": props,
        "required": ["text", "status"],
        "additionalProperties": False,
    }


def _goal_state_body() -> dict[str, Any]:
    def listed(schema: dict[str, Any]) -> dict[str, Any]:
        return {"type": "array", "items": schema}

    objective = _item(
        Category.TASK_OBJECTIVE,
        {
            "requirements": listed(_item(Category.REQUIREMENT)),
            "preferences": listed(_item(Category.PREFERENCE)),
        },
    )
    return {
        "type": "object",
        "properties": {
            "user_profile": listed(_item(Category.USER_PROFILE)),
            "user_policy": listed(_item(Category.USER_POLICY)),
            "task_objectives": listed(objective),
        },
        "required": ["user_profile", "user_policy", "task_objectives"],
        "additionalProperties": False,
    }


def _document(title: str, body: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = {"$schema": DRAFT, "title": title, **body}
    if defs:
        doc["$defs"] = defs
    return doc


def goal_state_schema() -> dict[str, Any]:
    """The goal state (SPEC section 1): statuses per category, a judge reason on every item."""
    return _document("UGST goal state", _goal_state_body())


def goal_schema() -> dict[str, Any]:
    """A goal record: an id and an instruction; any other field is carried through untouched."""
    return _document(
        "UGST goal",
        {
            "type": "object",
            "properties": {"id": {"type": "string", "minLength": 1}, "instruction": {"type": "string", "minLength": 1}},
            "required": ["id", "instruction"],
        },
    )


def decomposition_schema() -> dict[str, Any]:
    """A decomposed goal (what ``ugst decompose`` writes, and the form of gold decompositions)."""
    return _document(
        "UGST decomposition",
        {
            "type": "object",
            "properties": {
                "goal_id": {"type": "string", "minLength": 1},
                "instruction": {"type": "string"},
                "state": {"$ref": "#/$defs/goal_state"},
            },
            "required": ["goal_id", "state"],
        },
        {"goal_state": _goal_state_body()},
    )


def conversation_schema() -> dict[str, Any]:
    """A conversation record (SPEC section 3)."""
    maybe_state = {"anyOf": [{"$ref": "#/$defs/goal_state"}, {"type": "null"}]}
    tool_call = {
        "type": "object",
        "properties": {
            "id": {"type": ["string", "null"]},
            "name": {"type": "string", "minLength": 1},
            "arguments": {"type": ["object", "string"]},
            "result": {},
        },
        "required": ["name", "arguments"],
    }
    turn = {
        "type": "object",
        "properties": {
            "user": {"type": "string"},
            "agent": {"type": "string"},
            "tool_calls": {"type": "array", "items": tool_call},
            "state": maybe_state,
            "illegal_updates": {"type": "array"},
        },
        "required": ["user", "agent", "tool_calls", "state"],
    }
    return _document(
        "UGST conversation",
        {
            "type": "object",
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "goal_id": {"type": "string", "minLength": 1},
                "instruction": {"type": "string"},
                "initial_state": maybe_state,
                "turns": {"type": "array", "items": turn},
                "ended_by": {"enum": list(ENDED_BY)},
                "meta": {"type": "object"},
            },
            "required": ["goal_id", "instruction", "initial_state", "turns", "ended_by", "meta"],
        },
        {"goal_state": _goal_state_body()},
    )


SCHEMAS = {
    "goal-state": goal_state_schema,
    "goal": goal_schema,
    "decomposition": decomposition_schema,
    "conversation": conversation_schema,
}


class SchemaError(UgstError, ValueError):
    """A record that does not match its schema. ``field`` is the path of the offending value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field '{field}': {message}" if field else message)
        self.field = field
        self.message = message


def get_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a record kind (``goal-state``, ``goal``, ``decomposition``, ``conversation``)."""
    try:
        return SCHEMAS[kind]()
    except KeyError:
        raise UgstError(f"unknown schema {kind!r} (known: {', '.join(SCHEMAS)})") from None


@functools.cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = get_schema(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def field_path(parts: Iterable[Any]) -> str:
    """``["turns", 2, "state"]`` -> ``turns[2].state``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(kind: str, record: Any) -> None:
    """Raise :class:`SchemaError` naming the first offending field when ``record`` does not match."""
    from jsonschema.exceptions import best_match

    validator = _validator(kind)
    error = best_match(validator.iter_errors(record))
    if error is None:
        return
    # anyOf(state, null) reports "not valid under any of the given schemas": dig for the real cause.
    while error.context:
        error = best_match(error.context)
    path = field_path(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        path = field_path([*error.absolute_path, missing])
        raise SchemaError(path, "required field is missing")
    raise SchemaError(path, error.message)
