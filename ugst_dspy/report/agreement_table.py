"""The agreement table (the paper's Table 4): matching / compared statuses per category and overall."""

from __future__ import annotations

from typing import Any

from ugst_dspy.metrics.agreement import Agreement
from ugst_dspy.report.grid import dumps, raw, section
from ugst_dspy.report.table import rate_cell
from ugst_dspy.state import CATEGORIES


def agreement_json(result: Agreement, against: str = "", final_only: bool = False) -> dict[str, Any]:
    return {"against": against, "final_only": final_only, **result.to_json()}


def format_agreement(result: Agreement, fmt: str = "text", against: str = "", final_only: bool = False) -> str:
    """Render an agreement tally; ``against`` names the other side, ``final_only`` says what was compared."""
    if fmt == "json":
        return dumps(agreement_json(result, against, final_only))
    scope = "final states only" if final_only else "every turn's state"
    title = (
        f"Agreement{f' with {against}' if against else ''} ({scope}; {result.conversations} conversations paired, "
        f"{result.unpaired} unpaired, {result.mismatched_items} sub-components not compared: text differs)"
    )
    labelled = [(c.label, c.value, result.categories[c]) for c in CATEGORIES] + [("Overall", "overall", result.overall)]
    return section(
        fmt,
        title,
        ["Category", "Agreement"],
        [[label, rate_cell(rate)] for label, _, rate in labelled],
        ["category", "agreement", "matching", "compared"],
        [[key, raw(rate.rate), rate.successes, rate.total] for _, key, rate in labelled],
    )
