"""Where a batch's items run: threads of this process (the default), or Ray workers on one machine or many.

An executor takes one item at a time and hands back a :class:`~concurrent.futures.Future` of
``(record, seconds)``; :func:`~ugst_dspy.runner.batch.run_batch` keeps at most ``workers`` items in flight
and is the only writer of the output, so the lock, resume and failure accounting are the same whatever
runs the items. An item that fails raises from its future, as it would in a thread (a failed conversation
as :class:`~ugst_dspy.runner.failure.ItemFailed`, with its error and partial record).

- :func:`threads` is today's pool: ``workers`` threads sharing the one work function (the runner).
- :func:`ray_executor` ships each item to a Ray task. Workers cannot share the driver's runner, so they get
  a *recipe*: a picklable object whose ``build()`` returns the work function (``ugst simulate``'s builds a
  :class:`~ugst_dspy.runner.simulate.ConversationRunner` from the run configuration, as the driver does).
  The recipe goes to the cluster once; each worker process builds it on its first item, in the driver's
  working folder when the machine has it (relative model and program paths then mean what they mean to the
  driver), and keeps it for the items that follow, so a local model loads once per worker process.

  A worker process that dies (killed, out of memory, its machine gone) loses only the item it was running:
  Ray runs that item once more (``worker_retries``), then its future fails with ``WorkerDied``, which the
  batch records in ``OUT.failed`` like any failure, for the next run to retry. An item that fails on its
  own (a model error) is never run twice within a run, exactly as with threads.

  Without an address the executor starts a local cluster for the run (as many CPUs as ``workers``, or as
  the machine has if that is more) and stops it at the end; with one (``host:port``, ``auto``,
  ``ray://host:port``) it joins that cluster and forwards ``PYTHONPATH`` and the ``UGST_*`` variables to
  its workers. A process that already called ``ray.init`` keeps its own connection, runtime environment
  included. Ray is the optional ``ray`` extra, imported on the first item.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol

from ugst_dspy.errors import UgstError
from ugst_dspy.runner.failure import ItemFailed, error_info

Work = Callable[[Any], dict[str, Any]]
"""The work function of a batch: one item to its record (raises when the item failed)."""

FORWARDED_ENV = ("PYTHONPATH",)
FORWARDED_PREFIXES = ("UGST_",)
"""What a driver that joins a cluster passes on to its Ray workers (a cluster the run starts inherits all)."""


TOKEN_NOTICE = ("ray._private.authentication.authentication_token_setup", "Token authentication is enabled")
"""Ray's notice, on every local start, that token authentication is on (as it should be): not repeated."""


@contextmanager
def _without_notice(notice: tuple[str, str]) -> Iterator[None]:
    """Drop the log records of logger ``notice[0]`` that start with ``notice[1]`` meanwhile."""
    logger = logging.getLogger(notice[0])

    def keep(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(notice[1])

    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


class Executor(Protocol):
    """Runs items and hands back futures of ``(record, seconds)``."""

    def submit(self, item: Any) -> Future: ...

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None: ...


ExecutorFactory = Callable[[Work, int], Executor]
"""Builds the executor of a batch from its work function and the most items it will have in flight."""


class Recipe(Protocol):
    """What a Ray worker needs to do the driver's work: picklable, and ``build()`` returns the work function."""

    def build(self) -> Work: ...


def timed(work: Work, item: Any) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    return work(item), time.perf_counter() - started


class ThreadExecutor:
    """``workers`` threads of this process, sharing ``work``."""

    def __init__(self, work: Work, workers: int) -> None:
        self.work = work
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers))

    def submit(self, item: Any) -> Future:
        return self.pool.submit(timed, self.work, item)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def threads(work: Work, workers: int) -> ThreadExecutor:
    """The default executor: a thread pool in this process."""
    return ThreadExecutor(work, workers)


def ray_executor(recipe: Recipe, address: str | None = None, *, worker_retries: int = 1,
                 cpus_per_item: float = 1.0) -> ExecutorFactory:
    """An executor factory that runs each item in a Ray task built from ``recipe`` (the batch's own work
    function stays in the driver: workers build theirs). ``address``: the cluster to join; ``None`` starts
    a local one for the run. ``worker_retries``: how many times an item whose worker died is run again."""
    def factory(work: Work, workers: int) -> RayExecutor:
        return RayExecutor(recipe, workers, address=address, worker_retries=worker_retries,
                           cpus_per_item=cpus_per_item)

    return factory


