"""Decomposition files: ``{"goal_id", "instruction", "state"}`` per line (``ugst decompose`` output, gold files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from ugst_dspy.conversation import Written
from ugst_dspy.files.appender import JsonlAppender
from ugst_dspy.files.jsonl import read_jsonl
from ugst_dspy.rules import DEFAULT_RULES
from ugst_dspy.run_meta import RunMeta
from ugst_dspy.state import GoalState, read_model


class Decomposition(Written):
    """A goal's decomposition into a goal state (other keys of a record, such as ``meta``, are kept)."""

    WRITTEN = ("goal_id", "state")

    goal_id: str = Field(min_length=1)
    instruction: str = ""
    state: GoalState
    meta: RunMeta | None = Field(default=None, description="How it was made (``ugst decompose``; gold files: none).")

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if self.meta is None:
            data.pop("meta")
        return data

    @classmethod
    def from_json(cls, data: Any) -> Decomposition:
        """A record as read from a file, validated once (its statuses against the SPEC's rule set); a problem is
        a :class:`~ugst_dspy.errors.FieldError` naming the field."""
        decomposition = read_model(cls, data)
        rules = decomposition.meta.rule_set if decomposition.meta is not None else DEFAULT_RULES
        rules.refuse_statuses(decomposition.state, "state")
        return decomposition


def read_decompositions(path: str | Path) -> dict[str, Decomposition]:
    """Decompositions by goal id; duplicate ids are refused."""
    items = read_jsonl(path, None, Decomposition.from_json, unique=("goal_id", lambda d: d.goal_id))
    return {item.goal_id: item for _, item in items}


class DecompositionWriter(JsonlAppender):
    """Append-only, resumable writer of decompositions (see :class:`JsonlAppender` for the options)."""

    def __init__(self, path: str | Path, *, fsync: bool = True, **options: Any) -> None:
        super().__init__(path, "decomposition", lambda record: str(record["goal_id"]), fsync=fsync, **options)
