"""Options shared by the commands that call models: the run configuration and one model flag per role."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ugst_dspy.config import UGSTConfig

SPEC_HELP = "Model spec: embedded, a model folder, a .gguf file, vllm:MODEL@URL or provider/model"

ConfigFile = Annotated[Optional[Path], typer.Option("--config", help="TOML run configuration (see ugst_dspy.config).")]
AllModels = Annotated[Optional[str], typer.Option("--model", help=f"{SPEC_HELP}, for every role.")]
DecomposerModel = Annotated[Optional[str], typer.Option("--decomposer-model", help=f"{SPEC_HELP}.")]
TrackerModel = Annotated[Optional[str], typer.Option("--tracker-model", help=f"{SPEC_HELP}.")]
SimulatorModel = Annotated[Optional[str], typer.Option("--simulator-model", help=f"{SPEC_HELP}.")]
AgentModel = Annotated[Optional[str], typer.Option("--agent-model", help=f"{SPEC_HELP}.")]
RaterModel = Annotated[Optional[str], typer.Option("--rater-model", help=f"{SPEC_HELP}.")]
Seed = Annotated[Optional[int], typer.Option("--seed", help="Base seed of every call (default 0).")]
Workers = Annotated[int, typer.Option("--workers", "-w", min=1, help="Conversations in flight at once.")]
Limit = Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="Only the first N items.")]
Mix = Annotated[bool, typer.Option("--mix", help="Add to an output made with other settings (models, simulator, env, rules) instead of refusing.")]
RetryFailed = Annotated[bool, typer.Option("--retry-failed/--no-retry-failed", help="Retry the items that failed in an earlier run into the same output (listed in OUT.failed).")]
AllowEvalOverlap = Annotated[bool, typer.Option("--allow-eval-overlap", help="Train even when a training goal is an evaluation goal (same id or instruction): a warning, and the run record counts them.")]
EvalGoals = Annotated[Optional[list[Path]], typer.Option("--eval-goals", help="A goal file you evaluate on, kept out of training like every environment's test goals (repeatable).")]
Behaviours = Annotated[Optional[list[str]], typer.Option(
    "--behaviour", "-b", help="A non-collaborative behaviour of the simulator (repeatable; replaces the config's "
    "behaviours): unavailable_service, digression, impatience or incomplete_utterance, optionally "
    "NAME:rate=R,intensity=mild|moderate|strong (docs/behaviours.md).")]
Mode = Annotated[Optional[str], typer.Option(
    "--mode", help="Tracker mode of the recorded states, which the tables read: per_component (default, the "
    "paper's) or batched (config: tracker_mode).")]
SteeringMode = Annotated[Optional[str], typer.Option(
    "--steering-mode", help="Tracker mode of the state a state-steered simulator sees: batched (default) or "
    "per_component (config: steering_tracker_mode; the same as --mode: one tracker does both).")]
RewardMode = Annotated[Optional[str], typer.Option(
    "--mode", help="Tracker mode of the UGST rewards: batched (default) or per_component (the paper's; config: "
    "steering_tracker_mode).")]
ExecutorName = Annotated[str, typer.Option(
    "--executor", help="Where the conversations run: thread (threads of this process, the default) or ray (Ray "
    "workers: a local cluster started for the run, or --ray-address's; the 'ray' extra). Either way --workers "
    "is the most in flight and this process alone writes --out.")]
RayAddress = Annotated[Optional[str], typer.Option(
    "--ray-address", help="With --executor ray: the cluster to join (HOST:PORT, auto or ray://HOST:PORT); its "
    "workers need this package and the models (default: start a local cluster for the run).")]


def resolve_config(config: Path | None, models: dict[str, str | None], **overrides: object) -> UGSTConfig:
    """The run configuration: environment defaults, then the file, then the flags."""
    return UGSTConfig.resolve(config, models, **overrides)
