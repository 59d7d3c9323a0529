"""Bound a JSON Schema so that constrained generation always ends.

Outlines turns a schema into a regular language. An unbounded string (``"[^"]*"``), array or integer lets
a weak or randomly initialised model ramble until ``max_new_tokens``, and the JSON is cut off: the output
is then only a valid *prefix*. :func:`bound_schema` returns a copy in which every such value has a bound,
so every path through the grammar is short enough to finish.

Pitfalls of outlines-core 0.2 that this module works around:

- ``maxLength`` on a string that also has ``pattern`` or ``format`` makes outlines-core drop the pattern
  (the output is then any short string): such strings are left as they are.
- ``minLength > maxLength`` (and ``minItems > maxItems``) raises or builds an empty language: a bound never
  goes below the schema's own minimum.
- ``minimum``/``maximum`` do not bound an integer's digits; outlines-core's own ``maxDigits`` keyword does
  (JSON Schema validators ignore it). Numbers are left alone: outlines-core's ``maxDigitsInteger`` also
  forbids one-digit integer parts, and the exponent stays unbounded anyway.
- ``maxProperties`` is ignored: an open mapping (``additionalProperties`` with a schema) stays unbounded.

Outlines' index holds, for every state of the grammar, the tokens allowed there, and a string with
``maxLength: N`` is N states that allow almost the whole vocabulary each. Strings nested in arrays of
arrays multiply (a decomposition bounded at 400 characters and 12 items took over 20 GB). So strings share
a *budget* of character states: each string slot counts once per item its enclosing arrays may hold, and
when ``slots x max_string`` exceeds ``string_budget`` every string gets ``string_budget // slots``
characters, or, below ``min_string``, stays unbounded (a loop of constant size that a real model closes on
its own; only random weights ramble there).

The bounded schema is only *stricter* than the original: whatever validates against it validates against
the original too.
"""

from __future__ import annotations

import copy
import math
from typing import Any

# Keywords whose value is one sub-schema, a list of sub-schemas, or a mapping of name -> sub-schema.
_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
)
_LIST = ("anyOf", "oneOf", "allOf", "prefixItems", "items")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


DEFAULT_STRING_BUDGET = 1200
MIN_STRING = 32


def bound_schema(
    schema: dict[str, Any],
    max_string: int,
    max_items: int,
    max_digits: int | None = None,
    string_budget: int | None = DEFAULT_STRING_BUDGET,
    min_string: int = MIN_STRING,
) -> dict[str, Any]:
    """A deep copy of ``schema`` where every string has a ``maxLength`` and every array a ``maxItems``.

    Walks ``properties``, ``items``, ``prefixItems``, ``anyOf``/``oneOf``/``allOf``, ``$defs``,
    ``additionalProperties`` and the other sub-schema keywords, so pydantic schemas (``$defs`` + ``$ref``,
    as DSPy's JSONAdapter sends them) are bounded where their definitions live. Existing bounds are kept.
    With ``max_digits``, integers get outlines-core's ``maxDigits`` as well (never fewer digits than their
    ``minimum``/``maximum`` need). The input is not modified.
    """
    if max_string < 1 or max_items < 1:
        raise ValueError("max_string and max_items must be at least 1")
    if max_digits is not None and max_digits < 1:
        raise ValueError("max_digits must be at least 1 (or None)")
    out = copy.deepcopy(schema)
    _bound(out, None, max_items, max_digits)
    limit: int | None = max_string
    if string_budget is not None:
        slots = _string_slots(out, out, 1, 0)
        if slots * max_string > string_budget:
            share = string_budget // max(slots, 1)
            limit = share if share >= min_string else None
    if limit is not None:
        _bound(out, limit, max_items, None)
    return out


def _open_string(node: dict[str, Any]) -> bool:
    """A free-text string without a length bound yet."""
    fixed = "enum" in node or "const" in node
    return not fixed and "string" in _types(node) and "pattern" not in node and "format" not in node and (
        "maxLength" not in node
    )


def _string_slots(node: Any, root: dict[str, Any], weight: int, depth: int) -> int:
    """Unbounded string slots under ``node``, each counted once per item its enclosing arrays may hold."""
    if not isinstance(node, dict) or depth > 32:
        return 0
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _string_slots(target, root, weight, depth + 1)
    total = weight if _open_string(node) else 0
    inner = weight * int(node.get("maxItems", 1)) if "array" in _types(node) or "items" in node else weight
    for key in ("items", "additionalProperties", "prefixItems"):
        sub = node.get(key)
        for one in sub if isinstance(sub, list) else [sub]:
            total += _string_slots(one, root, inner, depth + 1)
    for key in ("anyOf", "oneOf"):
        options = [_string_slots(one, root, weight, depth + 1) for one in node.get(key, []) or []]
        total += max(options, default=0)
    for one in node.get("allOf", []) or []:
        total += _string_slots(one, root, weight, depth + 1)
    for one in (node.get("properties") or {}).values():
        total += _string_slots(one, root, weight, depth + 1)
    return total


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {k for k in kind if isinstance(k, str)}
    return set()


def _digits(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0
    return len(str(int(abs(value))))


def _bound(node: Any, max_string: int | None, max_items: int, max_digits: int | None) -> None:
    if not isinstance(node, dict):
        return
    fixed = "enum" in node or "const" in node  # a fixed value needs no bound
    types = set() if fixed else _types(node)
    free_text = "pattern" not in node and "format" not in node  # with maxLength, outlines-core drops them
    if max_string is not None and "string" in types and free_text and "maxLength" not in node:
        node["maxLength"] = max(max_string, int(node.get("minLength", 0)))
    listed = "array" in types or (not fixed and not types and ("items" in node or "prefixItems" in node))
    if listed and "maxItems" not in node and not _closed_tuple(node):
        node["maxItems"] = max(max_items, int(node.get("minItems", 0)))
    if max_digits is not None and "integer" in types and "number" not in types and "maxDigits" not in node:
        node["maxDigits"] = max(max_digits, _digits(node.get("minimum")), _digits(node.get("maximum")))
    for key in _ONE:
        if isinstance(node.get(key), dict):
            _bound(node[key], max_string, max_items, max_digits)
    for key in _LIST:
        if isinstance(node.get(key), list):
            for sub in node[key]:
                _bound(sub, max_string, max_items, max_digits)
    for key in _MAP:
        if isinstance(node.get(key), dict):
            for sub in node[key].values():
                _bound(sub, max_string, max_items, max_digits)


def _closed_tuple(node: dict[str, Any]) -> bool:
    """A tuple (``prefixItems`` with ``items: false``) is already bounded by its prefix."""
    return isinstance(node.get("prefixItems"), list) and node.get("items") is False
