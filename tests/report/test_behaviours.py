"""The HTML report of runs with non-collaborative users: the behaviours per turn in the embedded data, the
behaviour check and agent-outcome sections, and nothing of it for records made without behaviours."""

from __future__ import annotations

import json
from html import escape
from html.parser import HTMLParser

import pytest

from ugst_dspy import Conversation
from ugst_dspy.metrics.agent_outcome import outcome_table
from ugst_dspy.metrics.behaviours import behaviour_table, check_turns
from ugst_dspy.report import render_report
from ugst_dspy.report.behaviour_table import format_behaviours, format_outcomes
from ugst_dspy.report.data import behaviour_label, report_data

from .helpers import EVIL, RUNS, behaved, evil, examples, synthetic
from .test_html import embedded


@pytest.fixture(scope="module")
def runs() -> list[Conversation]:
    return behaved(12)


class _Tables(HTMLParser):
    """The cells of every ``table.grid`` after each ``<h3>``: ``{heading: [[cell, ...], ...]}``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.heading = ""
        self._in_h3 = False
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "h3":
            self._in_h3, self.heading = True, ""
        elif tag == "table" and dict(attrs).get("class") == "grid":
            self._rows = self.tables.setdefault(self.heading, [])
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "h3":
            self._in_h3 = False
        elif tag == "table":
            self._rows = None
        elif tag in ("td", "th") and self._cell is not None and self._rows is not None:
            self._rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._in_h3:
            self.heading += data
        if self._cell is not None:
            self._cell.append(data)


def grid_tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def markdown_cells(text: str) -> list[list[str]]:
    """Header and body rows of the Markdown grid of a ``format_*`` section."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for k, line in enumerate(lines) if k != 1]


def test_each_turn_carries_the_behaviours_that_acted_and_their_check(runs):
    data = report_data(runs)
    assert data["behaviours"] == {"names": ["impatience", "digression", "unavailable_service"],
                                  "labels": ["impatience", "impatience+digression", "unavailable_service", "none"]}
    for n, (conversation, encoded) in enumerate(zip(runs, data["conversations"])):
        names = list(RUNS[n % len(RUNS)])
        if not names:  # made without behaviours: nothing added
            assert "bl" not in encoded and "bn" not in encoded
            assert all("bh" not in t and "dec" not in t for t in encoded["t"])
            continue
        assert encoded["bl"] == "+".join(names) and encoded["bn"] == names
        checks = {check.number: check for check in check_turns(conversation)}
        for k, (turn, entry) in enumerate(zip(conversation.turns, encoded["t"])):
            acted = turn.behaviours
            if not acted:
                assert "bh" not in entry
                continue
            check = checks[k + 1]
            assert entry["bh"] == [[name, check.shown[name]] for name in acted]
            assert entry["bh"] == [[name, (k + 1) % 2 == 1] for name in acted]  # odd turns show it (helpers)
            assert entry.get("dec") == check.declined
            assert ("dec" in entry) is ("unavailable_service" in acted)


def test_a_stop_message_is_not_checked_and_the_label_falls_back_to_the_plan(runs):
    record = runs[1].to_json()
    del record["meta"]["behaviour"]
    record["turns"].append({"user": "Terminate.", "agent": "", "tool_calls": [], "behaviours": ["impatience"],
                            "state": record["turns"][-1]["state"]})
    conversation = Conversation.from_json(record)
    assert behaviour_label(conversation) == "impatience+digression"
    last = report_data([conversation])["conversations"][0]["t"][-1]
    assert last["bh"] == [["impatience", None]] and "dec" not in last  # no rule check for a bare stop message
    record["meta"]["behaviours"]["specs"] = []
    assert behaviour_label(Conversation.from_json(record)) == "none"
    assert behaviour_label(examples()[0]) is None


def test_records_without_behaviours_give_the_report_they_gave_before():
    plain = [*examples(), *synthetic(6), evil()]
    data = report_data(plain)
    assert "behaviours" not in data
    assert all(not {"bl", "bn"} & set(c) and all(not {"bh", "dec"} & set(t) for t in c["t"])
               for c in data["conversations"])
    html = render_report(plain)
    assert 'id="behaviour-tables"' not in html and "<th>behaviour</th>" not in html
    assert 'class="bh on"' not in html  # no badge legend either


