"""Decomposition quality against a gold decomposition (the paper's Table 5).

Sub-components of the predicted and the gold state of a goal are matched one to one by text similarity,
regardless of category: all pairs are scored with :func:`text_similarity`, then taken greedily from the most
similar down, each sub-component used once, and pairs below ``threshold`` left unmatched. Over a set of
goals (pooled): precision = matched / predicted, recall = matched / gold, F1 their harmonic mean, and
category accuracy = matched pairs whose categories agree / matched pairs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.metrics.success import group_key
from ugst_dspy.state import GoalState

_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def text_similarity(a: str, b: str) -> float:
    """Token-overlap F1 of two texts (bag of lower-cased alphanumeric tokens), in [0, 1]."""
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return float(ta == tb)
    counts: dict[str, int] = {}
    for token in ta:
        counts[token] = counts.get(token, 0) + 1
    common = 0
    for token in tb:
        if counts.get(token, 0) > 0:
            counts[token] -= 1
            common += 1
    if common == 0:
        return 0.0
    precision, recall = common / len(tb), common / len(ta)
    return 2 * precision * recall / (precision + recall)


@dataclass
class DecompositionScore:
    """Pooled counts behind precision, recall, F1 and category accuracy."""

    predicted: int = 0
    gold: int = 0
    matched: int = 0
    same_category: int = 0
    goals: int = 0
    missing_predictions: int = 0

    @property
    def precision(self) -> float | None:
        return self.matched / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def category_accuracy(self) -> float | None:
        return self.same_category / self.matched if self.matched else None

    def to_json(self) -> dict[str, Any]:
        return {
            "goals": self.goals,
            "missing_predictions": self.missing_predictions,
            "predicted": self.predicted,
            "gold": self.gold,
            "matched": self.matched,
            "same_category": self.same_category,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "category_accuracy": self.category_accuracy,
        }


def match_components(predicted: GoalState, gold: GoalState, threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching: ``(predicted index, gold index, similarity)`` in ``items()`` order."""
    pred = [located.text for located in predicted.items()]
    ref = [located.text for located in gold.items()]
    scored = sorted(
        ((text_similarity(p, g), i, j) for i, p in enumerate(pred) for j, g in enumerate(ref)),
        key=lambda x: (-x[0], x[1], x[2]),
    )
    used_p: set[int] = set()
    used_g: set[int] = set()
    pairs = []
    for score, i, j in scored:
        if score < threshold:
            break
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        pairs.append((i, j, score))
    return pairs


def score_decomposition(predicted: GoalState, gold: GoalState, threshold: float = 0.5) -> DecompositionScore:
    pred_items, gold_items = list(predicted.items()), list(gold.items())
    pairs = match_components(predicted, gold, threshold)
    return DecompositionScore(
        predicted=len(pred_items),
        gold=len(gold_items),
        matched=len(pairs),
        same_category=sum(pred_items[i].category is gold_items[j].category for i, j, _ in pairs),
        goals=1,
    )


def decomposition_quality(
    predicted: Mapping[str, GoalState], gold: Mapping[str, GoalState], threshold: float = 0.5
) -> DecompositionScore:
    """Pooled scores over the goals of ``gold``; a gold goal with no prediction counts as all missed."""
    total = DecompositionScore()
    for goal_id, reference in gold.items():
        guess = predicted.get(goal_id)
        if guess is None:
            total.missing_predictions += 1
            guess = GoalState()
        one = score_decomposition(guess, reference, threshold)
        total.predicted += one.predicted
        total.gold += one.gold
        total.matched += one.matched
        total.same_category += one.same_category
        total.goals += 1
    return total


@dataclass
class DecompositionRow:
    """Decomposition quality of the initial states of one group of conversations against a gold file.

    ``not_in_gold``: conversations whose goal the gold file lacks; ``repeated``: conversations of a goal whose
    prediction was already taken from an earlier conversation of the group; ``gold_not_run``: gold goals with
    no conversation in the group. None of these is scored.
    """

    group: str
    score: DecompositionScore = field(default_factory=DecompositionScore)
    conversations: int = 0
    not_in_gold: int = 0
    repeated: int = 0
    gold_not_run: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "conversations": self.conversations,
            "not_in_gold": self.not_in_gold,
            "repeated": self.repeated,
            "gold_not_run": self.gold_not_run,
            **self.score.to_json(),
        }


def decomposition_table(
    conversations: Iterable[Conversation],
    gold: Mapping[str, GoalState],
    group_by: str | None = None,
    threshold: float = 0.5,
) -> list[DecompositionRow]:
    """Score each group's initial states (predictions) against ``gold`` (goal id -> gold state).

    Within a group, the prediction for a goal is the ``initial_state`` of its first conversation (input
    order) that has one; the goals scored are the gold goals with at least one conversation in the group,
    and such a goal whose conversations all lack an initial state counts as a missing prediction.
    """
    key = group_key(group_by)
    groups: dict[str, list[Conversation]] = {}
    for conversation in conversations:
        groups.setdefault(key(conversation), []).append(conversation)
    rows = []
    for name, members in groups.items():
        row = DecompositionRow(name, conversations=len(members))
        predicted: dict[str, GoalState] = {}
        run: set[str] = set()
        for conversation in members:
            if conversation.goal_id not in gold:
                row.not_in_gold += 1
                continue
            if conversation.goal_id in predicted:
                row.repeated += 1
                continue
            run.add(conversation.goal_id)
            if conversation.initial_state is not None:
                predicted[conversation.goal_id] = conversation.initial_state
        row.score = decomposition_quality(predicted, {g: s for g, s in gold.items() if g in run}, threshold)
        row.gold_not_run = len(gold) - len(run)
        rows.append(row)
    return rows
