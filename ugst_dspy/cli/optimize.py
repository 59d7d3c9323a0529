"""``ugst optimize``: compile a simulator program with a DSPy optimiser and the UGST reward; save it."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ugst_dspy.cli.options import (
    AllModels,
    AllowEvalOverlap,
    ConfigFile,
    EvalGoals,
    RewardMode,
    Seed,
    SimulatorModel,
    TrackerModel,
    resolve_config,
)
from ugst_dspy.cli.progress import ProgressReporter
from ugst_dspy.errors import UgstError

COMPILED_DIR = Path("programs") / "compiled"
REFLECTION_MAX_TOKENS = 1024  # a proposed instruction is longer than the rater's usual answer


def optimize(
    conversations: Annotated[Path, typer.Option("--conversations", "-c", help="Tracked conversations (JSON Lines): the train set.")],
    simulator: Annotated[str, typer.Option("--simulator", "-s", help="Program to compile: state-steered or reasoning (or prompt, goal-reminder).")] = "state-steered",
    optimizer: Annotated[str, typer.Option("--optimizer", help="bootstrap, random-search, mipro or gepa.")] = "bootstrap",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Compiled program (JSON; default programs/compiled/SIMULATOR-OPTIMIZER.json).")] = None,
    max_demos: Annotated[Optional[int], typer.Option("--max-demos", min=0, help="Most bootstrapped demos (default 2; 0: instructions only).")] = None,
    trials: Annotated[Optional[int], typer.Option("--trials", min=1, help="Search budget: MIPROv2 trials, GEPA full evaluations, random-search candidates (default: auto=light).")] = None,
    train: Annotated[Optional[int], typer.Option("--train", min=1, help="Most training prefixes (default all).")] = None,
    val: Annotated[Optional[int], typer.Option("--val", min=0, help="Most validation prefixes (default ~20%, in whole conversations).")] = None,
    auto: Annotated[Optional[str], typer.Option("--auto", help="MIPROv2/GEPA budget preset without --trials: light, medium or heavy.")] = None,
    reward_mode: Annotated[Optional[str], typer.Option("--reward-mode", help="Reward indicators: progress (default) or success.")] = None,
    termination_weight: Annotated[Optional[float], typer.Option("--termination-weight", min=0.0, help="Weight of the termination indicator (a stop that still asks for something, or with a task objective INCOMPLETE); default 0, the paper's per-reply reward.")] = None,
    mode: RewardMode = None,
    config: ConfigFile = None,
    model: AllModels = None,
    simulator_model: SimulatorModel = None,
    tracker_model: TrackerModel = None,
    reflection_model: Annotated[Optional[str], typer.Option("--reflection-model", help="Model spec of the instruction proposer (MIPROv2) and reflection LM (GEPA); default: the rater's model.")] = None,
    seed: Seed = None,
    allow_eval_overlap: AllowEvalOverlap = False,
    eval_goals: EvalGoals = None,
) -> None:
    """Compile a simulator program on conversation prefixes, each scored by the UGST reward of the user
    message the program writes; print train/val scores before and after, and save the program (run it
    with `ugst simulate --program FILE`)."""
    from ugst_dspy.optimizers.optimize_config import OptimizeConfig

    flags = {"optimizer": optimizer, "max_demos": max_demos, "trials": trials, "train": train, "val": val,
             "auto": auto, "reward_mode": reward_mode, "termination_weight": termination_weight}
    settings = resolve_config(
        config,
        {"all": model, "simulator": simulator_model, "tracker": tracker_model, "rater": reflection_model},
        seed=seed, steering_tracker_mode=mode,
    )
    options = OptimizeConfig(seed=settings.seed, **{k: v for k, v in flags.items() if v is not None})
    out = out or COMPILED_DIR / f"{simulator}-{options.optimizer}.json"
    if out.suffix != ".json":
        raise UgstError(f"{out}: a program file ends with .json")
    from ugst_dspy.envs.holdout import check_training_goals, goals_of_conversations

    overlap = check_training_goals(goals_of_conversations([conversations]), "ugst optimize",
                                   allow=allow_eval_overlap, eval_goals=eval_goals or ())
    run_optimize(conversations, simulator, out, options, settings, eval_overlap=len(overlap))


def run_optimize(conversations: Path, simulator: str, out: Path, options: Any, settings: Any,
                 eval_overlap: int = 0) -> None:
    """The command's work once its flags are checked (kept apart so the flags stay readable)."""
    from ugst_dspy.engines.spec import ModelPool, configure_adapter
    from ugst_dspy.modules.tracker import GoalStateTracker
    from ugst_dspy.optimizers.metric import make_ugst_metric
    from ugst_dspy.optimizers.optimize import optimize_program, record_optimization, require_optimizer, score_program
    from ugst_dspy.optimizers.sft_data import read_sources
    from ugst_dspy.optimizers.trainset import build_trainset, split_examples
    from ugst_dspy.programs.io import build_program, save_program
    from ugst_dspy.reward import RewardConfig
    from ugst_dspy.rules import get_rules
    from ugst_dspy.modules.scoring import ResponseScorer

    rater = settings.role("rater")
    settings.roles["rater"] = dataclasses.replace(rater, max_tokens=max(rater.max_tokens, REFLECTION_MAX_TOKENS))
    pool = ModelPool(settings)
    pool.check()
    program = build_program("simulator", simulator, {"max_turns": settings.max_turns})
    reflection_lm = pool.lm("rater") if options.optimizer in ("mipro", "gepa") else None
    require_optimizer(options.optimizer, reflection_lm)
    data = build_trainset(read_sources([conversations]))
    if not data.examples:
        why = f"{data.skipped_untracked} untracked; run `ugst track` first" if data.skipped_untracked else "no turns"
        raise UgstError(f"{conversations}: no tracked conversations to learn from ({why})")
    if data.behaviours:  # conversations of a non-collaborative simulator: optimise it under the same behaviours
        program.set_behaviours(data.behaviours)
    split = split_examples(data.examples, train=options.train, val=options.val, seed=options.seed)

    rules = get_rules(settings.rules)
    tracker = GoalStateTracker(mode=settings.steering_tracker_mode, rules=rules)
    tracker.set_lm(pool.lm("tracker"))
    reward = RewardConfig(mode=options.reward_mode)
    metric = make_ugst_metric(ResponseScorer(tracker, reward, rules), termination_weight=options.termination_weight)
    lm, adapter = pool.lm("simulator"), configure_adapter(settings)
    typer.echo(f"ugst: optimize: {data.summary()}; {len(split.train)} train, {len(split.val)} val", err=True)

    def scores(prog: Any, when: str) -> dict[str, Any]:
        return {name: score_program(prog, examples, metric, lm=lm, adapter=adapter,
                                    progress=ProgressReporter(f"scoring {name} ({when})"))
                for name, examples in (("train", split.train), ("val", split.val)) if examples}

    before = scores(program, "before")
    typer.echo(f"ugst: optimize: compiling {simulator} with {options.optimizer}", err=True)
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # DSPy's optimisers print their progress; stdout is the table
        compiled = optimize_program(program, split.train, split.val, metric, options, lm=lm,
                                    reflection_lm=reflection_lm, adapter=adapter)
    seconds = time.perf_counter() - started
    after = scores(compiled, "after")

    save_program(compiled, out)
    record_optimization(out, {
        "optimizer": options.to_json(),
        "reward": {**reward.to_json(), "tracker_mode": tracker.mode},
        "conversations": str(conversations),
        "eval_overlap": eval_overlap,
        "examples": {"train": len(split.train), "val": len(split.val), "skipped_untracked": data.skipped_untracked},
        "models": {role: settings.role(role).model for role in ("simulator", "tracker", "rater")},
        "scores": {"before": {k: v.to_json() for k, v in before.items()},
                   "after": {k: v.to_json() for k, v in after.items()}},
        "seconds": round(seconds, 3),
    })
    typer.echo(format_scores(before, after, {"train": len(split.train), "val": len(split.val)}))
    typer.echo(f"{out}: compiled with {options.optimizer} in {seconds:.1f} s; run it with "
               f"`ugst simulate --program {out}`", err=True)


def format_scores(before: dict[str, Any], after: dict[str, Any], sizes: dict[str, int]) -> str:
    """The before/after table: one row per set, the mean normalised UGST reward (0..1)."""
    rows = [f"{'Set':<12}{'N':>4}  {'Before':>8}  {'After':>8}"]
    for name in ("train", "val"):
        if name in before:
            rows.append(f"{name:<12}{sizes[name]:>4}  {str(before[name]):>8}  {str(after[name]):>8}")
    return "\n".join(rows)
