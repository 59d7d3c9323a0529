"""Fixtures of the fault tests: DSPy's retry backoff made fast, and recorded."""

from __future__ import annotations

import pytest


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """DSPy's retry loop sleeps ``_delay(exc, attempt)`` seconds between attempts (1, 2, 4... capped at 60);
    here it sleeps 10 ms instead. Returns the list of the delays DSPy would have slept, in order."""
    import dspy.clients.execution as execution

    real = execution._delay
    wanted: list[float] = []

    def delay(exc: Exception, attempt: int) -> float:
        wanted.append(real(exc, attempt))
        return 0.01

    monkeypatch.setattr(execution, "_delay", delay)
    return wanted

