"""``ugst decompose``: goals -> initial goal states (one decomposition record per goal)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ugst_dspy.cli.options import AllModels, ConfigFile, DecomposerModel, Limit, Seed, Workers, resolve_config
from ugst_dspy.cli.progress import ProgressReporter
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
) -> None:
    """Decompose each goal into a goal state with initial statuses. Resumable: goals already in OUT are skipped."""
    import dspy

    from ugst_dspy.engines.spec import ModelPool, configure_adapter
    from ugst_dspy.files.decompositions import DecompositionWriter
    from ugst_dspy.modules.decompose import DecomposeGoal
    from ugst_dspy.rules import get_rules
    from ugst_dspy.runner.batch import run_batch
    from ugst_dspy.runner.meta import run_meta
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

    with DecompositionWriter(out) as writer:
        report = run_batch(items, lambda g: g.id, work, writer, workers=workers, progress=ProgressReporter("decomposing"))
    typer.echo(f"{out}: {report.written} decomposed, {report.skipped} skipped, {len(report.failed)} failed "
               f"in {report.seconds:.1f} s", err=True)
    if report.failed:
        raise typer.Exit(1)
