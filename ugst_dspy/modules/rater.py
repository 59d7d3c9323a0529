"""``ConversationRater``: an LM rates the simulated user's side of a conversation (the paper's Table 6).

One predictor per criterion, each called once per conversation with the goal and the whole transcript
(without tool calls): ``naturalness`` and ``coherence`` give a reason and a score in 1..5, and, when asked
for, ``failures`` classifies the LM-only failure classes ``confusion`` and ``contradiction``. A call that
fails or cannot be parsed leaves that criterion unrated (``None``) and records why; a conversation with no
turn is not rated at all. Aggregation per group is :func:`ugst_dspy.metrics.quality.quality_table`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Protocol

import dspy

from ugst_dspy.conversation import Conversation, Turn
from ugst_dspy.metrics.quality import CRITERIA, ConversationRating
from ugst_dspy.signatures.rater import CoherenceRating, FailureCheck, NaturalnessRating
from ugst_dspy.transcript import judge_transcript


def _why(err: Exception) -> str:
    return " ".join(f"{type(err).__name__}: {err}".split())[:300]


class ConversationRater(dspy.Module):
    """Rate one conversation: ``forward(goal=..., turns=...)`` returns a prediction whose ``rating`` is a
    :class:`~ugst_dspy.metrics.quality.ConversationRating` and ``calls`` the number of LM calls made.

    ``criteria`` picks among ``naturalness`` and ``coherence``; ``failures`` adds the confusion and
    contradiction classifier.
    """

    def __init__(self, criteria: Sequence[str] = CRITERIA, failures: bool = True, show_tools: bool = False) -> None:
        super().__init__()
        unknown = set(criteria) - set(CRITERIA)
        if unknown:
            from ugst_dspy.errors import UgstError

            raise UgstError(f"unknown rating criterion {sorted(unknown)[0]!r} (use {' or '.join(CRITERIA)})")
        self.criteria = tuple(c for c in CRITERIA if c in criteria)
        self.check_failures = failures
        self.show_tools = show_tools
        self.naturalness = dspy.Predict(NaturalnessRating)
        self.coherence = dspy.Predict(CoherenceRating)
        self.failures = dspy.Predict(FailureCheck)

    def forward(self, goal: str, turns: Sequence[Turn]) -> dspy.Prediction:
        if not turns:
            return dspy.Prediction(rating=ConversationRating(errors=("no turns to rate",)), calls=0)
        conversation = judge_transcript(turns, tools=self.show_tools)
        values: dict[str, Any] = {}
        reasons: dict[str, str] = {}
        errors: list[str] = []
        calls = 0
        for criterion in self.criteria:
            calls += 1
            try:
                answer = getattr(self, criterion)(goal=goal, conversation=conversation)
                values[criterion] = int(answer.score)
                reasons[criterion] = str(answer.reason)
            except Exception as err:  # an unusable rating leaves the criterion unrated
                errors.append(f"{criterion}: {_why(err)}")
        if self.check_failures:
            calls += 1
            try:
                answer = self.failures(goal=goal, conversation=conversation)
                values["confusion"] = bool(answer.confusion)
                values["contradiction"] = bool(answer.contradiction)
                reasons["failures"] = str(answer.reason)
            except Exception as err:
                errors.append(f"failures: {_why(err)}")
        return dspy.Prediction(rating=ConversationRating(**values, reasons=reasons, errors=tuple(errors)), calls=calls)

    def rate(self, conversation: Conversation) -> ConversationRating:
        """The rating of one conversation record (its ``instruction`` is the goal)."""
        return self(goal=conversation.instruction, turns=conversation.turns).rating


class Progress(Protocol):
    """The runner's progress protocol (see ``ugst_dspy.cli.progress.ProgressReporter``)."""

    def start(self, total: int, skipped: int) -> None: ...

    def advance(self, key: str, ok: bool, seconds: float, note: str = "") -> None: ...

    def finish(self) -> None: ...


def rate_all(
    conversations: Sequence[Conversation],
    rater: ConversationRater,
    lm: Any,
    adapter: Any = None,
    workers: int = 1,
    progress: Progress | None = None,
    usage: Any = None,
) -> list[ConversationRating]:
    """Rate every conversation with ``lm`` (in input order), ``workers`` at a time.

    ``usage`` is an optional :class:`ugst_dspy.usage.UsageRecorder`; the calls are counted as role ``rater``.
    """
    adapter = adapter if adapter is not None else dspy.JSONAdapter()

    def one(conversation: Conversation) -> tuple[ConversationRating, float]:
        started = time.perf_counter()
        with dspy.context(lm=lm, adapter=adapter):
            if usage is not None:
                with usage.role("rater"):
                    rating = rater.rate(conversation)
            else:
                rating = rater.rate(conversation)
        return rating, time.perf_counter() - started

    ratings: list[ConversationRating | None] = [None] * len(conversations)
    if progress is not None:
        progress.start(len(conversations), 0)

    def done(index: int, rating: ConversationRating, seconds: float) -> None:
        ratings[index] = rating
        if progress is not None:
            note = "; ".join(rating.errors)
            progress.advance(conversations[index].key, not rating.errors, seconds, note)

    try:
        if workers <= 1:
            for index, conversation in enumerate(conversations):
                done(index, *one(conversation))
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(one, c): i for i, c in enumerate(conversations)}
                for future in as_completed(futures):
                    done(futures[future], *future.result())
    finally:
        if progress is not None:
            progress.finish()
    return [r if r is not None else ConversationRating() for r in ratings]

