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
Mode = Annotated[Optional[str], typer.Option("--mode", help="Tracker mode: batched or per_component.")]


def resolve_config(config: Path | None, models: dict[str, str | None], **overrides: object) -> UGSTConfig:
    """The run configuration: environment defaults, then the file, then the flags."""
    return UGSTConfig.resolve(config, models, **overrides)
