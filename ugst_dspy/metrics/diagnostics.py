"""Failure diagnostics read off the goal states (and the stop message's text), with no LLM (paper Table 1).

- ``premature_termination``: the user stopped while a task objective was still INCOMPLETE (never attempted:
  under the rules an objective that was attempted can never be INCOMPLETE again).
- ``stop_with_request``: the user stopped in the same message as a request, before the agent answered it.
  The stop message is the last turn's user message when that turn has no agent reply (no text, no tool
  call) and the message is not blank; it carries a request when it asks a question (it contains ``?``) or
  when, in the tracked states, it moved a task objective or a requirement forward (a status that differs
  between ``S_{n-1}`` and ``S_n``: the agent said nothing in that turn, so the progress the judge credits
  is the user's own new request or requirement).
- ``partial_completion``: the user stopped after achieving only part of the goal: at least one task
  objective successful (ATTEMPTED or COMPLETE) and at least one still INCOMPLETE in the final state (a
  subset of ``premature_termination``: the user stopped with something done and something never tried).
- ``no_termination``: the conversation ran to the turn limit although every task objective had been
  COMPLETE at least ``min_idle_turns`` turns before the end.
- ``length_exhaustion``: the conversation hit the turn limit with task objectives still INCOMPLETE.
- ``misprioritisation`` (checked only when ``stuck_turns`` is given): the user got stuck on an unachievable
  objective while others stayed INCOMPLETE. With ``n`` turns, states ``S_0..S_n`` and ``m = stuck_turns``:
  ``n >= m``, the final state has a task objective INCOMPLETE, and some task objective ``o`` is ATTEMPTED in
  every state ``S_{n-m}..S_n`` while every *other* task objective, with its requirements and preferences,
  has the same statuses in all of ``S_{n-m}..S_n`` (no other objective moved in the last ``m`` turns). A
  window state that is missing (untracked) means no verdict.

The classes may overlap (a misprioritised conversation that ended at the turn limit is also a length
exhaustion); see docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ugst_dspy.conversation import Conversation
from ugst_dspy.state import Category, GoalState, Status

PREMATURE_TERMINATION = "premature_termination"
STOP_WITH_REQUEST = "stop_with_request"
PARTIAL_COMPLETION = "partial_completion"
NO_TERMINATION = "no_termination"
LENGTH_EXHAUSTION = "length_exhaustion"
MISPRIORITISATION = "misprioritisation"
DETERMINISTIC_CLASSES = (
    PREMATURE_TERMINATION, STOP_WITH_REQUEST, PARTIAL_COMPLETION, NO_TERMINATION, LENGTH_EXHAUSTION,
)
STATE_CLASSES = (*DETERMINISTIC_CLASSES, MISPRIORITISATION)
DEFAULT_STUCK_TURNS = 3


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


def _objective_footprint(state: GoalState, index: int) -> tuple[Status, ...] | None:
    """The statuses of task objective ``index``, its requirements and its preferences (``None``: absent)."""
    if index >= len(state.task_objectives):
        return None
    objective = state.task_objectives[index]
    return (objective.status, *(r.status for r in objective.requirements), *(p.status for p in objective.preferences))


def stuck_objective(conversation: Conversation, stuck_turns: int = DEFAULT_STUCK_TURNS) -> int | None:
    """The index of the task objective the user got stuck on (see ``misprioritisation``), else ``None``."""
    if stuck_turns < 1:
        raise ValueError(f"stuck_turns must be at least 1, got {stuck_turns}")
    n = len(conversation.turns)
    if n < stuck_turns:
        return None
    window = conversation.states[n - stuck_turns :]
    if any(state is None for state in window):
        return None
    states: list[GoalState] = [state for state in window if state is not None]
    final = states[-1]
    if not any(s is Status.INCOMPLETE for s in _objective_statuses(final)):
        return None
    count = len(final.task_objectives)
    for candidate in range(count):
        if not all(
            candidate < len(s.task_objectives) and s.task_objectives[candidate].status is Status.ATTEMPTED
            for s in states
        ):
            continue
        others_still = all(
            len({_objective_footprint(s, other) for s in states}) == 1 for other in range(count) if other != candidate
        )
        if others_still:
            return candidate
    return None


def _task_footprint(state: GoalState) -> tuple[Status, ...]:
    """The statuses of every task objective and requirement, in address order."""
    tasks = (Category.TASK_OBJECTIVE, Category.REQUIREMENT)
    return tuple(located.status for located in state.items() if located.category in tasks)


def stop_message(conversation: Conversation) -> str | None:
    """The user's stop message that the agent never answered (see ``stop_with_request``), else ``None``."""
    if conversation.ended_by != "user_stop" or not conversation.turns:
        return None
    last = conversation.turns[-1]
    if last.agent.strip() or last.tool_calls or not last.user.strip():
        return None
    return last.user


def stopped_with_request(conversation: Conversation) -> bool:
    """The user stopped in a message that asks something or moved a task forward, before any answer."""
    said = stop_message(conversation)
    if said is None:
        return False
    if "?" in said:
        return True
    before, after = conversation.states[-2], conversation.states[-1]
    if before is None or after is None:
        return False
    return _task_footprint(before) != _task_footprint(after)


def diagnose(conversation: Conversation, min_idle_turns: int = 1, stuck_turns: int | None = None) -> list[str]:
    """The state-based failure classes that apply to one tracked conversation (empty when none).

    ``misprioritisation`` is only checked when ``stuck_turns`` (its window ``m``) is given.
    """
    state = conversation.final_state
    if state is None:
        return []
    open_objectives = any(s is Status.INCOMPLETE for s in _objective_statuses(state))
    found = []
    if conversation.ended_by == "user_stop" and open_objectives:
        found.append(PREMATURE_TERMINATION)
    if stopped_with_request(conversation):
        found.append(STOP_WITH_REQUEST)
    if conversation.ended_by == "user_stop" and open_objectives:
        if any(s is not Status.INCOMPLETE for s in _objective_statuses(state)):
            found.append(PARTIAL_COMPLETION)
    if conversation.ended_by == "max_turns":
        done_at = first_all_complete_turn(conversation)
        if done_at is not None and len(conversation.turns) - done_at >= min_idle_turns:
            found.append(NO_TERMINATION)
        if open_objectives:
            found.append(LENGTH_EXHAUSTION)
    if stuck_turns is not None and stuck_objective(conversation, stuck_turns) is not None:
        found.append(MISPRIORITISATION)
    return found


@dataclass
class DiagnosticSummary:
    """How many conversations fall in each class, and which ones."""

    total: int = 0
    by_class: dict[str, list[str]] = field(default_factory=lambda: {c: [] for c in DETERMINISTIC_CLASSES})

    def counts(self) -> dict[str, int]:
        return {name: len(keys) for name, keys in self.by_class.items()}


def diagnose_all(
    conversations: Iterable[Conversation], min_idle_turns: int = 1, stuck_turns: int | None = None
) -> DiagnosticSummary:
    """Diagnose every conversation; with ``stuck_turns``, ``misprioritisation`` is a class of the summary too."""
    summary = DiagnosticSummary()
    if stuck_turns is not None:
        summary.by_class.setdefault(MISPRIORITISATION, [])
    for conversation in conversations:
        summary.total += 1
        for name in diagnose(conversation, min_idle_turns, stuck_turns):
            summary.by_class.setdefault(name, []).append(conversation.key)
    return summary
