"""Metrics: success rates, agreement, decomposition quality, failure diagnostics, conversation quality.

Everything here is pure Python except where noted: lexical diversity imports ``lexicalrichness`` and the
embedding similarity aggregates what an embedder returns (the model is ``ugst_dspy.engines.embedder``).
"""

from ugst_dspy.metrics.agreement import Agreement, agreement
from ugst_dspy.metrics.decomposition import (
    DecompositionRow,
    DecompositionScore,
    decomposition_quality,
    decomposition_table,
    text_similarity,
)
from ugst_dspy.metrics.diagnostics import (
    DETERMINISTIC_CLASSES,
    MISPRIORITISATION,
    PARTIAL_COMPLETION,
    STATE_CLASSES,
    STOP_WITH_REQUEST,
    DiagnosticSummary,
    diagnose,
    diagnose_all,
    stopped_with_request,
    stuck_objective,
)
from ugst_dspy.metrics.diversity import DiversityRow, diversity_table, hdd, mtld
from ugst_dspy.metrics.quality import ConversationRating, Mean, QualityRow, quality_table
from ugst_dspy.metrics.similarity import SimilarityRow, similarity_table
from ugst_dspy.metrics.success import Rate, SuccessRow, state_counts, success_table

__all__ = [
    "DETERMINISTIC_CLASSES",
    "MISPRIORITISATION",
    "PARTIAL_COMPLETION",
    "STATE_CLASSES",
    "STOP_WITH_REQUEST",
    "Agreement",
    "ConversationRating",
    "DecompositionRow",
    "DecompositionScore",
    "DiagnosticSummary",
    "DiversityRow",
    "Mean",
    "QualityRow",
    "Rate",
    "SimilarityRow",
    "SuccessRow",
    "agreement",
    "decomposition_quality",
    "decomposition_table",
    "diagnose",
    "diagnose_all",
    "diversity_table",
    "hdd",
    "mtld",
    "quality_table",
    "similarity_table",
    "state_counts",
    "stopped_with_request",
    "stuck_objective",
    "success_table",
    "text_similarity",
]
