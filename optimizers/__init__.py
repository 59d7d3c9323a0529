"""Prompt optimisation, SFT, GRPO and checkpoint export. Installed as ``ugst_dspy.optimizers``.

The public names load with their module on first use, so that importing one submodule (the command line's
``ugst_dspy.optimizers.sft`` for its options) does not import them all (dspy among them).
"""

from __future__ import annotations

import importlib
from typing import Any

MODULES: dict[str, tuple[str, ...]] = {
    "export": ("export_checkpoint",),
    "finetune_provider": ("TRLFinetuneProvider", "trl_finetunable_lm"),
    "grpo": ("GRPOOptions", "build_grpo_dataset", "train_grpo"),
    "layout": ("StudentTurn", "format_completion", "parse_completion", "student_messages"),
    "metric": ("make_ugst_metric", "ugst_metric"),
    "optimize": ("ProgramScore", "optimize_program", "score_program"),
    "optimize_config": ("OPTIMIZERS", "OptimizeConfig"),
    "rewards": ("UGSTRewardFunctions", "ugst_reward_functions"),
    "sft": ("SFTOptions", "train_sft"),
    "sft_data": ("build_sft_data", "build_sft_dataset", "generate_teacher_conversations"),
    "student": ("LocalStudent",),
    "trainset": ("Split", "TrainSet", "build_trainset", "conversation_examples", "split_examples"),
}
"""The module of each public name."""

__all__ = [name for names in MODULES.values() for name in names]

_SOURCE = {name: module for module, names in MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use."""
    if name not in _SOURCE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_SOURCE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the public ones not yet imported among them."""
    return sorted({*globals(), *__all__})
