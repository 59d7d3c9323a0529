"""Typed DSPy signatures: goal decomposition, the status-update judges and the user simulators."""

from ugst_dspy.signatures.decompose import DecomposeGoalSignature, Decomposition, SubComponentSpec
from ugst_dspy.signatures.judges import STATUS_SIGNATURES, BatchedStatusUpdate, Verdict
from ugst_dspy.signatures.simulate import (
    GoalReminderSignature,
    PromptSimulatorSignature,
    ReasoningSignature,
    StateSteeredSignature,
    SteeredReasoningSignature,
)

__all__ = [
    "STATUS_SIGNATURES",
    "BatchedStatusUpdate",
    "DecomposeGoalSignature",
    "GoalReminderSignature",
    "Decomposition",
    "PromptSimulatorSignature",
    "ReasoningSignature",
    "StateSteeredSignature",
    "SubComponentSpec",
    "SteeredReasoningSignature",
    "Verdict",
]
