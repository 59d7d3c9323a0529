"""Conversation records: turns of user and agent text, the agent's tool calls and the goal state after each turn.

These are the interface between simulation and everything after it (SPEC section 3). Fields a record
carries beyond the SPEC's are kept, so reading and writing a record never loses anything.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ugst_dspy.state import GoalState

EndedBy = Literal["user_stop", "max_turns", "agent_stop", "error"]


class ToolCall(BaseModel):
    """One tool call of the agent, with its arguments and what the tool returned."""

    model_config = ConfigDict(extra="allow")

    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    result: Any = None
    id: str | None = None


class Turn(BaseModel):
    """A user message, the agent's answer (with its tool calls) and the goal state after them."""

    model_config = ConfigDict(extra="allow")

    user: str
    agent: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    state: GoalState | None = None


class Conversation(BaseModel):
    """One simulated or imported conversation."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, description="Unique within a file; defaults to the goal id.")
    goal_id: str
    instruction: str
    initial_state: GoalState | None = None
    turns: list[Turn] = Field(default_factory=list)
    ended_by: EndedBy
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """The id a resumable run uses to tell whether this conversation is done."""
        return self.id or self.goal_id

    @property
    def final_state(self) -> GoalState | None:
        """S_n: the state of the last turn, or the initial state when there are no turns."""
        return self.turns[-1].state if self.turns else self.initial_state

    @property
    def stop_turn(self) -> int | None:
        """The index of the turn that holds the user's stop message, else ``None``.

        That is the last turn of a conversation the user ended, when its user message carries a stop marker
        (``Terminate.``, ``###STOP###``: an imported or hand-written record, answered or not) or the agent did
        not answer it (no text, no tool call). The runner records the stop message as a turn of its own
        (``Terminate.`` when the user said nothing else), so every turn before it has the agent's answer. A
        record written before that, whose user stopped with an empty message, ends with an answered turn
        without a marker: it has none.
        """
        from ugst_dspy.stop import split_stop

        if self.ended_by != "user_stop" or not self.turns:
            return None
        last = self.turns[-1]
        if split_stop(last.user)[1] or not (last.agent.strip() or last.tool_calls):
            return len(self.turns) - 1
        return None

    @property
    def states(self) -> list[GoalState | None]:
        """S_0 .. S_n (entries are ``None`` where not tracked yet)."""
        return [self.initial_state, *(turn.state for turn in self.turns)]

    @property
    def tracked(self) -> bool:
        return self.initial_state is not None and all(turn.state is not None for turn in self.turns)

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_none=False)
        if data.get("id") is None:
            data.pop("id", None)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conversation:
        return cls.model_validate(data)


def meta_value(conversation: Conversation, path: str) -> Any:
    """A value from ``meta`` by dotted path (``models.simulator``); a leading ``meta.`` is optional.

    Top-level record fields (``ended_by``, ``goal_id``) are reachable by their name too. Missing -> ``None``.
    """
    parts = path.split(".")
    if parts[0] == "meta":
        parts = parts[1:]
        node: Any = conversation.meta
    elif parts[0] in ("ended_by", "goal_id", "id") and len(parts) == 1:
        return getattr(conversation, parts[0])
    else:
        node = conversation.meta
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
