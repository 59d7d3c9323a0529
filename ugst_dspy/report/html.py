"""One self-contained HTML report of a set of conversations (``ugst report``).

The file needs nothing but a browser: styles and script are inline, nothing is fetched. Python renders the
summary (the per-category success table with counts, a bar chart per group in inline SVG, failure
diagnostics, end reasons and LM usage); every conversation is embedded once as JSON
(:mod:`ugst_dspy.report.data`) and the script (:mod:`ugst_dspy.report.script`) lists them one page at a
time, filters them (category and final status, diagnostic, group, end reason) and builds a conversation's
goal-state timeline and turns only when it is expanded, so thousands of conversations open in seconds.

With ``annotate=True`` every chip after S_0 becomes a select of the statuses of its category (set to the
tracker's status), and the page exports the conversations marked as annotated as JSON Lines conversation
records with the human statuses and ``meta.annotator = "human"``, ready for
:func:`ugst_dspy.metrics.agreement.agreement`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from ugst_dspy._version import __version__
from ugst_dspy.conversation import Conversation
from ugst_dspy.metrics.diagnostics import DEFAULT_STUCK_TURNS
from ugst_dspy.metrics.success import SuccessRow, success_table
from ugst_dspy.metrics.environments import environment_line, environments
from ugst_dspy.metrics.tracker_modes import tracker_modes
from ugst_dspy.report.data import STATUSES, data_key, embed_json, report_data
from ugst_dspy.report.script import SCRIPT
from ugst_dspy.report.style import STYLE
from ugst_dspy.report.svg import success_chart_svg
from ugst_dspy.report.table import HEADER, percent, rate_cell
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.schemas import ENDED_BY
from ugst_dspy.state import CATEGORIES

DEFAULT_TITLE = "UGST report"
ABBREVIATIONS = {"ALIGNED": "AL", "MISALIGNED": "MI", "INCOMPLETE": "IN", "ATTEMPTED": "AT", "COMPLETE": "CO"}


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "grid") -> str:
    head = "".join(f"<th>{escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def success_table_html(rows: Sequence[SuccessRow]) -> str:
    """The paper's table (Group, N, Prof., Pol., T.O., Req., Pref., Avg), each rate with its counts."""
    cells = []
    for row in rows:
        n = str(row.conversations) + (f" (+{row.untracked} untracked)" if row.untracked else "")
        cells.append([row.group, n, *(rate_cell(row.categories[c]) for c in CATEGORIES), percent(row.average)])
    return _table(HEADER, cells)


def outcomes_table_html(data: dict[str, Any]) -> str:
    """Per group: failure diagnostics and how the conversations ended."""
    classes = data["diagnostics"]
    ends = [e for e in ENDED_BY if any(c["end"] == e for c in data["conversations"])]
    counts = {g: {"n": 0, **dict.fromkeys(classes + ends, 0)} for g in range(len(data["groups"]))}
    for conversation in data["conversations"]:
        row = counts[conversation["grp"]]
        row["n"] += 1
        row[conversation["end"]] += 1
        for name in conversation["dx"]:
            row[name] = row.get(name, 0) + 1
    header = ["Group", "N", *(c.replace("_", " ") for c in classes), *(f"ended: {e.replace('_', ' ')}" for e in ends)]
    rows = [[name, counts[g]["n"], *(counts[g][k] for k in classes + ends)] for g, name in enumerate(data["groups"])]
    return _table(header, rows)


def usage_table_html(conversations: Sequence[Conversation]) -> str:
    """LM usage per role summed over all conversations (``unknown`` where a model did not report it)."""
    roles: dict[str, dict[str, Any]] = {}
    for conversation in conversations:
        usage = conversation.meta.get("usage")
        if not isinstance(usage, dict):
            continue
        for role, numbers in usage.items():
            if not isinstance(numbers, dict):
                continue
            fresh = {"conversations": 0, "calls": 0, "prompt": 0, "completion": 0, "seconds": 0.0}
            total = roles.setdefault(role, fresh)
            total["conversations"] += 1
            for key, name in (("calls", "calls"), ("prompt", "prompt_tokens"), ("completion", "completion_tokens"),
                              ("seconds", "seconds")):
                value = numbers.get(name)
                total[key] = None if total[key] is None or not isinstance(value, (int, float)) else total[key] + value
    if not roles:
        return '<p class="sub">No LM usage recorded in these conversations.</p>'

    def show(value: Any) -> str:
        if value is None:
            return "unknown"
        return f"{value:.1f}" if isinstance(value, float) else f"{value:,}"

    rows = [[role, t["conversations"], show(t["calls"]), show(t["prompt"]), show(t["completion"]), show(t["seconds"])]
            for role, t in roles.items()]
    return _table(["Role", "Conversations", "LM calls", "Prompt tokens", "Completion tokens", "Seconds"], rows)


