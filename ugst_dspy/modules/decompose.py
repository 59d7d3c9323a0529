"""``DecomposeGoal``: a user goal -> a goal state with every status at its initial value."""

from __future__ import annotations

from typing import Any

import dspy

from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.signatures.decompose import DecomposeGoalSignature
from ugst_dspy.state import GoalState


def _texts(values: Any) -> list[str]:
    out = []
    for value in values or []:
        text = value if isinstance(value, str) else getattr(value, "text", str(value))
        text = " ".join(str(text).split())
        if text:
            out.append(text)
    return out


def state_from_prediction(prediction: Any, rules: RuleSet = DEFAULT_RULES) -> GoalState:
    """Build the initial goal state from a decomposer's typed output, dropping empty texts."""
    objectives = []
    for objective in prediction.task_objectives or []:
        data = objective.model_dump() if hasattr(objective, "model_dump") else dict(objective)
        text = " ".join(str(data.get("text", "")).split())
        if text:
            objectives.append(
                {
                    "text": text,
                    "requirements": _texts(data.get("requirements")),
                    "preferences": _texts(data.get("preferences")),
                }
            )
    return rules.new_state(_texts(prediction.user_profile), _texts(prediction.user_policy), objectives)


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
        return dspy.Prediction(state=state_from_prediction(prediction, self.rules), raw=prediction)
