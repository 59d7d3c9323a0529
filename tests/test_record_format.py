"""The conversation record as one typed contract: declared turn fields, a versioned format, generated schemas,
one helper per derived fact, and the export to the paper's goal-state visualizer."""

from __future__ import annotations

import json

import pytest

from ugst_dspy import Conversation, Turn, get_schema, read_conversations, validate
from ugst_dspy.conversation import FORMAT, REASONING_FIELDS
from ugst_dspy.errors import UgstError
from ugst_dspy.files.visualizer import nested_state, to_visualizer
from ugst_dspy.state import Status

from conftest import REPO

OLD = {  # a format-1 record as an earlier ugst-dspy wrote it: no format key, turn extras undeclared
    "goal_id": "g1", "instruction": "Exchange the keyboard.", "initial_state": None, "ended_by": "user_stop",
    "meta": {"config": {"max_turns": 4}, "tau_bench": {"reward": 1.0}, "tool": "other"},
    "turns": [
        {"user": "Hi", "agent": "Hello", "tool_calls": [], "state": None,
         "reasoning": {"progress": None, "remaining": "all", "alignment": "polite"}, "illegal_updates": [],
         "note_from_another_tool": 3},
        {"user": "Terminate.", "agent": "", "tool_calls": [], "state": None, "behaviours": ["impatience"]},
    ],
}


def test_an_old_record_loads_with_typed_fields_and_keeps_what_other_tools_added():
    record = Conversation.from_json(json.loads(json.dumps(OLD)))
    first = record.turns[0]
    assert record.format == 1 and first.reasoning == {"progress": "", "remaining": "all", "alignment": "polite"}
    assert first.illegal_updates == [] and first.behaviours is None and record.turns[1].behaviours == ["impatience"]
    assert first.model_extra == {"note_from_another_tool": 3} and record.meta.tool == "other" and record.meta.tau_bench == {"reward": 1.0}
    assert record.turn_limit() == 4 and record.stop_turn == 1 and record.outcome == {"reward": 1.0}
    written = record.to_json()
    assert written["format"] == FORMAT
    assert "behaviours" not in written["turns"][0] and "reasoning" not in written["turns"][1]  # unset stays out
    again = Conversation.from_json(written)
    assert again.to_json() == written  # new records round-trip
    validate("conversation", written)


def test_every_fixture_and_example_file_still_loads():
    files = [REPO / "examples" / "conversations.jsonl", REPO / "bench" / "fixtures" / "tracking_conversations.jsonl"]
    for path in files:
        conversations = read_conversations(path)
        assert conversations, path
        for conversation in conversations:
            Conversation.from_json(conversation.to_json())


def test_a_newer_format_is_refused_in_one_line(tmp_path):
    path = tmp_path / "new.jsonl"
    path.write_text(json.dumps({**OLD, "format": FORMAT + 1}) + "\n")
    with pytest.raises(UgstError) as caught:
        read_conversations(path)
    message = str(caught.value)
    assert "\n" not in message and f"{path}:1" in message and "field 'format'" in message
    assert f"format {FORMAT + 1}" in message and "upgrade ugst-dspy" in message


def test_the_conversation_schema_is_generated_from_the_models():
    schema = get_schema("conversation")
    turn = schema["$defs"]["Turn"]["properties"]
    assert set(Turn.model_fields) <= set(turn)  # a field declared on the model is in the schema
    assert set(Conversation.model_fields) <= set(schema["properties"])
    assert schema["required"] == ["goal_id", "instruction", "initial_state", "turns", "ended_by", "meta"]
    assert "goal_state" in schema["$defs"] and "GoalState" not in schema["$defs"]
    bad = json.loads(json.dumps({**OLD, "turns": [{**OLD["turns"][0], "behaviours": "impatience"}]}))
    with pytest.raises(UgstError, match=r"turns\[0\]\.behaviours"):
        validate("conversation", bad)


def test_statuses_are_checked_per_category(state):
    record = Conversation(goal_id="g", instruction="x", initial_state=state, ended_by="max_turns").to_json()
    record["initial_state"]["user_profile"][0]["status"] = "COMPLETE"  # a profile is ALIGNED or MISALIGNED
    with pytest.raises(UgstError, match=r"initial_state\.user_profile\[0\]\.status"):
        validate("conversation", record)


def test_the_schema_command_prints_the_generated_schema(capsys):
    from ugst_dspy.cli.app import main

    assert main(["schema", "conversation"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == get_schema("conversation") and "reasoning" in printed["$defs"]["Turn"]["properties"]


def test_reasoning_fields_are_one_list():
    from ugst_dspy.modules import simulators
    from ugst_dspy.optimizers import layout

    assert simulators.REASONING_FIELDS is REASONING_FIELDS and layout.REASONING_FIELDS is REASONING_FIELDS


def _tracked(state):
    done = state.with_item("task_objectives[0]", state.task_objectives[0].model_copy(update={"status": Status.COMPLETE}))
    turns = [Turn(user="Exchange my keyboard.", agent="Done.", state=done),
             Turn(user="Terminate.", agent="", state=done)]
    return Conversation(goal_id="g", instruction="Exchange the keyboard.", initial_state=state, turns=turns,
                        ended_by="user_stop")


def test_the_visualizer_export_pairs_a_state_with_every_message(state):
    document = to_visualizer(_tracked(state))
    assert document["user_prompt"] == "Exchange the keyboard."
    assert [m["role"] for m in document["conversation"]] == ["user", "assistant", "user"]
    states = document["user_goal_states"]
    assert len(states) == len(document["conversation"]) + 1  # what the viewer expects
    assert states[0]["task_objectives"]["Exchange the keyboard."]["status"] == "INCOMPLETE"
    assert states[1] == states[2] == states[3]
    objective = states[1]["task_objectives"]["Exchange the keyboard."]
    assert objective == {"status": "COMPLETE", "requirements": {"Clicky switches.": "INCOMPLETE"},
                         "preferences": {"RGB backlight.": "MISALIGNED"}}
    assert states[0]["user_profile"] == {"You are Yusuf Rossi in 19122.": "ALIGNED"}


def test_repeated_texts_keep_every_status(state):
    twice = state.model_copy(update={"user_policy": (*state.user_policy, *state.user_policy)})
    assert list(nested_state(twice)["user_policy"]) == ["You want everything addressed in one go.",
                                                        "You want everything addressed in one go. (2)"]


def test_convert_to_the_visualizer_on_the_command_line(tmp_path, state, capsys):
    from ugst_dspy.cli.app import main

    source, out = tmp_path / "c.jsonl", tmp_path / "viz"
    untracked = Conversation(goal_id="u", instruction="x", ended_by="max_turns", turns=[Turn(user="hi")])
    source.write_text(json.dumps(_tracked(state).to_json()) + "\n")
    assert main(["convert", str(source), "--to", "ugst-visualizer", "--out", str(out)]) == 0
    assert json.loads((out / "g.json").read_text()) == to_visualizer(_tracked(state))
    assert main(["convert", str(source), "--to", "ugst-visualizer", "--out", str(out)]) == 0  # same content: fine
    (out / "g.json").write_text("{}")
    assert main(["convert", str(source), "--to", "ugst-visualizer", "--out", str(out)]) == 2
    assert (out / "g.json").read_text() == "{}"  # refused, kept
    source.write_text(json.dumps(untracked.to_json()) + "\n")
    assert main(["convert", str(source), "--to", "ugst-visualizer", "--out", str(tmp_path / "v2")]) == 2
    assert "not tracked" in capsys.readouterr().err
