"""Pieces of one transformers generation: a token counter, a stop-string criterion, per-call seeds."""

from __future__ import annotations

import hashlib
from typing import Any


class TokenCounter:
    """A transformers streamer that only counts: the first ``put`` is the prompt, then one per step."""

    def __init__(self) -> None:
        self.prompt_tokens: int | None = None
        self.completion_tokens = 0
        self.last_token: int | None = None

    def put(self, value: Any) -> None:
        if self.prompt_tokens is None:
            self.prompt_tokens = int(value.shape[-1])
            return
        self.completion_tokens += int(value.numel())
        self.last_token = int(value.reshape(-1)[-1])

    def end(self) -> None:
        pass


class StopOnText:
    """A stopping criterion: stop once the *generated* text contains a stop string.

    (transformers' own ``stop_strings`` also matches across the prompt boundary: a prompt ending in a
    newline stops at the first generated newline when the stop string is two of them.)
    """

    def __init__(self, tokenizer: Any, stops: tuple[str, ...], counter: TokenCounter) -> None:
        self.tokenizer = tokenizer
        self.stops = stops
        self.counter = counter

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        start = self.counter.prompt_tokens if self.counter.prompt_tokens is not None else input_ids.shape[1]
        text = self.tokenizer.decode(input_ids[0, start:], skip_special_tokens=True)
        done = any(stop in text for stop in self.stops)
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


def derive_seed(seed: int, call: int) -> int:
    """The seed of the ``call``-th sampled call of an engine seeded with ``seed`` (stable, well mixed)."""
    digest = hashlib.blake2b(f"{seed}:{call}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    """``text`` up to the first stop string (the stop string itself excluded)."""
    cuts = [text.find(stop) for stop in stops if stop in text]
    return text[: min(cuts)] if cuts else text
