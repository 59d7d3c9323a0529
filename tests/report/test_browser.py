"""The HTML report in a real headless Chromium, driven over the DevTools Protocol: it loads without errors,
filters, expands a conversation into its timeline, escapes everything, exports human annotations that
the agreement metric reads, and shows the behaviours of non-collaborative runs (badges, filter).

Needs Debian's chromium at /usr/bin/chromium (``apt-get install -y chromium``); skipped without it. Set
``UGST_SCREENSHOTS=DIR`` to keep the screenshots.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from ugst_dspy import Conversation, Status, agreement, validate
from ugst_dspy.files.conversations import read_conversations
from ugst_dspy.metrics.diagnostics import diagnose
from ugst_dspy.report import render_report
from ugst_dspy.state import Category

from .cdp import CHROMIUM, Chromium
from .helpers import EVIL, behaved, evil, examples, synthetic

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"headless browser test: {CHROMIUM} is missing (install it with: apt-get install -y chromium)",
)
READY = "document.documentElement.dataset.ready"
PNG = b"\x89PNG\r\n\x1a\n"


def choose(page: Chromium, select_id: str, value: str) -> None:
    """Pick a value in one of the page's selects, as a person would (the change event included)."""
    page.evaluate(f"(() => {{ const s = document.getElementById({json.dumps(select_id)});"
                  f" s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change', {{bubbles: true}})); }})()")


def expand(page: Chromium, key: str) -> None:
    page.evaluate("(() => { const rows = document.querySelectorAll('#list-body tr.conv');"
                  f" for (const r of rows) if (r.getAttribute('data-key') === {json.dumps(key)}) r.click(); }})()")


