"""The rule set of goal-state tracking: initial statuses, allowed transitions, absorbing and successful states.

A rule set is data, so a run can record the one it used (``RuleSet.to_json``). Updates are applied with
:func:`apply_updates`, which never breaks a rule: an update that would is returned as an
:class:`IllegalUpdate` and the state keeps its old status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ugst_dspy.errors import FieldError, UgstError
from ugst_dspy.state import (
    CATEGORIES,
    Address,
    Category,
    GoalState,
    Located,
    Status,
    SubComponent,
    TaskObjective,
)

A, M = Status.ALIGNED, Status.MISALIGNED
I, T, C = Status.INCOMPLETE, Status.ATTEMPTED, Status.COMPLETE


@dataclass(frozen=True)
class RuleSet:
    """Which statuses each category uses, where it starts, where it may go next and what counts as success.

    ``transitions[category][status]`` is the set of statuses allowed after ``status`` (it includes
    ``status`` itself, since staying is always allowed). A status whose only successor is itself is
    absorbing and is never judged again.
    """

    name: str
    initial: Mapping[Category, Status]
    transitions: Mapping[Category, Mapping[Status, frozenset[Status]]]
    success: Mapping[Category, frozenset[Status]]

    def __post_init__(self) -> None:
        for category in CATEGORIES:
            moves = self.transitions[category]
            if self.initial[category] not in moves:
                raise ValueError(f"rule set {self.name!r}: initial status of {category.value} has no transitions")
            for status, successors in moves.items():
                if status not in successors:
                    raise ValueError(f"rule set {self.name!r}: {category.value} {status.value} may not stay")
                if not successors <= set(moves):
                    raise ValueError(f"rule set {self.name!r}: {category.value} leads to an unknown status")
            if not self.success[category] <= set(moves):
                raise ValueError(f"rule set {self.name!r}: {category.value} success uses an unknown status")

    def statuses(self, category: Category) -> tuple[Status, ...]:
        """The statuses a category uses, in the order the rule set lists them."""
        return tuple(self.transitions[category])

    def allowed_next(self, category: Category, current: Status) -> tuple[Status, ...]:
        """The statuses a judge may give a sub-component that now has ``current`` (in declaration order)."""
        successors = self.transitions[category].get(current, frozenset())
        return tuple(s for s in self.statuses(category) if s in successors)

    def can_transition(self, category: Category, current: Status, new: Status) -> bool:
        return new in self.transitions[category].get(current, frozenset())

    def is_absorbing(self, category: Category, status: Status) -> bool:
        return self.transitions[category].get(status) == frozenset({status})

    def is_success(self, category: Category, status: Status) -> bool:
        return status in self.success[category]

    def is_open(self, located: Located) -> bool:
        """Whether a sub-component still needs judging (it is not in an absorbing status)."""
        return not self.is_absorbing(located.category, located.status)

    def is_forward(self, category: Category, old: Status, new: Status) -> bool:
        """Whether ``old -> new`` is a legal change of status (not a stay)."""
        return old != new and self.can_transition(category, old, new)

    def initial_state(self, state: GoalState) -> GoalState:
        """The same sub-components with every status reset to its initial value and no reasons."""
        for located in list(state.items()):
            fresh = SubComponent(text=located.text, status=self.initial[located.category], reason=None)
            state = state.with_item(located.address, fresh)
        return state

    def new_state(
        self,
        user_profile: Iterable[str] = (),
        user_policy: Iterable[str] = (),
        task_objectives: Iterable[Mapping[str, Any] | str] = (),
    ) -> GoalState:
        """A goal state with every sub-component at its initial status.

        A task objective is its text or a mapping ``{"text", "requirements": [...], "preferences": [...]}``.
        """

        def make(text: str, category: Category) -> SubComponent:
            return SubComponent(text=text, status=self.initial[category])

        objectives = []
        for objective in task_objectives:
            spec = {"text": objective} if isinstance(objective, str) else objective
            objectives.append(
                TaskObjective(
                    text=spec["text"],
                    status=self.initial[Category.TASK_OBJECTIVE],
                    requirements=tuple(make(t, Category.REQUIREMENT) for t in spec.get("requirements", ())),
                    preferences=tuple(make(t, Category.PREFERENCE) for t in spec.get("preferences", ())),
                )
            )
        return GoalState(
            user_profile=tuple(make(t, Category.USER_PROFILE) for t in user_profile),
            user_policy=tuple(make(t, Category.USER_POLICY) for t in user_policy),
            task_objectives=tuple(objectives),
        )

    def check_state(self, state: GoalState) -> list[str]:
        """Problems with a state under this rule set (statuses a category does not use); empty when fine."""
        return [
            f"{located.address}: {located.status.value} is not a {located.category.value} status"
            for located in state.items()
            if located.status not in self.transitions[located.category]
        ]

    def refuse_statuses(self, state: GoalState, where: str) -> None:
        """Raise :class:`~ugst_dspy.errors.FieldError` naming the first status of ``state`` (found at field
        ``where`` of a record) that its category does not use under this rule set."""
        for located in state.items():
            allowed = self.transitions[located.category]
            if located.status not in allowed:
                raise FieldError(f"{where}.{located.address}.status" if where else f"{located.address}.status", (
                    f"{located.status.value!r} is not a {located.category.value} status under rule set "
                    f"{self.name!r} (one of {', '.join(s.value for s in allowed)})"))

    def to_json(self) -> dict[str, Any]:
        """A plain description of the rule set, recorded in every run's meta."""
        return {
            "name": self.name,
            "initial": {c.value: self.initial[c].value for c in CATEGORIES},
            "transitions": {
                c.value: {s.value: sorted(n.value for n in nxt) for s, nxt in self.transitions[c].items()}
                for c in CATEGORIES
            },
            "success": {c.value: sorted(s.value for s in self.success[c]) for c in CATEGORIES},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleSet:
        return cls(
            name=str(data["name"]),
            initial={Category(c): Status(s) for c, s in data["initial"].items()},
            transitions={
                Category(c): {Status(s): frozenset(Status(n) for n in nxt) for s, nxt in moves.items()}
                for c, moves in data["transitions"].items()
            },
            success={Category(c): frozenset(Status(s) for s in ok) for c, ok in data["success"].items()},
        )


_ALIGNMENT = {A: frozenset({A, M}), M: frozenset({M})}
_PREFERENCE = {A: frozenset({A}), M: frozenset({M, A})}
_PROGRESS = {I: frozenset({I, T, C}), T: frozenset({T, C}), C: frozenset({C})}

DEFAULT_RULES = RuleSet(
    name="default",
    initial={
        Category.USER_PROFILE: A,
        Category.USER_POLICY: A,
        Category.TASK_OBJECTIVE: I,
        Category.REQUIREMENT: I,
        Category.PREFERENCE: M,
    },
    transitions={
        Category.USER_PROFILE: _ALIGNMENT,
        Category.USER_POLICY: _ALIGNMENT,
        Category.TASK_OBJECTIVE: _PROGRESS,
        Category.REQUIREMENT: _PROGRESS,
        Category.PREFERENCE: _PREFERENCE,
    },
    success={
        Category.USER_PROFILE: frozenset({A}),
        Category.USER_POLICY: frozenset({A}),
        Category.TASK_OBJECTIVE: frozenset({T, C}),
        Category.REQUIREMENT: frozenset({T, C}),
        Category.PREFERENCE: frozenset({A}),
    },
)
"""The SPEC's rule set."""

RULE_SETS: dict[str, RuleSet] = {DEFAULT_RULES.name: DEFAULT_RULES}


def get_rules(name_or_rules: str | RuleSet | None = None) -> RuleSet:
    """A rule set by name (``None`` gives the default)."""
    if isinstance(name_or_rules, RuleSet):
        return name_or_rules
    name = name_or_rules or DEFAULT_RULES.name
    try:
        return RULE_SETS[name]
    except KeyError:
        raise UgstError(f"unknown rule set {name!r} (known: {', '.join(sorted(RULE_SETS))})") from None


@dataclass(frozen=True)
class StatusUpdate:
    """A judge's verdict on one sub-component: the status it should have now and why."""

    address: str
    status: str
    reason: str | None = None


@dataclass(frozen=True)
class IllegalUpdate:
    """An update that was not applied, and why."""

    update: StatusUpdate
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"address": self.update.address, "status": self.update.status, "why": self.why}


