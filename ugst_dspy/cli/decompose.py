"""``ugst decompose``: goals -> initial goal states (one decomposition record per goal)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ugst_dspy.cli.options import (
    AllModels,
    ConfigFile,
    DecomposerModel,
    Limit,
    Mix,
    RetryFailed,
    Seed,
    Workers,
    resolve_config,
)
from ugst_dspy.cli.batch import run_into
from ugst_dspy.files.goals import Goal, read_goals


def decompose(
    goals: Annotated[Path, typer.Argument(help="Goals (JSON Lines: id and instruction, or MultiWOZ's message).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Decompositions (JSON Lines, appended).")],
    limit: Limit = None,
    workers: Workers = 1,
    config: ConfigFile = None,
    model: AllModels = None,
    decomposer_model: DecomposerModel = None,
    seed: Seed = None,
    mix: Mix = False,
    retry_failed: RetryFailed = True,
) -> None:
    """Decompose each goal into a goal state with initial statuses. Resumable: goals already in OUT are
    skipped, failed ones (OUT.failed) retried. Exit code 1 when a goal failed, 2 on bad input."""
    import dspy

    from ugst_dspy.engines.spec import ModelPool, configure_adapter
    from ugst_dspy.files.decompositions import DecompositionWriter
    from ugst_dspy.modules.decompose import DecomposeGoal
    from ugst_dspy.rules import get_rules
    from ugst_dspy.run_meta import RunMeta
    from ugst_dspy.runner.meta import decomposition_settings, recorded_meta, run_meta
    from ugst_dspy.usage import UsageRecorder

    settings = resolve_config(config, {"all": model, "decomposer": decomposer_model}, seed=seed)
    items = read_goals(goals, limit=limit)
    pool = ModelPool(settings)
    decomposer = DecomposeGoal(get_rules(settings.rules))
    decomposer.set_lm(pool.lm("decomposer"))
    meta = run_meta(settings, ["decomposer"])

    def work(goal: Goal) -> dict[str, Any]:
        usage = UsageRecorder()
        with dspy.context(adapter=configure_adapter(settings)), usage.role("decomposer"):
            state = decomposer(goal=goal.instruction).state
        return {"goal_id": goal.id, "instruction": goal.instruction, "state": state.to_json(),
                "meta": {**meta, "usage": usage.to_json()}}

    inputs = [goals, *([config] if config else [])]
    writer = DecompositionWriter(out, inputs=inputs, settings=decomposition_settings(RunMeta.model_validate(meta)),
                                 mix=mix, settings_of=lambda record: decomposition_settings(recorded_meta(record)))
    _, failed = run_into(writer, items, lambda g: g.id, work, workers=workers, label="decomposing",
                         done_word="decomposed", retry_failed=retry_failed)
    if failed:
        raise typer.Exit(1)
