"""The one exception type for bad input, the error of a bad record field, and the one line every command
prints for an error."""

from collections.abc import Iterable
from typing import Any


class UgstError(Exception):
    """Bad input (a file, a record, a flag or a model spec). ``str(err)`` is a complete one-line reason."""


def one_line(err: BaseException | str) -> str:
    """An error's reason on one line: an OS error as ``FILE: reason``, any whitespace run as one space."""
    if isinstance(err, OSError) and err.filename:
        text = f"{err.filename}: {err.strerror}"
    else:
        text = str(err)
    return " ".join(text.split())


def error_line(err: BaseException | str, hint: str = "") -> str:
    """What a command prints for an error: ``ugst: error: REASON`` (with ``hint`` after it)."""
    return f"ugst: error: {one_line(err)}{hint}"


class FieldError(UgstError, ValueError):
    """A record that is not what it should be. ``field`` is the path of the offending value, such as
    ``turns[2].state.task_objectives[0].status`` (``""``: the record as a whole)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field '{field}': {message}" if field else message)
        self.field = field
        self.message = message


def field_path(parts: Iterable[Any]) -> str:
    """``["turns", 2, "state"]`` -> ``turns[2].state``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


MISSING_IN_FILE = "missing_in_file"
"""The error type of a key a record read from a file lacks (a key its model may leave to a default in code)."""
MISSING = frozenset({"missing", MISSING_IN_FILE})


def validation_problem(err: ValueError, record: Any = None) -> FieldError:
    """The first problem of a validation error as a :class:`FieldError` (a ``FieldError`` as it is).

    For a pydantic error the path is walked in ``record``, so the names pydantic gives the branches of a union
    (``dict[str,any]``) are left out, and the branches' complaints about one value are joined with "or"."""
    if isinstance(err, FieldError):
        return err
    errors = getattr(err, "errors", None)
    found = errors() if callable(errors) else None
    if not found:
        return FieldError("", str(err))
    first = found[0]
    loc = list(first.get("loc", ()))
    if first.get("type") in MISSING:
        named = (first.get("ctx") or {}).get("field")
        path = [*_data_path(loc, record), named] if named else [*_data_path(loc[:-1], record), *loc[-1:]]
        return FieldError(field_path(path), "required field is missing")
    path = _data_path(loc, record)
    said = [str(e.get("msg", "")) for e in found if _data_path(list(e.get("loc", ())), record) == path]
    value = first.get("input")
    shown = f" (got {value!r})" if value is None or isinstance(value, (str, int, float, bool)) else ""
    return FieldError(field_path(path), " or ".join(dict.fromkeys(said)) + shown)


def _data_path(loc: list[Any], record: Any) -> list[Any]:
    """The parts of a pydantic error location that are keys or indexes of ``record`` (the names of union
    branches are not); without the record, every part."""
    if record is None:
        return loc
    path: list[Any] = []
    node = record
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)):
            node = node[part]
            path.append(part)
    return path
