"""``ugst optimize`` end to end with scripted models; its output runs with ``ugst simulate --program``."""

from __future__ import annotations

import json

import pytest

from ugst_dspy.cli import app as cli_app
from ugst_dspy.cli.app import main
from ugst_dspy.cli.optimize import optimize
from ugst_dspy.programs.io import load_program

from .conftest import EXAMPLES, SCRIPTED
from .scripted_optimize import PROPOSAL


@pytest.fixture(autouse=True)
def registered():
    """The command as ``cli/app.py`` registers it (added here while app.py does not have it yet)."""
    if not any(c.name == "optimize" for c in cli_app.app.registered_commands):
        cli_app.app.command("optimize")(optimize)


def test_optimize_compiles_saves_and_prints_scores(tmp_path, capsys):
    out = tmp_path / "gepa.json"
    args = ["optimize", "--simulator", "state-steered", "--conversations", str(EXAMPLES), "--optimizer", "gepa",
            "--trials", "2", "--out", str(out), "--train", "4", "--val", "2", "--seed", "1",
            "--simulator-model", SCRIPTED, "--tracker-model", SCRIPTED, "--reflection-model", SCRIPTED]
    assert main(args) == 2  # the examples are conversations on an evaluation goal
    assert "training goal 'retail-test-0' is an evaluation goal" in capsys.readouterr().err
    assert not out.exists()
    assert main([*args, "--allow-eval-overlap"]) == 0
    captured = capsys.readouterr()
    assert "ugst optimize: WARNING: 1 training goals are evaluation goals" in captured.err
    rows = [line.split() for line in captured.out.splitlines()]
    assert rows[0] == ["Set", "N", "Before", "After"]
    assert rows[1][:2] == ["train", "4"] and rows[1][3] == "1.000" and float(rows[1][2]) < 1
    assert rows[2][:2] == ["val", "2"] and rows[2][3] == "1.000"
    assert "Average Metric" not in captured.out  # DSPy's own progress goes to stderr
    assert "10 prefixes from 3 tracked conversations; 4 train, 2 val" in captured.err
    assert "scoring train (before): 4 to do" in captured.err and f"ugst simulate --program {out}" in captured.err
    program = load_program(out)
    assert program.name == "state-steered" and program.respond.signature.instructions == PROPOSAL
    entry = json.loads(out.read_text())["ugst"]
    assert entry["optimization"]["optimizer"]["optimizer"] == "gepa"
    assert entry["optimization"]["reward"]["mode"] == "progress"
    assert entry["optimization"]["reward"]["tracker_mode"] == "batched"  # rewards: the steering tracker
    assert entry["optimization"]["scores"]["after"]["val"]["mean"] == 1.0
    assert entry["optimization"]["eval_overlap"] == 1


def test_the_default_output_runs_with_simulate(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["optimize", "-c", str(EXAMPLES), "--max-demos", "1", "--model", SCRIPTED, "--allow-eval-overlap"]) == 0
    out = tmp_path / "programs" / "compiled" / "state-steered-bootstrap.json"
    assert len(load_program(out).respond.demos) == 1
    capsys.readouterr()
    runs = tmp_path / "runs.jsonl"
    assert main(["simulate", "--env", "tau-retail", "--limit", "1", "--turns", "2", "--program", str(out),
                 "--model", "scripted:scripted_world:respond", "--out", str(runs)]) == 0
    record = json.loads(runs.read_text().splitlines()[0])
    assert record["meta"]["program"] == str(out) and record["turns"]


def test_the_reasoning_simulator_compiles_too(tmp_path, capsys):
    out = tmp_path / "reasoning.json"
    assert main(["optimize", "-c", str(EXAMPLES), "-s", "reasoning", "-o", str(out), "--model", SCRIPTED,
                 "--mode", "per_component", "--allow-eval-overlap"]) == 0  # --mode: the tracker of the rewards
    program = load_program(out)
    assert json.loads(out.read_text())["ugst"]["optimization"]["reward"]["tracker_mode"] == "per_component"
    assert program.name == "reasoning" and program.respond.demos
    assert program.respond.demos[0]["progress"] == "scripted progress"


def test_bad_input_is_refused_with_one_line(tmp_path, capsys):
    untracked = tmp_path / "untracked.jsonl"
    record = json.loads(EXAMPLES.read_text().splitlines()[0])
    record["turns"][-1]["state"] = None
    untracked.write_text(json.dumps(record) + "\n")
    cases = [
        (["-c", str(tmp_path / "nope.jsonl")], "nope.jsonl: No such file or directory"),
        (["-c", str(untracked)], "no tracked conversations to learn from (1 untracked; run `ugst track` first)"),
        (["-c", str(EXAMPLES), "--optimizer", "copro"], "unknown optimizer 'copro'"),
        (["-c", str(EXAMPLES), "--out", str(tmp_path / "x.txt")], "a program file ends with .json"),
        (["-c", str(EXAMPLES), "--simulator", "nope"], "unknown simulator 'nope'"),
    ]
    for extra, reason in cases:
        assert main(["optimize", *extra, "--model", SCRIPTED, "--allow-eval-overlap"]) == 2
        err = "".join(line for line in capsys.readouterr().err.splitlines(True) if ": WARNING: " not in line)
        assert err.startswith("ugst: error: ") and reason in err and err.count("\n") == 1
