"""Scoring a candidate user response with the tracker: the LM-backed step before the pure UGST reward.

:class:`ResponseScorer` updates the goal state with the candidate response (the tracker judges the turn
``(response, no agent answer yet)``) and scores the change with :func:`ugst_dspy.reward.ugst_reward`. The
DSPy metric of prompt optimisation and TRL's single-turn reward functions call it. The reward itself is
pure and lives once in :mod:`ugst_dspy.reward`, which evaluation (``ugst evaluate --reward``) and multi-turn
GRPO also call on states the tracker already made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ugst_dspy.conversation import Turn
from ugst_dspy.modules.tracker import GoalStateTracker
from ugst_dspy.reward import RewardBreakdown, RewardConfig, ugst_reward
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.state import GoalState


@dataclass
class ScoredResponse:
    """A response's reward, the state it led to and the judge outputs that were refused."""

    reward: RewardBreakdown
    state: GoalState
    illegal: int


class ResponseScorer:
    """Score candidate user responses with the UGST reward (the tracker's LM is whatever it is bound to)."""

    def __init__(
        self,
        tracker: GoalStateTracker | None = None,
        config: RewardConfig | None = None,
        rules: RuleSet = DEFAULT_RULES,
    ) -> None:
        self.tracker = tracker or GoalStateTracker(rules=rules)
        self.config = config or RewardConfig()
        self.rules = rules

    def score(self, goal: str, state: GoalState, turns: Sequence[Turn], response: str) -> ScoredResponse:
        """The reward of ``response`` as the next user message after ``turns`` when the state is ``state``."""
        candidate = [*turns, Turn(user=response, agent="", tool_calls=[], state=None)]
        out = self.tracker(goal=goal, state=state, turns=candidate)
        reward = ugst_reward(state, out.state, self.config, self.rules)
        return ScoredResponse(reward=reward, state=out.state, illegal=len(out.illegal))
