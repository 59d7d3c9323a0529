"""``ugst evaluate`` with --agreement, --gold, --quality, --diversity and --similarity, in every format."""

from __future__ import annotations

from pathlib import Path

import csv
import io
import json
import re

import pytest

from ugst_dspy import DEFAULT_RULES
from ugst_dspy.cli.app import main

from .helpers import chat, tracked

O0, O0_REQ = "task_objectives[0]", "task_objectives[0].requirements[0]"
RATER = "scripted:quality.scripted_rater:respond"


def write(path, conversations):
    path.write_text("".join(json.dumps(c.to_json()) + "\n" for c in conversations), encoding="utf-8")
    return str(path)


def section_rows(out: str, title: str) -> list[list[str]]:
    """The body rows of the text section whose title starts with ``title``: cells split on 2+ spaces."""
    lines = out.split("\n" + title, 1)[1].split("\n\n")[1].splitlines()[2:]
    return [re.split(r"\s{2,}", line.strip()) for line in lines]


def blocks(text: str) -> list[list[dict[str, str]]]:
    """CSV output: one block per table, separated by an empty line."""
    return [list(csv.DictReader(io.StringIO(block))) for block in text.strip().split("\n\n")]


@pytest.fixture
def pair(state, tmp_path):
    """The same conversation tracked twice. Turn 1: o0 COMPLETE vs ATTEMPTED; turn 2: o0's requirement
    INCOMPLETE vs COMPLETE as well. 7 sub-components per state (Prof 1, Pol 1, T.O. 2, Req 2, Pref 1)."""
    a = tracked(state, [[(O0, "COMPLETE")], []], "user_stop")
    b = tracked(state, [[(O0, "ATTEMPTED")], [(O0_REQ, "COMPLETE")]], "user_stop")
    return write(tmp_path / "a.jsonl", [a]), write(tmp_path / "b.jsonl", [b])


