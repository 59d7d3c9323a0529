"""The composite UGST reward of one user response (SPEC section 2), from the states before and after it.

``R(u_i) = sum_j alpha_j * I_j(u_i)`` over the five categories. In the default ``progress`` mode,
``I_j = 1`` when every sub-component of category ``j`` is successful in the updated state or, for the two
task categories, when at least one of them moved forward with ``u_i``. In ``success`` mode only the first
condition counts. An empty category counts 1. This module is pure: the LM-backed wrapper that first
updates the state with the tracker, the DSPy metric and TRL's reward functions all call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.state import CATEGORIES, Category, GoalState

IndicatorMode = Literal["progress", "success"]
TASK_CATEGORIES = (Category.TASK_OBJECTIVE, Category.REQUIREMENT)


@dataclass(frozen=True)
class RewardConfig:
    """How the reward is put together; recorded beside every run that uses it."""

    weights: Mapping[Category, float] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0.5))
    mode: IndicatorMode = "progress"

    def __post_init__(self) -> None:
        if self.mode not in ("progress", "success"):
            raise ValueError(f"unknown indicator mode {self.mode!r} (use 'progress' or 'success')")
        missing = [c.value for c in CATEGORIES if c not in self.weights]
        if missing:
            raise ValueError(f"reward weights missing for: {', '.join(missing)}")

    def to_json(self) -> dict[str, Any]:
        return {"weights": {c.value: self.weights[c] for c in CATEGORIES}, "mode": self.mode}


@dataclass(frozen=True)
class RewardBreakdown:
    """The indicator of every category and the weighted total."""

    indicators: Mapping[Category, int]
    total: float
    config: RewardConfig

    @property
    def failed(self) -> list[Category]:
        return [c for c in CATEGORIES if not self.indicators[c]]

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "indicators": {c.value: self.indicators[c] for c in CATEGORIES}}


def indicator(
    category: Category,
    before: GoalState,
    after: GoalState,
    rules: RuleSet = DEFAULT_RULES,
    mode: IndicatorMode = "progress",
) -> int:
    """``I_j`` of one category for the response that took ``before`` to ``after`` (same sub-components)."""
    items = after.of(category)
    if not items:
        return 1
    if all(rules.is_success(category, located.status) for located in items):
        return 1
    if mode == "progress" and category in TASK_CATEGORIES:
        old = before.of(category)
        return int(any(rules.is_forward(category, o.status, n.status) for o, n in zip(old, items)))
    return 0


def ugst_reward(
    before: GoalState,
    after: GoalState,
    config: RewardConfig | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> RewardBreakdown:
    """The composite reward of one user response, given the state before it and the state it led to."""
    config = config or RewardConfig()
    indicators = {c: indicator(c, before, after, rules, config.mode) for c in CATEGORIES}
    total = sum(config.weights[c] * indicators[c] for c in CATEGORIES)
    return RewardBreakdown(indicators=indicators, total=total, config=config)
