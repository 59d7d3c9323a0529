from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ugst_dspy import Conversation, ConversationWriter, RecordError, Turn, read_conversations, read_goals
from ugst_dspy.files import DecompositionWriter, read_decompositions
from ugst_dspy.files.decompositions import Decomposition
from ugst_dspy.schemas import SCHEMAS, get_schema

from conftest import REPO


def conversation(key: str, state=None, turns: int = 1) -> Conversation:
    return Conversation(
        id=key, goal_id=key.split("#")[0], instruction="Do it.", initial_state=state,
        turns=[Turn(user=f"u{i}", agent=f"a{i}", state=state) for i in range(turns)],
        ended_by="user_stop", meta={"simulator": "prompt"},
    )


def test_every_schema_is_valid_draft_2020_12():
    from jsonschema import Draft202012Validator

    for kind in SCHEMAS:
        Draft202012Validator.check_schema(get_schema(kind))


def test_tau_bench_task_files_load_as_they_are(packaged_data):
    for name, count in [("retail_test", 115), ("airline_test", 50), ("retail_dev", 20), ("retail_train", 500)]:
        goals = read_goals(packaged_data / "tau_bench" / f"{name}.jsonl")
        assert len(goals) == count
    goal = read_goals(packaged_data / "tau_bench" / "retail_test.jsonl", limit=1)[0]
    assert goal.id == "retail-test-0" and goal.instruction.startswith("You are Yusuf Rossi in 19122.")
    assert goal.fields["actions"][0]["name"] == "find_user_id_by_name_zip"  # carried through untouched
    assert goal.to_json()["user_id"] == "yusuf_rossi_9620"


def test_multiwoz_goals_take_message_as_instruction(packaged_data):
    goals = read_goals(packaged_data / "multiwoz" / "goals_test.jsonl", limit=3)
    assert goals[0].id == "SNG0073"
    assert goals[0].instruction.startswith("You want to book a taxi.")
    assert "taxi" in goals[0].fields["goal"]


def test_goal_errors_name_file_line_and_field(tmp_path):
    path = tmp_path / "goals.jsonl"
    path.write_text('{"id": "a", "instruction": "x"}\n\n{"id": "b"}\n')
    with pytest.raises(RecordError) as err:
        read_goals(path)
    assert str(err.value) == f"{path}:3: field 'instruction': required field is missing"
    path.write_text('{"id": "a", "instruction": "x"}\n{"id": "a", "instruction": "y"}\n')
    with pytest.raises(RecordError, match=r":2: field 'id': duplicate id 'a'"):
        read_goals(path)
    path.write_text('{"id": "a", "instruction": "x"\n')
    with pytest.raises(RecordError, match=r":1: not valid JSON"):
        read_goals(path)
    with pytest.raises(RecordError, match="No such file"):
        read_goals(tmp_path / "missing.jsonl")


def test_conversation_round_trip_and_resume(tmp_path, state):
    path = tmp_path / "out" / "c.jsonl"
    with ConversationWriter(path, fsync=False) as writer:
        writer.write_conversation(conversation("g1", state))
        writer.write_conversation(conversation("g2"))
        with pytest.raises(ValueError, match="already written"):
            writer.write_conversation(conversation("g1"))
    with ConversationWriter(path, fsync=False) as writer:
        assert writer.done == {"g1", "g2"}
        writer.write_conversation(conversation("g3", state, turns=0))
    loaded = read_conversations(path)
    assert [c.key for c in loaded] == ["g1", "g2", "g3"]
    assert loaded[0].final_state == state and loaded[0].tracked
    assert loaded[1].final_state is None and not loaded[1].tracked
    assert loaded[2].final_state == state  # no turns: the initial state


def test_malformed_conversation_names_file_line_and_field(tmp_path, state):
    good = conversation("g1", state).to_json()
    bad = json.loads(json.dumps(good))
    bad["id"] = "g2"
    bad["turns"][0]["state"]["task_objectives"][1]["status"] = "DONE"
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(RecordError) as err:
        read_conversations(path)
    assert str(err.value) == (
        f"{path}:2: field 'turns[0].state.task_objectives[1].status': "
        "Input should be 'ALIGNED', 'MISALIGNED', 'INCOMPLETE', 'ATTEMPTED' or 'COMPLETE' (got 'DONE')"
    )
    missing = dict(good, id="g3")
    del missing["ended_by"]
    path.write_text(json.dumps(missing) + "\n")
    with pytest.raises(RecordError, match=r":1: field 'ended_by': required field is missing"):
        read_conversations(path)


def test_writer_refuses_an_invalid_record_and_keeps_the_file(tmp_path, state):
    path = tmp_path / "c.jsonl"
    with ConversationWriter(path, fsync=False) as writer:
        writer.write_conversation(conversation("g1", state))
        with pytest.raises(ValueError, match="ended_by"):
            writer.write({**conversation("g2").to_json(), "ended_by": "bored"})
    assert [c.key for c in read_conversations(path)] == ["g1"]


def test_a_torn_last_line_is_moved_aside_on_resume(tmp_path, state, capsys):
    path = tmp_path / "c.jsonl"
    line = json.dumps(conversation("g1", state).to_json())
    path.write_text(line + "\n" + line[:40])
    with ConversationWriter(path, fsync=False) as writer:
        assert writer.done == {"g1"}
        writer.write_conversation(conversation("g2"))
    assert "moved to" in capsys.readouterr().err
    assert [c.key for c in read_conversations(path)] == ["g1", "g2"]
    assert (tmp_path / "c.jsonl.torn").read_text() == line[:40] + "\n"  # kept, never just deleted


def test_decompositions_round_trip(tmp_path, state):
    path = tmp_path / "d.jsonl"
    with DecompositionWriter(path, fsync=False) as writer:
        writer.write(Decomposition(goal_id="g1", instruction="Do it.", state=state).to_json())
    assert read_decompositions(path)["g1"].state == state


WRITER = textwrap.dedent(
    """
    import sys, time
    from ugst_dspy import Conversation, ConversationWriter, Turn
    path, n = sys.argv[1], int(sys.argv[2])
    with ConversationWriter(path) as writer:
        for i in range(n):
            key = f"g{i}"
            if key in writer.done:
                continue
            c = Conversation(goal_id=key, instruction="x" * 2000, turns=[Turn(user="u" * 5000, agent="a")],
                             ended_by="max_turns", meta={})
            writer.write_conversation(c)
            print(key, flush=True)
            time.sleep(0.01)
    """
)


def test_killing_a_writer_loses_nothing_and_a_rerun_writes_each_id_once(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    path = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    total = 60
    for kill_after in (7, 23):
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(total)], stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        printed = [proc.stdout.readline() for _ in range(kill_after)]
        assert all(printed)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        keys = [c.key for c in read_conversations(path)]
        assert len(keys) == len(set(keys)) >= kill_after
    done = subprocess.run([sys.executable, str(script), str(path), str(total)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    keys = [c.key for c in read_conversations(path)]
    assert sorted(keys, key=lambda k: int(k[1:])) == [f"g{i}" for i in range(total)]
    assert keys == sorted(keys, key=lambda k: int(k[1:]))  # appended in order, never rewritten
