"""Misprioritisation, hand-checked on the two-objective state of conftest (o0 with a requirement and a
preference, o1 with a requirement); window m = stuck_turns, states S_{n-m}..S_n."""

from __future__ import annotations

import pytest

from ugst_dspy.metrics import MISPRIORITISATION, diagnose, diagnose_all, stuck_objective

from .helpers import tracked

O0, O1 = "task_objectives[0]", "task_objectives[1]"
O0_REQ, O1_REQ = "task_objectives[0].requirements[0]", "task_objectives[1].requirements[0]"


def test_stuck_on_an_attempted_objective_while_another_stays_incomplete(state):
    # turn 1: o0 ATTEMPTED; turns 2-4: nothing moves; o1 INCOMPLETE throughout. n=4, m=3: S_1..S_4.
    c = tracked(state, [[(O0, "ATTEMPTED")], [], [], []], "user_stop")
    assert stuck_objective(c, 3) == 0
    assert diagnose(c, stuck_turns=3) == ["premature_termination", "partial_completion", MISPRIORITISATION]
    # m=4 needs o0 ATTEMPTED in S_0 too: no
    assert stuck_objective(c, 4) is None


def test_the_objective_must_be_attempted_at_the_start_of_the_window(state):
    c = tracked(state, [[], [(O0, "ATTEMPTED")], [], []], "max_turns")  # ATTEMPTED in S_2..S_4
    assert stuck_objective(c, 3) is None
    assert stuck_objective(c, 2) == 0
    assert diagnose(c, stuck_turns=2) == ["length_exhaustion", MISPRIORITISATION]


def test_any_movement_of_another_objective_in_the_window_clears_it(state):
    moved_requirement = tracked(state, [[(O0, "ATTEMPTED")], [], [(O1_REQ, "COMPLETE")], []], "user_stop")
    assert stuck_objective(moved_requirement, 3) is None
    moved_before_window = tracked(state, [[(O0, "ATTEMPTED"), (O1_REQ, "COMPLETE")], [], [], []], "user_stop")
    assert stuck_objective(moved_before_window, 3) == 0


def test_the_stuck_objectives_own_requirements_may_move(state):
    c = tracked(state, [[(O0, "ATTEMPTED")], [(O0_REQ, "ATTEMPTED")], [], []], "user_stop")
    assert stuck_objective(c, 3) == 0


def test_not_stuck_when_nothing_is_left_incomplete_or_the_objective_completes(state):
    nothing_open = tracked(state, [[(O0, "ATTEMPTED"), (O1, "COMPLETE")], [], [], []], "user_stop")
    assert stuck_objective(nothing_open, 3) is None
    completed = tracked(state, [[(O0, "ATTEMPTED")], [], [], [(O0, "COMPLETE")]], "user_stop")
    assert stuck_objective(completed, 3) is None


def test_short_or_untracked_windows_give_no_verdict(state):
    assert stuck_objective(tracked(state, [[(O0, "ATTEMPTED")], []], "user_stop"), 3) is None
    c = tracked(state, [[(O0, "ATTEMPTED")], [], [], []], "user_stop")
    c.turns[1].state = None  # S_2
    assert stuck_objective(c, 3) is None and stuck_objective(c, 1) == 0
    with pytest.raises(ValueError):
        stuck_objective(c, 0)


def test_opt_in_keeps_the_deterministic_classes_by_default(state):
    stuck = tracked(state, [[(O0, "ATTEMPTED")], [], [], []], "user_stop", key="s")
    other = tracked(state, [[(O0, "COMPLETE")]], "user_stop", key="o")
    assert diagnose(stuck) == ["premature_termination", "partial_completion"]
    default = diagnose_all([stuck, other]).counts()
    assert list(default) == [
        "premature_termination", "stop_with_request", "partial_completion", "no_termination", "length_exhaustion",
    ]
    summary = diagnose_all([stuck, other], stuck_turns=3)
    assert summary.counts() == {
        "premature_termination": 2, "stop_with_request": 0, "partial_completion": 2, "no_termination": 0,
        "length_exhaustion": 0, "misprioritisation": 1,
    }
    assert summary.by_class[MISPRIORITISATION] == ["s"]
