"""The tables of non-collaborative runs: does each message carry its behaviour, and how the agent fared.

- behaviours: per group and behaviour, the share of the messages it acted on that show it (``83.3 (5/6)``),
  the base rate on the messages it did not act on, and how often the agent declined an unavailable service;
- agent outcome: per group, the task success (τ-bench reward, MultiWOZ booking), the failures split into
  *agent failed* (the user delivered every task objective) and *goal not delivered*, mean turns, tool errors
  per conversation and how conversations ended.

Definitions in :mod:`ugst_dspy.metrics.behaviours` and :mod:`ugst_dspy.metrics.agent_outcome`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ugst_dspy.metrics.agent_outcome import OutcomeRow
from ugst_dspy.metrics.behaviours import BehaviourRow
from ugst_dspy.metrics.success import Rate
from ugst_dspy.report.grid import dumps, number, raw, section
from ugst_dspy.report.table import rate_cell

ENDINGS = ("user_stop", "agent_stop", "max_turns")


def _rate(rate: Rate | None) -> str:
    return "n/a" if rate is None else rate_cell(rate)


def behaviours_json(rows: Sequence[BehaviourRow]) -> dict[str, Any]:
    return {"rows": [row.to_json() for row in rows], "check": "rules (ugst_dspy.metrics.behaviours)"}


def format_behaviours(rows: Sequence[BehaviourRow], fmt: str = "text") -> str:
    """One line per group and behaviour: shown when acting, base rate when not, agent declines."""
    if fmt == "json":
        return dumps(behaviours_json(rows))
    header = ["Group", "Behaviour", "Shown when asked", "Shown unasked (base)", "Agent declined"]
    cells, csv_rows = [], []
    for row in rows:
        for name in row.names:
            shown, base = row.shown.get(name), row.base.get(name)
            declined = row.declined if name == "unavailable_service" and row.declined.total else None
            cells.append([row.group, name, _rate(shown), _rate(base), _rate(declined)])
            csv_rows.append([row.group, name, *(x for r in (shown, base) for x in
                                                (raw(r.rate if r else None), r.successes if r else 0, r.total if r else 0)),
                             raw(declined.rate if declined else None)])
    csv_header = ["group", "behaviour", "shown_rate", "shown", "acted", "base_rate", "base_shown", "base_messages",
                  "declined_rate"]
    title = "Behaviours: share of the user messages each behaviour acted on that show it (rule check)"
    notes = ["Base: the same check on the messages the behaviour did not act on. Rules are lexical: rates are lower "
             "bounds (docs/behaviours.md)."]
    return section(fmt, title, header, cells, csv_header, csv_rows, notes)


def outcomes_json(rows: Sequence[OutcomeRow]) -> dict[str, Any]:
    return {"rows": [row.to_json() for row in rows]}


def format_outcomes(rows: Sequence[OutcomeRow], fmt: str = "text") -> str:
    """Task success, failures by who failed, turns, tool errors and endings per group."""
    if fmt == "json":
        return dumps(outcomes_json(rows))
    header = ["Group", "N", "Task success", "Agent failed", "Goal not delivered", "Turns", "Tool errors",
              *(e.replace("_", " ") for e in ENDINGS)]
    cells = [[row.group, str(row.conversations), _rate(row.success) if row.success.total else "n/a",
              str(row.agent_failed), str(row.not_delivered), number(row.mean_turns, 1),
              number(row.errors_per_conversation, 2), *(str(row.ended_by.get(e, 0)) for e in ENDINGS)]
             for row in rows]
    csv_header = ["group", "conversations", "task_success_rate", "task_successes", "with_outcome", "agent_failed",
                  "goal_not_delivered", "mean_turns", "tool_errors_per_conversation", *ENDINGS]
    csv_rows = [[row.group, row.conversations, raw(row.success.rate), row.success.successes, row.success.total,
                 row.agent_failed, row.not_delivered, raw(row.mean_turns), raw(row.errors_per_conversation),
                 *(row.ended_by.get(e, 0) for e in ENDINGS)] for row in rows]
    title = "Agent outcome (task success: τ-bench reward or MultiWOZ booking outcome)"
    notes = ["Agent failed: the task failed although the user's every task objective is successful; goal not "
             "delivered: the task failed with an objective still INCOMPLETE (the user's side). Turns: mean per "
             "conversation; tool errors: per conversation."]
    return section(fmt, title, header, cells, csv_header, csv_rows, notes)
