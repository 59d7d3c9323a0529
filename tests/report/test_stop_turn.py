"""The report shows the user's stop message as the last turn, with the simulator's reasoning for stopping."""

from __future__ import annotations

from ugst_dspy import DEFAULT_RULES, Conversation, Turn
from ugst_dspy.report.data import conversation_json

STATE = DEFAULT_RULES.new_state([], [], [{"text": "Exchange the keyboard."}])
REASONING = {"progress": "The keyboard is exchanged.", "remaining": "Nothing.", "alignment": ""}


def test_the_stop_turn_carries_the_reasoning_and_no_answer():
    conversation = Conversation(goal_id="g", instruction="Exchange the keyboard.", initial_state=STATE,
                                ended_by="user_stop", turns=[
                                    Turn(user="Exchange my keyboard.", agent="Done.", state=STATE),
                                    Turn(user="Terminate.", agent="", state=STATE, reasoning=REASONING)])
    data = conversation_json(conversation, 0)
    last = data["t"][-1]
    assert (last["u"], last["a"], last["tc"]) == ("Terminate.", "", [])
    assert last["why"] == "progress: The keyboard is exchanged.\nremaining: Nothing."  # empty parts left out
    assert "why" not in data["t"][0]
    assert "stop_with_request" not in data["dx"]
