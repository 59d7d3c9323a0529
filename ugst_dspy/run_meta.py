"""What a conversation record says about how it was made: its ``meta``, typed (SPEC section 3).

The runner writes it (:func:`ugst_dspy.runner.meta.run_meta` and the conversation's own counts), ``ugst track``
adds ``tracking``, environments add their task outcome, and every reader (evaluation, the report, training)
reads these fields. Keys other tools add are kept as they are (``model_extra``), and a record written back
says exactly what it said when read: only the fields a record holds are written (a field never set is left
out, a field set to ``null`` stays ``null``).
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_serializer,
)

from ugst_dspy.errors import FieldError
from ugst_dspy.rules import DEFAULT_RULES, RULE_SETS, RuleSet


class MetaPart(BaseModel):
    """A part of ``meta``: extra keys kept, and only the fields the record holds written back."""

    model_config = ConfigDict(extra="allow")

    @model_serializer(mode="wrap")
    def _as_recorded(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        held = self.model_fields_set | set(self.model_extra or ())
        return {key: value for key, value in data.items() if key in held}

    def to_json(self) -> dict[str, Any]:
        """The part as JSON, as a record holds it."""
        return self.model_dump(mode="json")


class RoleUsage(MetaPart):
    """The LM calls of one role in one conversation (``meta.usage.ROLE``)."""

    calls: StrictInt = 0
    prompt_tokens: StrictInt | None = Field(default=None, description="None when a backend reports no token counts.")
    completion_tokens: StrictInt | None = None
    seconds: StrictFloat = 0.0


class Failure(MetaPart):
    """Why a conversation failed (``meta.failure``): the exception, the role and turn it came from."""

    type: str
    message: str
    role: str | None = None
    turn: StrictInt | None = None


class Steering(MetaPart):
    """How a state-steered simulator got its state (``meta.steering``)."""

    mode: str | None = Field(default=None, description="Tracker mode of the steering state.")
    separate_tracker: StrictBool | None = Field(default=None, description="A tracker of its own, not the recorded one.")
    illegal_updates: StrictInt | None = Field(default=None, description="Judge outputs the rules refused while steering.")


class RunSettings(MetaPart):
    """The settings of a run that made or tracked a record (what :func:`ugst_dspy.runner.meta.run_meta` writes
    besides the models): seed, rule set, configuration and versions."""

    seed: StrictInt | None = Field(default=None, description="Base seed of every call.")
    rules: dict[str, Any] | str | None = Field(default=None, description=(
        "The rule set the states follow (RuleSet.to_json, or its name); none: the default."))
    config: dict[str, Any] | None = Field(default=None, description="The run configuration (UGSTConfig.to_json).")
    ugst_version: str | None = None
    python: str | None = None


class Tracking(RunSettings):
    """How ``ugst track`` tracked the record (``meta.tracking``): mode, counts and the run settings it used."""

    mode: str | None = None
    illegal_updates: StrictInt | None = None
    seconds: StrictFloat | None = None


class RunMeta(RunSettings):
    """A conversation record's ``meta``: models per role, config, rules, seeds, usage, tracking, the task
    outcome, failure details and the package version."""

    models: dict[str, str | None] | None = Field(default=None, description="The model spec of each role used.")
    env: str | None = Field(default=None, description="The environment the agent acted in.")
    simulator: str | None = Field(default=None, description="The simulator's name.")
    simulator_options: dict[str, Any] | None = None
    program: str | None = Field(default=None, description="The saved program the simulator was loaded from.")
    agent: str | None = Field(default=None, description="The agent's name.")
    tracked: StrictBool | None = Field(default=None, description="Whether states were tracked during the run.")
    illegal_updates: StrictInt | None = Field(default=None, description="Judge outputs the rules refused, all turns.")
    seconds: StrictFloat | None = Field(default=None, description="Wall time of the conversation.")
    usage: dict[str, RoleUsage] | None = Field(default=None, description="LM usage per role.")
    steering: Steering | None = None
    tracking: Tracking | None = None
    error: str | None = Field(default=None, description="A failed conversation's error, on one line.")
    failure: Failure | None = None
    behaviours: dict[str, Any] | None = Field(default=None, description=(
        "The non-collaborative behaviour plan (BehaviourPlan.to_json)."))
    behaviour: str | None = Field(default=None, description="The behaviour label, e.g. impatience+digression.")
    tau_bench: dict[str, Any] | None = Field(default=None, description="The τ-bench task outcome (reward and why).")
    multiwoz_booking: dict[str, Any] | None = Field(default=None, description="The MultiWOZ booking outcome.")
    source: str | None = Field(default=None, description="Where an imported record came from.")
    agent_preamble: list[str] | None = Field(default=None, description=(
        "An imported trajectory's agent messages before the user's first one."))
    agent_system_chars: StrictInt | None = Field(default=None, description="Length of an imported agent system prompt.")
    file: str | None = Field(default=None, description=(
        "The conversation file a record was read from, when several are evaluated together (--group-by file)."))

    @property
    def rule_set(self) -> RuleSet:
        """The rule set the record's states follow (``rules``: its JSON or name; none: the default); a record
        naming an unknown one, or holding one that is not a rule set, is a :class:`~ugst_dspy.errors.FieldError`."""
        if self.rules is None:
            return DEFAULT_RULES
        if isinstance(self.rules, str):
            if self.rules not in RULE_SETS:
                raise FieldError("meta.rules", f"unknown rule set {self.rules!r} (known: {', '.join(sorted(RULE_SETS))})")
            return RULE_SETS[self.rules]
        for known in RULE_SETS.values():
            if self.rules == _known_json(known.name):
                return known
        try:
            return RuleSet.from_json(self.rules)
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            raise FieldError("meta.rules", f"not a rule set ({type(err).__name__}: {err})") from None

    @property
    def max_turns(self) -> int | None:
        """The turn limit of the run (``config.max_turns``), else ``None``."""
        limit = (self.config or {}).get("max_turns")
        return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1 else None

    def failure_details(self) -> dict[str, Any]:
        """What a failed conversation's record says of its failure: ``failure`` (type, message, role, turn), else
        an ``Error`` with the recorded ``error`` line."""
        if self.failure is not None:
            return self.failure.to_json()
        return {"type": "Error", "message": self.error or "the conversation ended with an error"}

    def value(self, path: str) -> Any:
        """A value by dotted path (``models.simulator``, ``tracking.mode``), extra keys included; ``None`` when
        missing."""
        node: Any = self.to_json()
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def with_values(self, **values: Any) -> RunMeta:
        """A copy with some fields replaced (validated, as when read)."""
        return RunMeta.model_validate({**self.to_json(), **values})


@functools.cache
def _known_json(name: str) -> dict[str, Any]:
    return RULE_SETS[name].to_json()
