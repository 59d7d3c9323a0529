"""Agreement of two trackers (or of a tracker and human annotation) on the same conversations.

Agreement = matching statuses / compared statuses, per category and overall, pooled over conversations.
Conversations are paired by id; within a pair, turn ``i`` of one is compared with turn ``i`` of the other
(or only the final states, with ``final_only``), and sub-components are paired by address when their texts
are equal. Turns without a state on either side, and sub-components that do not pair, are not compared;
the counts of what was compared say how much evidence stands behind each number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.metrics.success import Rate
from ugst_dspy.state import CATEGORIES, Category, GoalState


@dataclass
class Agreement:
    """Matching statuses out of compared statuses, per category and overall."""

    categories: dict[Category, Rate] = field(default_factory=lambda: {c: Rate(0, 0) for c in CATEGORIES})
    conversations: int = 0
    unpaired: int = 0
    mismatched_items: int = 0

    @property
    def overall(self) -> Rate:
        total = Rate(0, 0)
        for rate in self.categories.values():
            total = total + rate
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "unpaired": self.unpaired,
            "mismatched_items": self.mismatched_items,
            "categories": {c.value: r.to_json() for c, r in self.categories.items()},
            "overall": self.overall.to_json(),
        }


def compare_states(a: GoalState, b: GoalState, into: Agreement) -> None:
    """Add the statuses of two states of the same goal to an agreement tally."""
    other = {str(located.address): located for located in b.items()}
    for located in a.items():
        twin = other.get(str(located.address))
        if twin is None or twin.text != located.text:
            into.mismatched_items += 1
            continue
        same = located.status == twin.status
        into.categories[located.category] = into.categories[located.category] + Rate(int(same), 1)


def agreement(
    first: Iterable[Conversation], second: Iterable[Conversation], final_only: bool = False
) -> Agreement:
    """Agreement between two tracked versions of the same conversations (see the module docstring)."""
    result = Agreement()
    others = {conversation.key: conversation for conversation in second}
    for conversation in first:
        twin = others.pop(conversation.key, None)
        if twin is None:
            result.unpaired += 1
            continue
        result.conversations += 1
        if final_only:
            pairs = [(conversation.final_state, twin.final_state)]
        else:
            pairs = [(mine.state, theirs.state) for mine, theirs in zip(conversation.turns, twin.turns)]
        for a, b in pairs:
            if a is not None and b is not None:
                compare_states(a, b, result)
    result.unpaired += len(others)
    return result
