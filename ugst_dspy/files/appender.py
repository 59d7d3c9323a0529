"""The append-only, resumable writer of every record file the runner writes, and what it guarantees.

- **One writer.** An OS lock on ``OUT.lock`` refuses a second run on the same output, naming the holder.
- **Only our files.** Before anything is changed, every line of an existing ``OUT`` must be a record of the
  same kind; otherwise the run is refused and the file is left byte for byte as it was. An output that is
  one of the run's inputs is refused too.
- **Nothing lost.** A record is appended in one ``write`` and fsynced; a write that fails half-way (a full
  disk) is cut back, so earlier records stay whole. An unfinished last line left by a killed run is moved
  to ``OUT.torn`` (kept, never deleted); a complete last record that only lacks its newline is kept.
- **Same settings.** With ``settings`` given, an output made under other settings (models, simulator,
  environment, rules) is refused unless ``mix`` is set.
- **Failures apart.** :meth:`JsonlAppender.fail` records a failed item in ``OUT.failed``
  (:mod:`ugst_dspy.files.failures`); a rerun retries it (``done`` holds only results).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError
from ugst_dspy.files.failures import Failure, FailureLog, keep_tail
from ugst_dspy.files.jsonl import RecordError, decode_line, dump_line, parse_record, read_jsonl, unfinished_tail
from ugst_dspy.files.lock import OutputLock
from ugst_dspy.schemas import validate

Record = dict[str, Any]


def refuse_input_as_output(out: str | Path, inputs: Iterable[str | Path], flag: str = "--out") -> None:
    """Refuse (one line) an output path that is one of the inputs, so a run can never overwrite what it reads."""
    out = Path(out)
    if not out.exists():
        return
    for source in inputs:
        source = Path(source)
        if source.exists() and os.path.samefile(out, source):
            raise UgstError(f"{flag} {out} is also an input ({source}): choose another output file")


def refuse_foreign(path: str | Path, kind: str, ours: Callable[[Record], str | None] | None = None) -> None:
    """Refuse (one line, touching nothing) to replace an existing ``path`` that is not a ``kind`` file, or
    whose records ``ours`` (a record -> what is wrong with it, or ``None``) does not accept."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        for number, record in read_jsonl(path, kind):
            problem = ours(record) if ours is not None else None
            if problem:
                raise RecordError(path, number, "", problem)
    except RecordError as err:
        raise UgstError(f"refusing to replace {path}: it is not a {kind} file ({err}); it was left as it is") from None