def test_the_sections_hold_the_tables_ugst_evaluate_prints(runs):
    html = render_report(runs, group_by="simulator", title="behaviours")
    assert html.count('id="behaviour-tables"') == 1
    assert html.index('id="behaviour-tables"') < html.index("<h2>Conversations</h2>")
    tables = grid_tables(html)
    expected = {
        "Behaviour check (grouped by simulator)": format_behaviours(behaviour_table(runs, "simulator"), "markdown"),
        "Behaviour check per behaviour": format_behaviours(behaviour_table(runs, "behaviour"), "markdown"),
        "Agent outcome (grouped by simulator)": format_outcomes(outcome_table(runs, "simulator"), "markdown"),
        "Agent outcome per behaviour": format_outcomes(outcome_table(runs, "behaviour"), "markdown"),
    }
    for heading, text in expected.items():
        assert tables[heading] == markdown_cells(text), heading
    per_behaviour = {row[0]: row for row in tables["Agent outcome per behaviour"][1:]}
    assert set(per_behaviour) == {"impatience", "impatience+digression", "unavailable_service", "none"}
    check = {(row[0], row[1]): row for row in tables["Behaviour check per behaviour"][1:]}
    assert check["unavailable_service", "unavailable_service"][4].startswith("100.0 (")  # the agent declined
    assert "<th>behaviour</th>" in html and 'class="bh on"' in html  # the list column and the badge legend


def test_grouped_by_behaviour_the_tables_are_not_repeated(runs):
    tables = grid_tables(render_report(runs, group_by="behaviour"))
    assert "Behaviour check (grouped by behaviour)" in tables and "Agent outcome (grouped by behaviour)" in tables
    assert not any(heading.endswith("per behaviour") for heading in tables)
    one_run = [c for c in runs if c.meta.behaviour == "impatience"]
    tables = grid_tables(render_report(one_run))
    assert set(tables) >= {"Behaviour check", "Agent outcome"}
    assert not any(heading.endswith("per behaviour") for heading in tables)


def test_behaviour_names_from_a_record_are_escaped():
    record = behaved(2)[1].to_json()
    record["meta"]["behaviour"] = EVIL
    record["meta"]["behaviours"]["specs"].append({"name": EVIL, "rate": 1.0, "intensity": "mild"})
    record["turns"][0]["behaviours"] = [EVIL, "impatience"]
    html = render_report([Conversation.from_json(record)], group_by="behaviour")
    assert "<img src=x" not in html and "<script>window.__xss" not in html
    assert html.count("</script>") == 2
    data = embedded(html)
    assert data["conversations"][0]["bl"] == EVIL and data["behaviours"]["labels"] == [EVIL]
    assert data["behaviours"]["names"] == ["impatience", "digression", EVIL]
    assert data["conversations"][0]["t"][0]["bh"][0] == [EVIL, False]
    cells = [cell for rows in grid_tables(html).values() for row in rows for cell in row]
    assert EVIL in cells and f"<td>{escape(EVIL)}</td>" in html  # text in the tables, escaped in the markup


def test_a_real_simulation_with_behaviours_reports_them(tmp_path):
    from ugst_dspy.cli.app import main

    out = tmp_path / "b.jsonl"
    assert main(["simulate", "--env", "tau-retail", "--limit", "2", "--turns", "4", "--model",
                 "scripted:scripted_world:respond", "--behaviour", "impatience:rate=1", "--behaviour", "digression",
                 "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    conversations = [Conversation.from_json(r) for r in records]
    html = render_report(conversations)
    data = embedded(html)
    assert data["behaviours"]["labels"] == ["impatience+digression"]
    for record, encoded in zip(records, data["conversations"]):
        assert encoded["bl"] == record["meta"]["behaviour"] == "impatience+digression"
        acted = [[name for name, _ in t.get("bh", [])] for t in encoded["t"]]
        assert acted == [t["behaviours"] for t in record["turns"]]
        assert all("impatience" in names for names in acted)  # rate 1: every message
    tables = grid_tables(html)
    assert tables["Behaviour check"][0] == ["Group", "Behaviour", "Shown when asked", "Shown unasked (base)",
                                            "Agent declined"]
    assert [row[1] for row in tables["Behaviour check"][1:]] == ["impatience", "digression"]
    assert tables["Agent outcome"][1][:2] == ["all", "2"]
