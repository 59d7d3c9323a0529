"""Which tracker made the states a table reads: the mode each conversation record names in its ``meta``.

A record tracked by ``ugst track`` names it in ``meta.tracking.mode`` (that command replaces every turn's
state); one tracked while it was simulated, in ``meta.config.tracker_mode`` (the run's evaluation tracker,
whose states the record holds). A record without a final state is untracked (left out of the tables) and has
no mode; a tracked record that names none is ``unknown``. ``per_component`` is the paper's scheme; every
other mode is reported as such next to the numbers (see docs/metrics.md, "Tracker").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.metrics.success import group_key

PAPER_MODE = "per_component"
UNKNOWN = "unknown"
# What each mode is, in the words the tables print. The batched figure is the benchmark's (bench/README.md,
# "Tracking cost": SmolLM2-135M judge, 2 conversations x 4 turns); a judge that follows the batched format
# well will agree more, and needs its own measurement.
DESCRIPTIONS: dict[str, str] = {
    "per_component": "the paper's scheme: one judge call per open sub-component, absorbed ones skipped",
    "batched": "one judge call per turn for every open sub-component, not the paper's scheme: 46.9% (15/32) "
               "of its statuses equalled the paper scheme's in bench/README.md (SmolLM2-135M judge)",
    UNKNOWN: "the records do not name their tracker",
}


def tracker_mode(conversation: Conversation) -> str | None:
    """The mode of the tracker behind ``conversation``'s states; ``None`` when it has no final state."""
    if conversation.final_state is None:
        return None
    meta = conversation.meta
    if meta.tracking is not None and meta.tracking.mode:
        return meta.tracking.mode
    mode = (meta.config or {}).get("tracker_mode")
    return mode if isinstance(mode, str) else UNKNOWN


def _label(counts: Counter[str]) -> str:
    if len(counts) <= 1:
        return next(iter(counts), "")
    return " + ".join(f"{mode} {n}" for mode, n in counts.most_common())


@dataclass
class TrackerModes:
    """How many tracked conversations each mode made, overall and per group (in order of first appearance)."""

    overall: Counter[str] = field(default_factory=Counter)
    groups: dict[str, Counter[str]] = field(default_factory=dict)

    def group_label(self, group: str) -> str:
        """``per_component``, ``per_component 2 + batched 1`` when mixed, ``""`` when nothing is tracked."""
        return _label(self.groups.get(group, Counter()))

    def line(self) -> str:
        """The one line the text and Markdown tables print under the success table."""
        if not self.overall:
            return "Tracker: none (no tracked conversation)"
        total = sum(self.overall.values())
        if len(self.overall) == 1:
            mode = next(iter(self.overall))
            return f"Tracker: {mode} ({DESCRIPTIONS.get(mode, 'not a known mode')}), {total} tracked conversations"
        parts = "; ".join(f"{mode} {n} ({DESCRIPTIONS.get(mode, 'not a known mode')})"
                          for mode, n in self.overall.most_common())
        by_group = ", ".join(f"{group} {self.group_label(group)}" for group in self.groups if self.groups[group])
        return f"Tracker: mixed, the rates pool different trackers: {parts}; by group: {by_group}"

    def to_json(self) -> dict[str, Any]:
        return {
            "modes": dict(self.overall.most_common()),
            "groups": {group: dict(counts.most_common()) for group, counts in self.groups.items()},
            "paper_mode": PAPER_MODE,
            "descriptions": {mode: DESCRIPTIONS.get(mode, "not a known mode") for mode in self.overall},
        }


def tracker_modes(conversations: Iterable[Conversation], group_by: str | None = None) -> TrackerModes:
    """Count the tracker modes of the tracked conversations, overall and per group (``--group-by``)."""
    key = group_key(group_by)
    result = TrackerModes()
    for conversation in conversations:
        counts = result.groups.setdefault(key(conversation), Counter())
        mode = tracker_mode(conversation)
        if mode is not None:
            counts[mode] += 1
            result.overall[mode] += 1
    return result
