"""Run a function over many items with a pool of threads (or another executor, see
:mod:`ugst_dspy.runner.executors`), appending each result as soon as it is done.

Items whose key is already in the output are skipped, so a rerun with the same arguments resumes. An item
that raises is a failure: it is recorded in the output's failure log (``OUT.failed``, with the error and,
for :class:`~ugst_dspy.runner.failure.ItemFailed`, where it happened and what it had done), counted apart,
and retried by the next run unless ``retry_failed`` is off; the other items go on. Nothing half-done is
ever written as a result. Ctrl-C stops the run: what was written is kept, and the message says so.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ugst_dspy.files.failures import error_text
from ugst_dspy.runner.executors import ExecutorFactory, threads
from ugst_dspy.runner.failure import ItemFailed, error_info

T = TypeVar("T")


class Appender(Protocol):
    path: Path
    done: set[str]

    @property
    def open_failures(self) -> set[str]: ...

    def write(self, record: dict[str, Any]) -> None: ...

    def fail(self, key: str, error: Mapping[str, Any], record: dict[str, Any] | None = None) -> None: ...


class Progress(Protocol):
    def start(self, total: int, skipped: int) -> None: ...

    def advance(self, key: str, ok: bool, seconds: float, note: str = "") -> None: ...

    def finish(self) -> None: ...


@dataclass
class BatchReport:
    """What a batch did: written, skipped (already there), failed (this run, with one-line reasons), and
    failures of earlier runs left alone (``retry_failed`` off)."""

    written: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    not_retried: int = 0
    seconds: float = 0.0

    def summary(self, path: str | Path, done_word: str = "written") -> str:
        """``OUT: 3 written, 1 skipped, 2 failed (in OUT.failed; a rerun retries them) in 4.2 s``."""
        from ugst_dspy.files.failures import failures_path

        text = f"{path}: {self.written} {done_word}, {self.skipped} skipped, {len(self.failed)} failed"
        if self.failed:
            text += f" (in {failures_path(path)}; rerun to retry them)"
        if self.not_retried:
            text += f", {self.not_retried} earlier failures not retried"
        return text + f" in {self.seconds:.1f} s"


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold Ctrl-C back while a record and its bookkeeping are written, so both or neither happen.

    (Blocking the signal in this thread is not enough: the kernel then hands it to a worker thread, and
    Python still raises it here; so the handler itself waits.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            if callable(previous):
                previous(signal.SIGINT, None)
            else:
                raise KeyboardInterrupt


def run_batch(
    items: Sequence[T],
    key: Callable[[T], str],
    work: Callable[[T], dict[str, Any]],
    out: Appender,
    *,
    workers: int = 1,
    progress: Progress | None = None,
    retry_failed: bool = True,
    executor: ExecutorFactory | None = None,
) -> BatchReport:
    """Apply ``work`` to every item not yet in ``out`` and append each result; returns a report.

    ``executor`` runs the items (default :func:`~ugst_dspy.runner.executors.threads`: ``workers`` threads
    of this process); whatever runs them, this function alone writes ``out``."""
    started = time.perf_counter()
    done_before = len(out.done)
    earlier_failures = set() if retry_failed else out.open_failures
    todo = [item for item in items if key(item) not in out.done and key(item) not in earlier_failures]
    report = BatchReport(not_retried=sum(key(item) in earlier_failures for item in items))
    report.skipped = len(items) - len(todo) - report.not_retried
    if progress is not None:
        progress.start(len(todo), report.skipped + report.not_retried)

    def settle(item: T, future: Future) -> None:
        name = key(item)
        try:
            record, seconds = future.result()
        except Exception as err:  # one failing item does not stop the batch
            if isinstance(err, ItemFailed):
                error, partial = err.error, err.record
            else:
                error, partial = error_info(err), None
            with uninterrupted():
                out.fail(name, error, partial)
                report.failed[name] = error_text(error)
            if progress is not None:
                progress.advance(name, False, 0.0, report.failed[name][:300])
            return
        with uninterrupted():
            out.write(record)
            report.written += 1
        if progress is not None:
            progress.advance(name, True, seconds)

    workers = max(1, workers)
    pool = (executor or threads)(work, workers)
    pending: dict[Future, T] = {}
    try:
        position = 0
        while position < len(todo) or pending:
            while position < len(todo) and len(pending) < workers:  # at most `workers` in flight
                pending[pool.submit(todo[position])] = todo[position]
                position += 1
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                settle(pending.pop(future), future)
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        if progress is not None:
            progress.finish()
        print(f"\nugst: interrupted: {out.path} holds {len(out.done)} results ({len(out.done) - done_before} from "
              f"this run), {len(report.failed)} failed this run; run the same command again to resume",
              file=sys.stderr)
        raise
    pool.shutdown(wait=True)
    if progress is not None:
        progress.finish()
    report.seconds = time.perf_counter() - started
    return report


def run_into(
    out: Any,
    items: Sequence[T],
    key: Callable[[T], str],
    work: Callable[[T], dict[str, Any]],
    **options: Any,
) -> tuple[BatchReport, set[str]]:
    """Open the output ``out`` (an appender that is a context manager), :func:`run_batch` the items into it
    (``options`` as there), close it; returns the report and the items' keys with an open failure (this
    run's or, without retries, an earlier one's)."""
    with out:
        report = run_batch(items, key, work, out, **options)
        failed = out.open_failures & {key(item) for item in items}
    return report, failed

