"""Decomposition files: ``{"goal_id", "instruction", "state"}`` per line (``ugst decompose`` output, gold files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ugst_dspy.files.appender import JsonlAppender
from ugst_dspy.files.jsonl import read_jsonl
from ugst_dspy.state import GoalState


@dataclass(frozen=True)
class Decomposition:
    """A goal's decomposition into a goal state."""

    goal_id: str
    state: GoalState
    instruction: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"goal_id": self.goal_id, "instruction": self.instruction, "state": self.state.to_json()}


def _decomposition(record: dict[str, Any]) -> Decomposition:
    return Decomposition(record["goal_id"], GoalState.from_json(record["state"]), record.get("instruction", ""))


def read_decompositions(path: str | Path) -> dict[str, Decomposition]:
    """Decompositions by goal id; duplicate ids are refused."""
    items = read_jsonl(path, "decomposition", _decomposition, unique=("goal_id", lambda d: d.goal_id))
    return {item.goal_id: item for _, item in items}


class DecompositionWriter(JsonlAppender):
    """Append-only, resumable writer of decompositions (see :class:`JsonlAppender` for the options)."""

    def __init__(self, path: str | Path, *, fsync: bool = True, **options: Any) -> None:
        super().__init__(path, "decomposition", lambda record: str(record["goal_id"]), fsync=fsync, **options)
