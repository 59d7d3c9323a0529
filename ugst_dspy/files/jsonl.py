"""JSON Lines reading with precise errors, and an append-only, resumable writer.

Reading: every record is parsed and validated; a bad one raises :class:`RecordError`, whose message names
the file, the line and the field in one line.

Writing: :class:`JsonlAppender` appends one whole record per ``write`` (a single ``write`` system call on a
file opened for appending), so a killed run leaves every finished record intact and at most a torn last
line, which the next run drops before appending. ``done`` holds the keys already in the file, so a rerun
skips them.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError
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
    validated dict into an object, and a ``ValueError`` it raises becomes a :class:`RecordError`.
    ``unique=(field, key)`` refuses a second record with the same ``key(record)``, naming ``field``.
    """
    seen: set[str] = set()
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as err:
        raise RecordError(path, 0, "", err.strerror or str(err)) from None
    with handle:
        for number, line in enumerate(handle, start=1):
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
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        field, message = _first_problem(err)
        raise RecordError(path, number, field, message) from None


def _first_problem(err: ValueError) -> tuple[str, str]:
    errors = getattr(err, "errors", None)
    if callable(errors):
        from ugst_dspy.schemas import field_path

        first = errors()[0]
        return field_path(first.get("loc", ())), str(first.get("msg", err))
    return "", str(err)


def dump_line(record: dict[str, Any]) -> str:
    """One record as one JSON line (UTF-8 text kept as is, no newline inside)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


class JsonlAppender:
    """Append-only writer of validated records with resume support. Thread-safe.

    >>> with JsonlAppender("out.jsonl", "conversation", key=lambda r: r.get("id") or r["goal_id"]) as out:
    ...     if "g1" not in out.done:
    ...         out.write(record)
    """

    def __init__(
        self,
        path: str | Path,
        kind: str | None,
        key: Callable[[dict[str, Any]], str],
        *,
        fsync: bool = True,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        self.key = key
        self.fsync = fsync
        self.done: set[str] = set()
        self._fd: int | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> JsonlAppender:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Drop a torn last line, read the keys already written, and open for appending."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._drop_torn_tail()
            for _, record in read_jsonl(self.path, self.kind, unique=("id", self.key)):
                self.done.add(self.key(record))
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _drop_torn_tail(self) -> None:
        with self.path.open("rb+") as handle:
            data = handle.read()
            if not data or data.endswith(b"\n"):
                return
            keep = data.rfind(b"\n") + 1
            handle.truncate(keep)
        print(
            f"ugst: {self.path}: dropped an unfinished last line ({len(data) - keep} bytes) left by an interrupted run",
            file=sys.stderr,
        )

    def write(self, record: dict[str, Any]) -> None:
        """Validate and append one record; refuses a key that is already in the file."""
        if self.kind is not None:
            validate(self.kind, record)
        key = self.key(record)
        line = dump_line(record).encode("utf-8")
        with self._lock:
            if self._fd is None:
                raise RuntimeError(f"{self.path} is not open for writing")
            if key in self.done:
                raise ValueError(f"{self.path}: record {key!r} is already written")
            written = os.write(self._fd, line)
            if written != len(line):  # pragma: no cover - only on a full disk
                raise OSError(f"{self.path}: short write ({written} of {len(line)} bytes)")
            if self.fsync:
                os.fsync(self._fd)
            self.done.add(key)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
