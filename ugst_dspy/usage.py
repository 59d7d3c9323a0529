"""LM usage per role: calls, prompt and completion tokens, and wall time, summed per conversation.

Usage is attributed by the block of code that runs a role (``with recorder.role("tracker"): ...``), not by
model name, so two roles served by the same model are still told apart. Inside a block, DSPy's usage
tracker collects the tokens and a callback counts the LM calls and their time; both are scoped to the
current thread, so concurrent conversations do not mix. A count that a model did not report is ``None``
(unknown), never 0.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dspy
from dspy.utils.callback import BaseCallback


@dataclass
class RoleUsage:
    """What one role consumed; ``None`` where a model did not report the number."""

    calls: int = 0
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    seconds: float = 0.0

    def add(self, other: RoleUsage) -> None:
        self.calls += other.calls
        self.prompt_tokens = _plus(self.prompt_tokens, other.prompt_tokens)
        self.completion_tokens = _plus(self.completion_tokens, other.completion_tokens)
        self.seconds += other.seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 4),
        }


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


class _CallCounter(BaseCallback):
    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0
        self._started: dict[str, float] = {}

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self._started[call_id] = time.perf_counter()

    def on_lm_end(self, call_id: str, outputs: Any, exception: Exception | None = None) -> None:
        started = self._started.pop(call_id, None)
        self.calls += 1
        if started is not None:
            self.seconds += time.perf_counter() - started


class UsageRecorder:
    """Sums LM usage per role. One recorder per conversation; ``to_json()`` goes into ``meta.usage``."""

    def __init__(self) -> None:
        self.roles: dict[str, RoleUsage] = {}
        self._lock = threading.Lock()

    @contextmanager
    def role(self, name: str) -> Iterator[None]:
        """Attribute every LM call made inside the block (in this thread) to role ``name``."""
        counter = _CallCounter()
        callbacks = [*(dspy.settings.callbacks or []), counter]
        with dspy.track_usage() as tracker, dspy.context(callbacks=callbacks):
            try:
                yield
            finally:
                self._record(name, counter, tracker.usage_data)

    def _record(self, name: str, counter: _CallCounter, usage_data: dict[str, list[dict[str, Any]]]) -> None:
        entries = [entry for per_model in usage_data.values() for entry in per_model]
        prompt: int | None = None
        completion: int | None = None
        if len(entries) >= counter.calls:
            prompt = _sum_key(entries, "prompt_tokens")
            completion = _sum_key(entries, "completion_tokens")
        used = RoleUsage(counter.calls, prompt, completion, counter.seconds)
        with self._lock:
            self.roles.setdefault(name, RoleUsage()).add(used)

    def to_json(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: usage.to_json() for name, usage in self.roles.items()}


def _sum_key(entries: list[dict[str, Any]], key: str) -> int | None:
    total = 0
    for entry in entries:
        value = entry.get(key)
        if not isinstance(value, int):
            return None
        total += value
    return total
