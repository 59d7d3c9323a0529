"""One self-contained HTML report of a set of conversations (``ugst report``).

The file needs nothing but a browser: styles and script are inline, nothing is fetched. Python renders the
summary (the per-category success table with counts, a bar chart per group in inline SVG, failure
diagnostics, end reasons and LM usage); every conversation is embedded once as JSON
(:mod:`ugst_dspy.report.data`) and the script (:mod:`ugst_dspy.report.script`) lists them one page at a
time, filters them (category and final status, diagnostic, group, end reason, behaviour) and builds a
conversation's goal-state timeline and turns only when it is expanded, so thousands of conversations open in
seconds.

Conversations made with behaviours (non-collaborative users) add a section with the behaviour check and the
agent-outcome tables (as ``ugst evaluate`` prints them, also per behaviour label when the report is grouped
otherwise), a behaviour column and filter in the list, and on each timeline the behaviours that acted on each
user message: a filled badge where the rule check finds the behaviour in the message, an outlined one where it
does not.

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
from ugst_dspy.metrics.agent_outcome import OutcomeRow, outcome_table
from ugst_dspy.metrics.behaviours import BehaviourRow, behaviour_table, plan_of
from ugst_dspy.metrics.diagnostics import DEFAULT_STUCK_TURNS
from ugst_dspy.metrics.success import Rate, SuccessRow, success_table
from ugst_dspy.metrics.environments import environment_line, environments
from ugst_dspy.metrics.tracker_modes import tracker_modes
from ugst_dspy.report.behaviour_table import ENDINGS
from ugst_dspy.report.data import STATUSES, behaviour_label, data_key, embed_json, report_data
from ugst_dspy.report.grid import number
from ugst_dspy.report.script import SCRIPT
from ugst_dspy.report.style import STYLE
from ugst_dspy.report.svg import success_chart_svg
from ugst_dspy.report.table import HEADER, percent, rate_cell
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.conversation import ENDED_BY
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


def _rate(rate: Rate | None) -> str:
    return "n/a" if rate is None else rate_cell(rate)


def behaviour_check_html(rows: Sequence[BehaviourRow]) -> str:
    """Per group and behaviour: shown when it acted, the base rate when not, the agent's declines (the cells of
    :func:`ugst_dspy.report.behaviour_table.format_behaviours`)."""
    cells = []
    for row in rows:
        for name in row.names:
            declined = row.declined if name == "unavailable_service" and row.declined.total else None
            cells.append([row.group, name, _rate(row.shown.get(name)), _rate(row.base.get(name)), _rate(declined)])
    return _table(["Group", "Behaviour", "Shown when asked", "Shown unasked (base)", "Agent declined"], cells)


def agent_outcome_html(rows: Sequence[OutcomeRow]) -> str:
    """Per group: task success, who failed, turns, tool errors, endings (the cells of
    :func:`ugst_dspy.report.behaviour_table.format_outcomes`)."""
    header = ["Group", "N", "Task success", "Agent failed", "Goal not delivered", "Turns", "Tool errors",
              *(e.replace("_", " ") for e in ENDINGS)]
    cells = [[row.group, row.conversations, _rate(row.success) if row.success.total else "n/a", row.agent_failed,
              row.not_delivered, number(row.mean_turns, 1), number(row.errors_per_conversation, 2),
              *(row.ended_by.get(e, 0) for e in ENDINGS)] for row in rows]
    return _table(header, cells)


def behaviour_sections_html(
    conversations: Sequence[Conversation], group_by: str | None = None, rules: RuleSet = DEFAULT_RULES
) -> str:
    """The behaviour check and agent-outcome tables, grouped as the report is and, when it is grouped otherwise
    and the runs had several behaviour labels, per label too; empty without a record made with behaviours."""
    if not any(plan_of(c) is not None for c in conversations):
        return ""

    def label(conversation: Conversation) -> str:
        return behaviour_label(conversation) or "none"

    groupings: list[tuple[str, Any]] = [(f" (grouped by {group_by})" if group_by else "", None)]
    if group_by != "behaviour" and len({label(c) for c in conversations}) > 1:
        groupings.append((" per behaviour", label))
    parts = ['\n<section id="behaviour-tables">', "<h2>Behaviours and agent outcome</h2>"]
    for suffix, key in groupings:
        parts += [
            f"<h3>{escape('Behaviour check' + suffix)}</h3>",
            behaviour_check_html(behaviour_table(conversations, group_by, key=key)),
        ]
    parts.append('<p class="sub">Shown when asked: the share of the user messages a behaviour acted on that show '
                 "it (rule check); base: the same check on the messages it did not act on. Rules are lexical: rates "
                 "are lower bounds (docs/behaviours.md).</p>")
    for suffix, key in groupings:
        parts += [
            f"<h3>{escape('Agent outcome' + suffix)}</h3>",
            agent_outcome_html(outcome_table(conversations, group_by, rules, key=key)),
        ]
    parts.append('<p class="sub">Task success: τ-bench reward or MultiWOZ booking outcome. Agent failed: the task '
                 "failed although every task objective of the user is successful; goal not delivered: the task failed "
                 "with an objective still INCOMPLETE. Turns: mean per conversation; tool errors: per "
                 "conversation.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def usage_table_html(conversations: Sequence[Conversation]) -> str:
    """LM usage per role summed over all conversations (``unknown`` where a model did not report it)."""
    roles: dict[str, dict[str, Any]] = {}
    for conversation in conversations:
        for role, used in (conversation.meta.usage or {}).items():
            fresh = {"conversations": 0, "calls": 0, "prompt": 0, "completion": 0, "seconds": 0.0}
            total = roles.setdefault(role, fresh)
            total["conversations"] += 1
            for key, name in (("calls", "calls"), ("prompt", "prompt_tokens"), ("completion", "completion_tokens"),
                              ("seconds", "seconds")):
                value = getattr(used, name)
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


def legend_html(behaviours: bool = False) -> str:
    """The status colours; with ``behaviours``, how the behaviour badges read."""
    chips = "".join(
        f'<span><span class="swatch s-{s.value}"></span>{ABBREVIATIONS[s.value]} {s.value.lower()}</span>'
        for s in STATUSES
    )
    return (
        f'<div class="legend">{chips}<span>· outlined chips changed at that turn; faded ones kept their status; '
        "hover a chip for the judge's reason, click it for details; a turn marked ! had judge outputs refused "
        "by the rules.</span>"
        + ('<span><span class="bh on">shown</span><span class="bh off">not shown</span> behaviours that acted on '
           "a user message: filled where the rule check finds it in the message, outlined where it does not "
           "(hover for details).</span>" if behaviours else "")
        + "</div>"
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
    behaviours = behaviour_sections_html(conversations, group_by, rules)
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
    behaviour_column = "<th>behaviour</th>" if "behaviours" in data else ""
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
{usage_table_html(conversations)}{behaviours}
<h2>Conversations</h2>
{legend_html("behaviours" in data)}
{annotation_bar_html() if annotate else ""}
<div id="filters" class="filters"></div>
<table class="list"><thead><tr><th></th><th>conversation</th><th>group</th>{behaviour_column}<th>ended by</th><th>turns</th>
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