def flatten(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``, for naming the first setting that differs."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


class JsonlAppender:
    """Append-only writer of validated records with resume, locking and failure accounting. Thread-safe.

    >>> with JsonlAppender("out.jsonl", "conversation", key=lambda r: r.get("id") or r["goal_id"]) as out:
    ...     if "g1" not in out.done:
    ...         out.write(record)

    ``failed(record)`` gives the error of a record that stands for a failure in the results file itself (files
    written before failures had their side file): it is not ``done``, it counts as an open failure, and a
    later record of the same id supersedes it. ``settings_of(record)`` gives the settings a record was made
    with, compared with ``settings`` when the file is opened.
    """

    def __init__(
        self,
        path: str | Path,
        kind: str | None,
        key: Callable[[Record], str],
        *,
        fsync: bool = True,
        inputs: Iterable[str | Path] = (),
        settings: Mapping[str, Any] | None = None,
        settings_of: Callable[[Record], Mapping[str, Any]] | None = None,
        mix: bool = False,
        failed: Callable[[Record], Mapping[str, Any] | None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        self.key = key
        self.fsync = fsync
        self.inputs = list(inputs)
        self.settings = dict(settings) if settings is not None else None
        self.settings_of = settings_of
        self.mix = mix
        self.failed_error = failed or (lambda record: None)
        self.done: set[str] = set()
        self.failures = FailureLog(self.path, kind or "record", fsync=fsync)
        self._lock_file = OutputLock(self.path)
        self._fd: int | None = None
        self._size = 0
        self._needs_newline = False
        self._lock = threading.Lock()

    def __enter__(self) -> JsonlAppender:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def open_failures(self) -> set[str]:
        """Ids that failed and have no result yet."""
        return set(self.failures.open_failures)

    # -- opening ---------------------------------------------------------------------------------

    def open(self) -> None:
        """Check and lock the output, read the keys already written, and open it for appending."""
        refuse_input_as_output(self.path, self.inputs)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file.acquire()
        try:
            legacy: dict[str, Failure] = {}
            if self.path.exists():
                legacy = self._scan()
            self.failures.open(self.done)
            for key, failure in legacy.items():
                if key not in self.done:
                    self.failures.open_failures.setdefault(key, failure)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._size = os.fstat(self._fd).st_size
        except BaseException:
            self._lock_file.release()
            raise

    def _scan(self) -> dict[str, Failure]:
        """Validate every record already in the file (refusing a foreign file untouched); returns the failures
        recorded in it (older files)."""
        start, tail = unfinished_tail(self.path)
        legacy: dict[str, Failure] = {}
        with self.path.open("rb") as handle:
            number = 0
            while handle.tell() < start:
                number += 1
                raw = handle.readline()
                self._take(self._checked(raw, number), number, legacy)
        if tail.strip():
            number += 1
            record = self._complete_tail(tail, number)
            if record is None:
                keep_tail(self.path, tail)
                os.truncate(self.path, start)
            else:
                self._take(record, number, legacy)
                self._needs_newline = True
        return legacy

    def _checked(self, raw: bytes, number: int) -> Record | None:
        try:
            line = decode_line(raw, self.path, number)
            return parse_record(line, self.path, number, self.kind) if line.strip() else None
        except RecordError as err:
            raise self._foreign(err) from None

    def _complete_tail(self, tail: bytes, number: int) -> Record | None:
        """A last line without its newline: the record if it is one, ``None`` if it is an unfinished one."""
        try:
            json.loads(tail.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            if tail.lstrip().startswith(b"{"):
                return None  # torn: a record cut off by a killed run (every line before it is a record)
        return self._checked(tail, number)

    def _foreign(self, err: RecordError) -> UgstError:
        what = f"a {self.kind} file" if self.kind else "a record file of this command"
        return UgstError(f"refusing to append to {self.path}: it is not {what} ({err}); it was left as it is")

    def _take(self, record: Record | None, number: int, legacy: dict[str, Failure]) -> None:
        if record is None:
            return
        key = self.key(record)
        if key in self.done:
            raise UgstError(f"{self.path}:{number}: duplicate id {key!r}; the file has two results for it")
        error = self.failed_error(record)
        if error is not None:
            legacy[key] = Failure(id=key, kind=self.kind or "record", error=dict(error), record=record)
            return
        self._check_settings(record, number)
        self.done.add(key)

    def _check_settings(self, record: Record, number: int) -> None:
        if self.mix or self.settings is None or self.settings_of is None:
            return
        theirs, ours = flatten(self.settings_of(record)), flatten(self.settings)
        for name in sorted(set(theirs) | set(ours)):
            if theirs.get(name) != ours.get(name):
                raise UgstError(
                    f"{self.path}:{number} was made with other settings ({name}: {theirs.get(name)!r} there, "
                    f"{ours.get(name)!r} now); use another --out, or --mix to add to it anyway"
                )

    # -- writing ---------------------------------------------------------------------------------

    def write(self, record: Record) -> None:
        """Validate and append one result; refuses a key that is already in the file."""
        if self.kind is not None:
            validate(self.kind, record)
        key = self.key(record)
        line = dump_line(record).encode("utf-8")
        with self._lock:
            if self._fd is None:
                raise RuntimeError(f"{self.path} is not open for writing")
            if key in self.done:
                raise ValueError(f"{self.path}: record {key!r} is already written")
            if self._needs_newline:
                line = b"\n" + line
            self._append(line)
            self._needs_newline = False
            self.done.add(key)
            self.failures.resolve(key)

    def _append(self, data: bytes) -> None:
        """All of ``data`` or nothing: a write cut short (a full disk) is cut back to the last whole record."""
        assert self._fd is not None
        before = self._size
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if self.fsync:
                os.fsync(self._fd)
        except OSError:
            os.ftruncate(self._fd, before)
            raise
        self._size = before + len(data)

    def fail(self, key: str, error: Mapping[str, Any], record: Record | None = None) -> None:
        """Record that item ``key`` failed (in ``OUT.failed``); it is not done, so a rerun retries it."""
        with self._lock:
            self.failures.record(key, dict(error), record)

    def close(self) -> None:
        with self._lock:
            if self._fd is None:
                return
            os.close(self._fd)
            self._fd = None
            try:
                self.failures.compact(self.done)
            finally:
                self._lock_file.release()
