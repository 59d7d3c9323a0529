"""JSON Schemas of the goal state and of the records in goal, decomposition and conversation files.

The schemas of the goal state, decompositions and conversations are generated from their models (a field
declared there is in the schema), with each category allowed only its statuses under the SPEC's rule set; a
goal's is its two fields (any other field of a goal record is the user's own). :func:`validate` checks a
record of a kind with a model by reading it with the model, once (so what ``ugst schema`` prints and what the
reader accepts agree, which a test checks on many mutated records); a goal by its schema. Errors name the
offending field as a path such as ``turns[2].state.task_objectives[0].status``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from ugst_dspy.errors import FieldError, UgstError, field_path
from ugst_dspy.rules import DEFAULT_RULES
from ugst_dspy.state import Category, GoalState, read_model

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _item(body: dict[str, Any], category: Category, children: dict[str, Any] | None = None) -> dict[str, Any]:
    """A sub-component's generated schema ``body`` with the statuses of ``category`` (and its ``children``)."""
    body = {key: copy.deepcopy(value) for key, value in body.items() if key not in ("title", "description")}
    body["properties"]["status"] = {"enum": [s.value for s in DEFAULT_RULES.statuses(category)]}
    for name, child in (children or {}).items():
        body["properties"][name] = {**body["properties"][name], "items": child}
    return body


def _goal_state_body() -> dict[str, Any]:
    """The schema of :class:`~ugst_dspy.state.GoalState`, generated from the model, with each category's item
    allowed only its statuses under the SPEC's rule set (the model allows every status everywhere)."""
    generated = GoalState.model_json_schema()
    defs = generated["$defs"]
    plain = defs["SubComponent"]
    objective = _item(defs["TaskObjective"], Category.TASK_OBJECTIVE, {
        "requirements": _item(plain, Category.REQUIREMENT),
        "preferences": _item(plain, Category.PREFERENCE),
    })
    body = {key: copy.deepcopy(value) for key, value in generated.items() if key not in ("$defs", "title", "description")}
    for name, item in (("user_profile", _item(plain, Category.USER_PROFILE)),
                       ("user_policy", _item(plain, Category.USER_POLICY)), ("task_objectives", objective)):
        body["properties"][name] = {**body["properties"][name], "items": item}
    body["required"] = list(GoalState.WRITTEN)
    return body


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


#: the models' own goal state and its parts, replaced in a generated schema by the rule set's (``goal_state``)
_STATE_DEFS = ("GoalState", "Status", "SubComponent", "TaskObjective", "Category")


def _retarget(node: Any) -> Any:
    """``node`` with every reference to the models' goal state pointed at the rule set's (``goal_state``)."""
    if isinstance(node, dict):
        return {key: ("#/$defs/goal_state" if key == "$ref" and value == "#/$defs/GoalState" else _retarget(value))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_retarget(item) for item in node]
    return node


def _written(node: Any) -> None:
    """Each object schema of a model with ``WRITTEN`` keys requires them (what a written record always has)."""
    from ugst_dspy.conversation import Conversation, ToolCall, Turn
    from ugst_dspy.files.decompositions import Decomposition

    required = {model.__name__: list(model.WRITTEN) for model in (Conversation, Turn, ToolCall, Decomposition)}
    for name, body in node.get("$defs", {}).items():
        if name in required:
            body["required"] = required[name]
    if node.get("title") in required:
        node["required"] = required[node["title"]]


def _generated(model: Any, title: str) -> dict[str, Any]:
    """The JSON Schema of a record model (so a field declared there is in the schema), with the keys every
    written record has required and the goal state of the rule set (each category's own statuses) in place of
    the models' looser one."""
    generated = model.model_json_schema()
    _written(generated)
    defs = {name: body for name, body in generated.pop("$defs", {}).items() if name not in _STATE_DEFS}
    body = {key: value for key, value in generated.items() if key not in ("title", "description")}
    return _document(title, _retarget(body), {**_retarget(defs), "goal_state": _goal_state_body()})


def decomposition_schema() -> dict[str, Any]:
    """A decomposed goal (what ``ugst decompose`` writes, and the form of gold decompositions), generated from
    :class:`~ugst_dspy.files.decompositions.Decomposition`."""
    from ugst_dspy.files.decompositions import Decomposition

    return _generated(Decomposition, "UGST decomposition")


def conversation_schema() -> dict[str, Any]:
    """A conversation record (SPEC section 3), generated from :class:`~ugst_dspy.conversation.Conversation` and
    the models it holds (its ``meta`` is :class:`~ugst_dspy.run_meta.RunMeta`)."""
    from ugst_dspy.conversation import Conversation

    return _generated(Conversation, "UGST conversation")


SCHEMAS = {
    "goal-state": goal_state_schema,
    "goal": goal_schema,
    "decomposition": decomposition_schema,
    "conversation": conversation_schema,
}


SchemaError = FieldError
"""A record that does not match its schema (``field`` is the path of the offending value)."""


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


def _read_goal_state(record: Any) -> Any:
    state = read_model(GoalState, record)
    DEFAULT_RULES.refuse_statuses(state, "")
    return state


def model_reader(kind: str) -> Callable[[Any], Any] | None:
    """The function that reads (and so validates, once) a record of a kind that has a model; ``None`` for a kind
    checked by its JSON Schema alone (goals: any field beside ``id`` and ``instruction`` is the user's)."""
    if kind == "conversation":
        from ugst_dspy.conversation import Conversation

        return Conversation.from_json
    if kind == "decomposition":
        from ugst_dspy.files.decompositions import Decomposition

        return Decomposition.from_json
    if kind == "goal-state":
        return _read_goal_state
    return None


def validate(kind: str, record: Any) -> None:
    """Raise :class:`SchemaError` naming the first offending field when ``record`` is not a valid ``kind``.

    A kind with a model is read by it (one validation: the model, then each status against the rule set); the
    schemas :func:`get_schema` prints are generated from the same models, so both accept the same records."""
    reader = model_reader(kind)
    if reader is not None:
        reader(record)
        return
    from jsonschema.exceptions import best_match

    error = best_match(_validator(kind).iter_errors(record))
    if error is None:
        return
    path = field_path(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        raise SchemaError(field_path([*error.absolute_path, missing]), "required field is missing")
    raise SchemaError(path, error.message)
