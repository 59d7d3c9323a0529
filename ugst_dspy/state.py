"""The User Goal State: categories, statuses and the typed goal-state model (SPEC section 1).

A goal state is immutable. Every sub-component has an *address*, a short string such as
``user_profile[0]`` or ``task_objectives[1].requirements[0]``, which is how trackers, metrics and reports
refer to it. Status changes go through :mod:`ugst_dspy.rules`, never by mutating a state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from ugst_dspy.errors import MISSING_IN_FILE, validation_problem

FROM_FILE: dict[str, bool] = {"from_file": True}
"""The validation context of a record read from a file (see :func:`read_model`): the keys the SPEC requires of
a written record must be there, where a model built in code may leave them to their defaults."""

Model = TypeVar("Model", bound=BaseModel)


def require_keys(data: Any, info: ValidationInfo, names: tuple[str, ...]) -> Any:
    """``data``, when it is not read from a file or holds every key of ``names``; else a ``missing_in_file``
    error naming the first key it lacks (a model's ``mode="before"`` validator)."""
    if isinstance(data, dict) and info.context is not None and info.context.get("from_file"):
        for name in names:
            if name not in data:
                raise PydanticCustomError(MISSING_IN_FILE, "required field is missing", {"field": name})
    return data


def read_model(model: type[Model], data: Any) -> Model:
    """``data`` read from a file as ``model`` (context :data:`FROM_FILE`); a problem is a
    :class:`~ugst_dspy.errors.FieldError` naming the first offending field."""
    try:
        return model.model_validate(data, context=FROM_FILE)
    except ValueError as err:
        raise validation_problem(err, data) from None


class Category(str, Enum):
    """The five sub-component categories of a user goal."""

    USER_PROFILE = "user_profile"
    USER_POLICY = "user_policy"
    TASK_OBJECTIVE = "task_objective"
    REQUIREMENT = "requirement"
    PREFERENCE = "preference"

    @property
    def label(self) -> str:
        """The short column label used in the paper's tables."""
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.USER_PROFILE: "Prof.",
    Category.USER_POLICY: "Pol.",
    Category.TASK_OBJECTIVE: "T.O.",
    Category.REQUIREMENT: "Req.",
    Category.PREFERENCE: "Pref.",
}

CATEGORIES: tuple[Category, ...] = tuple(Category)


class Status(str, Enum):
    """Every status a sub-component can have; which ones a category uses is up to the rule set."""

    ALIGNED = "ALIGNED"
    MISALIGNED = "MISALIGNED"
    INCOMPLETE = "INCOMPLETE"
    ATTEMPTED = "ATTEMPTED"
    COMPLETE = "COMPLETE"


