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


def bound_schema(
    schema: dict[str, Any],
    max_string: int,
    max_items: int,
    max_digits: int | None = None,
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
    _bound(out, max_string, max_items, max_digits)
    return out


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


def _bound(node: Any, max_string: int, max_items: int, max_digits: int | None) -> None:
    if not isinstance(node, dict):
        return
    fixed = "enum" in node or "const" in node  # a fixed value needs no bound
    types = set() if fixed else _types(node)
    free_text = "pattern" not in node and "format" not in node  # with maxLength, outlines-core drops them
    if "string" in types and free_text and "maxLength" not in node:
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
