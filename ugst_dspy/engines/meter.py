"""A thread-safe counter of LM calls, tokens and seconds, read and reset by callers (run metadata)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class UsageMeter:
    """Calls, prompt tokens, completion tokens and wall-clock seconds spent generating.

    ``snapshot()`` reads the totals; ``reset()`` returns them and starts again from zero (for example once
    per conversation and role, to fill a record's ``meta``).
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, prompt_tokens: int, completion_tokens: int, seconds: float) -> None:
        """Count one call."""
        with self._lock:
            self.calls += 1
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens
            self.seconds += seconds

    def snapshot(self) -> dict[str, int | float]:
        """The totals so far, as a JSON-ready dict."""
        with self._lock:
            return self._totals()

    def reset(self) -> dict[str, int | float]:
        """The totals so far; the meter then starts again from zero."""
        with self._lock:
            totals = self._totals()
            self.calls = self.prompt_tokens = self.completion_tokens = 0
            self.seconds = 0.0
            return totals

    def _totals(self) -> dict[str, int | float]:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 3),
        }
