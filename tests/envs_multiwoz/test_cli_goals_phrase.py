"""`ugst goals multiwoz --phrase-model`: an LM rewords the template sentences; gold texts follow them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ugst_dspy import validate
from ugst_dspy.cli.app import main


def test_goals_phrased_by_a_model(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    out = tmp_path / "goals.jsonl"
    assert main(["goals", "multiwoz", "--n", "3", "--seed", "2", "--out", str(out),
                 "--phrase-model", "scripted:phrasing_world:respond"]) == 0
    goals = [json.loads(line) for line in out.read_text().splitlines()]
    gold = [json.loads(line) for line in out.with_name("goals.gold.jsonl").read_text().splitlines()]
    assert len(goals) == 3 and "Just so you know: " in goals[0]["instruction"]
    for goal, record in zip(goals, gold):
        validate("decomposition", record)
        texts = [item["text"] for item in record["state"]["user_profile"]]
        assert all(text in goal["instruction"] for text in texts)
    assert "phrasing_world" in sys.modules
