"""Conversation records: turns of user and agent text, the agent's tool calls and the goal state after each turn.

These are the interface between simulation and everything after it (SPEC section 3): the runner writes them,
evaluation, the report and training read them. Every field the package writes is declared here (a turn's
``reasoning``, ``illegal_updates`` and ``behaviours`` beside the SPEC's), and the facts derived from a record
have one helper each (:attr:`Conversation.stop_turn`, :meth:`Conversation.turn_limit`,
:attr:`Conversation.outcome`, :attr:`Conversation.failure`); ``meta`` is a :class:`~ugst_dspy.run_meta.RunMeta`.
Fields other tools add are kept, so reading and writing a record never loses anything. Records carry their
format version (:data:`FORMAT`); a file of a newer format is refused in one line. :meth:`Conversation.from_json`
validates a record once (the model, then each status against the record's own rule set).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationInfo, field_validator, model_validator

from ugst_dspy.errors import FieldError
from ugst_dspy.rules import RuleSet
from ugst_dspy.run_meta import RunMeta
from ugst_dspy.state import GoalState, read_model, require_keys

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


class Written(BaseModel):
    """A record or a part of one: extra keys kept; read from a file, the keys in ``WRITTEN`` must be there (the
    SPEC's: every written record has them), though a model built in code may leave them to their defaults."""

    model_config = ConfigDict(extra="allow")
    WRITTEN: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _written_keys(cls, data: Any, info: ValidationInfo) -> Any:
        return require_keys(data, info, cls.WRITTEN)


class ToolCall(Written):
    """One tool call of the agent, with its arguments and what the tool returned."""

    WRITTEN = ("name", "arguments")

    name: str = Field(min_length=1)
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    result: Any = None
    id: str | None = None


class Turn(Written):
    """A user message, the agent's answer (with its tool calls) and the goal state after them."""

    WRITTEN = ("user", "agent", "tool_calls", "state")

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
            return {k: "" if v is None else v for k, v in value.items()}
        return value

    @property
    def has_reasoning(self) -> bool:
        """Whether the turn carries a reasoning simulator's thinking (some part not blank)."""
        return bool(self.reasoning) and any(str(v).strip() for v in self.reasoning.values())


class Conversation(Written):
    """One simulated or imported conversation."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)  # ``conversation.meta = {...}`` is typed too
    WRITTEN = ("goal_id", "instruction", "initial_state", "turns", "ended_by", "meta")

    format: StrictInt = Field(default=FORMAT, ge=1, le=FORMAT, description="The record format version (see FORMAT).")
    id: str | None = Field(default=None, min_length=1, description="Unique within a file; defaults to the goal id.")
    goal_id: str = Field(min_length=1)
    instruction: str
    initial_state: GoalState | None = None
    turns: list[Turn] = Field(default_factory=list)
    ended_by: EndedBy
    meta: RunMeta = Field(default_factory=RunMeta, description="How the conversation was made (RunMeta).")

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
        return max(self.meta.max_turns or default, len(self.turns))

    @property
    def failure(self) -> dict[str, Any] | None:
        """The error of a record that stands for a failed conversation (``ended_by: error``), else ``None``."""
        return self.meta.failure_details() if self.ended_by == "error" else None

    @property
    def outcome(self) -> dict[str, Any] | None:
        """The environment's task outcome (``meta.tau_bench``, ``meta.multiwoz_booking``), else ``None``."""
        for key in OUTCOME_KEYS:
            value = getattr(self.meta, key, None)
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

    @property
    def rules(self) -> RuleSet:
        """The rule set the record's states follow (``meta.rules``; none: the default)."""
        return self.meta.rule_set

    def check_statuses(self) -> None:
        """Refuse (:class:`~ugst_dspy.errors.FieldError`) a status its category does not use under
        :attr:`rules`, naming the first such field."""
        rules = self.rules
        if self.initial_state is not None:
            rules.refuse_statuses(self.initial_state, "initial_state")
        for i, turn in enumerate(self.turns):
            if turn.state is not None:
                rules.refuse_statuses(turn.state, f"turns[{i}].state")

    @classmethod
    def from_json(cls, data: Any) -> Conversation:
        """A record as read from a file, validated once: format 1 (no ``format`` key) or :data:`FORMAT` (a newer
        one is refused: this package cannot know what it means), every key a written record has, each field's
        type and each status against the record's own rule set. A problem is a
        :class:`~ugst_dspy.errors.FieldError` naming the first offending field."""
        problem = newer_format(data)
        if problem is not None:
            raise FieldError("format", problem)
        if isinstance(data, dict) and "format" not in data:
            data = {**data, "format": 1}
        conversation = read_model(cls, data)
        conversation.check_statuses()
        return conversation


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
    if path in ("ended_by", "goal_id", "id"):
        return getattr(conversation, path)
    return conversation.meta.value(path.removeprefix("meta."))
