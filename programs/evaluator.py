"""The UGST evaluator: decompose a goal (unless a state is given), then track the goal state turn by turn.

Its tracker is the paper's by default (``per_component``: one judge call per open sub-component, absorbed
ones skipped), the tracker behind every reported number; ``mode="batched"`` is the cheaper option (see
docs/ugst.md for the agreement it reached with the paper's scheme).
"""

from __future__ import annotations

from collections.abc import Sequence

import dspy

from ugst_dspy.conversation import Conversation, Turn
from ugst_dspy.modules.decompose import DecomposeGoal
from ugst_dspy.modules.tracker import GoalStateTracker, TrackerMode
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.state import GoalState


class UGSTEvaluator(dspy.Module):
    """Decompose + track.

    ``forward(goal=..., turns=...)`` returns ``initial_state`` (S_0), ``states`` (S_1..S_n), ``illegal`` (the
    refused judge outputs of each turn) and ``calls`` (judge calls). :meth:`track_conversation` fills the
    states of a conversation record.
    """

    def __init__(self, mode: TrackerMode = "per_component", rules: RuleSet = DEFAULT_RULES) -> None:
        super().__init__()
        self.rules = rules
        self.decomposer = DecomposeGoal(rules)
        self.tracker = GoalStateTracker(mode=mode, rules=rules)

    def forward(
        self, goal: str, turns: Sequence[Turn] = (), initial_state: GoalState | None = None
    ) -> dspy.Prediction:
        start = initial_state if initial_state is not None else self.decomposer(goal=goal).state
        state = start
        states: list[GoalState] = []
        illegal: list[list[dict]] = []
        calls = 0
        for i in range(len(turns)):
            out = self.tracker(goal=goal, state=state, turns=turns[: i + 1])
            state = out.state
            states.append(state)
            illegal.append([item.to_json() for item in out.illegal])
            calls += out.calls
        return dspy.Prediction(initial_state=start, states=states, illegal=illegal, calls=calls)

    def track_conversation(self, conversation: Conversation) -> Conversation:
        """A copy of ``conversation`` with S_0 (kept when present) and every turn's state filled in anew."""
        out = self(goal=conversation.instruction, turns=conversation.turns, initial_state=conversation.initial_state)
        turns = [
            turn.model_copy(update={"state": state, "illegal_updates": bad})
            for turn, state, bad in zip(conversation.turns, out.states, out.illegal)
        ]
        return conversation.model_copy(update={"initial_state": out.initial_state, "turns": turns})
