"""Per-category success rates over a set of conversations (SPEC section 2; the paper's Tables 2 and 3).

The rate of a category is pooled: successful sub-components of that category in the final states divided
by all sub-components of that category in those states. A category with no sub-component in the whole set
is n/a (``rate is None``) and left out of ``Avg``, the unweighted mean of the other category rates.
Conversations without a final state (not tracked yet) are counted apart and left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ugst_dspy.conversation import Conversation, meta_value
from ugst_dspy.errors import UgstError
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.state import CATEGORIES, Category, GoalState


@dataclass(frozen=True)
class Rate:
    """``successes`` out of ``total``; ``rate`` is ``None`` (n/a) when ``total`` is 0."""

    successes: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.successes / self.total if self.total else None

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.successes + other.successes, self.total + other.total)

    def to_json(self) -> dict[str, Any]:
        return {"successes": self.successes, "total": self.total, "rate": self.rate}


@dataclass
class SuccessRow:
    """The success rates of one group of conversations."""

    group: str
    categories: dict[Category, Rate] = field(default_factory=lambda: {c: Rate(0, 0) for c in CATEGORIES})
    conversations: int = 0
    untracked: int = 0

    @property
    def average(self) -> float | None:
        """Unweighted mean of the category rates that are not n/a; ``None`` when all are."""
        rates = [r.rate for r in self.categories.values() if r.rate is not None]
        return sum(rates) / len(rates) if rates else None

    def add_state(self, state: GoalState, rules: RuleSet) -> None:
        counts = state_counts(state, rules)
        for category in CATEGORIES:
            self.categories[category] = self.categories[category] + counts[category]
        self.conversations += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "conversations": self.conversations,
            "untracked": self.untracked,
            "categories": {c.value: r.to_json() for c, r in self.categories.items()},
            "avg": self.average,
        }


def state_counts(state: GoalState, rules: RuleSet = DEFAULT_RULES) -> dict[Category, Rate]:
    """Successful and total sub-components per category of one state."""
    successes = dict.fromkeys(CATEGORIES, 0)
    totals = dict.fromkeys(CATEGORIES, 0)
    for located in state.items():
        totals[located.category] += 1
        successes[located.category] += rules.is_success(located.category, located.status)
    return {c: Rate(successes[c], totals[c]) for c in CATEGORIES}


#: groupings that are derived rather than read: ``behaviour`` is ``meta.behaviour`` (``impatience+digression``),
#: ``none`` for a record made without behaviours
DERIVED_GROUPS: dict[str, Callable[[Conversation], str]] = {
    "behaviour": lambda conversation: conversation.meta.behaviour or "none",
}


def group_key(group_by: str | None) -> Callable[[Conversation], str]:
    """A function naming the group of a conversation by a meta path (``None``: one group, ``all``)."""
    if not group_by:
        return lambda conversation: "all"
    if group_by in DERIVED_GROUPS:
        return DERIVED_GROUPS[group_by]

    def key(conversation: Conversation) -> str:
        value = meta_value(conversation, group_by)
        return "n/a" if value is None else str(value)

    return key


def check_group_by(conversations: Iterable[Conversation], group_by: str | None) -> None:
    """Refuse (one line) a ``group_by`` path that no conversation has: a typo would put all in group ``n/a``."""
    if not group_by or group_by in DERIVED_GROUPS:
        return
    conversations = list(conversations)
    if conversations and all(meta_value(c, group_by) is None for c in conversations):
        known = sorted({key for c in conversations for key, value in c.meta.to_json().items()
                        if not isinstance(value, dict)})
        raise UgstError(f"--group-by {group_by!r}: no conversation has this field (top-level meta fields: "
                        f"{', '.join(known[:20])}; use a dotted path such as models.simulator)")


def success_table(
    conversations: Iterable[Conversation],
    group_by: str | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> list[SuccessRow]:
    """One row per group (in order of first appearance), plus nothing else; see the module docstring."""
    key = group_key(group_by)
    rows: dict[str, SuccessRow] = {}
    for conversation in conversations:
        name = key(conversation)
        row = rows.setdefault(name, SuccessRow(name))
        state = conversation.final_state
        if state is None:
            row.untracked += 1
        else:
            row.add_state(state, rules)
    return list(rows.values())
