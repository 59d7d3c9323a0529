"""The HTML report without a browser: self-contained, escaped, every conversation embedded exactly once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from ugst_dspy import Conversation, Status
from ugst_dspy.report import render_report
from ugst_dspy.report.data import MAX_TOOL_CHARS, STATUSES, embed_json, report_data
from ugst_dspy.report.svg import success_chart_svg
from ugst_dspy.metrics.success import success_table

from .helpers import EVIL, REPO, evil, examples, synthetic

DATA_BLOCK = re.compile(r'<script type="application/json" id="ugst-data">(.*?)</script>', re.S)


def embedded(html: str) -> dict:
    blocks = DATA_BLOCK.findall(html)
    assert len(blocks) == 1
    return json.loads(blocks[0])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture(scope="module")
def mixed() -> list[Conversation]:
    return [*examples(), *synthetic(30), evil()]


@pytest.fixture(scope="module")
def html(mixed) -> str:
    return render_report(mixed, group_by="simulator", title="Report <of> & 'things'")


def test_the_report_is_self_contained(html):
    for tag, attrs in tags(html):
        assert tag not in ("link", "iframe", "object", "embed", "base"), tag
        for name in ("src", "href", "action", "srcset"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value), (tag, name, value)
        if tag == "script":
            assert "src" not in attrs
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    assert "@import" not in style and "url(" not in style and "@font-face" not in style
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", html)
    scripts = [a for t, a in tags(html) if t == "script"]
    assert [a.get("type") for a in scripts] == ["application/json", None]


def test_every_conversation_is_embedded_once_with_its_texts(mixed, html):
    data = embedded(html)
    assert [c["k"] for c in data["conversations"]] == [c.key for c in mixed]
    assert html.count('id="ugst-data"') == 1
    bad = data["conversations"][-1]
    assert bad["ins"] == EVIL and bad["t"][0]["u"] == EVIL and bad["items"][0][2] == EVIL
    assert bad["t"][0]["r"] and EVIL in bad["t"][0]["r"].values()


def test_markup_from_the_data_is_never_markup_in_the_page(html):
    assert "<img src=x" not in html
    assert html.count("</script>") == 2  # the data block's and the script's, nothing from the data
    assert "<script>window.__xss" not in html
    assert "&lt;img src=x" in html  # the group name in the table and chart, escaped by Python
    assert "<title>Report &lt;of&gt; &amp; &#x27;things&#x27;</title>" in html
    payload = DATA_BLOCK.search(html).group(1)
    assert "<" not in payload and ">" not in payload and "&" not in payload
    assert "\u2028" not in payload


def test_embed_json_round_trips_every_awkward_character():
    value = {"x": EVIL, "y": "<!-- -->", "z": "\u2029 é ✓"}
    text = embed_json(value)
    assert json.loads(text) == value and not set("<>&") & set(text)


def decode(conversation: dict) -> list[list[tuple[str, str, str, str | None]] | None]:
    """The report's compact states back to (address, text, status, reason) per state, as the page does."""
    known: dict[int, str | None] = {}
    out = []
    codes_per_state = [conversation["s0"], *(t["s"] for t in conversation["t"])]
    changes = [conversation.get("r0", {}), *(t.get("r", {}) for t in conversation["t"])]
    for codes, changed in zip(codes_per_state, changes):
        if codes is None:
            out.append(None)
            continue
        known.update({int(row): reason for row, reason in changed.items()})
        out.append([(conversation["items"][i][0], conversation["items"][i][2], STATUSES[code].value, known.get(i))
                    for i, code in enumerate(codes) if code >= 0])
    return out


def test_the_compact_states_decode_to_the_originals(mixed):
    data = report_data(mixed)
    for conversation, encoded in zip(mixed, data["conversations"]):
        expected = [None if s is None else [(str(x.address), x.text, x.status.value, x.item.reason) for x in s.items()]
                    for s in conversation.states]
        got = decode(encoded)
        assert [None if s is None else sorted(s) for s in got] == [None if s is None else sorted(s) for s in expected]


