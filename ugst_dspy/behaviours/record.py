"""The behaviours a conversation record was made with, read back for training and prompt optimisation.

A record made with behaviours holds its plan (``meta.behaviours``) and, per turn, the behaviours that acted
(``turn.behaviours``). :func:`recorded_behaviour` rebuilds what the simulator was told before a user message
from those (the instructions, and the parts of the goal still open in the state before it), so a student or
an optimised program is trained on the prompt a behaviour-laden simulator gets.
"""

from __future__ import annotations

from ugst_dspy.behaviours.plan import BehaviourPlan, TurnBehaviour
from ugst_dspy.conversation import Conversation
from ugst_dspy.metrics.behaviours import plan_of, turn_behaviours
from ugst_dspy.rules import DEFAULT_RULES, RuleSet


def recorded_plan(conversation: Conversation) -> BehaviourPlan | None:
    """The plan of a record made with behaviours, else ``None``."""
    data = plan_of(conversation)
    return BehaviourPlan.from_json(data) if data is not None else None


def recorded_behaviour(conversation: Conversation, index: int, rules: RuleSet = DEFAULT_RULES,
                       plan: BehaviourPlan | None = None) -> TurnBehaviour | None:
    """What the simulator was told before the user message of turn ``index`` (0-based), with the open parts of
    the state before it; ``None`` for a record made without behaviours."""
    plan = plan or recorded_plan(conversation)
    if plan is None:
        return None
    number = index + 1
    turn = conversation.turns[index] if index < len(conversation.turns) else None
    names = turn_behaviours(turn) if turn is not None else None
    state = conversation.states[index] if index < len(conversation.states) else None
    return plan.describe(plan.acting(number) if names is None else names, number, state, rules)
