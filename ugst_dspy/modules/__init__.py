"""UGST as DSPy modules: decomposition, goal-state tracking and the user simulators."""

from ugst_dspy.modules.decompose import DecomposeGoal
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
    "TRACKER_MODES",
    "DecomposeGoal",
    "GoalReminderSimulator",
    "GoalStateTracker",
    "PromptSimulator",
    "ReasoningSimulator",
    "StateSteeredSimulator",
    "UserSimulator",
    "make_simulator",
]
