from __future__ import annotations

from ugst_dspy import Conversation, StatusUpdate, Turn, apply_updates
from ugst_dspy.conversation import ToolCall
from ugst_dspy.metrics import diagnose, diagnose_all, stopped_with_request


def make(state, turn_updates, ended_by, key="c"):
    turns, current = [], state
    for updates in turn_updates:
        current = apply_updates(current, [StatusUpdate(a, s) for a, s in updates]).state
        turns.append(Turn(user="u", agent="a", state=current))
    return Conversation(id=key, goal_id=key, instruction="x", initial_state=state, turns=turns, ended_by=ended_by)


ALL_DONE = [("task_objectives[0]", "COMPLETE"), ("task_objectives[1]", "COMPLETE")]


def test_premature_termination(state):
    done_one = make(state, [[("task_objectives[0]", "COMPLETE")]], "user_stop")
    assert diagnose(done_one) == ["premature_termination", "partial_completion"]
    assert diagnose(make(state, [[]], "user_stop")) == ["premature_termination"]
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
    assert summary.counts() == {"premature_termination": 1, "stop_with_request": 0, "partial_completion": 0,
                                "no_termination": 1, "length_exhaustion": 1}
    assert summary.by_class["length_exhaustion"] == ["a"] and summary.total == 3


O0, O1 = "task_objectives[0]", "task_objectives[1]"
O1_REQ = "task_objectives[1].requirements[0]"


def stopping(state, updates, last_user, last_agent="", ended_by="user_stop"):
    """Turn 1 completes o0 (the agent answers); turn 2 is the stop message ``last_user`` with ``updates``."""
    c = make(state, [[(O0, "COMPLETE")], updates], ended_by)
    c.turns[-1].user, c.turns[-1].agent = last_user, last_agent
    return c


def test_stop_with_a_question_the_agent_never_answered(state):
    asked = stopping(state, [], "Thanks! Could you also check my thermostat order?")
    assert diagnose(asked) == ["premature_termination", "stop_with_request", "partial_completion"]
    answered = stopping(state, [], "Could you also check my thermostat order?", last_agent="It ships tomorrow.")
    assert "stop_with_request" not in diagnose(answered)
    assert "stop_with_request" not in diagnose(stopping(state, [], "Is that all?", ended_by="max_turns"))


def test_stop_in_a_message_that_moved_a_task_forward(state):
    # the stop message states o1's requirement (the judge moves it) and nobody answers it
    moved = stopping(state, [(O1_REQ, "COMPLETE")], "And the thermostat must work with Google Home. Bye.")
    assert "stop_with_request" in diagnose(moved)
    farewell = stopping(state, [], "Great, that's all. Bye.")
    assert "stop_with_request" not in diagnose(farewell)
    bare = stopping(state, [(O1_REQ, "COMPLETE")], "  ")  # a bare stop turn says nothing
    assert "stop_with_request" not in diagnose(bare)
    with_tools = stopping(state, [(O1_REQ, "COMPLETE")], "Also Google Home.")
    with_tools.turns[-1].tool_calls = [ToolCall(name="lookup", arguments={})]  # the agent acted on it
    assert "stop_with_request" not in diagnose(with_tools)


def test_untracked_stop_turn_is_judged_on_its_text_only(state):
    moved = stopping(state, [(O1_REQ, "COMPLETE")], "And Google Home, please.")
    moved.turns[0].state = None  # S_{n-1} unknown: no state test
    assert not stopped_with_request(moved)
    asked = stopping(state, [], "What about Google Home?")
    asked.turns[0].state = None
    assert stopped_with_request(asked)


def test_partial_completion_needs_one_objective_done_and_one_never_tried(state):
    assert "partial_completion" in diagnose(make(state, [[(O1, "ATTEMPTED")]], "user_stop"))
    assert "partial_completion" not in diagnose(make(state, [[]], "user_stop"))  # nothing done
    assert diagnose(make(state, [ALL_DONE], "user_stop")) == []  # everything done
    at_limit = diagnose(make(state, [[(O0, "COMPLETE")]], "max_turns"))
    assert at_limit == ["length_exhaustion"]  # only a stop by the user is a partial completion
    summary = diagnose_all([make(state, [[(O0, "COMPLETE")]], "user_stop", "p"), make(state, [[]], "user_stop", "q")])
    assert summary.by_class["partial_completion"] == ["p"] and summary.by_class["premature_termination"] == ["p", "q"]
