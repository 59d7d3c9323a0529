"""Run a function over many items with a pool of threads, appending each result as soon as it is done.

Items whose key is already in the output are skipped, so a rerun with the same arguments resumes. A
failing item is reported and counted, the others go on; nothing half-done is ever written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Appender(Protocol):
    done: set[str]

    def write(self, record: dict[str, Any]) -> None: ...


class Progress(Protocol):
    def start(self, total: int, skipped: int) -> None: ...

    def advance(self, key: str, ok: bool, seconds: float, note: str = "") -> None: ...

    def finish(self) -> None: ...


@dataclass
class BatchReport:
    """What a batch did: written, skipped (already there) and failed items with their one-line reasons."""

    written: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def run_batch(
    items: Sequence[T],
    key: Callable[[T], str],
    work: Callable[[T], dict[str, Any]],
    out: Appender,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> BatchReport:
    """Apply ``work`` to every item not yet in ``out`` and append each result; returns a report."""
    started = time.perf_counter()
    todo = [item for item in items if key(item) not in out.done]
    report = BatchReport(skipped=len(items) - len(todo))
    if progress is not None:
        progress.start(len(todo), report.skipped)

    def timed(item: T) -> tuple[dict[str, Any], float]:
        t0 = time.perf_counter()
        return work(item), time.perf_counter() - t0

    def settle(item: T, future: Future) -> None:
        name = key(item)
        try:
            record, seconds = future.result()
        except Exception as err:  # one failing item does not stop the batch
            reason = " ".join(f"{type(err).__name__}: {err}".split())[:500]
            report.failed[name] = reason
            if progress is not None:
                progress.advance(name, False, 0.0, reason)
            return
        out.write(record)
        report.written += 1
        if progress is not None:
            progress.advance(name, True, seconds)

    workers = max(1, workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: dict[Future, T] = {}
        position = 0
        while position < len(todo) or pending:
            while position < len(todo) and len(pending) < workers:  # at most `workers` in flight
                pending[pool.submit(timed, todo[position])] = todo[position]
                position += 1
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                settle(pending.pop(future), future)
    if progress is not None:
        progress.finish()
    report.seconds = time.perf_counter() - started
    return report
