"""Failure diagnostics read off the goal states, with no LLM (the paper's Table 1).

- ``premature_termination``: the user stopped while a task objective was still INCOMPLETE (never attempted:
  under the rules an objective that was attempted can never be INCOMPLETE again).
- ``no_termination``: the conversation ran to the turn limit although every task objective had been
  COMPLETE at least ``min_idle_turns`` turns before the end.
- ``length_exhaustion``: the conversation hit the turn limit with task objectives still INCOMPLETE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ugst_dspy.conversation import Conversation
from ugst_dspy.state import Category, GoalState, Status

PREMATURE_TERMINATION = "premature_termination"
NO_TERMINATION = "no_termination"
LENGTH_EXHAUSTION = "length_exhaustion"
DETERMINISTIC_CLASSES = (PREMATURE_TERMINATION, NO_TERMINATION, LENGTH_EXHAUSTION)


def _objective_statuses(state: GoalState) -> list[Status]:
    return [located.status for located in state.of(Category.TASK_OBJECTIVE)]


def first_all_complete_turn(conversation: Conversation) -> int | None:
    """The first turn number (1-based) after which every task objective was COMPLETE, if any."""
    for number, turn in enumerate(conversation.turns, start=1):
        if turn.state is None:
            continue
        statuses = _objective_statuses(turn.state)
        if statuses and all(s is Status.COMPLETE for s in statuses):
            return number
    return None


def diagnose(conversation: Conversation, min_idle_turns: int = 1) -> list[str]:
    """The deterministic failure classes that apply to one tracked conversation (empty when none)."""
    state = conversation.final_state
    if state is None:
        return []
    open_objectives = any(s is Status.INCOMPLETE for s in _objective_statuses(state))
    found = []
    if conversation.ended_by == "user_stop" and open_objectives:
        found.append(PREMATURE_TERMINATION)
    if conversation.ended_by == "max_turns":
        done_at = first_all_complete_turn(conversation)
        if done_at is not None and len(conversation.turns) - done_at >= min_idle_turns:
            found.append(NO_TERMINATION)
        if open_objectives:
            found.append(LENGTH_EXHAUSTION)
    return found


@dataclass
class DiagnosticSummary:
    """How many conversations fall in each class, and which ones."""

    total: int = 0
    by_class: dict[str, list[str]] = field(default_factory=lambda: {c: [] for c in DETERMINISTIC_CLASSES})

    def counts(self) -> dict[str, int]:
        return {name: len(keys) for name, keys in self.by_class.items()}


def diagnose_all(conversations: Iterable[Conversation], min_idle_turns: int = 1) -> DiagnosticSummary:
    summary = DiagnosticSummary()
    for conversation in conversations:
        summary.total += 1
        for name in diagnose(conversation, min_idle_turns):
            summary.by_class.setdefault(name, []).append(conversation.key)
    return summary