@dataclass(frozen=True)
class UpdateResult:
    """The state after a batch of updates, with what was applied and what was refused."""

    state: GoalState
    applied: tuple[StatusUpdate, ...] = ()
    illegal: tuple[IllegalUpdate, ...] = field(default_factory=tuple)


def apply_updates(
    state: GoalState, updates: Iterable[StatusUpdate], rules: RuleSet | None = None
) -> UpdateResult:
    """Apply judge verdicts to a state under a rule set.

    Each update is checked against the state as it stands when the update comes (so a batch may carry
    INCOMPLETE -> ATTEMPTED -> COMPLETE for one sub-component). A verdict on an absorbed sub-component is
    illegal unless it repeats the absorbing status, in which case it changes nothing.
    """
    rules = rules or DEFAULT_RULES
    applied: list[StatusUpdate] = []
    illegal: list[IllegalUpdate] = []
    for update in updates:
        why, new_state = _apply_one(state, update, rules)
        if why is None:
            applied.append(update)
            state = new_state
        else:
            illegal.append(IllegalUpdate(update, why))
    return UpdateResult(state=state, applied=tuple(applied), illegal=tuple(illegal))


def _apply_one(state: GoalState, update: StatusUpdate, rules: RuleSet) -> tuple[str | None, GoalState]:
    try:
        where = Address.parse(update.address)
        current = state.get(where)
    except (ValueError, KeyError):
        return f"no sub-component at {update.address!r}", state
    try:
        new = Status(str(update.status).strip().upper())
    except ValueError:
        return f"{update.status!r} is not a status", state
    category = where.category
    if new not in rules.transitions[category]:
        return f"{new.value} is not a {category.value} status", state
    if rules.is_absorbing(category, current.status):
        if new == current.status:
            return None, state
        return f"{current.status.value} is absorbing for a {category.value}", state
    if not rules.can_transition(category, current.status, new):
        return f"{category.value} may not go from {current.status.value} to {new.value}", state
    changed = SubComponent(text=current.text, status=new, reason=update.reason)
    return None, state.with_item(where, changed)
