"""Train sets of conversation prefixes: inputs as the simulator sees them, S_i, references, splits."""

from __future__ import annotations

import json

from ugst_dspy.conversation import Conversation
from ugst_dspy.optimizers.trainset import INPUT_FIELDS, build_trainset, split_examples


def test_one_example_per_turn_with_the_state_before_the_next_message(conversations):
    data = build_trainset(conversations)
    assert len(data.examples) == sum(len(c.turns) for c in conversations) == 10
    assert (data.conversations, data.skipped_untracked) == (3, 0)
    steered = conversations[0]
    mine = [e for e in data.examples if e.conversation_id == steered.key]
    assert [e.turn for e in mine] == [1, 2, 3, 4]
    for i, example in enumerate(mine):
        assert set(example.inputs().keys()) == set(INPUT_FIELDS)
        assert example.goal == steered.instruction and example.max_turns == 10
        assert example.state == steered.states[i]  # S_0 is the initial state
        assert [t.user for t in example.turns] == [t.user for t in steered.turns[:i]]
        assert all(t.state is None for t in example.turns)  # the simulator's view carries no state
        assert example.reference == steered.turns[i].user
        assert example.reference_stop == (i == 3)  # the record ended with a user stop
    assert not any(e.reference_stop for e in data.examples if e.conversation_id.endswith("prompt-2"))


def test_untracked_records_are_skipped_and_counted(conversations):
    record = conversations[1].to_json()
    record["id"] = "untracked"
    record["turns"][0]["state"] = None
    data = build_trainset([*conversations, Conversation.from_json(json.loads(json.dumps(record)))])
    assert (len(data.examples), data.conversations, data.skipped_untracked) == (10, 3, 1)
    assert "1 untracked skipped" in data.summary()


def test_the_split_is_seeded_and_keeps_each_conversation_on_one_side(conversations):
    examples = build_trainset(conversations).examples
    first = split_examples(examples, seed=3)
    again = split_examples(examples, seed=3)
    assert [(e.conversation_id, e.turn) for e in first.train] == [(e.conversation_id, e.turn) for e in again.train]
    assert first.val and first.train
    assert not {e.conversation_id for e in first.train} & {e.conversation_id for e in first.val}
    capped = split_examples(examples, train=2, val=1, seed=0)
    assert (len(capped.train), len(capped.val)) == (2, 1)
    assert split_examples(examples, val=0).val == []
    single = split_examples([e for e in examples if e.conversation_id == conversations[0].key], val=1)
    assert (len(single.train), len(single.val)) == (3, 1)  # one conversation: split by prefixes
