"""Reading and writing the package's files: goals, decompositions, conversations, τ-bench trajectories."""

from ugst_dspy.files.appender import JsonlAppender
from ugst_dspy.files.conversations import (
    ConversationSet,
    ConversationWriter,
    iter_conversations,
    load_conversations,
    read_conversations,
)
from ugst_dspy.files.decompositions import Decomposition, DecompositionWriter, read_decompositions
from ugst_dspy.files.failures import Failure, read_failures
from ugst_dspy.files.goals import Goal, read_goals
from ugst_dspy.files.jsonl import RecordError, read_jsonl
from ugst_dspy.files.tau_trajectories import read_trajectories, trajectory_to_conversation

__all__ = [
    "ConversationSet",
    "ConversationWriter",
    "Decomposition",
    "DecompositionWriter",
    "Failure",
    "Goal",
    "JsonlAppender",
    "RecordError",
    "iter_conversations",
    "load_conversations",
    "read_conversations",
    "read_decompositions",
    "read_failures",
    "read_goals",
    "read_jsonl",
    "read_trajectories",
    "trajectory_to_conversation",
]
