"""Two tracker settings: evaluation (the states every table reads) is the paper's per-component judge by
default, steering and rewards batched; ``--mode`` keeps its meaning in every command."""

from __future__ import annotations

import json

import pytest

from ugst_dspy import read_conversations
from ugst_dspy.cli.app import main
from ugst_dspy.config import UGSTConfig
from ugst_dspy.errors import UgstError
from ugst_dspy.metrics.tracker_modes import tracker_mode

from conftest import FIXTURES

SCRIPTED = "scripted:scripted_world:respond"


def test_evaluation_is_per_component_and_steering_batched_by_default():
    config = UGSTConfig()
    assert (config.tracker_mode, config.steering_tracker_mode) == ("per_component", "batched")
    assert UGSTConfig.from_dict({"steering_tracker_mode": "per_component"}).steering_tracker_mode == "per_component"
    with pytest.raises(UgstError, match="steering_tracker_mode must be batched or per_component"):
        UGSTConfig.from_dict({"steering_tracker_mode": "lazy"})


@pytest.fixture
def trajectory_file(tmp_path):
    records = json.loads((FIXTURES / "tau_trajectories.json").read_text())[1:]  # one short trajectory
    path = tmp_path / "trajectories.json"
    path.write_text(json.dumps(records))
    return path


def test_track_uses_the_papers_tracker_unless_told_otherwise(trajectory_file, tmp_path, capsys):
    out = tmp_path / "tracked.jsonl"
    assert main(["track", str(trajectory_file), "--out", str(out), "--goal-prefix", "retail-test-",
                 "--model", SCRIPTED]) == 0
    record = read_conversations(out)[0]
    turns = len(record.turns)
    assert record.meta.tracking.mode == "per_component" == tracker_mode(record)
    assert record.meta.usage["tracker"].calls > turns  # one call per open sub-component, every turn
    batched = tmp_path / "batched.jsonl"
    assert main(["track", str(trajectory_file), "--out", str(batched), "--goal-prefix", "retail-test-",
                 "--model", SCRIPTED, "--mode", "batched"]) == 0
    record = read_conversations(batched)[0]
    assert record.meta.tracking.mode == "batched" and record.meta.usage["tracker"].calls == turns
    capsys.readouterr()
    assert main(["evaluate", str(out), str(batched), "-g", "file"]) == 0
    assert "by group: tracked.jsonl per_component, batched.jsonl batched" in capsys.readouterr().out


def test_simulate_records_the_evaluation_states_and_says_which_tracker_made_them(tmp_path, capsys):
    out = tmp_path / "runs.jsonl"
    args = ["simulate", "--env", "tau-retail", "--limit", "1", "--model", SCRIPTED, "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    record = read_conversations(out)[0]
    assert record.meta.config["tracker_mode"] == "per_component" == tracker_mode(record)
    assert record.meta.steering.mode == "batched" and record.meta.simulator_options == {"countdown": False}
    assert "Tracker: per_component (the paper's scheme" in printed and "stop with request 0" in printed
    steered = tmp_path / "steered.jsonl"
    assert main([*args[:-1], str(steered), "--mode", "batched", "--steering-mode", "per_component",
                 "--countdown"]) == 0
    record = read_conversations(steered)[0]
    assert record.meta.config["tracker_mode"] == "batched" and record.meta.steering.mode == "per_component"
    assert record.meta.simulator_options == {"countdown": True}
    assert "Tracker: batched (one judge call per turn" in capsys.readouterr().out
    # a rerun into the first output with the countdown on is another setting: refused, the file untouched
    before = out.read_bytes()
    assert main([*args, "--countdown"]) == 2 and out.read_bytes() == before
