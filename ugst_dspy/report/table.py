"""The per-category success table (the paper's Tables 2 and 3) as text, Markdown, CSV or JSON.

Each rate is shown as a percentage with the counts behind it: ``73.2 (41/56)``; ``n/a`` where a category
has no sub-component. Given the tracker modes behind the states (:mod:`ugst_dspy.metrics.tracker_modes`),
text and Markdown add a ``Tracker:`` line under the table, CSV a ``tracker`` column and JSON a ``tracker``
entry.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from ugst_dspy.metrics.success import Rate, SuccessRow
from ugst_dspy.metrics.tracker_modes import TrackerModes
from ugst_dspy.state import CATEGORIES

FORMATS = ("text", "markdown", "csv", "json")
HEADER = ["Group", "N", *(c.label for c in CATEGORIES), "Avg"]


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def rate_cell(rate: Rate) -> str:
    return "n/a" if rate.rate is None else f"{percent(rate.rate)} ({rate.successes}/{rate.total})"


def _cells(row: SuccessRow) -> list[str]:
    n = str(row.conversations) + (f" (+{row.untracked} untracked)" if row.untracked else "")
    return [row.group, n, *(rate_cell(row.categories[c]) for c in CATEGORIES), percent(row.average)]


def _text(rows: Sequence[SuccessRow]) -> str:
    grid = [HEADER, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in grid) for i in range(len(HEADER))]
    out = []
    for k, line in enumerate(grid):
        out.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _markdown(rows: Sequence[SuccessRow]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] + ["---:"] * (len(HEADER) - 1)) + "|"]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def _csv(rows: Sequence[SuccessRow], trackers: TrackerModes | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    head: list[str] = ["group", "conversations", "untracked"]
    for c in CATEGORIES:
        head += [f"{c.value}_rate", f"{c.value}_successes", f"{c.value}_total"]
    writer.writerow([*head, "avg", *(["tracker"] if trackers is not None else [])])
    for row in rows:
        line: list[Any] = [row.group, row.conversations, row.untracked]
        for c in CATEGORIES:
            rate = row.categories[c]
            line += ["" if rate.rate is None else f"{rate.rate:.6f}", rate.successes, rate.total]
        line.append("" if row.average is None else f"{row.average:.6f}")
        writer.writerow([*line, *([trackers.group_label(row.group)] if trackers is not None else [])])
    return buffer.getvalue().rstrip("\n")


def format_success_table(
    rows: Sequence[SuccessRow],
    fmt: str = "text",
    extra: dict[str, Any] | None = None,
    trackers: TrackerModes | None = None,
) -> str:
    """Render rows in one of :data:`FORMATS`; ``extra`` is merged into the JSON output only; ``trackers``
    (the modes behind the states) adds the tracker line, column or entry."""
    line = f"\n\n{trackers.line()}" if trackers is not None else ""
    if fmt == "text":
        return _text(rows) + line
    if fmt == "markdown":
        return _markdown(rows) + line
    if fmt == "csv":
        return _csv(rows, trackers)
    if fmt == "json":
        tracker = {"tracker": trackers.to_json()} if trackers is not None else {}
        return json.dumps({"rows": [row.to_json() for row in rows], **tracker, **(extra or {})}, indent=2)
    raise ValueError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
