"""``ugst track``: run UGST over existing conversations (our format, or τ-bench trajectory files)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ugst_dspy.cli.options import (
    AllModels,
    ConfigFile,
    DecomposerModel,
    ExecutorName,
    Limit,
    Mix,
    Mode,
    RayAddress,
    RetryFailed,
    Seed,
    TrackerModel,
    Workers,
    resolve_config,
)
from ugst_dspy.cli.batch import check_executor, make_executor, run_into
from ugst_dspy.conversation import Conversation
from ugst_dspy.errors import UgstError
from ugst_dspy.files.conversations import ConversationWriter, read_conversations
from ugst_dspy.files.tau_trajectories import read_trajectories

if TYPE_CHECKING:
    from ugst_dspy.config import UGSTConfig
    from ugst_dspy.runner.tracking import ConversationTracker


def is_trajectory_file(path: Path) -> bool:
    """A JSON list, or JSON Lines whose first record has a ``traj``: τ-bench's trajectory format."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:  # the reader names bad bytes
            head = handle.read(1 << 16).lstrip()
    except OSError as err:
        raise UgstError(f"{path}: {err.strerror}") from None
    if head.startswith("["):
        return True
    first = head.split("\n", 1)[0]
    try:
        return isinstance(json.loads(first), dict) and "traj" in json.loads(first)
    except json.JSONDecodeError:
        return False


def load_any(path: Path, goal_prefix: str = "") -> list[Conversation]:
    return read_trajectories(path, goal_prefix) if is_trajectory_file(path) else read_conversations(path)


@dataclass(frozen=True)
class TrackingRecipe:
    """What ``ugst track`` builds its :class:`ConversationTracker` from (picklable, for ``--executor ray``)."""

    config: UGSTConfig
    retrack: bool

    def build(self) -> ConversationTracker:
        from ugst_dspy.runner.tracking import ConversationTracker

        return ConversationTracker(self.config, retrack=self.retrack)


def track(
    conversations: Annotated[Path, typer.Argument(help="Conversations (JSON Lines) or a τ-bench trajectory file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Tracked conversations (JSON Lines, appended).")],
    mode: Mode = None,
    retrack: Annotated[bool, typer.Option(help="Decompose again even where a record has an initial state.")] = False,
    goal_prefix: Annotated[str, typer.Option(help="For trajectory files: prefix that turns task_id into a goal id.")] = "",
    limit: Limit = None,
    workers: Workers = 1,
    config: ConfigFile = None,
    model: AllModels = None,
    decomposer_model: DecomposerModel = None,
    tracker_model: TrackerModel = None,
    seed: Seed = None,
    mix: Mix = False,
    retry_failed: RetryFailed = True,
    executor: ExecutorName = "thread",
    ray_address: RayAddress = None,
) -> None:
    """Track the goal state of existing conversations: S_0 by decomposition (unless present), then S_i after
    every turn. Resumable: conversations already in OUT are skipped, failed ones (OUT.failed) retried.
    Exit code 1 when a conversation failed, 2 on bad input."""
    from ugst_dspy.runner.meta import recorded_meta, tracking_settings

    check_executor(executor, ray_address)
    settings = resolve_config(
        config, {"all": model, "decomposer": decomposer_model, "tracker": tracker_model}, seed=seed, tracker_mode=mode
    )
    items = load_any(conversations, goal_prefix)[:limit]
    recipe = TrackingRecipe(settings, retrack)
    tracker = recipe.build()
    tracker.pool.check()
    inputs = [conversations, *([config] if config else [])]
    writer = ConversationWriter(out, inputs=inputs, settings=tracker.settings(), mix=mix,
                                settings_of=lambda record: tracking_settings(recorded_meta(record)))
    _, failed = run_into(writer, items, lambda c: c.key, tracker, workers=workers, label="tracking",
                         done_word="tracked", retry_failed=retry_failed,
                         executor=make_executor(executor, ray_address, recipe))
    if failed:
        raise typer.Exit(1)
