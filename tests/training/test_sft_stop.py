"""The stop label of SFT records and prompt-optimisation examples sits on the user's stop message only."""

from __future__ import annotations

from ugst_dspy import DEFAULT_RULES, Conversation, Turn
from ugst_dspy.optimizers.layout import parse_completion
from ugst_dspy.optimizers.sft_data import sft_records
from ugst_dspy.optimizers.trainset import conversation_examples

GOAL = "You are Yusuf Rossi in 19122. Exchange your keyboard for a clicky one."
STATE = DEFAULT_RULES.new_state(["You are Yusuf Rossi in 19122."], [], [{"text": "Exchange the keyboard."}])


def why(n: int) -> dict[str, str]:
    return {"progress": f"step {n}", "remaining": "the keyboard" if n < 3 else "nothing", "alignment": "polite"}


def record(*turns: Turn) -> Conversation:
    return Conversation(goal_id="g", instruction=GOAL, initial_state=STATE, turns=list(turns), ended_by="user_stop",
                        meta={"config": {"max_turns": 5}})


ASK = Turn(user="Hi, I'm Yusuf Rossi, zip 19122.", agent="Found you. What can I do?", state=STATE, reasoning=why(1))
EXCHANGE = Turn(user="Exchange my keyboard for a clicky one.", agent="Done: exchanged.", state=STATE,
                reasoning=why(2))


def stops(conversation: Conversation) -> tuple[list[bool], list[bool]]:
    """The stop labels of its SFT records and of its prompt-optimisation examples, turn by turn."""
    sft = [parse_completion(r["completion"][0]["content"]).stop for r in sft_records([conversation])]
    examples = [bool(e.reference_stop) for e in conversation_examples(conversation)]
    return sft, examples


def test_the_stop_message_is_the_only_stop_label():
    bare = record(ASK, EXCHANGE, Turn(user="Terminate.", agent="", state=STATE, reasoning=why(3)))
    assert bare.stop_turn == 2
    assert stops(bare) == ([False, False, True], [False, False, True])
    spoken = record(ASK, Turn(user="Thanks, that's all!", agent="", state=STATE, reasoning=why(3)))
    assert spoken.stop_turn == 1 and stops(spoken) == ([False, True], [False, True])
    marked = record(ASK, Turn(user="Thanks. Terminate.", agent="Goodbye!", state=STATE, reasoning=why(3)))
    assert marked.stop_turn == 1 and stops(marked) == ([False, True], [False, True])  # imported: answered anyway


def test_a_record_without_its_stop_message_labels_no_answered_turn_as_the_stop():
    """Written before stop messages were kept: the user stopped after the agent's last answer, in a message
    the record lacks; the answered last turn is not where the user stopped."""
    legacy = record(ASK, EXCHANGE)
    assert legacy.stop_turn is None
    assert stops(legacy) == ([False, False], [False, False])
    called = record(ASK, Turn(user="Exchange it.", agent="", tool_calls=[{"name": "exchange", "arguments": {}}],
                              state=STATE, reasoning=why(2)))
    assert called.stop_turn is None and stops(called) == ([False, False], [False, False])
