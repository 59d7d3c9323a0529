"""Conversation quality from an LM rater: naturalness and coherence (1 to 5) and the LM failure classes.

The ratings come from :class:`ugst_dspy.modules.rater.ConversationRater`, one per conversation; this module
says what each criterion weighs (:data:`RUBRICS`, which the rater's instructions list) and aggregates the
ratings per group (``--group-by``, as for the success table):

- **naturalness** (grammar and coherence, context relevance to the conversation and the goal,
  conversational style) and **coherence** (goal progression, consistency, logical flow, response
  appropriateness: answering the agent's questions), the aspects of :data:`RUBRICS`, of a group: the
  arithmetic mean of the conversations' scores, over the conversations that got a valid score (a failed or
  unparseable rating, or a conversation with no turns, is *unrated*: left out and counted); n/a when none did.
- **confusion** and **contradiction**: the number of conversations the classifier flagged, out of the
  conversations it judged (its rate is flagged / judged).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.metrics.success import Rate, group_key

CRITERIA = ("naturalness", "coherence")
LM_FAILURE_CLASSES = ("confusion", "contradiction")

# What the rater weighs for each criterion (the paper's Appendix F, in our words): (aspect, what it checks).
# The rater's instructions list exactly these (ugst_dspy.signatures.rater); JSON output names the aspects.
RUBRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "naturalness": (
        ("grammar and coherence", "of each message: it is well formed, readable and makes sense on its own"),
        ("context relevance", "it fits what the agent just said, the conversation so far and the user's goal "
         "(it is about what this user came to do, not a detour the goal gives no reason for)"),
        ("conversational style", "it sounds like a real person talking to a service, not a script, a template, "
         "a copy of the goal's text or an AI assistant (no stage directions, no role labels, no lists of "
         "everything at once, no stiff or repetitive phrasing)"),
    ),
    "coherence": (
        ("goal progression", "the user pursues their goal step by step and moves towards what they want"),
        ("consistency", "the user never contradicts their goal or their own earlier statements (same identity, "
         "details, requests and decisions)"),
        ("logical flow", "each message follows from the previous turns, without unexplained jumps, loops or "
         "repetitions"),
        ("response appropriateness", "when the agent asks a question or asks for clarification, the user's next "
         "message answers it (or says they do not know) instead of ignoring it or changing the subject"),
    ),
}


def rubric_aspects() -> dict[str, list[str]]:
    """The aspects of every criterion, by name (for reports)."""
    return {criterion: [aspect for aspect, _ in parts] for criterion, parts in RUBRICS.items()}


@dataclass(frozen=True)
class ConversationRating:
    """What the rater said about one conversation; ``None`` where it gave no usable answer (or was not asked)."""

    naturalness: int | None = None
    coherence: int | None = None
    confusion: bool | None = None
    contradiction: bool | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "naturalness": self.naturalness,
            "coherence": self.coherence,
            "confusion": self.confusion,
            "contradiction": self.contradiction,
            "reasons": dict(self.reasons),
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class Mean:
    """A sum of scores over ``count`` scored items; ``mean`` is ``None`` (n/a) when ``count`` is 0."""

    total: float = 0
    count: int = 0

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def __add__(self, other: Mean) -> Mean:
        return Mean(self.total + other.total, self.count + other.count)

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "count": self.count, "sum": self.total}


@dataclass
class QualityRow:
    """Mean ratings and LM failure counts of one group of conversations."""

    group: str
    conversations: int = 0
    scores: dict[str, Mean] = field(default_factory=lambda: {c: Mean() for c in CRITERIA})
    failures: dict[str, Rate] = field(default_factory=lambda: {c: Rate(0, 0) for c in LM_FAILURE_CLASSES})

    def unrated(self, criterion: str) -> int:
        """Conversations of the group without a valid score for ``criterion``."""
        return self.conversations - self.scores[criterion].count

    def add(self, rating: ConversationRating) -> None:
        self.conversations += 1
        for criterion in CRITERIA:
            score = getattr(rating, criterion)
            if score is not None:
                self.scores[criterion] = self.scores[criterion] + Mean(score, 1)
        for name in LM_FAILURE_CLASSES:
            flag = getattr(rating, name)
            if flag is not None:
                self.failures[name] = self.failures[name] + Rate(int(flag), 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "conversations": self.conversations,
            **{c: {**self.scores[c].to_json(), "unrated": self.unrated(c)} for c in CRITERIA},
            **{
                name: {"flagged": r.successes, "judged": r.total, "rate": r.rate}
                for name, r in self.failures.items()
            },
        }


def quality_table(
    rated: Iterable[tuple[Conversation, ConversationRating]], group_by: str | None = None
) -> list[QualityRow]:
    """One row per group (in order of first appearance) from ``(conversation, rating)`` pairs."""
    key = group_key(group_by)
    rows: dict[str, QualityRow] = {}
    for conversation, rating in rated:
        name = key(conversation)
        rows.setdefault(name, QualityRow(name)).add(rating)
    return list(rows.values())
