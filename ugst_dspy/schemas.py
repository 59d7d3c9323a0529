"""JSON Schemas of the goal state and of the records in goal, decomposition and conversation files.

Every record read or written by :mod:`ugst_dspy.files` is validated here. Errors name the offending field
as a path such as ``turns[2].state.task_objectives[0].status``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from ugst_dspy.errors import UgstError
from ugst_dspy.rules import DEFAULT_RULES
from ugst_dspy.state import Category

DRAFT = "https://json-schema.org/draft/2020-12/schema"


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


#: what a written conversation record always has (SPEC section 3), beyond what the models require to load one
CONVERSATION_REQUIRED = {
    "Conversation": ["goal_id", "instruction", "initial_state", "turns", "ended_by", "meta"],
    "Turn": ["user", "agent", "tool_calls", "state"],
    "ToolCall": ["name", "arguments"],
}
_STATE_DEFS = ("GoalState", "Status", "SubComponent", "TaskObjective", "Category")


def _retarget(node: Any) -> Any:
    """``node`` with every reference to the models' goal state pointed at the rule set's (``goal_state``)."""
    if isinstance(node, dict):
        return {key: ("#/$defs/goal_state" if key == "$ref" and value == "#/$defs/GoalState" else _retarget(value))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_retarget(item) for item in node]
    return node


def conversation_schema() -> dict[str, Any]:
    """A conversation record (SPEC section 3), generated from :class:`~ugst_dspy.conversation.Conversation` and
    the models it holds (so a field declared there is in the schema), with the SPEC's required keys and the
    goal state of the rule set (each category's own statuses) in place of the models' looser one."""
    from ugst_dspy.conversation import Conversation

    generated = Conversation.model_json_schema()
    defs = {name: body for name, body in generated.pop("$defs", {}).items() if name not in _STATE_DEFS}
    body = {key: value for key, value in generated.items() if key not in ("title", "description")}
    for name, required in CONVERSATION_REQUIRED.items():
        (body if name == "Conversation" else defs[name])["required"] = list(required)
    return _document("UGST conversation", _retarget(body), {**_retarget(defs), "goal_state": _goal_state_body()})


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


# -- a fast path for valid records ----------------------------------------------------------------
# jsonschema walks a conversation of 10 turns in ~4 ms (its generic error machinery runs even when nothing
# is wrong), which made reading 1,000 conversations take seconds. The schemas above are compiled once into
# plain Python predicates that only *accept*: when one says a record is fine, it is (every keyword is
# checked as strictly as jsonschema does, or more strictly); anything else goes to jsonschema, which gives
# the one-line error exactly as before. A schema using a keyword the compiler does not know gets no fast
# path at all.

Check = Callable[[Any], bool]
_ANNOTATIONS = frozenset({"$schema", "$defs", "$comment", "title", "description", "default", "examples"})
_TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "null": lambda x: x is None,
    "boolean": lambda x: isinstance(x, bool),
    "integer": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
}


class _Unsupported(Exception):
    """The schema uses a keyword the fast path does not compile."""


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    return lambda x: all(check(x) for check in checks)


def _compile(schema: Any, root: dict[str, Any], refs: dict[str, list[Check]]) -> Check:
    """A predicate that is true only for instances the schema accepts (see above)."""
    if schema is True or schema == {}:
        return lambda x: True
    if not isinstance(schema, dict):
        raise _Unsupported(repr(schema))
    unknown = set(schema) - _ANNOTATIONS - {
        "type", "enum", "minLength", "properties", "required", "additionalProperties", "items", "anyOf", "$ref"
    }
    if unknown:
        raise _Unsupported(", ".join(sorted(unknown)))
    checks: list[Check] = []
    if "type" in schema:
        names = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
        if not all(name in _TYPES for name in names):
            raise _Unsupported(f"type {names}")
        tests = [_TYPES[name] for name in names]
        checks.append(tests[0] if len(tests) == 1 else (lambda x: any(test(x) for test in tests)))
    if "enum" in schema:
        if not all(isinstance(value, str) for value in schema["enum"]):
            raise _Unsupported("enum of non-strings")
        allowed = frozenset(schema["enum"])
        checks.append(lambda x: isinstance(x, str) and x in allowed)
    if "minLength" in schema:
        least = int(schema["minLength"])
        checks.append(lambda x: not isinstance(x, str) or len(x) >= least)
    if "properties" in schema:
        props = [(name, _compile(sub, root, refs)) for name, sub in schema["properties"].items()]
        checks.append(lambda x: not isinstance(x, dict) or all(name not in x or test(x[name]) for name, test in props))
    if "required" in schema:
        needed = tuple(schema["required"])
        checks.append(lambda x: not isinstance(x, dict) or all(name in x for name in needed))
    if "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        known = frozenset(schema.get("properties", {}))
        if extra is False:
            checks.append(lambda x: not isinstance(x, dict) or all(key in known for key in x))
        elif not (extra is True or extra == {}):
            other = _compile(extra, root, refs)
            checks.append(lambda x: not isinstance(x, dict) or all(k in known or other(v) for k, v in x.items()))
    if "items" in schema:
        each = _compile(schema["items"], root, refs)
        checks.append(lambda x: not isinstance(x, list) or all(each(item) for item in x))
    if "anyOf" in schema:
        options = [_compile(sub, root, refs) for sub in schema["anyOf"]]
        checks.append(lambda x: any(option(x) for option in options))
    if "$ref" in schema:
        checks.append(_reference(schema["$ref"], root, refs))
    return _all(checks)


def _reference(ref: str, root: dict[str, Any], refs: dict[str, list[Check]]) -> Check:
    prefix = "#/$defs/"
    if not ref.startswith(prefix) or ref[len(prefix):] not in root.get("$defs", {}):
        raise _Unsupported(f"$ref {ref}")
    if ref not in refs:
        cell: list[Check] = []
        refs[ref] = cell  # set before compiling, so a recursive reference finds it
        cell.append(_compile(root["$defs"][ref[len(prefix):]], root, refs))
    cell = refs[ref]
    return lambda x: cell[0](x)


@functools.cache
def _fast_check(kind: str) -> Check | None:
    """The accept-only predicate of a record kind, or ``None`` when its schema cannot be compiled."""
    schema = get_schema(kind)
    try:
        return _compile(schema, schema, {})
    except _Unsupported:
        return None


def validate(kind: str, record: Any) -> None:
    """Raise :class:`SchemaError` naming the first offending field when ``record`` does not match (a
    conversation of a newer format than this package reads is refused by its ``format`` first)."""
    if kind == "conversation":
        from ugst_dspy.conversation import newer_format

        problem = newer_format(record)
        if problem is not None:
            raise SchemaError("format", problem)
    validator = _validator(kind)
    fast = _fast_check(kind)
    if fast is not None and fast(record):
        return
    from jsonschema.exceptions import best_match

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
