"""Micro-batching of concurrent calls to one local model.

Callers in different threads (``dspy.Parallel``, ``module.batch``, the runner's workers) each hand in a
job with a batching key. Whoever gets the model lock runs its own job together with every waiting job of
the same key (up to ``max_batch_size``) as one batch; the others find their result ready when they get the
lock. Nobody waits for a batch to fill: a job that arrives while the model is idle runs at once, and jobs
that arrive while it is busy are batched on the next turn. A job whose key is ``None`` always runs alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

P = TypeVar("P")


@dataclass
class _Job(Generic[P]):
    payload: P
    key: Hashable | None
    result: Any = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class BatchStats:
    """How the batcher has grouped jobs so far (for tests and benchmarks)."""

    jobs: int = 0
    batches: int = 0
    largest: int = 0

    def add(self, size: int) -> None:
        self.jobs += size
        self.batches += 1
        self.largest = max(self.largest, size)


class MicroBatcher(Generic[P]):
    """Runs ``run(payloads) -> results`` (one result per payload, same order) over batches of jobs.

    ``lock`` is the lock that guards the model (it is held while a batch runs, so other users of the model
    can share it). An exception raised by ``run`` is raised in every caller of that batch.
    """

    def __init__(
        self,
        run: Callable[[Sequence[P]], Sequence[Any]],
        lock: threading.Lock,
        max_batch_size: int = 8,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        self._run = run
        self._lock = lock
        self.max_batch_size = max_batch_size
        self.stats = BatchStats()
        self._waiting: list[_Job[P]] = []
        self._waiting_lock = threading.Lock()

    def submit(self, payload: P, key: Hashable | None) -> Any:
        """Run ``payload``, batched with waiting payloads of the same ``key``; return its result."""
        job = _Job(payload, key)
        with self._waiting_lock:
            self._waiting.append(job)
        while not job.done:
            with self._lock:
                if job.done:
                    break
                self._run_batch(self._take(job))
        if job.error is not None:
            raise job.error
        return job.result

    def _take(self, job: _Job[P]) -> list[_Job[P]]:
        with self._waiting_lock:
            batch = [job]
            if job.key is not None:
                for other in self._waiting:
                    if len(batch) >= self.max_batch_size:
                        break
                    if other is not job and other.key == job.key:
                        batch.append(other)
            taken = {id(j) for j in batch}
            self._waiting = [j for j in self._waiting if id(j) not in taken]
        return batch

    def _run_batch(self, batch: list[_Job[P]]) -> None:
        self.stats.add(len(batch))
        try:
            results = self._run([j.payload for j in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} jobs gave {len(results)} results")
        except BaseException as error:  # handed to every caller of the batch
            for j in batch:
                j.error = error
        else:
            for j, result in zip(batch, results):
                j.result = result
        finally:
            for j in batch:
                j.done = True
