"""The decomposition-quality table (the paper's Table 5): precision, recall, F1 and category accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ugst_dspy.metrics.decomposition import DecompositionRow
from ugst_dspy.report.grid import dumps, raw, section
from ugst_dspy.report.table import percent


def _ratio(value: float | None, part: int, whole: int) -> str:
    return "n/a" if value is None else f"{percent(value)} ({part}/{whole})"


def decomposition_json(rows: Sequence[DecompositionRow], gold: str = "", threshold: float = 0.5) -> dict[str, Any]:
    return {"gold": gold, "threshold": threshold, "rows": [row.to_json() for row in rows]}


def format_decomposition(
    rows: Sequence[DecompositionRow], fmt: str = "text", gold: str = "", threshold: float = 0.5
) -> str:
    """Render one row per group: precision matched/predicted, recall matched/gold, F1, category accuracy."""
    if fmt == "json":
        return dumps(decomposition_json(rows, gold, threshold))
    title = (
        f"Decomposition quality of the initial states{f' against {gold}' if gold else ''} "
        f"(one-to-one token-overlap matching, threshold {threshold:g})"
    )
    cells = []
    for row in rows:
        s = row.score
        cells.append([
            row.group,
            str(s.goals),
            str(s.missing_predictions),
            _ratio(s.precision, s.matched, s.predicted),
            _ratio(s.recall, s.matched, s.gold),
            percent(s.f1),
            _ratio(s.category_accuracy, s.same_category, s.matched),
        ])
    notes = [
        f"{row.group}: not scored: {row.not_in_gold} conversations whose goal is not in the gold file, "
        f"{row.repeated} repeated goals, {row.gold_not_run} gold goals without a conversation"
        for row in rows
        if row.not_in_gold or row.repeated or row.gold_not_run
    ]
    csv_header = [
        "group", "conversations", "goals", "missing_predictions", "predicted", "gold", "matched", "same_category",
        "precision", "recall", "f1", "category_accuracy", "not_in_gold", "repeated", "gold_not_run",
    ]
    csv_rows = [
        [
            row.group, row.conversations, row.score.goals, row.score.missing_predictions, row.score.predicted,
            row.score.gold, row.score.matched, row.score.same_category, raw(row.score.precision),
            raw(row.score.recall), raw(row.score.f1), raw(row.score.category_accuracy), row.not_in_gold,
            row.repeated, row.gold_not_run,
        ]
        for row in rows
    ]
    header = ["Group", "Goals", "Missing", "Precision", "Recall", "F1", "Cat. acc."]
    return section(fmt, title, header, cells, csv_header, csv_rows, notes)
