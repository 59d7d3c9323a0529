from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from ugst_dspy.cli.app import main

from conftest import FIXTURES, REPO

EXAMPLE = REPO / "examples" / "conversations.jsonl"


def test_evaluate_prints_the_paper_table(capsys):
    assert main(["evaluate", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["Group", "N", "Prof.", "Pol.", "T.O.", "Req.", "Pref.", "Avg"]
    assert "66.7 (4/6)" in out and "premature termination 1" in out


def test_evaluate_groups_and_formats(capsys, tmp_path):
    assert main(["evaluate", str(EXAMPLE), "--group-by", "simulator", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["group"], r["conversations"], r["task_objective_successes"], r["task_objective_total"]) for r in rows] == [
        ("state-steered", "1", "2", "2"), ("prompt", "2", "2", "4"),
    ]
    assert main(["evaluate", str(EXAMPLE), "-f", "json", "--out", str(tmp_path / "t.json")]) == 0
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["rows"][0]["categories"]["preference"] == {"successes": 1, "total": 3, "rate": 1 / 3}
    assert data["diagnostics"]["counts"]["length_exhaustion"] == 1
    assert data["environments"] == {"tau-retail": 3}
    assert main(["evaluate", str(EXAMPLE), "-f", "markdown", "-g", "file"]) == 0
    out = capsys.readouterr().out
    assert "| conversations.jsonl | 3 |" in out
    assert "\nEnvironment: tau-retail (τ-bench's published tools), 3 conversations" in out


def test_a_table_says_which_semantics_it_pools():
    from collections import Counter

    from ugst_dspy.metrics.environments import environment_line

    line = environment_line(Counter({"tau-retail": 2, "tau-retail-strict": 1}))
    assert line.startswith("Environments (mixed): tau-retail (τ-bench's published tools), 2 conversations; ")
    assert "tau-retail-strict (checks the policy where τ-bench's tools do not; not comparable" in line


def test_evaluate_refuses_a_malformed_record_with_one_line(capsys, tmp_path):
    lines = EXAMPLE.read_text().splitlines()
    record = json.loads(lines[1])
    record["turns"][0]["state"]["user_profile"][0]["status"] = "COMPLETE"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines[0] + "\n" + json.dumps(record) + "\n")
    assert main(["evaluate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"ugst: error: {bad}:2: field 'turns[0].state.user_profile[0].status': "
        "'COMPLETE' is not a user_profile status under rule set 'default' (one of ALIGNED, MISALIGNED)\n"
    )
    assert main(["evaluate", str(tmp_path / "nope.jsonl")]) == 2
    assert "No such file" in capsys.readouterr().err
    assert main(["evaluate", str(EXAMPLE), "--format", "xml"]) == 2


def test_schema_command(capsys):
    for kind in ("goal-state", "goal", "conversation", "decomposition"):
        assert main(["schema", kind]) == 0
        assert json.loads(capsys.readouterr().out)["$schema"].endswith("2020-12/schema")
    assert main(["schema", "nope"]) == 2
    assert capsys.readouterr().err.startswith("ugst: error: unknown schema 'nope'")


def test_convert_then_evaluate_counts_untracked(tmp_path, capsys):
    out = tmp_path / "conv.jsonl"
    args = ["convert", str(FIXTURES / "tau_trajectories.json"), "--out", str(out), "--goal-prefix", "retail-test-"]
    assert main(args) == 0
    assert main(args) == 0  # resumable: nothing written twice
    assert "skipped 2 already there" in capsys.readouterr().err
    assert len(out.read_text().splitlines()) == 2
    assert main(["evaluate", str(out), "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["untracked"] == 2


def test_help_and_imports_stay_light():
    code = (
        "import sys\n"
        "from ugst_dspy.cli.app import main\n"
        "rc = main(['--help'])\n"
        "import ugst_dspy\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'vllm', 'outlines', 'datasets') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    assert "evaluate" in result.stdout and "schema" in result.stdout
def test_version(capsys):
    assert main(["--version"]) == 0 and capsys.readouterr().out.strip() == __import__("ugst_dspy").__version__