def test_diagnostics_usage_and_end_reason_are_embedded(mixed):
    data = report_data(mixed, group_by="simulator")
    by_key = {c["k"]: c for c in data["conversations"]}
    assert by_key["retail-test-0#prompt-2"]["dx"] == ["length_exhaustion"]
    assert by_key["retail-test-0#prompt"]["dx"] == ["premature_termination", "partial_completion"]
    assert by_key["syn-0"]["use"]["tracker"]["completion_tokens"] is None
    assert by_key["retail-test-0#prompt"]["end"] == "user_stop"
    assert data["groups"][:2] == ["state-steered", "prompt"]
    assert data["categories"][4]["statuses"] == [STATUSES.index(Status.ALIGNED), STATUSES.index(Status.MISALIGNED)]


def test_untracked_conversations_and_long_tool_results():
    record = examples()[0].to_json()
    record["turns"][0]["state"] = None
    record["turns"][0]["tool_calls"][0]["result"] = "x" * (MAX_TOOL_CHARS * 3)
    record["initial_state"] = None
    record["turns"] = record["turns"][:1]
    data = report_data([Conversation.from_json(record)])
    one = data["conversations"][0]
    assert one["s0"] is None and one["t"][0]["s"] is None and one["items"] == []
    result = one["t"][0]["tc"][0]["result"]
    assert isinstance(result, str) and len(result) < MAX_TOOL_CHARS + 100 and "cut by ugst report" in result
    html = render_report([Conversation.from_json(record)])
    assert "+1 untracked" in html


def test_the_summary_table_has_every_rate_with_counts(html, mixed):
    for row in success_table(mixed, "simulator"):
        assert f"<td>{row.group}</td>" in html or row.group == EVIL
    assert "<th>Prof.</th><th>Pol.</th><th>T.O.</th><th>Req.</th><th>Pref.</th><th>Avg</th>" in html
    assert "100.0 (1/1)" in html  # the state-steered example profile
    assert "length exhaustion" in html and "ended: max turns" in html
    assert "Role</th>" in html and "unknown" in html  # usage per role, an unreported count shown as unknown
    from html import escape

    from ugst_dspy.metrics.tracker_modes import tracker_modes

    line = tracker_modes(mixed, "simulator").line()  # the tracker behind the rates, as ugst evaluate says it
    assert line.startswith("Tracker: ") and f'<p class="sub">{escape(line)}</p>' in html


def test_the_chart_draws_a_titled_bar_per_group_and_category():
    rows = success_table(examples(), "simulator")
    svg = success_chart_svg(rows)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 2 * 6 + 2  # 2 groups x (5 categories + Avg), plus 2 legend swatches
    assert "<title>prompt · Pref.: 0.0% (0/2)</title>" in svg
    empty = success_chart_svg(success_table([Conversation.from_json({**examples()[0].to_json(), "turns": [],
                                                                      "initial_state": None})]))
    assert "<rect x" in empty and "–" in empty  # n/a shown as a dash, no bar


def test_annotation_mode_is_off_unless_asked(mixed):
    plain = render_report(mixed[:3])
    assert embedded(plain)["annotate"] is False and 'id="ann-export"' not in plain
    annotated = render_report(mixed[:3], annotate=True)
    assert embedded(annotated)["annotate"] is True and 'id="ann-export"' in annotated


def test_a_thousand_conversations_stay_small_and_quick():
    import time

    many = synthetic(1000, turns=10, seed=1)
    started = time.process_time()
    html = render_report(many)
    assert time.process_time() - started < 10
    assert len(html.encode()) < 30e6
    assert len(embedded(html)["conversations"]) == 1000


def test_the_report_module_imports_no_model_library():
    code = ("import sys; import ugst_dspy.report.html, ugst_dspy.report.plots, ugst_dspy.cli.report; "
            "print([m for m in ('dspy', 'torch', 'transformers', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_diagnostics_match_ugst_evaluate_including_misprioritisation(mixed):
    from ugst_dspy.metrics.diagnostics import DEFAULT_STUCK_TURNS, DETERMINISTIC_CLASSES, diagnose

    data = report_data(mixed)
    assert data["diagnostics"][-1] == "misprioritisation"
    assert [c["dx"] for c in data["conversations"]] == [diagnose(c, stuck_turns=DEFAULT_STUCK_TURNS) for c in mixed]
    plain = report_data(mixed, stuck_turns=None)
    assert plain["diagnostics"] == list(DETERMINISTIC_CLASSES)
    assert all("misprioritisation" not in c["dx"] for c in plain["conversations"])
