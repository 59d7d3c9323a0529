"""Conversation records: turns of user and agent text, the agent's tool calls and the goal state after each turn.

These are the interface between simulation and everything after it (SPEC section 3): the runner writes them,
evaluation, the report and training read them. Every field the package writes is declared here (a turn's
``reasoning``, ``illegal_updates`` and ``behaviours`` beside the SPEC's), and the facts derived from a record
have one helper each (:attr:`Conversation.stop_turn`, :meth:`Conversation.turn_limit`,
:attr:`Conversation.outcome`). Fields other tools add are kept, so reading and writing a record never loses
anything. Records carry their format version (:data:`FORMAT`); a file of a newer format is refused in one line.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ugst_dspy.state import GoalState

EndedBy = Literal["user_stop", "max_turns", "agent_stop", "error"]
ENDED_BY: tuple[str, ...] = get_args(EndedBy)
REASONING_FIELDS: tuple[str, ...] = ("progress", "remaining", "alignment")
"""The three parts of a reasoning simulator's thinking before its reply (``Turn.reasoning``)."""
OUTCOME_KEYS: tuple[str, ...] = ("tau_bench", "multiwoz_booking")
"""The ``meta`` keys under which environments record their task outcome (``ToolEnvironment.outcome_key``)."""
FORMAT = 2
"""The record format this package writes. 1: records without a ``format`` key (read as before); 2: the turn
fields ``reasoning``, ``illegal_updates`` and ``behaviours`` declared, ``format`` written."""
DEFAULT_TURN_LIMIT = 10
_OPTIONAL_TURN_FIELDS = ("reasoning", "illegal_updates", "behaviours")


class ToolCall(BaseModel):
    """One tool call of the agent, with its arguments and what the tool returned."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
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
    reasoning: dict[str, str | None] | None = Field(default=None, description=(
        "A reasoning simulator's thinking before this message: progress, remaining, alignment."))
    illegal_updates: list[dict[str, Any]] | None = Field(default=None, description=(
        "Judge outputs the rules refused when this turn was tracked (each an update with why)."))
    behaviours: list[str] | None = Field(default=None, description=(
        "The non-collaborative behaviours that acted on this user message (records made with behaviours)."))

    @field_validator("reasoning", mode="before")
    @classmethod
    def _reasoning_text(cls, value: Any) -> Any:
        # a part may be null (a model that gave none): the text of a missing part is empty
        if isinstance(value, dict):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value

    @property
    def has_reasoning(self) -> bool:
        """Whether the turn carries a reasoning simulator's thinking (some part not blank)."""
        return bool(self.reasoning) and any(str(v).strip() for v in self.reasoning.values())


class Conversation(BaseModel):
    """One simulated or imported conversation."""

    model_config = ConfigDict(extra="allow")

    format: int = Field(default=FORMAT, description="The record format version (see FORMAT).")
    id: str | None = Field(default=None, min_length=1, description="Unique within a file; defaults to the goal id.")
    goal_id: str = Field(min_length=1)
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

    def turn_limit(self, default: int = DEFAULT_TURN_LIMIT) -> int:
        """The turn limit the conversation ran under (``meta.config.max_turns``, else ``default``), never below
        its own number of turns."""
        config = self.meta.get("config")
        limit = config.get("max_turns") if isinstance(config, dict) else None
        limit = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1 else default
        return max(limit, len(self.turns))

    @property
    def outcome(self) -> dict[str, Any] | None:
        """The environment's task outcome (``meta.tau_bench``, ``meta.multiwoz_booking``), else ``None``."""
        for key in OUTCOME_KEYS:
            value = self.meta.get(key)
            if isinstance(value, dict):
                return value
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
        data["format"] = FORMAT  # what this package writes, whatever format the record was read in
        if data.get("id") is None:
            data.pop("id", None)
        for turn in data["turns"]:
            for key in _OPTIONAL_TURN_FIELDS:
                if turn.get(key) is None:
                    turn.pop(key, None)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conversation:
        """A record as read from a file: format 1 (no ``format`` key) or :data:`FORMAT`; a newer one is refused
        with a one-line error (this package cannot know what it means)."""
        problem = newer_format(data)
        if problem is not None:
            from ugst_dspy.errors import UgstError

            raise UgstError(f"field 'format': {problem}")
        if isinstance(data, dict) and "format" not in data:
            data = {**data, "format": 1}
        return cls.model_validate(data)


def newer_format(record: Any) -> str | None:
    """Why a record cannot be read when its ``format`` is newer than :data:`FORMAT`, else ``None``."""
    version = record.get("format", 1) if isinstance(record, dict) else 1
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT:
        return (f"the record is format {version}, newer than this ugst-dspy reads (formats 1 to {FORMAT}); "
                "upgrade ugst-dspy to read it")
    return None


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
