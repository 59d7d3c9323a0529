from __future__ import annotations

import json

import pytest

from ugst_dspy import RecordError, read_trajectories

from conftest import FIXTURES


def test_trajectories_fold_into_one_turn_per_user_message():
    first, second = read_trajectories(FIXTURES / "tau_trajectories.json", goal_prefix="retail-test-")
    assert first.id == "retail-test-0#0" and first.goal_id == "retail-test-0"
    assert first.instruction.startswith("You are Yusuf Rossi in 19122.")
    assert [t.user for t in first.turns][:2] == [
        "Hi, I'd like to exchange a couple of items from an order I received.",
        "Sure, I'm Yusuf Rossi and my zip code is 19122.",
    ]
    assert len(first.turns) == 5
    turn = first.turns[1]
    assert turn.agent == "Thanks, Yusuf. Which order would you like to exchange items from?"
    assert [(c.name, c.arguments, c.result) for c in turn.tool_calls] == [
        ("find_user_id_by_name_zip", {"first_name": "Yusuf", "last_name": "Rossi", "zip": "19122"}, "yusuf_rossi_9620")
    ]
    lookups = first.turns[2]
    assert lookups.agent.startswith("Let me look up the order.\nI found a clicky")
    # results arrive out of order and are matched by tool_call_id
    assert [(c.id, c.result["status"] if "status" in c.result else c.result["name"]) for c in lookups.tool_calls] == [
        ("call_2", "delivered"), ("call_3", "Mechanical Keyboard"),
    ]
    assert first.ended_by == "user_stop"
    assert all(t.state is None for t in first.turns) and first.initial_state is None
    assert first.meta.tau_bench["reward"] == 1.0 and first.meta.tau_bench["actions"][0]["name"]


def test_agent_greeting_and_transfer():
    second = read_trajectories(FIXTURES / "tau_trajectories.json")[1]
    assert second.goal_id == "0" and second.id == "0#1"
    assert second.meta.agent_preamble == ["Hello! How can I help you today?"]
    assert second.turns[0].user == "I want to exchange my keyboard and my thermostat."  # content parts joined
    assert second.ended_by == "agent_stop"
    assert second.turns[0].tool_calls[0].result == "Transfer successful"


def test_a_malformed_trajectory_names_the_record_and_field(tmp_path):
    records = json.loads((FIXTURES / "tau_trajectories.json").read_text())
    del records[1]["info"]["task"]["instruction"]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(records))
    with pytest.raises(RecordError) as err:
        read_trajectories(path)
    assert str(err.value) == f"{path}: record 2: field 'info.task.instruction': required field is missing"
    path.write_text("\n".join(json.dumps(r) for r in records[:1] + [{"task_id": 3, "traj": [{"role": "robot"}]}]))
    with pytest.raises(RecordError, match=r"t.json:2: field 'info.task.instruction'"):
        read_trajectories(path)
