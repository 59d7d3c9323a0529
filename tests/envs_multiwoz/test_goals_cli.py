"""``ugst goals multiwoz`` (the ``goals_app`` sub-app) writes the goal file and the gold file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ugst_dspy.cli.goals import goals_app, gold_path_for
from ugst_dspy.envs.multiwoz_goals import generate_multiwoz_goals
from ugst_dspy.errors import UgstError
from ugst_dspy.files.decompositions import read_decompositions
from ugst_dspy.files.goals import read_goals

from .conftest import file_digests

runner = CliRunner()


def test_multiwoz_writes_goals_and_gold_beside_them(data_dir, tmp_path, digests_before):
    out = tmp_path / "mwc.jsonl"
    result = runner.invoke(goals_app, ["multiwoz", "--n", "8", "--seed", "3", "--out", str(out),
                                       "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    gold = tmp_path / "mwc.gold.jsonl"
    expected = generate_multiwoz_goals(8, seed=3, data_dir=data_dir)
    assert [g.to_json() for g in read_goals(out)] == [g.to_goal_json() for g in expected]
    assert [d.to_json() for d in read_decompositions(gold).values()] == [g.to_gold_json() for g in expected]
    assert "8 eval goals" in result.output and str(gold) in result.output
    assert file_digests() == digests_before


def test_multiwoz_with_an_explicit_gold_file(data_dir, tmp_path):
    out, gold = tmp_path / "goals.jsonl", tmp_path / "gold" / "mwc-gold.jsonl"
    result = runner.invoke(goals_app, ["multiwoz", "--n", "2", "--seed", "0", "-o", str(out), "--gold", str(gold),
                                       "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert len(read_goals(out)) == len(read_decompositions(gold)) == 2
    assert not (tmp_path / "goals.gold.jsonl").exists()


def test_multiwoz_refuses_bad_input(data_dir, tmp_path):
    out = tmp_path / "goals.jsonl"
    assert runner.invoke(goals_app, ["multiwoz", "--n", "0", "--out", str(out)]).exit_code == 2
    assert runner.invoke(goals_app, ["multiwoz", "--n", "2"]).exit_code == 2  # --out is required
    same = runner.invoke(goals_app, ["multiwoz", "--n", "1", "--out", str(out), "--gold", str(out),
                                     "--data-dir", str(data_dir)])
    assert isinstance(same.exception, UgstError) and "must differ" in str(same.exception)
    missing = runner.invoke(goals_app, ["multiwoz", "--n", "1", "--out", str(out), "--data-dir", str(tmp_path)])
    assert isinstance(missing.exception, UgstError) and "MultiWOZ databases not found" in str(missing.exception)
    assert not out.exists()


def test_help_and_default_gold_names():
    assert runner.invoke(goals_app, ["--help"]).exit_code == 0
    usage = runner.invoke(goals_app, ["multiwoz", "--help"])
    assert usage.exit_code == 0 and "--gold" in usage.output and "--seed" in usage.output
    assert gold_path_for(Path("a/goals.jsonl")) == Path("a/goals.gold.jsonl")
    assert gold_path_for(Path("goals")) == Path("goals.gold.jsonl")