def test_agreement_table_every_turn_and_final_only(pair, capsys):
    a, b = pair
    assert main(["evaluate", a, "--agreement", b, "--no-diagnostics"]) == 0
    out = capsys.readouterr().out
    assert "Agreement with b.jsonl (every turn's state; 1 conversations paired, 0 unpaired" in out
    table = out.split("Agreement with")[1].splitlines()[4:]
    lines = {line.split()[0]: line.split(None, 1)[1].strip() for line in table}
    assert lines == {
        "Prof.": "100.0 (2/2)", "Pol.": "100.0 (2/2)", "T.O.": "50.0 (2/4)", "Req.": "75.0 (3/4)",
        "Pref.": "100.0 (2/2)", "Overall": "78.6 (11/14)",
    }
    assert main(["evaluate", a, "--agreement", b, "--final-only", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)["agreement"]
    assert data["final_only"] is True and data["overall"] == {"successes": 5, "total": 7, "rate": 5 / 7}
    assert data["categories"]["task_objective"] == {"successes": 1, "total": 2, "rate": 0.5}
    assert main(["evaluate", a, "--agreement", b, "-f", "csv"]) == 0
    success, agreement = blocks(capsys.readouterr().out)
    assert success[0]["group"] == "all"
    assert agreement[-1] == {"category": "overall", "agreement": f"{11 / 14:.6f}", "matching": "11", "compared": "14"}
    assert main(["evaluate", a, "--agreement", b, "-f", "markdown"]) == 0
    assert "| Overall | 78.6 (11/14) |" in capsys.readouterr().out


def test_gold_decomposition_table(state, tmp_path, capsys):
    # prediction: the 7 items of the state fixture. Gold: the policy text filed as a requirement (matched,
    # wrong category), "Works with Google Home." missing, "Return the mouse." extra: P = R = 6/7, cat. acc. 5/6.
    gold_state = DEFAULT_RULES.new_state(
        ["You are Yusuf Rossi in 19122."], [],
        [{"text": "Exchange the keyboard.", "requirements": ["Clicky switches."], "preferences": ["RGB backlight."]},
         {"text": "Exchange the thermostat.", "requirements": ["You want everything addressed in one go."]},
         {"text": "Return the mouse."}],
    )
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"goal_id": "c", "instruction": "x", "state": gold_state.to_json()}) + "\n"
                    + json.dumps({"goal_id": "never-run", "instruction": "y", "state": gold_state.to_json()}) + "\n")
    conversations = [tracked(state, [[]], "user_stop", key="c"), tracked(state, [[]], "user_stop", key="other")]
    path = write(tmp_path / "conv.jsonl", conversations)
    assert main(["evaluate", path, "--gold", str(gold)]) == 0
    out = capsys.readouterr().out
    expected = ["all", "1", "0", "85.7 (6/7)", "85.7 (6/7)", "85.7", "83.3 (5/6)"]
    assert section_rows(out, "Decomposition quality")[0] == expected
    assert "all: not scored: 1 conversations whose goal is not in the gold file, 0 repeated goals, 1 gold goals" in out
    assert main(["evaluate", path, "--gold", str(gold), "-f", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["decomposition"]["rows"]
    assert (row["matched"], row["predicted"], row["gold"], row["same_category"]) == (6, 7, 7, 5)
    assert (row["not_in_gold"], row["gold_not_run"], row["missing_predictions"]) == (1, 1, 0)
    assert main(["evaluate", path, "--gold", str(gold), "-f", "csv"]) == 0
    assert blocks(capsys.readouterr().out)[1][0]["f1"] == f"{6 / 7:.6f}"


def test_quality_diversity_and_similarity_sections(tmp_path, capsys, monkeypatch):
    import ugst_dspy.engines.embedder as similarity

    class FakeEmbedder:  # the real model is tested in test_similarity.py
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, texts):
            return [[1.0, 0.0] if "keyboard" in t.lower() else [0.0, 1.0] for t in texts]

    monkeypatch.setattr(similarity, "SentenceEmbedder", FakeEmbedder)
    monkeypatch.setattr(similarity, "model_dir", lambda: tmp_path)
    path = write(tmp_path / "chats.jsonl", [
        chat("a", ["I want a clicky keyboard.", "Thanks."], sim="X"),
        chat("b", ["How can I help you today?"], sim="Y"),
    ])
    args = ["evaluate", path, "-g", "sim", "--quality", "--rater-model", RATER, "--diversity", "--similarity"]
    assert main(args) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "rating: 2 to do" in captured.err
    assert "rated by scripted:quality.scripted_rater:respond" in out
    assert section_rows(out, "Conversation quality") == [
        ["X", "1", "5.00 (n=1)", "4.00 (n=1)", "0/1", "0/1"],
        ["Y", "1", "5.00 (n=1)", "4.00 (n=1)", "1/1", "0/1"],
    ]
    assert "Lexical diversity of user utterances (lexicalrichness" in out
    assert "a stand-in for BERTScore" in out and "Similarity (not BERTScore)" in out
    assert section_rows(out, "Lexical diversity") == [
        ["X", "1", "2", "6", "6", "6.00", "n/a"], ["Y", "1", "1", "6", "6", "6.00", "n/a"],
    ]
    assert section_rows(out, "Semantic similarity") == [["X", "1", "2", "0.500"], ["Y", "1", "1", "0.000"]]  # 1 and 0
    assert main([*args, "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["quality"]["rows"][1]["confusion"] == {"flagged": 1, "judged": 1, "rate": 1.0}
    assert data["quality"]["conversations"][0]["id"] == "a" and data["quality"]["conversations"][0]["naturalness"] == 5
    assert data["quality"]["usage"]["rater"]["calls"] == 6
    assert data["quality"]["rubric"]["coherence"][-1] == "response appropriateness"  # Appendix F's aspects
    assert data["diversity"]["mtld_threshold"] == 0.72 and data["diversity"]["hdd_draws"] == 42
    assert data["diversity"]["rows"][0]["tokens"] == 6 and data["diversity"]["rows"][0]["hdd"] is None
    assert data["similarity"]["rows"][0]["mean"] == 0.5 and "BERTScore" in data["similarity"]["measure"]
    assert data["similarity"]["conversations"][1] == {
        "file": "chats.jsonl", "id": "b", "group": "Y", "utterances": 1, "mean": 0.0,
    }
    assert main([*args, "-f", "csv", "--no-lm-failures"]) == 0
    success, quality, diversity, similarity_rows = blocks(capsys.readouterr().out)
    assert quality[0]["naturalness_mean"] == "5.000000" and "confusion_flagged" not in quality[0]
    assert diversity[0]["types"] == "6" and similarity_rows[1]["embedding_similarity_mean"] == "0.000000"


def test_bad_input_is_one_line(pair, tmp_path, capsys):
    a, b = pair
    copy = tmp_path / "copy-of-a.jsonl"
    copy.write_bytes(Path(a).read_bytes())
    cases = [
        (["evaluate", a, "--final-only"], "ugst: error: --final-only only applies with --agreement FILE\n"),
        (["evaluate", a, "--agreement", str(tmp_path / "nope.jsonl")], "No such file"),
        (["evaluate", a, str(copy), "--agreement", b], "conversation id 'c' appears twice"),
        (["evaluate", a, a], f"{a} is given twice (as {a}): each file is read once"),
        (["evaluate", a, "--group-by", "modles.simulator"], "--group-by 'modles.simulator': no conversation has"),
        (["evaluate", a, "--gold", a], f"ugst: error: {a}:1: "),
        (["evaluate", a, "--quality", "--rater-model", "not a spec"], "ugst: error: bad model spec 'not a spec'"),
        (["evaluate", a, "--stuck-turns", "0"], "ugst: error: "),
    ]
    for argv, expected in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert expected in err and err.count("\n") == 1, (argv, err)


def test_diagnostics_line_counts_misprioritisation(state, tmp_path, capsys):
    stuck = tracked(state, [[(O0, "ATTEMPTED")], [], [], []], "max_turns")
    path = write(tmp_path / "stuck.jsonl", [stuck])
    assert main(["evaluate", path]) == 0
    assert "length exhaustion 1, misprioritisation 1" in capsys.readouterr().out
    assert main(["evaluate", path, "--stuck-turns", "4", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)["diagnostics"]
    assert data["counts"]["misprioritisation"] == 0 and data["stuck_turns"] == 4


def test_diagnostics_show_stops_with_a_request_and_partial_completions(state, tmp_path, capsys):
    asked = tracked(state, [[(O0, "COMPLETE")], []], "user_stop", key="asked")
    asked.turns[-1].user, asked.turns[-1].agent = "Thanks! Can you also look at my thermostat?", ""
    path = write(tmp_path / "stops.jsonl", [asked, tracked(state, [[]], "user_stop", key="idle")])
    for fmt in ("text", "markdown"):
        assert main(["evaluate", path, "-f", fmt]) == 0
        out = capsys.readouterr().out
        assert "premature termination 2, stop with request 1, partial completion 1" in out
    assert main(["evaluate", path, "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)["diagnostics"]
    assert data["counts"]["stop_with_request"] == 1 and data["counts"]["partial_completion"] == 1
    assert data["conversations"]["stop_with_request"] == ["asked"] == data["conversations"]["partial_completion"]


def test_every_format_names_the_tracker_behind_the_states(state, tmp_path, capsys):
    paper = tracked(state, [[]], "user_stop", key="p")  # re-tracked by `ugst track`: its mode wins
    paper.meta = {"simulator": "a", "config": {"tracker_mode": "batched"}, "tracking": {"mode": "per_component"}}
    cheap = tracked(state, [[]], "user_stop", key="c")  # tracked while simulated
    cheap.meta = {"simulator": "b", "config": {"tracker_mode": "batched"}}
    untracked = chat("u", ["Hi."], simulator="b")  # no states: no tracker
    one = write(tmp_path / "one.jsonl", [paper, untracked])
    for fmt in ("text", "markdown"):
        assert main(["evaluate", one, "-f", fmt]) == 0
        out = capsys.readouterr().out
        assert "\nTracker: per_component (the paper's scheme: one judge call per open sub-component" in out
        assert "1 tracked conversations" in out
    assert main(["evaluate", one, "-f", "csv"]) == 0
    assert blocks(capsys.readouterr().out)[0][0]["tracker"] == "per_component"
    assert main(["evaluate", one, "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)["tracker"]
    assert data["modes"] == {"per_component": 1} and data["paper_mode"] == "per_component"

    mixed = write(tmp_path / "mixed.jsonl", [paper, cheap, untracked])
    assert main(["evaluate", mixed, "-g", "simulator"]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("Tracker:")]
    assert len(line) == 1 and line[0].startswith("Tracker: mixed, the rates pool different trackers")
    assert "46.9% (15/32)" in line[0] and line[0].endswith("by group: a per_component, b batched")
    assert main(["evaluate", mixed, "-g", "simulator", "-f", "csv"]) == 0
    assert [row["tracker"] for row in blocks(capsys.readouterr().out)[0]] == ["per_component", "batched"]
    assert main(["evaluate", mixed, "-f", "csv"]) == 0
    assert blocks(capsys.readouterr().out)[0][0]["tracker"] == "per_component 1 + batched 1"
    assert main(["evaluate", mixed, "-g", "simulator", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)["tracker"]
    assert data["groups"] == {"a": {"per_component": 1}, "b": {"batched": 1}}
    assert set(data["descriptions"]) == {"per_component", "batched"}