def forwarded_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a driver passes on to the workers of a cluster it joins."""
    environ = os.environ if environ is None else environ
    return {key: value for key, value in environ.items()
            if key in FORWARDED_ENV or key.startswith(FORWARDED_PREFIXES)}


class RayExecutor:
    """Items as Ray tasks (see the module's text). Connects on the first item, so a run with nothing to do
    starts no cluster; :meth:`shutdown` stops a cluster it started and leaves others running."""

    def __init__(self, recipe: Recipe, workers: int, *, address: str | None = None, worker_retries: int = 1,
                 cpus_per_item: float = 1.0) -> None:
        self.recipe = recipe
        self.workers = max(1, workers)
        self.address = address
        self.worker_retries = max(0, worker_retries)
        self.cpus_per_item = cpus_per_item
        self.token = uuid.uuid4().hex  # names this run's recipe in the workers' cache
        self.cwd = os.getcwd()
        self._ray: Any = None
        self._remote: Any = None
        self._recipe_ref: Any = None
        self._owned = False  # whether shutdown() disconnects (a cluster started or joined by this executor)
        self._lock = threading.Lock()
        self._in_flight: dict[Any, Future] = {}

    # -- the driver's side -----------------------------------------------------------------------

    def _connect(self) -> None:
        from ugst_dspy.extras import require

        ray = self._ray = require("ray", "ray", "--executor ray")
        if not ray.is_initialized():
            self._owned = True  # from here on, shutdown() stops what ray.init started, even half-way (Ctrl-C)
            quiet = {"logging_level": logging.WARNING}
            try:
                if self.address is None:
                    with _without_notice(TOKEN_NOTICE):
                        ray.init(address="local", num_cpus=max(self.workers, os.cpu_count() or 1),
                                 include_dashboard=False, **quiet)
                else:
                    ray.init(address=self.address, runtime_env={"env_vars": forwarded_env()}, **quiet)
            except Exception as err:  # an unreachable address, a cluster that cannot start
                where = f"the Ray cluster at {self.address}" if self.address else "a local Ray cluster"
                raise UgstError(f"cannot start or join {where}: {' '.join(str(err).split())[:500]}") from None
        self._remote = ray.remote(run_item).options(num_cpus=self.cpus_per_item, max_retries=self.worker_retries,
                                                    retry_exceptions=False)
        self._recipe_ref = ray.put(self.recipe)

    def submit(self, item: Any) -> Future:
        if self._remote is None:
            self._connect()
        future: Future = Future()
        future.set_running_or_notify_cancel()
        ref = self._remote.remote(self.token, self._recipe_ref, self.cwd, item)
        with self._lock:
            self._in_flight[ref] = future
        ref.future().add_done_callback(lambda done: self._settle(ref, done))
        return future

    def _settle(self, ref: Any, done: Future) -> None:
        with self._lock:
            future = self._in_flight.pop(ref, None)
        if future is None or future.done():
            return
        try:
            status, record, partial, seconds = done.result()
        except BaseException as err:  # the task never returned: its worker died, or it was cancelled
            future.set_exception(ItemFailed(self._lost(err)))
            return
        if status == "ok":
            future.set_result((record, seconds))
        else:
            future.set_exception(ItemFailed(record, partial))

    def _lost(self, err: BaseException) -> dict[str, Any]:
        """The failure of an item whose task never came back."""
        ray = self._ray
        message = " ".join(str(err).split())
        if isinstance(err, (ray.exceptions.TaskCancelledError, ray.exceptions.RayTaskError)):
            return {**error_info(err), "message": message[:2000]}
        runs = self.worker_retries + 1
        return {"type": "WorkerDied", "role": None, "turn": None,
                "message": f"the Ray worker running it died, {runs} time{'s' if runs > 1 else ''} "
                           f"({type(err).__name__}: {message[:1500]})"}

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        if self._ray is None:
            return
        with self._lock:
            in_flight = list(self._in_flight)
        if cancel_futures:
            for ref in in_flight:
                try:
                    self._ray.cancel(ref, force=True)
                except Exception:  # already finished, or the cluster is going away
                    pass
        elif wait and in_flight:
            self._ray.wait(in_flight, num_returns=len(in_flight))
        if self._owned:
            self._ray.shutdown()
            self._owned = False
        self._ray = self._remote = self._recipe_ref = None


# -- the worker's side ---------------------------------------------------------------------------

_BUILT: dict[str, Work] = {}
"""The work function this worker process built, by the run's token (one run at a time)."""


def run_item(token: str, recipe: Recipe, cwd: str, item: Any) -> tuple[str, Any, Any, float]:
    """One item in a Ray worker: ``("ok", record, None, seconds)`` or ``("failed", error, partial, seconds)``.

    Failures come back as values, not exceptions, so the driver records them exactly as a thread would
    (the error's type, message, role and turn; the partial conversation)."""
    started = time.perf_counter()
    work = _BUILT.get(token)
    if work is None:
        if cwd and os.path.isdir(cwd):
            os.chdir(cwd)
        _BUILT.clear()
        try:
            work = recipe.build()
        except Exception as err:
            error = error_info(err)
            error["message"] = f"building the run in a Ray worker failed: {error['message']}"
            return "failed", error, None, time.perf_counter() - started
        _BUILT[token] = work
    started = time.perf_counter()
    try:
        record = work(item)
    except ItemFailed as err:
        return "failed", err.error, err.record, time.perf_counter() - started
    except Exception as err:
        return "failed", error_info(err), None, time.perf_counter() - started
    return "ok", record, None, time.perf_counter() - started
