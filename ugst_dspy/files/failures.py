"""Failed items live beside the results, in ``OUT.failed``: counted apart, shown to readers, retried by a rerun.

A results file holds one record per id, and only results. When an item fails after its retries (a model or
agent error, a timeout), a failure entry is appended to the side file instead:

```json
{"id": "retail-test-3", "kind": "conversation", "failed_at": "2026-12-01T21:30:00Z", "attempt": 2,
 "error": {"type": "TimeoutError", "message": "...", "role": "agent", "turn": 2}, "record": {...}}
```

``record`` is what was done before the failure (a partial conversation, for a look), or ``null``. An id
that later succeeds is in the results file; from then on its failure entries are stale and are dropped
when the side file is next compacted. Readers take the latest entry per id whose id has no result.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ugst_dspy.files.jsonl import RecordError, decode_line, dump_line, unfinished_tail


def failures_path(path: str | Path) -> Path:
    """The failure log of an output file: ``OUT.failed`` beside it (not ``*.jsonl``, so globs skip it)."""
    path = Path(path)
    return path.with_name(path.name + ".failed")


def torn_path(path: str | Path) -> Path:
    """Where an unfinished last line of ``path`` is kept when it is cut off: ``OUT.torn`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".torn")


def error_text(error: dict[str, Any]) -> str:
    """``TYPE: message (role agent, turn 2)``: an error entry on one line."""
    where = ", ".join(f"{key} {error[key]}" for key in ("role", "turn") if error.get(key) is not None)
    text = f"{error.get('type', 'Error')}: {error.get('message', '')}"
    return f"{text} ({where})" if where else text


@dataclass(frozen=True)
class Failure:
    """One failed item: its id, what failed where, and what it had done before."""

    id: str
    kind: str
    error: dict[str, Any]
    failed_at: str = ""
    attempt: int = 1
    record: dict[str, Any] | None = None

    @property
    def reason(self) -> str:
        """``TYPE: message (role agent, turn 2)``, one line."""
        return error_text(self.error)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "failed_at": self.failed_at, "attempt": self.attempt,
                "error": self.error, "record": self.record}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Failure:
        if not isinstance(data.get("id"), str) or not data["id"]:
            raise ValueError("field 'id': a failure needs a non-empty string id")
        if not isinstance(data.get("error"), dict):
            raise ValueError("field 'error': must be an object")
        record = data.get("record")
        if record is not None and not isinstance(record, dict):
            raise ValueError("field 'record': must be an object or null")
        attempt = data.get("attempt", 1)
        if not isinstance(attempt, int) or isinstance(attempt, bool):
            raise ValueError("field 'attempt': must be an integer")
        return cls(id=data["id"], kind=str(data.get("kind", "")), error=data["error"],
                   failed_at=str(data.get("failed_at", "")), attempt=attempt, record=record)


def read_failures(path: str | Path, resolved: Iterable[str] = ()) -> dict[str, Failure]:
    """The open failures of output file ``path`` (its ``OUT.failed``): the latest entry per id, less ``resolved``.

    A missing side file means no failures. An unfinished last line (a run killed while writing it) is ignored.
    """
    side = failures_path(path)
    if not side.exists():
        return {}
    latest: dict[str, Failure] = {}
    with side.open("rb") as handle:
        lines = handle.readlines()
    if lines and not lines[-1].endswith(b"\n"):
        lines.pop()  # unfinished: the run was killed while writing it
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(decode_line(raw, side, number))
        except json.JSONDecodeError as err:
            raise RecordError(side, number, "", f"not a failure entry ({err.msg})") from None
        if not isinstance(data, dict):
            raise RecordError(side, number, "", "a failure entry must be a JSON object")
        try:
            failure = Failure.from_json(data)
        except ValueError as err:
            raise RecordError(side, number, "", str(err)) from None
        latest[failure.id] = failure
    for key in resolved:
        latest.pop(key, None)
    return latest


class FailureLog:
    """Appends failure entries of one output file; compacts the side file when opened and closed."""

    def __init__(self, path: str | Path, kind: str, *, fsync: bool = True) -> None:
        self.results = Path(path)
        self.path = failures_path(path)
        self.kind = kind
        self.fsync = fsync
        self.open_failures: dict[str, Failure] = {}

    def open(self, resolved: set[str]) -> None:
        """Read the open failures (those without a result in ``resolved``) and rewrite the side file to them."""
        self.open_failures = read_failures(self.results, resolved)
        self.compact(resolved)

    def record(self, key: str, error: dict[str, Any], record: dict[str, Any] | None = None) -> Failure:
        """Append one failure entry (durably) and return it."""
        previous = self.open_failures.get(key)
        failure = Failure(id=key, kind=self.kind, error=error, record=record,
                          failed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                          attempt=(previous.attempt + 1) if previous else 1)
        line = dump_line(failure.to_json()).encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            _write_all(fd, line, self.path)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        self.open_failures[key] = failure
        return failure

    def resolve(self, key: str) -> None:
        """``key`` has a result now: its failure entries are stale."""
        self.open_failures.pop(key, None)

    def compact(self, resolved: set[str] | None = None) -> None:
        """Rewrite the side file to the open failures only (atomically); remove it when there are none."""
        for key in resolved or ():
            self.open_failures.pop(key, None)
        if self.path.exists():
            _start, tail = unfinished_tail(self.path)
            if tail.strip():
                keep_tail(self.path, tail)
        if not self.open_failures:
            if self.path.exists():
                self.path.unlink()
            return
        tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
        try:
            with tmp.open("w", encoding="utf-8") as handle:
                for failure in self.open_failures.values():
                    handle.write(dump_line(failure.to_json()))
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        finally:
            if tmp.exists():
                tmp.unlink()


def keep_tail(path: Path, tail: bytes) -> Path:
    """Append an unfinished last line of ``path`` to its ``.torn`` side file (kept, never deleted)."""
    side = torn_path(path)
    with side.open("ab") as handle:
        handle.write(tail.rstrip(b"\n") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    print(f"ugst: {path}: an unfinished last line ({len(tail)} bytes) left by an interrupted run was moved to {side}",
          file=sys.stderr)
    return side


def _write_all(fd: int, data: bytes, path: Path) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - the kernel raises ENOSPC instead
            raise OSError(f"{path}: short write")
        view = view[written:]
