"""``ugst report``: files in, one HTML file (and PNG charts) out; bad input is one line."""

from __future__ import annotations

import json
import re

import pytest
import typer

from ugst_dspy.cli import app as cli
from ugst_dspy.cli.report import report

from .helpers import EXAMPLE


def run(argv: list[str]) -> int:
    """``ugst report ...`` through the real entry point (registering the command if app.py does not yet)."""
    if "report" not in {c.name for c in cli.app.registered_commands}:
        local = typer.Typer(add_completion=False)
        local.command("report")(report)
        local.command("noop", hidden=True)(lambda: None)  # keep "report" a subcommand
        original, cli.app = cli.app, local
        try:
            return cli.main(argv)
        finally:
            cli.app = original
    return cli.main(argv)


def test_report_writes_one_html_file(tmp_path, capsys):
    out = tmp_path / "deep" / "r.html"
    assert run(["report", str(EXAMPLE), "-o", str(out), "-g", "simulator", "--title", "Example <run>"]) == 0
    html = out.read_text(encoding="utf-8")
    assert "<title>Example &lt;run&gt;</title>" in html
    data = json.loads(re.search(r'id="ugst-data">(.*?)</script>', html, re.S).group(1))
    assert data["group_by"] == "simulator" and data["annotate"] is False and len(data["conversations"]) == 3
    assert data["conversations"][0]["meta"]["file"] == "conversations.jsonl"
    assert "wrote" in capsys.readouterr().err


def test_report_annotate_and_png(tmp_path):
    pytest.importorskip("matplotlib")
    out, figs = tmp_path / "a.html", tmp_path / "figs"
    assert run(["report", str(EXAMPLE), "-o", str(out), "--annotate", "--png", str(figs)]) == 0
    assert 'id="ann-export"' in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in figs.iterdir()) == ["category_success.png", "status_over_turns.png"]
    assert "conversations.jsonl" in out.read_text(encoding="utf-8")  # the default title names the files


def test_report_refuses_bad_input_with_one_line(tmp_path, capsys):
    assert run(["report", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ugst: error:") and err.count("\n") == 1 and "missing.jsonl" in err
    bad = tmp_path / "bad.jsonl"
    record = {"goal_id": "g", "instruction": "i", "initial_state": None, "turns": [], "ended_by": "nope", "meta": {}}
    bad.write_text(json.dumps(record) + "\n")
    assert run(["report", str(bad), "-o", str(tmp_path / "x.html")]) == 2
    assert "bad.jsonl:1: field 'ended_by'" in capsys.readouterr().err
    assert run(["report", str(EXAMPLE), "--rules", "nope", "-o", str(tmp_path / "x.html")]) == 2
    assert not (tmp_path / "x.html").exists()
