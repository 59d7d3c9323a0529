"""Small hand-made conversations for the quality tests."""

from __future__ import annotations

from ugst_dspy import Conversation, StatusUpdate, Turn, apply_updates


def chat(key: str, users: list[str], goal: str = "Exchange the keyboard.", **meta: object) -> Conversation:
    """A conversation whose user says ``users`` (the agent answers "ok"), untracked, with ``meta``."""
    return Conversation(
        id=key, goal_id=key, instruction=goal, turns=[Turn(user=u, agent="ok") for u in users],
        ended_by="user_stop", meta=dict(meta),
    )


def tracked(state, turn_updates, ended_by, key="c") -> Conversation:
    """A tracked conversation: turn i applies the ``(address, status)`` updates of ``turn_updates[i]``."""
    turns, current = [], state
    for updates in turn_updates:
        current = apply_updates(current, [StatusUpdate(a, s) for a, s in updates]).state
        turns.append(Turn(user="u", agent="a", state=current))
    return Conversation(id=key, goal_id=key, instruction="x", initial_state=state, turns=turns, ended_by=ended_by)
