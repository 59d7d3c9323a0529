"""Conversation-quality tables (the paper's Table 6): LM ratings, lexical diversity, embedding similarity.

- ratings: mean naturalness and coherence (1-5) with the number of rated conversations, ``4.33 (n=3)``, and
  the LM failure classes as flagged / judged conversations, ``1/3``;
- diversity: MTLD and HD-D of each group's user tokens, with the utterance, token and type counts;
- similarity: the pooled mean cosine similarity of user utterances to their goal, with the utterance count,
  labelled everywhere as an embedding stand-in for BERTScore.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ugst_dspy.metrics.diversity import HDD_DRAWS, LIBRARY, MTLD_THRESHOLD, DiversityRow
from ugst_dspy.metrics.quality import CRITERIA, LM_FAILURE_CLASSES, Mean, QualityRow
from ugst_dspy.metrics.similarity import LABEL, SimilarityRow
from ugst_dspy.metrics.success import Rate
from ugst_dspy.report.grid import dumps, number, raw, section


def score_cell(score: Mean) -> str:
    return "n/a" if score.mean is None else f"{score.mean:.2f} (n={score.count})"


def flag_cell(rate: Rate) -> str:
    return "n/a" if not rate.total else f"{rate.successes}/{rate.total}"


# -- LM ratings ----------------------------------------------------------------------------------------


def quality_json(rows: Sequence[QualityRow], rater: str = "", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"rater": rater, "rows": [row.to_json() for row in rows], **(extra or {})}


def format_quality(rows: Sequence[QualityRow], fmt: str = "text", rater: str = "", failures: bool = True) -> str:
    """Mean scores per group, and (with ``failures``) the confusion and contradiction counts."""
    if fmt == "json":
        return dumps(quality_json(rows, rater))
    classes = LM_FAILURE_CLASSES if failures else ()
    title = (
        f"Conversation quality of the user side{f', rated by {rater}' if rater else ''} (scores 1-5: mean over "
        "rated conversations, n = rated"
        + ("; confusion and contradiction: flagged/judged conversations)" if failures else ")")
    )
    header = ["Group", "N", *(c.capitalize() for c in CRITERIA), *(c.capitalize() for c in classes)]
    cells = [
        [row.group, str(row.conversations), *(score_cell(row.scores[c]) for c in CRITERIA),
         *(flag_cell(row.failures[c]) for c in classes)]
        for row in rows
    ]
    notes = [
        f"{row.group}: unrated: " + ", ".join(f"{c} {row.unrated(c)}" for c in CRITERIA)
        for row in rows
        if any(row.unrated(c) for c in CRITERIA)
    ]
    csv_header = ["group", "conversations"]
    for c in CRITERIA:
        csv_header += [f"{c}_mean", f"{c}_rated", f"{c}_unrated"]
    for c in classes:
        csv_header += [f"{c}_flagged", f"{c}_judged"]
    csv_rows = []
    for row in rows:
        line: list[Any] = [row.group, row.conversations]
        for c in CRITERIA:
            line += [raw(row.scores[c].mean), row.scores[c].count, row.unrated(c)]
        for c in classes:
            line += [row.failures[c].successes, row.failures[c].total]
        csv_rows.append(line)
    return section(fmt, title, header, cells, csv_header, csv_rows, notes)


# -- lexical diversity ---------------------------------------------------------------------------------


def diversity_json(rows: Sequence[DiversityRow], library: str = LIBRARY) -> dict[str, Any]:
    return {
        "library": library,
        "mtld_threshold": MTLD_THRESHOLD,
        "hdd_draws": HDD_DRAWS,
        "rows": [row.to_json() for row in rows],
    }


def format_diversity(rows: Sequence[DiversityRow], fmt: str = "text", library: str = LIBRARY) -> str:
    """MTLD and HD-D per group, with the counts of utterances, tokens and types behind them."""
    if fmt == "json":
        return dumps(diversity_json(rows, library))
    title = (
        f"Lexical diversity of user utterances ({library}; all user tokens of a group concatenated; "
        f"MTLD threshold {MTLD_THRESHOLD}, HD-D {HDD_DRAWS} draws, n/a under {HDD_DRAWS} tokens)"
    )
    header = ["Group", "N", "Utterances", "Tokens", "Types", "MTLD", "HD-D"]
    cells = [
        [row.group, str(row.conversations), str(row.utterances), str(row.tokens), str(row.types),
         number(row.mtld, 2), number(row.hdd, 3)]
        for row in rows
    ]
    csv_header = ["group", "conversations", "utterances", "tokens", "types", "mtld", "hdd"]
    csv_rows = [
        [row.group, row.conversations, row.utterances, row.tokens, row.types, raw(row.mtld), raw(row.hdd)]
        for row in rows
    ]
    return section(fmt, title, header, cells, csv_header, csv_rows)


# -- embedding similarity ------------------------------------------------------------------------------


def similarity_json(rows: Sequence[SimilarityRow], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"measure": LABEL, "rows": [row.to_json() for row in rows], **(extra or {})}


def format_similarity(rows: Sequence[SimilarityRow], fmt: str = "text") -> str:
    """The mean similarity of user utterances to their goal per group (pooled over utterances)."""
    if fmt == "json":
        return dumps(similarity_json(rows))
    title = f"Semantic similarity of user utterances to their goal: {LABEL}; mean over utterances"
    header = ["Group", "N", "Utterances", "Similarity (not BERTScore)"]
    cells = [[row.group, str(row.conversations), str(row.utterances), number(row.mean, 3)] for row in rows]
    csv_header = ["group", "conversations", "utterances", "embedding_similarity_mean"]
    csv_rows = [[row.group, row.conversations, row.utterances, raw(row.mean)] for row in rows]
    return section(fmt, title, header, cells, csv_header, csv_rows)
