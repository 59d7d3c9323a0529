from __future__ import annotations

from ugst_dspy import Conversation, StatusUpdate, Turn, apply_updates
from ugst_dspy.metrics import diagnose, diagnose_all


def make(state, turn_updates, ended_by, key="c"):
    turns, current = [], state
    for updates in turn_updates:
        current = apply_updates(current, [StatusUpdate(a, s) for a, s in updates]).state
        turns.append(Turn(user="u", agent="a", state=current))
    return Conversation(id=key, goal_id=key, instruction="x", initial_state=state, turns=turns, ended_by=ended_by)


ALL_DONE = [("task_objectives[0]", "COMPLETE"), ("task_objectives[1]", "COMPLETE")]


def test_premature_termination(state):
    assert diagnose(make(state, [[("task_objectives[0]", "COMPLETE")]], "user_stop")) == ["premature_termination"]
    attempted = [("task_objectives[0]", "COMPLETE"), ("task_objectives[1]", "ATTEMPTED")]
    assert diagnose(make(state, [attempted], "user_stop")) == []


def test_no_termination_needs_idle_turns_at_the_limit(state):
    assert diagnose(make(state, [ALL_DONE, [], []], "max_turns")) == ["no_termination"]
    assert diagnose(make(state, [[], [], ALL_DONE], "max_turns")) == []  # finished on the last turn
    assert diagnose(make(state, [ALL_DONE, []], "max_turns"), min_idle_turns=2) == []
    assert diagnose(make(state, [ALL_DONE, []], "user_stop")) == []


def test_length_exhaustion(state):
    assert diagnose(make(state, [[], []], "max_turns")) == ["length_exhaustion"]
    summary = diagnose_all([make(state, [[]], "max_turns", "a"), make(state, [[]], "user_stop", "b"),
                            make(state, [ALL_DONE, []], "max_turns", "c")])
    assert summary.counts() == {"premature_termination": 1, "no_termination": 1, "length_exhaustion": 1}
    assert summary.by_class["length_exhaustion"] == ["a"] and summary.total == 3
