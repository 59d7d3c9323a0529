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
from ugst_dspy.state import CATEGORIES, Category, GoalState, Status

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


# -- over a conversation or a multi-turn roll-out ----------------------------------------------------------

TERMINATION = "termination"
TERMINATION_SIGNALS = ("stop_with_request", "stopped_with_open_objectives", "out_of_turns_open")


@dataclass(frozen=True)
class TrajectoryConfig:
    """How the reward of several user turns is put together (multi-turn GRPO, ``ugst evaluate``)."""

    reward: RewardConfig = field(default_factory=RewardConfig)
    #: weight of the termination indicator beside the categories' alphas
    termination_weight: float = 0.5
    #: share of a category's value that is the final state's success (the rest: the mean per-turn indicator)
    final_share: float = 0.5

    def __post_init__(self) -> None:
        if not 0 <= self.final_share <= 1:
            raise ValueError(f"final_share must be between 0 and 1, got {self.final_share!r}")

    @property
    def names(self) -> list[str]:
        """The reward components in order: the five categories, then termination."""
        return [c.value for c in CATEGORIES] + [TERMINATION]

    @property
    def weights(self) -> list[float]:
        return [self.reward.weights[c] for c in CATEGORIES] + [self.termination_weight]

    def to_json(self) -> dict[str, Any]:
        return {**self.reward.to_json(), "termination_weight": self.termination_weight, "final_share": self.final_share}


@dataclass(frozen=True)
class TrajectoryReward:
    """Per component a value in [0, 1] (the five categories and ``termination``), the termination signals that
    fired, and the weighted total."""

    values: Mapping[str, float]
    signals: Mapping[str, bool]
    total: float

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "values": dict(self.values), "signals": dict(self.signals)}


def _final_success(category: Category, state: GoalState, rules: RuleSet) -> float:
    items = state.of(category)
    if not items:
        return 1.0
    return sum(rules.is_success(category, located.status) for located in items) / len(items)


def trajectory_reward(
    states: list[GoalState],
    config: TrajectoryConfig | None = None,
    rules: RuleSet = DEFAULT_RULES,
    *,
    stop_with_request: bool = False,
    stopped: bool = False,
    at_turn_limit: bool = False,
) -> TrajectoryReward:
    """The reward of the user turns that took ``states[0]`` through ``states[1:]`` (one state per turn).

    Each category's value is ``(1 - final_share)`` times the mean of its per-turn indicator ``I_j`` (SPEC
    section 2, :func:`indicator`) plus ``final_share`` times the share of its sub-components successful in the
    last state (an empty category: 1). ``termination`` is 1 unless one of the paper's termination failures
    (Table 1) fired: the user stopped in a message that still asked for something (``stop_with_request``),
    stopped while a task objective was still INCOMPLETE (``stopped``), or the conversation ran out of turns
    (``at_turn_limit``) with one INCOMPLETE. The total weights the values by the alphas and
    ``termination_weight``.
    """
    config = config or TrajectoryConfig()
    if not states:
        raise ValueError("a trajectory needs at least its first state")
    final = states[-1]
    values: dict[str, float] = {}
    for category in CATEGORIES:
        steps = [indicator(category, a, b, rules, config.reward.mode) for a, b in zip(states, states[1:])]
        per_turn = sum(steps) / len(steps) if steps else _final_success(category, final, rules)
        values[category.value] = ((1 - config.final_share) * per_turn
                                  + config.final_share * _final_success(category, final, rules))
    incomplete = any(x.status == Status.INCOMPLETE for x in final.of(Category.TASK_OBJECTIVE))
    signals = {
        "stop_with_request": bool(stop_with_request),
        "stopped_with_open_objectives": bool(stopped and incomplete),
        "out_of_turns_open": bool(at_turn_limit and incomplete),
    }
    values[TERMINATION] = 0.0 if any(signals.values()) else 1.0
    total = sum(weight * values[name] for name, weight in zip(config.names, config.weights))
    return TrajectoryReward(values=values, signals=signals, total=total)


def conversation_reward(conversation: Any, config: TrajectoryConfig | None = None,
                        rules: RuleSet = DEFAULT_RULES) -> TrajectoryReward | None:
    """:func:`trajectory_reward` of a whole tracked conversation record (``None`` when not tracked): the
    user's bare stop message is no turn; a stop in a message the agent never answered is a stop with request."""
    from ugst_dspy.stop import split_stop

    if not conversation.tracked:
        return None
    turns = list(conversation.turns)
    states = conversation.states
    stop_turn = conversation.stop_turn
    stop_with_request = False
    if stop_turn is not None:
        text, _ = split_stop(turns[stop_turn].user)
        stop_with_request = bool(text.strip())
        if not stop_with_request:  # the bare stop message changes nothing: not a turn of its own
            states = states[:-1]
    return trajectory_reward(states, config, rules, stop_with_request=stop_with_request,
                             stopped=conversation.ended_by == "user_stop",
                             at_turn_limit=conversation.ended_by == "max_turns")
