"""The part every record-writing command shares: run the items into the output, print the summary line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import typer

from ugst_dspy.cli.progress import ProgressReporter
from ugst_dspy.errors import UgstError
from ugst_dspy.files.appender import JsonlAppender
from ugst_dspy.runner.batch import BatchReport
from ugst_dspy.runner.batch import run_into as batch_into
from ugst_dspy.runner.executors import ExecutorFactory, Recipe, ray_executor

EXECUTORS = ("thread", "ray")

T = TypeVar("T")


def run_into(
    writer: JsonlAppender,
    items: Sequence[T],
    key: Callable[[T], str],
    work: Callable[[T], dict[str, Any]],
    *,
    workers: int,
    label: str,
    done_word: str,
    retry_failed: bool,
    executor: ExecutorFactory | None = None,
) -> tuple[BatchReport, set[str]]:
    """Open ``writer``, run the items not done yet, close it and print the summary; returns the report and
    the items of this run that have an open failure (this run's or, without retries, an earlier one's).
    ``executor``: where the items run (default: threads of this process; see :func:`make_executor`)."""
    report, failed = batch_into(writer, items, key, work, workers=workers, progress=ProgressReporter(label),
                                retry_failed=retry_failed, executor=executor)
    typer.echo(report.summary(writer.path, done_word), err=True)
    return report, failed


def check_executor(name: str, ray_address: str | None) -> None:
    """Refuse an unknown ``--executor``, or ``--ray-address`` without ``--executor ray``, before any work;
    with ``ray``, a missing extra is one line here too (nothing is imported)."""
    if name not in EXECUTORS:
        raise UgstError(f"unknown --executor {name!r} (use {' or '.join(EXECUTORS)})")
    if ray_address is not None and name != "ray":
        raise UgstError("--ray-address needs --executor ray")
    if name == "ray":
        from ugst_dspy.extras import check

        check("ray", "ray", "--executor ray")


def make_executor(name: str, ray_address: str | None, recipe: Recipe) -> ExecutorFactory | None:
    """The executor of ``--executor NAME``: ``None`` (threads of this process) or Ray tasks whose workers
    build their work from ``recipe`` (the run's own work function stays in this process)."""
    check_executor(name, ray_address)
    if name == "thread":
        return None
    return ray_executor(recipe, ray_address)
