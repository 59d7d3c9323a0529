"""Goal files: JSON Lines of ``{"id", "instruction", ...}``.

τ-bench task files load as they are. MultiWOZ goal files (``{"id", "goal", "message"}``) load too: their
``message`` becomes the instruction. Every other field is carried through untouched in ``Goal.fields``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError
from ugst_dspy.files.jsonl import read_jsonl


@dataclass(frozen=True)
class Goal:
    """A user goal: its id, its natural-language instruction and the record's other fields."""

    id: str
    instruction: str
    fields: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {**self.fields, "id": self.id, "instruction": self.instruction}


def _goal(record: dict[str, Any]) -> Goal:
    return Goal(id=record["id"], instruction=record["instruction"], fields=record)


def _with_instruction(record: dict[str, Any]) -> dict[str, Any]:
    if "instruction" not in record and isinstance(record.get("message"), str):
        return {**record, "instruction": record["message"]}
    return record


def goal_lines(path: str | Path, limit: int | None = None, ids: set[str] | None = None) -> list[tuple[int, Goal]]:
    """The goals of a file with their line numbers (the first ``limit`` of them, or those whose id is in
    ``ids``).

    Duplicate ids are refused, since results are keyed by goal id; a file with no goal at all is refused too.
    """
    goals: list[tuple[int, Goal]] = []
    found = False
    for number, goal in read_jsonl(path, "goal", _goal, _with_instruction, unique=("id", lambda g: g.id)):
        found = True
        if ids is None or goal.id in ids:
            goals.append((number, goal))
        if limit is not None and len(goals) >= limit:
            break
    if not found:
        raise UgstError(f"no records in {path}")
    return goals


def read_goals(path: str | Path, limit: int | None = None, ids: set[str] | None = None) -> list[Goal]:
    """All goals of a file (see :func:`goal_lines`)."""
    return [goal for _, goal in goal_lines(path, limit, ids)]
