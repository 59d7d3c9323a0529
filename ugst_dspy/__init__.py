"""ugst-dspy: goal-aligned LLM user simulators with User Goal State Tracking (UGST).

The public API is listed here explicitly. Importing the package loads no model library (torch,
transformers, trl, vllm); those load on first use of the parts that need them.
"""

from ugst_dspy._version import __version__
from ugst_dspy.behaviours import BEHAVIOURS, BehaviourPlan, BehaviourSpec, TurnBehaviour, make_plan
from ugst_dspy.conversation import Conversation, ToolCall, Turn
from ugst_dspy.errors import FieldError, UgstError
from ugst_dspy.files import (
    ConversationSet,
    ConversationWriter,
    Decomposition,
    Goal,
    RecordError,
    load_conversations,
    read_conversations,
    read_decompositions,
    read_goals,
    read_trajectories,
)
from ugst_dspy.metrics import agreement, decomposition_quality, diagnose, success_table
from ugst_dspy.render import render_state
from ugst_dspy.reward import RewardConfig, ugst_reward
from ugst_dspy.rules import DEFAULT_RULES, RuleSet, StatusUpdate, UpdateResult, apply_updates, get_rules
from ugst_dspy.run_meta import RunMeta
from ugst_dspy.schemas import get_schema, validate
from ugst_dspy.state import Category, GoalState, Status, SubComponent, TaskObjective

__all__ = [
    "BEHAVIOURS",
    "DEFAULT_RULES",
    "BehaviourPlan",
    "BehaviourSpec",
    "Category",
    "Conversation",
    "ConversationSet",
    "ConversationWriter",
    "Decomposition",
    "FieldError",
    "Goal",
    "GoalState",
    "RecordError",
    "RewardConfig",
    "RuleSet",
    "RunMeta",
    "Status",
    "StatusUpdate",
    "SubComponent",
    "TaskObjective",
    "ToolCall",
    "Turn",
    "TurnBehaviour",
    "UgstError",
    "UpdateResult",
    "__version__",
    "agreement",
    "apply_updates",
    "decomposition_quality",
    "diagnose",
    "get_rules",
    "get_schema",
    "load_conversations",
    "make_plan",
    "read_conversations",
    "read_decompositions",
    "read_goals",
    "read_trajectories",
    "render_state",
    "success_table",
    "ugst_reward",
    "validate",
]
