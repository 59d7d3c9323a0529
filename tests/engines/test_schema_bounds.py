"""bound_schema: every string and array gets a bound, nothing else changes, the result stays valid."""

from __future__ import annotations

import copy
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from ugst_dspy.engines import bound_schema


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every sub-schema (dict) in a schema, depth first."""
    found = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found


def _kinds(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    return {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()


def test_strings_and_arrays_get_bounds_everywhere() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "either": {"oneOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "boolean"}]},
            "both": {"allOf": [{"type": "string"}]},
            "nullable": {"type": ["string", "null"]},
            "mapping": {"type": "object", "additionalProperties": {"type": "string"}},
            "tuple": {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "string"}},
        },
    }
    out = bound_schema(schema, max_string=30, max_items=4)
    props = out["properties"]
    assert props["name"]["maxLength"] == 30
    assert props["tags"]["maxItems"] == 4 and props["tags"]["items"]["maxLength"] == 30
    assert props["maybe"]["anyOf"][0]["maxLength"] == 30 and "maxLength" not in props["maybe"]["anyOf"][1]
    assert props["either"]["oneOf"][0]["maxItems"] == 4
    assert props["both"]["allOf"][0]["maxLength"] == 30
    assert props["nullable"]["maxLength"] == 30
    assert props["mapping"]["additionalProperties"]["maxLength"] == 30
    assert props["tuple"]["prefixItems"][0]["maxLength"] == 30 and props["tuple"]["maxItems"] == 4
    Draft202012Validator.check_schema(out)


def test_input_is_not_modified_and_existing_bounds_are_kept() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "maxLength": 3},
            "b": {"type": "array", "maxItems": 9, "items": {"type": "string"}},
        },
    }
    before = copy.deepcopy(schema)
    out = bound_schema(schema, max_string=50, max_items=2)
    assert schema == before
    assert out["properties"]["a"]["maxLength"] == 3
    assert out["properties"]["b"]["maxItems"] == 9
    assert out["properties"]["b"]["items"]["maxLength"] == 50


def test_never_below_the_schema_minimum() -> None:
    out = bound_schema({"type": "array", "minItems": 5, "items": {"type": "string", "minLength": 80}}, 10, 2)
    assert out["maxItems"] == 5 and out["items"]["maxLength"] == 80


def test_enum_const_pattern_and_format_strings_are_left_alone() -> None:
    # outlines-core drops a pattern or format when maxLength is added, and an enum needs no bound.
    schema = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ALIGNED", "MISALIGNED"]},
            "fixed": {"const": "x"},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "day": {"type": "string", "format": "date"},
        },
    }
    out = bound_schema(schema, 4, 2)
    for name in ("status", "fixed", "code", "day"):
        assert "maxLength" not in out["properties"][name], name


def test_integers_get_digit_bounds_only_when_asked() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "big": {"type": "integer", "maximum": 10**12},
            "x": {"type": "number"},
        },
    }
    assert "maxDigits" not in bound_schema(schema, 5, 5)["properties"]["n"]
    out = bound_schema(schema, 5, 5, max_digits=4)["properties"]
    assert out["n"]["maxDigits"] == 4
    assert out["big"]["maxDigits"] == 13  # never excludes values the schema allows by its maximum
    assert "maxDigits" not in out["x"]


class _Objective(BaseModel):
    text: str
    requirements: list[str]
    status: Literal["INCOMPLETE", "ATTEMPTED", "COMPLETE"]


class _Decomposition(BaseModel):
    user_profile: list[str]
    task_objectives: list[_Objective]
    note: str | None = None


def test_pydantic_schema_with_defs_and_refs() -> None:
    schema = _Decomposition.model_json_schema()
    assert "$defs" in schema  # the nested model is a $ref, as DSPy's JSONAdapter sends it
    out = bound_schema(schema, 20, 3)
    objective = out["$defs"]["_Objective"]
    assert objective["properties"]["text"]["maxLength"] == 20
    assert objective["properties"]["requirements"]["maxItems"] == 3
    assert objective["properties"]["requirements"]["items"]["maxLength"] == 20
    assert "maxLength" not in objective["properties"]["status"]
    assert out["properties"]["task_objectives"]["maxItems"] == 3
    assert out["properties"]["note"]["anyOf"][0]["maxLength"] == 20
    validator = Draft202012Validator(out)
    validator.validate(
        {"user_profile": ["a"], "task_objectives": [{"text": "t", "requirements": ["r"], "status": "COMPLETE"}]}
    )
    assert not validator.is_valid({"user_profile": ["x" * 21], "task_objectives": []})
    assert not validator.is_valid({"user_profile": ["a", "b", "c", "d"], "task_objectives": []})


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        bound_schema({"type": "string"}, 0, 3)
    with pytest.raises(ValueError):
        bound_schema({"type": "string"}, 3, 3, max_digits=0)


_leaf = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": ["string", "null"]},
        {"enum": ["A", "B"]},
    ]
)


def _grow(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        children.map(lambda c: {"type": "array", "items": c}),
        st.dictionaries(st.sampled_from("abcd"), children, min_size=1, max_size=3).map(
            lambda p: {"type": "object", "properties": p}
        ),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: {"anyOf": xs}),
        children.map(lambda c: {"$defs": {"d": c}, "$ref": "#/$defs/d"}),
    )


@settings(max_examples=150, deadline=None)
@given(st.recursive(_leaf, _grow, max_leaves=12), st.integers(1, 50), st.integers(1, 6))
def test_every_string_and_array_is_bounded(schema: dict[str, Any], max_string: int, max_items: int) -> None:
    out = bound_schema(schema, max_string, max_items, string_budget=None)
    Draft202012Validator.check_schema(out)
    for node in _walk(out):
        kinds = _kinds(node)
        if "string" in kinds and "enum" not in node:
            assert node["maxLength"] == max_string
        if "array" in kinds:
            assert node["maxItems"] == max_items


def test_strings_share_a_budget_of_character_states() -> None:
    from ugst_dspy.engines.schema_bounds import bound_schema

    verdicts = {
        "type": "object",
        "properties": {"verdicts": {"type": "array", "items": {"$ref": "#/$defs/V"}}},
        "$defs": {"V": {"type": "object", "properties": {"id": {"type": "string", "pattern": "^[0-9]+$"},
                                                          "reason": {"type": "string"}}}},
    }
    # 8 items x 1 free string = 8 slots; 8 x 300 > 1200, so each gets 1200 // 8 = 150 characters
    bounded = bound_schema(verdicts, 300, 8, string_budget=1200)
    assert bounded["$defs"]["V"]["properties"]["reason"]["maxLength"] == 150
    assert "maxLength" not in bounded["$defs"]["V"]["properties"]["id"]  # patterned strings are left alone
    nested = {"type": "array", "items": {"type": "object", "properties": {
        "text": {"type": "string"}, "subs": {"type": "array", "items": {"type": "string"}}}}}
    # 8 x (1 + 8) = 72 slots: 1200 // 72 = 16 < 32, so the strings stay unbounded loops
    loose = bound_schema(nested, 300, 8, string_budget=1200)
    assert "maxLength" not in loose["items"]["properties"]["text"] and loose["maxItems"] == 8
    assert bound_schema(nested, 300, 8, string_budget=None)["items"]["properties"]["text"]["maxLength"] == 300
