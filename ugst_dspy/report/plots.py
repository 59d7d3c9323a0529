"""PNG charts for papers (``ugst report --png DIR``), drawn with matplotlib.

matplotlib is imported only when a chart is drawn (install the ``report`` extra), and only its object
interface is used (no pyplot, no global backend switch), so drawing is safe inside other programs.

- :func:`category_success_png`: the success rate of each category (and Avg) per group, as grouped bars.
- :func:`status_over_turns_png`: for each category, the share of its sub-components in each status after
  turn 0, 1, 2, ... pooled over the conversations (one row of panels per group). A conversation that ended
  earlier keeps its final state, so the last column is the final-state distribution behind the success table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.extras import require
from ugst_dspy.metrics.success import SuccessRow, group_key, success_table
from ugst_dspy.report.svg import group_colour
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.state import CATEGORIES, Category, GoalState, Status

STATUS_COLOURS = {
    Status.ALIGNED: "#2e9d5b",
    Status.COMPLETE: "#1b7a43",
    Status.ATTEMPTED: "#e0a100",
    Status.INCOMPLETE: "#9aa0a6",
    Status.MISALIGNED: "#d64545",
}
DPI = 200


def _figure(width: float, height: float) -> Any:
    figure = require("matplotlib.figure", "report", "writing PNG charts")
    return figure.Figure(figsize=(width, height), layout="constrained")


def category_success_png(rows: Sequence[SuccessRow], path: str | Path, title: str | None = None) -> Path:
    """Grouped bars: one cluster per category and Avg, one bar per group, labelled with the rate (%)."""
    labels = [c.label for c in CATEGORIES] + ["Avg"]
    n = max(len(rows), 1)
    fig = _figure(max(6.0, 1.1 + 0.28 * n * len(labels)), 3.4)
    ax = fig.add_subplot()
    width = 0.8 / n
    for g, row in enumerate(rows):
        values = [row.categories[c].rate for c in CATEGORIES] + [row.average]
        xs = [k + (g - (n - 1) / 2) * width for k in range(len(labels))]
        heights = [0.0 if v is None else 100 * v for v in values]
        bars = ax.bar(xs, heights, width * 0.92, label=row.group, color=group_colour(g))
        for bar, value in zip(bars, values):
            text = "n/a" if value is None else f"{100 * value:.0f}"
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7 if n < 5 else 5)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, 108)
    ax.set_ylabel("success rate (%)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title)
    if len(rows) > 1:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    path = Path(path)
    fig.savefig(path, dpi=DPI)
    return path


def _state_at(conversation: Conversation, turn: int) -> GoalState | None:
    """S_min(turn, n), or the last tracked state before it."""
    states = conversation.states[: min(turn, len(conversation.turns)) + 1]
    for state in reversed(states):
        if state is not None:
            return state
    return None


def status_shares(
    conversations: Sequence[Conversation], rules: RuleSet = DEFAULT_RULES
) -> dict[Category, list[dict[Status, int]]]:
    """Per category, per turn 0..max: how many sub-components have each status (final states carried on)."""
    horizon = max((len(c.turns) for c in conversations), default=0)
    out: dict[Category, list[dict[Status, int]]] = {
        category: [dict.fromkeys(rules.statuses(category), 0) for _ in range(horizon + 1)] for category in CATEGORIES
    }
    for conversation in conversations:
        for turn in range(horizon + 1):
            state = _state_at(conversation, turn)
            if state is None:
                continue
            for located in state.items():
                counts = out[located.category][turn]
                counts[located.status] = counts.get(located.status, 0) + 1
    return out


def status_over_turns_png(
    conversations: Sequence[Conversation],
    path: str | Path,
    group_by: str | None = None,
    rules: RuleSet = DEFAULT_RULES,
    title: str | None = None,
) -> Path:
    """Stacked areas of status shares over turns: a panel per category, a row of panels per group."""
    key = group_key(group_by)
    groups: dict[str, list[Conversation]] = {}
    for conversation in conversations:
        groups.setdefault(key(conversation), []).append(conversation)
    shares = {name: status_shares(members, rules) for name, members in groups.items()}
    present = [c for c in CATEGORIES if any(sum(sum(t.values()) for t in s[c]) for s in shares.values())]
    present = present or list(CATEGORIES)
    fig = _figure(2.3 * len(present) + 0.6, 1.9 * max(len(groups), 1) + 0.7)
    axes = fig.subplots(max(len(groups), 1), len(present), squeeze=False, sharex=True, sharey=True)
    handles: dict[Status, Any] = {}
    for r, (name, by_category) in enumerate(shares.items() or [("all", status_shares([], rules))]):
        for k, category in enumerate(present):
            ax = axes[r][k]
            series = by_category[category]
            turns = list(range(len(series)))
            totals = [sum(counts.values()) or 1 for counts in series]
            statuses = list(rules.statuses(category))
            ys = [[100 * counts.get(s, 0) / total for counts, total in zip(series, totals)] for s in statuses]
            if len(turns) == 1:  # a single point draws no area: widen it
                turns, ys = [0, 1], [y * 2 for y in ys]
            areas = ax.stackplot(turns, ys, colors=[STATUS_COLOURS[s] for s in statuses], alpha=0.9, linewidth=0)
            for status, area in zip(statuses, areas):
                handles.setdefault(status, area)
            ax.set_ylim(0, 100)
            ax.set_xlim(turns[0], turns[-1])
            if r == 0:
                ax.set_title(category.label, fontsize=10)
            if k == 0:
                ax.set_ylabel(f"{name}\nshare (%)" if len(groups) > 1 else "share (%)", fontsize=8)
            if r == len(groups) - 1:
                ax.set_xlabel("turn", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.legend(list(handles.values()), [s.value.lower() for s in handles], loc="outside lower center",
               ncol=len(handles), frameon=False, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=DPI)
    return path


def write_pngs(
    conversations: Sequence[Conversation],
    folder: str | Path,
    group_by: str | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> list[Path]:
    """Both charts into ``folder`` (created): ``category_success.png`` and ``status_over_turns.png``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = success_table(conversations, group_by, rules)
    return [
        category_success_png(rows, folder / "category_success.png"),
        status_over_turns_png(conversations, folder / "status_over_turns.png", group_by, rules),
    ]
