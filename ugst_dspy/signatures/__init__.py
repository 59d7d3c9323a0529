"""Typed DSPy signatures: goal decomposition, the status-update judges, the user simulators and the rater."""

from ugst_dspy.signatures.decompose import DecomposeGoalSignature, Decomposition, SubComponentSpec
from ugst_dspy.signatures.judges import STATUS_SIGNATURES, BatchedStatusUpdate, Verdict
from ugst_dspy.signatures.rater import RATING_SIGNATURES, CoherenceRating, FailureCheck, NaturalnessRating, Score
from ugst_dspy.signatures.simulate import (
    GoalReminderSignature,
    PromptSimulatorSignature,
    ReasoningSignature,
    StateSteeredSignature,
    SteeredReasoningSignature,
)

__all__ = [
    "RATING_SIGNATURES",
    "STATUS_SIGNATURES",
    "BatchedStatusUpdate",
    "CoherenceRating",
    "DecomposeGoalSignature",
    "GoalReminderSignature",
    "Decomposition",
    "FailureCheck",
    "NaturalnessRating",
    "PromptSimulatorSignature",
    "ReasoningSignature",
    "Score",
    "StateSteeredSignature",
    "SubComponentSpec",
    "SteeredReasoningSignature",
    "Verdict",
]
