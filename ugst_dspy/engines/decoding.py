"""Pieces of one transformers generation: a token counter, a stop-string criterion, per-call seeds."""

from __future__ import annotations

import hashlib
from typing import Any

from ugst_dspy.extras import require


class TokenCounter:
    """A transformers streamer that only counts, row by row of a (left-padded) batch.

    The first ``put`` is the prompt batch: a row's prompt tokens are its width less its leading padding.
    Each later ``put`` is one new token per row; a row stops counting after its first end-of-sequence token
    (what follows is padding) or once :meth:`finish` is called for it (a stop string was found).
    """

    def __init__(self, rows: int = 1, pad_id: int | None = None, eos_ids: frozenset[int] = frozenset()) -> None:
        self.rows = rows
        self.pad_id = pad_id
        self.eos_ids = eos_ids
        self.prompt_width: int | None = None
        self.prompt_tokens = [0] * rows
        self.completion_tokens = [0] * rows
        self.last_token: list[int | None] = [None] * rows
        self._finished = [False] * rows

    def put(self, value: Any) -> None:
        if self.prompt_width is None:
            ids = value.reshape(self.rows, -1).tolist()
            self.prompt_width = len(ids[0])
            for row, tokens in enumerate(ids):
                self.prompt_tokens[row] = len(tokens) - _leading(tokens, self.pad_id if self.rows > 1 else None)
            return
        for row, token in enumerate(value.reshape(-1).tolist()):
            if self._finished[row]:
                continue
            self.completion_tokens[row] += 1
            self.last_token[row] = token
            if token in self.eos_ids:
                self._finished[row] = True

    def finish(self, row: int) -> None:
        """Stop counting ``row`` (its later tokens are padding)."""
        self._finished[row] = True

    def end(self) -> None:
        pass


def _leading(tokens: list[int], pad_id: int | None) -> int:
    count = 0
    while pad_id is not None and count < len(tokens) and tokens[count] == pad_id:
        count += 1
    return count


class StopOnText:
    """A stopping criterion: a row stops once its *generated* text contains a stop string.

    (transformers' own ``stop_strings`` also matches across the prompt boundary: a prompt ending in a
    newline stops at the first generated newline when the stop string is two of them.)
    """

    def __init__(self, tokenizer: Any, stops: tuple[str, ...], counter: TokenCounter) -> None:
        self.tokenizer = tokenizer
        self.stops = stops
        self.counter = counter

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        torch = require("torch", "local", "stopping a local model at a stop string")

        start = self.counter.prompt_width if self.counter.prompt_width is not None else input_ids.shape[1]
        done = []
        for row in range(input_ids.shape[0]):
            text = self.tokenizer.decode(input_ids[row, start:], skip_special_tokens=True)
            stopped = any(stop in text for stop in self.stops)
            if stopped:
                self.counter.finish(row)
            done.append(stopped)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def derive_seed(seed: int, call: int) -> int:
    """The seed of the ``call``-th sampled call of an engine seeded with ``seed`` (stable, well mixed)."""
    digest = hashlib.blake2b(f"{seed}:{call}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    """``text`` up to the first stop string (the stop string itself excluded)."""
    cuts = [text.find(stop) for stop in stops if stop in text]
    return text[: min(cuts)] if cuts else text