class SubComponent(BaseModel):
    """One sub-component of a goal: its text, its current status and the judge's reason for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1, description="The sub-component, in the goal's own words.")
    status: Status
    reason: str | None = Field(default=None, description="Why the judge gave the current status.")


class TaskObjective(SubComponent):
    """A task objective with the requirements and preferences that belong to it."""

    requirements: tuple[SubComponent, ...] = ()
    preferences: tuple[SubComponent, ...] = ()


_ADDRESS = re.compile(
    r"^(?:(?P<top>user_profile|user_policy)\[(?P<i>\d+)\]"
    r"|(?P<tasks>task_objectives)\[(?P<k>\d+)\](?:\.(?P<sub>requirements|preferences)\[(?P<j>\d+)\])?)$"
)


@dataclass(frozen=True, slots=True)
class Address:
    """Where a sub-component sits in a goal state."""

    top: str
    index: int
    sub: str | None = None
    sub_index: int | None = None

    @classmethod
    def parse(cls, text: str) -> Address:
        match = _ADDRESS.match(text.strip())
        if match is None:
            raise ValueError(f"not a sub-component address: {text!r}")
        j = match.group("j")
        if match.group("top"):
            return cls(match.group("top"), int(match.group("i")))
        return cls("task_objectives", int(match.group("k")), match.group("sub"), None if j is None else int(j))

    @property
    def category(self) -> Category:
        if self.sub == "requirements":
            return Category.REQUIREMENT
        if self.sub == "preferences":
            return Category.PREFERENCE
        return {
            "user_profile": Category.USER_PROFILE,
            "user_policy": Category.USER_POLICY,
            "task_objectives": Category.TASK_OBJECTIVE,
        }[self.top]

    def __str__(self) -> str:
        head = f"{self.top}[{self.index}]"
        return head if self.sub is None else f"{head}.{self.sub}[{self.sub_index}]"


@dataclass(frozen=True, slots=True)
class Located:
    """A sub-component together with its address and category, as yielded by :meth:`GoalState.items`."""

    address: Address
    item: SubComponent

    @property
    def category(self) -> Category:
        return self.address.category

    @property
    def status(self) -> Status:
        return self.item.status

    @property
    def text(self) -> str:
        return self.item.text


class GoalState(BaseModel):
    """The state of every sub-component of one user goal at one point of a conversation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    WRITTEN: ClassVar[tuple[str, ...]] = ("user_profile", "user_policy", "task_objectives")
    """The keys a state read from a file must have (see :data:`FROM_FILE`)."""

    user_profile: tuple[SubComponent, ...] = ()
    user_policy: tuple[SubComponent, ...] = ()
    task_objectives: tuple[TaskObjective, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _written_keys(cls, data: Any, info: ValidationInfo) -> Any:
        return require_keys(data, info, cls.WRITTEN)

    # -- reading ---------------------------------------------------------------------------------

    def items(self) -> Iterator[Located]:
        """Every sub-component in a fixed order: profile, policy, then each objective and its children."""
        for top in ("user_profile", "user_policy"):
            for i, item in enumerate(getattr(self, top)):
                yield Located(Address(top, i), item)
        for i, objective in enumerate(self.task_objectives):
            yield Located(Address("task_objectives", i), objective)
            for sub in ("requirements", "preferences"):
                for j, item in enumerate(getattr(objective, sub)):
                    yield Located(Address("task_objectives", i, sub, j), item)

    def of(self, category: Category) -> list[Located]:
        """The sub-components of one category."""
        return [located for located in self.items() if located.category is category]

    def get(self, address: Address | str) -> SubComponent:
        """The sub-component at an address; ``KeyError`` when there is none."""
        where = Address.parse(address) if isinstance(address, str) else address
        try:
            item: SubComponent = getattr(self, where.top)[where.index]
            if where.sub is not None:
                assert where.sub_index is not None
                item = getattr(item, where.sub)[where.sub_index]
        except IndexError:
            raise KeyError(str(where)) from None
        return item

    def __len__(self) -> int:
        return sum(1 for _ in self.items())

    # -- changing (returns a new state) ----------------------------------------------------------

    def with_item(self, address: Address | str, item: SubComponent) -> GoalState:
        """A copy of this state with the sub-component at ``address`` replaced (no rule is checked here)."""
        where = Address.parse(address) if isinstance(address, str) else address
        self.get(where)  # raises KeyError for a missing address
        if where.sub is None:
            group = list(getattr(self, where.top))
            if where.top == "task_objectives":
                old = group[where.index]
                item = TaskObjective(
                    text=item.text,
                    status=item.status,
                    reason=item.reason,
                    requirements=old.requirements,
                    preferences=old.preferences,
                )
            group[where.index] = item
            return self.model_copy(update={where.top: tuple(group)})
        objectives = list(self.task_objectives)
        objective = objectives[where.index]
        children = list(getattr(objective, where.sub))
        assert where.sub_index is not None
        children[where.sub_index] = SubComponent(text=item.text, status=item.status, reason=item.reason)
        objectives[where.index] = objective.model_copy(update={where.sub: tuple(children)})
        return self.model_copy(update={"task_objectives": tuple(objectives)})

    # -- JSON ------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The SPEC's JSON form (plain dicts and lists, statuses as strings)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GoalState:
        """Build a state from its JSON form; raises ``pydantic.ValidationError`` on malformed input."""
        return cls.model_validate(data)
