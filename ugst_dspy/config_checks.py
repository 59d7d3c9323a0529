"""Checking the fields of a settings dataclass by type and range, with the key named in one line.

The type of each field comes from its annotation (``int``, ``float``, ``str``, ``bool``, ``X | None``),
so a field added to the dataclass is type-checked with no more code; a table ``{field: (test, what)}``
adds ranges and choices. ``bool`` is not an ``int`` here (TOML's ``true`` is no token count), and an
``int`` is a fine ``float``. A failure reads ``roles.tracker.temperature must be a number, got 'hot'``.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Union

from ugst_dspy.errors import UgstError

#: ``field -> (test, what a good value is)``; ``what`` may be a function (e.g. listing what is known)
Checks = Mapping[str, tuple[Callable[[Any], bool], "str | Callable[[], str]"]]

_KINDS: dict[Any, tuple[Callable[[Any], bool], str]] = {
    bool: (lambda v: isinstance(v, bool), "true or false"),
    int: (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    float: (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    str: (lambda v: isinstance(v, str), "a string"),
}


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """The resolved annotation of every field of ``cls``."""
    return typing.get_type_hints(cls)


def type_problem(hint: Any, value: Any) -> str | None:
    """What ``value`` should be when it does not fit ``hint``, else ``None`` (unknown hints always fit)."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else (hint,)
    optional = type(None) in options
    if value is None and optional:
        return None
    kinds = [_KINDS[kind] for kind in options if kind in _KINDS]
    if len(kinds) < len(options) - optional:
        return None  # a type this module does not know: its owner checks it
    if any(test(value) for test, _ in kinds):
        return None
    what = " or ".join(name for _, name in kinds)
    return f"{what} (or unset)" if optional else what


def check_fields(cls: type, values: Mapping[str, Any], checks: Checks, prefix: str = "") -> None:
    """Check ``values`` (field name -> value) against the fields of ``cls`` and ``checks``; names not
    fields of ``cls`` are left to the caller. Raises :class:`UgstError` naming ``prefix + field``."""
    hints = field_types(cls)
    for name, value in values.items():
        if name not in hints:
            continue
        expected = type_problem(hints[name], value)
        if expected is None and value is not None and name in checks:
            test, what = checks[name]
            if not test(value):
                expected = what() if callable(what) else what
        if expected is not None:
            raise UgstError(f"{prefix}{name} must be {expected}, got {value!r}")