def keep_screenshot(path: Path) -> None:
    folder = os.environ.get("UGST_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


@pytest.fixture(scope="module")
def conversations() -> list[Conversation]:
    return [*examples(), *synthetic(80, seed=3), evil()]


@pytest.fixture(scope="module")
def page():
    with Chromium() as browser:
        yield browser


def test_report_filters_expands_and_escapes(page, conversations, tmp_path):
    report = tmp_path / "report.html"
    report.write_text(render_report(conversations, group_by="simulator", title="browser test"), encoding="utf-8")
    page.errors.clear()
    page.open(report.as_uri(), ready=READY)
    assert page.errors == []
    everyone = [c.key for c in conversations]
    assert page.evaluate("window.ugstReport.matchingKeys()") == everyone
    assert page.evaluate("document.getElementById('f-behaviour') === null")  # no behaviours, no such filter
    assert page.evaluate("window.ugstReport.visibleKeys()") == everyone[:50]  # one page only
    assert page.evaluate("document.querySelectorAll('.detail').length") == 0  # nothing built before it is opened

    choose(page, "f-diagnostic", "length_exhaustion")
    wanted = [c.key for c in conversations if "length_exhaustion" in diagnose(c)]
    assert wanted and page.evaluate("window.ugstReport.visibleKeys()") == wanted
    assert page.evaluate("document.getElementById('count').textContent").startswith(f"{len(wanted)} of ")

    page.evaluate("document.getElementById('f-reset').click()")
    groups = page.evaluate("window.ugstReport.data.groups")
    choose(page, "f-group", str(groups.index("prompt")))
    wanted = [c.key for c in conversations if c.meta.simulator == "prompt"]
    assert page.evaluate("window.ugstReport.matchingKeys()") == wanted

    choose(page, "f-category", "4")  # preferences ...
    choose(page, "f-status", "MISALIGNED")  # ... that ended misaligned, among the prompt group
    wanted = [c.key for c in conversations if c.meta.simulator == "prompt" and c.final_state is not None
              and any(x.status is Status.MISALIGNED for x in c.final_state.of(Category.PREFERENCE))]
    assert page.evaluate("window.ugstReport.matchingKeys()") == wanted
    page.evaluate("document.getElementById('f-reset').click()")

    expand(page, "retail-test-0#steered")
    steered = conversations[0]
    chips = page.evaluate("document.querySelectorAll('.detail .chip[data-turn]').length")
    assert chips == len(steered.initial_state) * (len(steered.turns) + 1)
    titles = page.evaluate("Array.from(document.querySelectorAll('.detail .chip.chg')).map(c => c.title)")
    assert any("The user asked for RGB backlight and full size." in t for t in titles)
    page.evaluate("document.querySelector('.detail .chip.chg[data-turn=\"2\"]').click()")
    panel = page.evaluate("document.querySelector('.detail .panel').textContent")
    assert "MISALIGNED → ALIGNED" in panel and "The user asked for RGB backlight and full size." in panel
    turns = page.evaluate("document.querySelectorAll('.detail .turn').length")
    assert turns == len(steered.turns)
    assert page.evaluate("document.querySelector('.detail .turn.hl').dataset.turn") == "2"
    shot = page.screenshot(tmp_path / "report.png", full_page=True)
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 20_000
    keep_screenshot(shot)

    page.evaluate("document.getElementById('f-search').value = 'evil';"
                  "document.getElementById('f-search').dispatchEvent(new Event('input'))")
    assert page.evaluate("window.ugstReport.visibleKeys()") == [evil().key]
    expand(page, evil().key)
    assert page.evaluate("document.querySelector('.detail[data-key^=\"evil\"] .ins').textContent") == "Goal: " + EVIL
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("window.__xss === undefined") is True
    assert page.errors == []


def test_annotations_export_as_records_the_agreement_metric_reads(page, tmp_path):
    tracked = [*examples(), *synthetic(5, seed=4)]
    source = tmp_path / "tracked.jsonl"
    source.write_text("".join(json.dumps(c.to_json()) + "\n" for c in tracked), encoding="utf-8")
    report = tmp_path / "annotate.html"
    report.write_text(render_report(read_conversations(source), annotate=True, title="annotate"), encoding="utf-8")
    page.errors.clear()
    page.open(report.as_uri(), ready=READY)
    page.evaluate("localStorage.clear()")
    page.open(report.as_uri(), ready=READY)
    assert page.evaluate("window.ugstReport.exportAnnotations()") == ""  # nothing annotated yet

    expand(page, "retail-test-0#steered")
    options = page.evaluate("Array.from(document.querySelectorAll('.detail select.chip')).map(s =>"
                            " [s.closest('tr').querySelector('.cat').textContent,"
                            " Array.from(s.options).map(o => o.title)])")
    allowed = {"Prof.": ["ALIGNED", "MISALIGNED"], "Pol.": ["ALIGNED", "MISALIGNED"],
               "T.O.": ["INCOMPLETE", "ATTEMPTED", "COMPLETE"], "Req.": ["INCOMPLETE", "ATTEMPTED", "COMPLETE"],
               "Pref.": ["ALIGNED", "MISALIGNED"]}
    assert options and all(statuses == allowed[label] for label, statuses in options)
    # a person disagrees once: the policy was violated at the last turn
    last = len(tracked[0].turns)
    page.evaluate("(() => { const s = document.querySelector('.detail tr[data-row=\"1\"] select[data-turn=\"%d\"]');"
                  " s.value = '1'; s.dispatchEvent(new Event('change')); })()" % last)
    assert page.evaluate("document.getElementById('ann-count').textContent").startswith("1 of ")
    page.evaluate("document.querySelector('.detail tr[data-row=\"1\"] select[data-turn=\"%d\"]').focus()" % last)
    panel = page.evaluate("document.querySelector('.detail .panel').textContent")
    assert "tracker: ALIGNED (unchanged)" in panel and "annotation: MISALIGNED" in panel
    shot = page.screenshot(tmp_path / "annotate.png", full_page=True)
    assert shot.read_bytes().startswith(PNG)
    keep_screenshot(shot)

    page.open(report.as_uri(), ready=READY)  # kept in the browser across a reload
    text = page.evaluate("window.ugstReport.exportAnnotations()")
    out = tmp_path / "human.jsonl"
    out.write_text(text, encoding="utf-8")
    for line in text.splitlines():
        validate("conversation", json.loads(line))
    human = read_conversations(out)
    assert [c.key for c in human] == ["retail-test-0#steered"] and human[0].meta.annotator == "human"
    result = agreement(tracked, human)
    assert result.conversations == 1 and result.unpaired == len(tracked) - 1 and result.mismatched_items == 0
    compared = sum(len(t.state) for t in tracked[0].turns)
    assert result.overall.total == compared and result.overall.successes == compared - 1
    assert result.categories[Category.USER_POLICY].successes == result.categories[Category.USER_POLICY].total - 1
    assert human[0].turns[-1].state.user_policy[0].status is Status.MISALIGNED

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}, session=False)
    page.evaluate("document.getElementById('ann-export').click()")
    deadline = time.monotonic() + 20
    while not (downloads / "annotations.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [c.key for c in read_conversations(downloads / "annotations.jsonl")] == ["retail-test-0#steered"]
    assert page.errors == []


def test_behaviour_badges_on_the_timeline_and_the_behaviour_filter(page, tmp_path):
    runs = behaved(12)
    odd = behaved(2, prefix="evil-beh")[1].to_json()  # a behaviour whose name is markup
    odd["meta"]["behaviour"] = EVIL
    odd["meta"]["behaviours"]["specs"].append({"name": EVIL, "rate": 1.0, "intensity": "mild"})
    odd["turns"][0]["behaviours"] = [EVIL]
    conversations = [*runs, *examples(), Conversation.from_json(odd)]
    report = tmp_path / "behaviours.html"
    report.write_text(render_report(conversations, title="behaviours"), encoding="utf-8")
    page.errors.clear()
    page.open(report.as_uri(), ready=READY)
    assert page.evaluate("window.ugstReport.matchingKeys()") == [c.key for c in conversations]
    options = page.evaluate("Array.from(document.querySelectorAll('#f-behaviour option')).map(o => o.value)")
    assert options == ["", "n:impatience", "n:digression", "n:unavailable_service", "n:" + EVIL, "l:none",
                       "l:impatience", "l:impatience+digression", "l:unavailable_service", "l:" + EVIL]

    def label(c: Conversation) -> str:
        return c.meta.behaviour or "none"

    def names(c: Conversation) -> list[str]:  # the behaviours the run asked for
        return [spec["name"] for spec in (c.meta.behaviours or {}).get("specs", [])]

    choose(page, "f-behaviour", "n:digression")
    wanted = [c.key for c in conversations if "digression" in names(c)]
    assert len(wanted) == 4 and page.evaluate("window.ugstReport.visibleKeys()") == wanted
    assert page.evaluate("document.getElementById('count').textContent").startswith(f"{len(wanted)} of ")
    choose(page, "f-behaviour", "l:none")  # the runs without behaviours, the example records among them
    wanted = [c.key for c in conversations if label(c) == "none"]
    assert len(wanted) == 3 + len(examples()) and page.evaluate("window.ugstReport.visibleKeys()") == wanted
    assert page.evaluate("Array.from(document.querySelectorAll('#list-body td.beh')).map(td => td.textContent)") \
        == ["none"] * len(wanted)
    choose(page, "f-behaviour", "l:impatience")  # exactly impatience, not impatience+digression
    wanted = [c.key for c in conversations if label(c) == "impatience"]
    assert len(wanted) == 3 and page.evaluate("window.ugstReport.matchingKeys()") == wanted
    choose(page, "f-behaviour", "n:impatience")
    choose(page, "f-ended", "max_turns")  # combines with the other filters
    wanted = [c.key for c in conversations if "impatience" in names(c) and c.ended_by == "max_turns"]
    assert 0 < len(wanted) < 9 and page.evaluate("window.ugstReport.matchingKeys()") == wanted
    page.evaluate("document.getElementById('f-reset').click()")
    assert page.evaluate("document.getElementById('f-behaviour').value") == ""
    assert page.evaluate("window.ugstReport.matchingKeys()") == [c.key for c in conversations]

    two = runs[1]  # impatience+digression: odd messages show what acted on them, even ones do not
    assert label(two) == "impatience+digression"
    expand(page, two.key)
    detail = f'.detail[data-key="{two.key}"]'
    heads = page.evaluate(f"Array.from(document.querySelectorAll('{detail} .heads .badge')).map(b => b.textContent)")
    assert "behaviour: impatience+digression" in heads
    shown = sum(n % 2 == 0 for n in range(len(two.turns)))
    assert f"impatience: shown {shown}/{len(two.turns)}" in heads
    badges = page.evaluate(f"Array.from(document.querySelectorAll('{detail} tr.bhrow td.bhs')).map(td =>"
                           " [td.dataset.turn, Array.from(td.querySelectorAll('.bh')).map(b =>"
                           " [b.dataset.behaviour, b.classList.contains('on'), b.classList.contains('off'), b.title,"
                           " b.textContent])])")
    assert badges[0] == ["0", []]  # nothing before the first message
    for k, turn in enumerate(two.turns, start=1):
        shows = k % 2 == 1
        state = "shown" if shows else "not shown"
        assert badges[k] == [str(k), [[name, shows, not shows, f"{name}: {state}", name[:3]]
                                      for name in turn.behaviours]]
    transcript = page.evaluate(f"Array.from(document.querySelectorAll('{detail} .turn h4')).map(h =>"
                               " Array.from(h.querySelectorAll('.bh')).map(b => [b.textContent, b.dataset.shown]))")
    assert transcript[0] == [["impatience", "shown"], ["digression", "shown"]]
    assert transcript[1] == [["impatience", "not shown"], ["digression", "not shown"]]
    colour = page.evaluate(f"getComputedStyle(document.querySelector('{detail} tr.bhrow .bh.on')).backgroundColor")
    hollow = page.evaluate(f"getComputedStyle(document.querySelector('{detail} tr.bhrow .bh.off')).backgroundColor")
    assert colour != hollow and hollow == "rgb(255, 255, 255)"  # filled when shown, outlined when not
    page.evaluate(f"document.querySelector('{detail} td.bhs[data-turn=\"2\"]').click()")
    assert page.evaluate(f"document.querySelector('{detail} .turn.hl').dataset.turn") == "2"

    service = runs[2]
    assert label(service) == "unavailable_service"
    expand(page, service.key)
    title = page.evaluate(f"document.querySelector('.detail[data-key=\"{service.key}\"] .turn .bh').title")
    assert title == "unavailable service: shown \u00b7 the agent declined"
    plain = examples()[0]
    expand(page, plain.key)
    assert page.evaluate(f"document.querySelectorAll('.detail[data-key=\"{plain.key}\"] .bh').length") == 0
    assert page.evaluate(f"document.querySelectorAll('.detail[data-key=\"{plain.key}\"] tr.bhrow').length") == 0
    shot = page.screenshot(tmp_path / "behaviours.png", full_page=True)
    assert shot.read_bytes().startswith(PNG)
    keep_screenshot(shot)

    choose(page, "f-behaviour", "l:" + EVIL)
    assert page.evaluate("window.ugstReport.visibleKeys()") == [conversations[-1].key]
    expand(page, conversations[-1].key)
    assert page.evaluate("document.querySelector('.detail .bhlabel').textContent") == "behaviour: " + EVIL
    assert page.evaluate("document.querySelector('.detail .turn .bh').dataset.behaviour") == EVIL
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("window.__xss === undefined") is True
    assert page.errors == []
