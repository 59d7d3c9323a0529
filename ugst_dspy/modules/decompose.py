"""``DecomposeGoal``: a user goal -> a goal state with every status at its initial value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dspy

from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.signatures.decompose import DecomposeGoalSignature
from ugst_dspy.state import GoalState


def state_from_items(items: Iterable[Any], rules: RuleSet = DEFAULT_RULES) -> GoalState:
    """Build the initial goal state from a decomposer's ordered ``(category, text)`` items.

    Requirements and preferences attach to the task objective before them; one that comes before any
    objective is kept as a task objective of its own rather than dropped. Empty texts are dropped.
    """
    profile: list[str] = []
    policy: list[str] = []
    objectives: list[dict[str, Any]] = []
    for item in items:
        category = str(getattr(item, "category", None) or item["category"])
        text = " ".join(str(getattr(item, "text", None) or item["text"]).split())
        if not text:
            continue
        if category == "user_profile":
            profile.append(text)
        elif category == "user_policy":
            policy.append(text)
        elif category == "task_objective" or not objectives:
            objectives.append({"text": text, "requirements": [], "preferences": []})
        else:
            objectives[-1]["requirements" if category == "requirement" else "preferences"].append(text)
    return rules.new_state(profile, policy, objectives)


class DecomposeGoal(dspy.Module):
    """Decompose a user goal into profile, policy and task objectives with requirements and preferences.

    ``forward(goal=...)`` returns a prediction whose ``state`` is the initial goal state S_0.
    """

    def __init__(self, rules: RuleSet = DEFAULT_RULES) -> None:
        super().__init__()
        self.rules = rules
        self.decompose = dspy.Predict(DecomposeGoalSignature)

    def forward(self, goal: str) -> dspy.Prediction:
        prediction = self.decompose(goal=goal)
        return dspy.Prediction(state=state_from_items(prediction.decomposition.sub_components, self.rules))