def legend_html() -> str:
    chips = "".join(
        f'<span><span class="swatch s-{s.value}"></span>{ABBREVIATIONS[s.value]} {s.value.lower()}</span>'
        for s in STATUSES
    )
    return (
        f'<div class="legend">{chips}<span>· outlined chips changed at that turn; faded ones kept their status; '
        "hover a chip for the judge's reason, click it for details; a turn marked ! had judge outputs refused "
        "by the rules.</span></div>"
    )


def annotation_bar_html() -> str:
    return (
        '<div class="annbar" id="ann-bar"><b>Annotation mode.</b>'
        "<span>Expand a conversation and set the status of each sub-component after each turn (the choices are "
        "the statuses of its category; each starts at the tracker's). A conversation you change, or tick, is "
        "exported. Work is kept in this browser.</span>"
        '<span id="ann-count"></span>'
        '<button type="button" class="primary" id="ann-export">Export annotations (JSONL)</button>'
        '<button type="button" id="ann-clear">Clear</button></div>'
    )


def render_report(
    conversations: Iterable[Conversation],
    group_by: str | None = None,
    rules: RuleSet = DEFAULT_RULES,
    title: str = DEFAULT_TITLE,
    *,
    annotate: bool = False,
    sources: Sequence[str] = (),
    page_size: int = 50,
    stuck_turns: int | None = DEFAULT_STUCK_TURNS,
) -> str:
    """The whole report as one HTML document (see the module docstring).

    ``sources`` names the input files; ``stuck_turns`` is the misprioritisation window of the diagnostics,
    as in ``ugst evaluate`` (``None`` leaves that class out).
    """
    conversations = list(conversations)
    title = title or DEFAULT_TITLE
    rows = success_table(conversations, group_by, rules)
    data = report_data(conversations, group_by, rules, title=title, annotate=annotate, stuck_turns=stuck_turns)
    data["page_size"] = page_size
    payload = embed_json(data)
    facts = [f"{len(conversations)} conversations"]
    if sources:
        facts.append("from " + ", ".join(sources))
    facts.append(f"rule set {rules.name}")
    if group_by:
        facts.append(f"grouped by {group_by}")
    facts.append(f"generated {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z').strip()} "
                 f"by ugst-dspy {__version__}")
    sizes = "".join(f'<option value="{n}"{" selected" if n == page_size else ""}>{n} per page</option>'
                    for n in sorted({25, 50, 100, 200, page_size}))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ugst-dspy {escape(__version__)}">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<main id="ugst-app" data-key="{data_key(payload)}">
<h1>{escape(title)}</h1>
<p class="sub">{escape(" · ".join(facts))}</p>
<h2>Success per category</h2>
<div class="row"><div>{success_table_html(rows)}
<p class="sub">Pooled over the final state of each conversation; Avg is the mean of the category rates
(n/a left out).</p>
<p class="sub">{escape(tracker_modes(conversations, group_by).line())}</p>
<p class="sub">{escape(environment_line(environments(conversations)))}</p></div>
{success_chart_svg(rows)}</div>
<h3>Failure diagnostics and end reasons</h3>
{outcomes_table_html(data)}
<h3>LM usage per role</h3>
{usage_table_html(conversations)}
<h2>Conversations</h2>
{legend_html()}
{annotation_bar_html() if annotate else ""}
<div id="filters" class="filters"></div>
<table class="list"><thead><tr><th></th><th>conversation</th><th>group</th><th>ended by</th><th>turns</th>
<th>final state</th><th>successful</th><th>diagnostics</th></tr></thead><tbody id="list-body"></tbody></table>
<p id="list-empty" class="empty" hidden>No conversation matches these filters.</p>
<div class="pager"><button type="button" id="page-prev">&larr; previous</button><span id="page-info"></span>
<button type="button" id="page-next">next &rarr;</button><select id="page-size">{sizes}</select></div>
<noscript><p class="empty">The conversation list needs JavaScript.</p></noscript>
</main>
<script type="application/json" id="ugst-data">{payload}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""
