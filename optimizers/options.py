"""The options ``ugst sft`` and ``ugst grpo`` share, TRL-style: one dataclass field per option.

Each field's ``metadata`` holds its ``help`` and what the command line needs (read by
:mod:`ugst_dspy.cli.dataclass_options`): ``flags`` (default ``--field-name``), ``min``, ``type`` (the type the
command line parses, when not the field's) and ``cli`` (``False``: not on the command line). The defaults are
SFT's (paper stage 2); :class:`~ugst_dspy.optimizers.grpo.GRPOOptions` redeclares what differs.
This module stays light: the command line imports it to build its options.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ugst_dspy.engines.catalog import TRAIN_BASE_MODEL


@dataclass(kw_only=True)
class TrainingOptions:
    """How a training command trains: the output, the model, LoRA, the batch and the checkpoints."""

    output_dir: str = field(metadata={"help": "Output folder: checkpoints, final weights, program, run record. New or empty, or an earlier run of this command to resume; never the base model's folder.", "flags": ("--out", "-o"), "type": Path})
    resume: bool = field(default=True, metadata={"help": "Resume from the last checkpoint in the output folder.", "flags": ("--resume/--restart",)})
    base_model: str = field(default=TRAIN_BASE_MODEL, metadata={"help": "Model to start from: an `ugst sft` output or another model folder, a LoRA folder, a .gguf file or embedded[:NAME] (the default, SmolLM2-135M, trains on a CPU)."})
    lora: bool = field(default=False, metadata={"help": "Train a LoRA adapter (peft) or every weight.", "flags": ("--lora/--full",)})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank.", "min": 1})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha.", "min": 1})
    batch_size: int = field(default=32, metadata={"help": "Examples per optimizer step (paper: 32).", "min": 1})
    learning_rate: float = field(default=1e-6, metadata={"help": "Peak learning rate (paper: 1e-6).", "flags": ("--lr",), "min": 0.0})
    max_steps: int = field(default=-1, metadata={"help": "Stop after this many optimizer steps (-1: run the epochs)."})
    save_steps: int = field(default=100, metadata={"help": "Write a checkpoint every N steps.", "min": 1})
    save_total_limit: int | None = field(default=2, metadata={"help": "Keep at most this many checkpoints.", "cli": False})
    logging_steps: int = field(default=1, metadata={"help": "Log the loss or the rewards every N steps.", "cli": False})
    seed: int = field(default=0, metadata={"help": "Seed of sampling, shuffling and initialisation.", "cli": False})


def redeclare(name: str, default: Any, **metadata: Any) -> Any:
    """The :class:`TrainingOptions` field ``name`` with another default, its metadata updated by ``metadata``."""
    base = {f.name: f for f in fields(TrainingOptions)}[name]
    return field(default=default, metadata={**base.metadata, **metadata})
