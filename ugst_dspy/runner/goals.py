"""Simulating goals into a conversation file: the one path of ``ugst simulate`` and of SFT teacher runs.

:func:`simulate_goals` opens the output with the runner's settings (an existing file made with others is
refused unless ``mix``), runs every goal not done yet (resumable; failures to ``OUT.failed``, retried by the
next run) and returns the batch report with the goals that have an open failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ugst_dspy.files.conversations import ConversationWriter
from ugst_dspy.files.goals import Goal
from ugst_dspy.runner.batch import BatchReport, Progress, run_into
from ugst_dspy.runner.executors import ExecutorFactory
from ugst_dspy.runner.meta import recorded_meta, simulation_settings


def conversation_writer(runner: Any, out: str | Path, *, inputs: Sequence[str | Path] = (),
                        mix: bool = False) -> ConversationWriter:
    """The output of a run of ``runner``: refuses, unless ``mix``, a file of conversations made otherwise."""
    return ConversationWriter(out, inputs=list(inputs), settings=runner.settings(), mix=mix,
                              settings_of=lambda record: simulation_settings(recorded_meta(record)))


def simulate_goals(
    runner: Any,
    goals: Sequence[Goal],
    out: str | Path,
    *,
    inputs: Sequence[str | Path] = (),
    mix: bool = False,
    workers: int = 1,
    progress: Progress | None = None,
    retry_failed: bool = True,
    executor: ExecutorFactory | None = None,
) -> tuple[BatchReport, set[str]]:
    """Run ``runner`` (a :class:`~ugst_dspy.runner.simulate.ConversationRunner`) on every goal not yet in
    ``out`` and append the records; returns the report and the goal ids with an open failure."""
    return run_into(conversation_writer(runner, out, inputs=inputs, mix=mix), goals, lambda goal: goal.id, runner,
                    workers=workers, progress=progress, retry_failed=retry_failed, executor=executor)
