"""Prompt optimisation, SFT, GRPO and checkpoint export. Installed as ``ugst_dspy.optimizers``."""

from ugst_dspy.optimizers.export import export_checkpoint
from ugst_dspy.optimizers.finetune_provider import TRLFinetuneProvider, trl_finetunable_lm
from ugst_dspy.optimizers.grpo import GRPOOptions, build_grpo_dataset, train_grpo
from ugst_dspy.optimizers.layout import StudentTurn, format_completion, parse_completion, student_messages
from ugst_dspy.optimizers.metric import make_ugst_metric, ugst_metric
from ugst_dspy.optimizers.optimize import ProgramScore, optimize_program, score_program
from ugst_dspy.optimizers.optimize_config import OPTIMIZERS, OptimizeConfig
from ugst_dspy.optimizers.rewards import UGSTRewardFunctions, ugst_reward_functions
from ugst_dspy.optimizers.sft import SFTOptions, train_sft
from ugst_dspy.optimizers.sft_data import build_sft_data, build_sft_dataset, generate_teacher_conversations
from ugst_dspy.optimizers.student import LocalStudent
from ugst_dspy.optimizers.trainset import Split, TrainSet, build_trainset, conversation_examples, split_examples

__all__ = [
    "OPTIMIZERS",
    "GRPOOptions",
    "LocalStudent",
    "OptimizeConfig",
    "ProgramScore",
    "SFTOptions",
    "Split",
    "StudentTurn",
    "TRLFinetuneProvider",
    "TrainSet",
    "UGSTRewardFunctions",
    "build_grpo_dataset",
    "build_sft_data",
    "build_sft_dataset",
    "export_checkpoint",
    "format_completion",
    "generate_teacher_conversations",
    "parse_completion",
    "student_messages",
    "train_grpo",
    "train_sft",
    "trl_finetunable_lm",
    "ugst_reward_functions",
    "build_trainset",
    "conversation_examples",
    "make_ugst_metric",
    "optimize_program",
    "score_program",
    "split_examples",
    "ugst_metric",
]
