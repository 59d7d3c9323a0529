"""The part every record-writing command shares: run the items into the output, print the summary line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import typer

from ugst_dspy.cli.progress import ProgressReporter
from ugst_dspy.files.appender import JsonlAppender
from ugst_dspy.runner.batch import BatchReport, run_batch

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
) -> tuple[BatchReport, set[str]]:
    """Open ``writer``, run the items not done yet, close it and print the summary; returns the report and
    the items of this run that have an open failure (this run's or, without retries, an earlier one's)."""
    with writer:
        report = run_batch(items, key, work, writer, workers=workers, progress=ProgressReporter(label),
                           retry_failed=retry_failed)
        failed = writer.open_failures & {key(item) for item in items}
    typer.echo(report.summary(writer.path, done_word), err=True)
    return report, failed
