"""JSON Lines reading with precise errors.

Every record is parsed and validated; a bad one (not UTF-8, not JSON, not an object, not of the schema)
raises :class:`RecordError`, whose message names the file, the line and the field in one line. Writing
lives in :mod:`ugst_dspy.files.appender`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError, validation_problem
from ugst_dspy.schemas import SchemaError, validate


class RecordError(UgstError, ValueError):
    """A malformed record: ``str(err)`` is ``FILE:LINE: field 'F': what is wrong``."""

    def __init__(self, path: str | Path, line: int, field: str, message: str, unit: str = "line") -> None:
        if not line:
            where = str(path)
        elif unit == "line":
            where = f"{path}:{line}"
        else:
            where = f"{path}: {unit} {line}"
        text = f"{where}: field '{field}': {message}" if field else f"{where}: {message}"
        super().__init__(text)
        self.path, self.line, self.field, self.message = str(path), line, field, message


def read_jsonl(
    path: str | Path,
    kind: str | None = None,
    convert: Callable[[dict[str, Any]], Any] | None = None,
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    unique: tuple[str, Callable[[Any], str]] | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, record)`` for each non-blank line, validated against schema ``kind``.

    ``prepare`` maps a raw dict before validation (to accept a foreign layout); ``convert`` turns the
    validated dict into an object, and a ``ValueError`` it raises becomes a :class:`RecordError`. A kind with
    a model (conversations, decompositions) is validated by reading it: pass its reader (``from_json``) as
    ``convert`` and no ``kind``, so each record is validated once.
    ``unique=(field, key)`` refuses a second record with the same ``key(record)``, naming ``field``.
    """
    seen: set[str] = set()
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as err:
        raise RecordError(path, 0, "", err.strerror or str(err)) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            line = decode_line(raw, path, number)
            if not line.strip():
                continue
            record = parse_record(line, path, number, kind, convert, prepare)
            if unique is not None:
                field, key = unique
                value = key(record)
                if value in seen:
                    raise RecordError(path, number, field, f"duplicate {field} {value!r}")
                seen.add(value)
            yield number, record


def decode_line(raw: bytes, path: str | Path, number: int) -> str:
    """One line as text; bytes that are not UTF-8 are a :class:`RecordError` naming the line and column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RecordError(path, number, "", f"not UTF-8 text (byte 0x{raw[err.start]:02x} at column {err.start + 1})") from None


def decode_text(raw: bytes, path: str | Path, what: str = "file") -> str:
    """A whole file's bytes as text; bytes that are not UTF-8 are a :class:`RecordError` naming the line and
    column, and saying that a ``what`` is UTF-8 (``"a config file is UTF-8 TOML"``)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        start = raw.rfind(b"\n", 0, err.start) + 1
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - start + 1
        raise RecordError(path, line, "", f"not UTF-8 text (byte 0x{raw[err.start]:02x} at column {column}); "
                          f"{what}") from None


def unfinished_tail(path: str | Path, chunk: int = 1 << 16) -> tuple[int, bytes]:
    """Where the bytes after the last newline of ``path`` start, and those bytes (``b""`` when it ends in one)."""
    with Path(path).open("rb") as handle:
        end = handle.seek(0, 2)
        position, tail = end, b""
        while position > 0:
            step = min(chunk, position)
            position -= step
            handle.seek(position)
            block = handle.read(step)
            newline = block.rfind(b"\n")
            if newline >= 0:
                return position + newline + 1, block[newline + 1 :] + tail
            tail = block + tail
        return 0, tail


def parse_record(
    line: str,
    path: str | Path,
    number: int,
    kind: str | None = None,
    convert: Callable[[dict[str, Any]], Any] | None = None,
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Any:
    """Parse and check one line; errors name the file and line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise RecordError(path, number, "", f"not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(record, dict):
        raise RecordError(path, number, "", f"a record must be a JSON object, got {type(record).__name__}")
    if prepare is not None:
        record = prepare(record)
    if kind is not None:
        try:
            validate(kind, record)
        except SchemaError as err:
            raise RecordError(path, number, err.field, err.message) from None
    if convert is None:
        return record
    try:
        return convert(record)
    except ValueError as err:  # pydantic's ValidationError and FieldError are ValueErrors
        problem = validation_problem(err, record)
        raise RecordError(path, number, problem.field, problem.message) from None


def dump_line(record: dict[str, Any]) -> str:
    """One record as one JSON line (UTF-8 text kept as is, no newline inside)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
