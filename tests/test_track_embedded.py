"""`ugst track` on a τ-bench trajectory file with the small embedded model (SmolLM2-135M): one tracked conversation per record,
every turn with a valid state, and LM usage per role in meta (slow: a real 135 M-parameter model)."""

from __future__ import annotations

import json

import pytest

from ugst_dspy import read_conversations, validate
from ugst_dspy.cli.app import main
from ugst_dspy.config import UGSTConfig
from ugst_dspy.engines.spec import ModelPool
from ugst_dspy.modules import DecomposeGoal

from conftest import FIXTURES

pytestmark = pytest.mark.slow


def test_track_a_trajectory_file_with_the_embedded_model(tmp_path, one_torch_thread):
    records = json.loads((FIXTURES / "tau_trajectories.json").read_text())
    records[0]["traj"] = records[0]["traj"][:5]  # two turns keep the run to a few minutes on two cores
    trajectories = tmp_path / "trajectories.json"
    trajectories.write_text(json.dumps(records))
    out = tmp_path / "tracked.jsonl"
    config = tmp_path / "run.toml"
    config.write_text('seed = 1\n[roles.decomposer]\nmodel = "embedded:smollm2"\n[roles.tracker]\nmodel = "embedded:smollm2"\n')
    args = ["track", str(trajectories), "--out", str(out), "--goal-prefix", "retail-test-",
            "--config", str(config)]
    assert main(args) == 0
    decomposer = ModelPool(UGSTConfig.resolve(config, env={})).lm("decomposer")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["retail-test-0#0", "retail-test-0#1"]
    for record in records:
        validate("conversation", record)
        assert record["initial_state"] is not None
        assert record["turns"] and all(turn["state"] is not None for turn in record["turns"])
        usage = record["meta"]["usage"]
        assert set(usage) == {"decomposer", "tracker"}
        # one call per piece of the goal: the whole goal on llama.cpp, pieces within the grammar budget on
        # transformers + Outlines (whichever engine the embedded model runs on here)
        assert usage["decomposer"]["calls"] == len(DecomposeGoal().plan(record["instruction"], decomposer))
        assert usage["tracker"]["calls"] >= 1
        assert usage["tracker"]["prompt_tokens"] > 0 and usage["tracker"]["completion_tokens"] > 0
        assert record["meta"]["models"]["tracker"] == "embedded:smollm2"
    assert len(read_conversations(out)) == 2
    assert main(args) == 0  # resumable: nothing is tracked twice
    assert len(out.read_text().splitlines()) == 2
