"""Metrics that need no LLM: success rates, agreement, decomposition quality and failure diagnostics."""

from ugst_dspy.metrics.agreement import Agreement, agreement
from ugst_dspy.metrics.decomposition import DecompositionScore, decomposition_quality, text_similarity
from ugst_dspy.metrics.diagnostics import DETERMINISTIC_CLASSES, DiagnosticSummary, diagnose, diagnose_all
from ugst_dspy.metrics.success import Rate, SuccessRow, state_counts, success_table

__all__ = [
    "DETERMINISTIC_CLASSES",
    "Agreement",
    "DecompositionScore",
    "DiagnosticSummary",
    "Rate",
    "SuccessRow",
    "agreement",
    "decomposition_quality",
    "diagnose",
    "diagnose_all",
    "state_counts",
    "success_table",
    "text_similarity",
]
