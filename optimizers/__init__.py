"""Prompt optimisation, SFT, GRPO and checkpoint export. Installed as ``ugst_dspy.optimizers``."""

from ugst_dspy.optimizers.metric import make_ugst_metric, ugst_metric
from ugst_dspy.optimizers.optimize import ProgramScore, optimize_program, score_program
from ugst_dspy.optimizers.optimize_config import OPTIMIZERS, OptimizeConfig
from ugst_dspy.optimizers.trainset import Split, TrainSet, build_trainset, conversation_examples, split_examples

__all__ = [
    "OPTIMIZERS",
    "OptimizeConfig",
    "ProgramScore",
    "Split",
    "TrainSet",
    "build_trainset",
    "conversation_examples",
    "make_ugst_metric",
    "optimize_program",
    "score_program",
    "split_examples",
    "ugst_metric",
]
