"""Inline SVG charts for the HTML report (no JavaScript, no library): category success per group.

Every text that comes from data (group names) is escaped; every bar carries a ``<title>`` with its numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ugst_dspy.metrics.success import Rate, SuccessRow
from ugst_dspy.state import CATEGORIES

PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)


def group_colour(index: int) -> str:
    """The colour of the ``index``-th group (the same in the chart and its legend)."""
    return PALETTE[index % len(PALETTE)]


def _columns(row: SuccessRow) -> list[tuple[str, float | None, str]]:
    """(label, rate, detail) for each category and Avg."""
    out = []
    for category in CATEGORIES:
        rate: Rate = row.categories[category]
        detail = "n/a" if rate.rate is None else f"{100 * rate.rate:.1f}% ({rate.successes}/{rate.total})"
        out.append((category.label, rate.rate, detail))
    avg = row.average
    out.append(("Avg", avg, "n/a" if avg is None else f"{100 * avg:.1f}%"))
    return out


def success_chart_svg(rows: Sequence[SuccessRow], title: str = "Success rate per category") -> str:
    """A grouped bar chart: one cluster per category (and Avg), one bar per group, 0-100 %."""
    labels = [c.label for c in CATEGORIES] + ["Avg"]
    n_groups = max(len(rows), 1)
    bar = max(4, min(26, 150 // n_groups))
    cluster = n_groups * bar + 18
    left, top, plot_h = 46, 28, 190
    plot_w = len(labels) * cluster
    legend_cols = max(1, min(n_groups, (plot_w + left) // 170))
    legend_rows = -(-len(rows) // legend_cols)
    width = left + plot_w + 12
    height = top + plot_h + 28 + 20 * legend_rows + 8
    parts = [
        f'<svg class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" class="ctitle">{escape(title)}</text>',
    ]
    for tick in range(0, 101, 25):
        y = top + plot_h - plot_h * tick / 100
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{tick}%</text>')
    for k, label in enumerate(labels):
        x0 = left + k * cluster + 9
        parts.append(
            f'<text x="{x0 + n_groups * bar / 2:.1f}" y="{top + plot_h + 16}" class="xlab" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for g, row in enumerate(rows):
        for k, (label, rate, detail) in enumerate(_columns(row)):
            x = left + k * cluster + 9 + g * bar
            tip = escape(f"{row.group} · {label}: {detail}")
            if rate is None:
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{top + plot_h - 3}" class="na" text-anchor="middle">'
                    f"<title>{tip}</title>–</text>"
                )
                continue
            h = plot_h * rate
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 1}" height="{max(h, 0.5):.1f}" '
                f'fill="{group_colour(g)}"><title>{tip}</title></rect>'
            )
    legend_top = top + plot_h + 30
    col_w = (width - left) / legend_cols
    for g, row in enumerate(rows):
        x = left + (g % legend_cols) * col_w
        y = legend_top + (g // legend_cols) * 20
        name = row.group if len(row.group) <= 28 else row.group[:27] + "…"
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{group_colour(g)}"/>')
        parts.append(
            f'<text x="{x + 17:.1f}" y="{y + 10}" class="leg"><title>{escape(row.group)}</title>'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
