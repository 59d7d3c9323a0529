"""UGST as DSPy modules: decomposition, goal-state tracking, the user simulators and the conversation rater."""

from ugst_dspy.modules.decompose import DecomposeGoal
from ugst_dspy.modules.phrasing import PhraseSentence
from ugst_dspy.modules.rater import ConversationRater, rate_all
from ugst_dspy.modules.scoring import ResponseScorer, ScoredResponse
from ugst_dspy.modules.simulators import (
    SIMULATORS,
    GoalReminderSimulator,
    PromptSimulator,
    ReasoningSimulator,
    StateSteeredSimulator,
    UserSimulator,
    make_simulator,
)
from ugst_dspy.modules.tracker import TRACKER_MODES, GoalStateTracker

__all__ = [
    "SIMULATORS",
    "ConversationRater",
    "TRACKER_MODES",
    "DecomposeGoal",
    "GoalReminderSimulator",
    "GoalStateTracker",
    "PhraseSentence",
    "PromptSimulator",
    "ReasoningSimulator",
    "ResponseScorer",
    "ScoredResponse",
    "StateSteeredSimulator",
    "UserSimulator",
    "make_simulator",
    "rate_all",
]
