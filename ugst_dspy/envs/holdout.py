"""Evaluation goals stay out of training.

A simulator trained on the goals it is then evaluated on reports a number that means nothing, so ``ugst
sft``, ``ugst grpo`` and ``ugst optimize`` check their training goals against the evaluation goals first and
refuse, naming the first clash, when a training goal has an evaluation goal's id or instruction
(``--allow-eval-overlap`` trains anyway, with a warning, and the run record counts the clashes).

The evaluation goals are each environment's evaluation file (τ-retail and τ-airline test tasks, the
MultiWOZ test goals), any ``--eval-goals`` file, and the generated MultiWOZ Challenge *evaluation* stream:
ids ``mwc-SEED-NNNN`` (``ugst goals multiwoz``). Its *training* stream (``--split train``, ids
``mwc-train-SEED-NNNN``) draws from other random streams, so it is apart from every evaluation set by
construction. Instructions are compared with whitespace collapsed and case folded.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ugst_dspy.errors import UgstError

GENERATED_EVAL_ID = re.compile(r"^mwc-\d+-\d{4,}$")
ALLOW_FLAG = "--allow-eval-overlap"


def normalise_instruction(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class TrainingGoal:
    """A goal a command will train on, and where it was read (``FILE:LINE`` or ``FILE``)."""

    id: str
    instruction: str
    where: str


@dataclass(frozen=True)
class Overlap:
    """A training goal that is an evaluation goal: ``by`` is ``id``, ``instruction`` or ``stream``."""

    goal: TrainingGoal
    by: str
    matches: str

    def describe(self) -> str:
        return f"{self.goal.where}: training goal {self.goal.id!r} is an evaluation goal ({self.matches}, same {self.by})"


@dataclass
class EvaluationGoals:
    """The evaluation goals' ids and normalised instructions, each with where it comes from."""

    ids: dict[str, str] = field(default_factory=dict)
    instructions: dict[str, str] = field(default_factory=dict)

    def add_file(self, path: str | Path) -> None:
        from ugst_dspy.files.goals import read_goals

        for goal in read_goals(path):
            where = f"{Path(path).name} {goal.id}"
            self.ids.setdefault(goal.id, where)
            self.instructions.setdefault(normalise_instruction(goal.instruction), where)

    def clash(self, goal: TrainingGoal) -> Overlap | None:
        if goal.id in self.ids:
            return Overlap(goal, "id", self.ids[goal.id])
        if GENERATED_EVAL_ID.match(goal.id):
            return Overlap(goal, "stream", "the generated MultiWOZ evaluation stream; use ugst goals multiwoz --split train")
        found = self.instructions.get(normalise_instruction(goal.instruction))
        return Overlap(goal, "instruction", found) if found is not None else None


def evaluation_goals(data_dir: str | Path | None = None, extra: Sequence[str | Path] = ()) -> EvaluationGoals:
    """Every environment's evaluation goal file (in ``data_dir``), then the ``extra`` files."""
    from ugst_dspy.envs.registry import ENVIRONMENTS

    held = EvaluationGoals()
    paths: list[Path] = []
    for env in ENVIRONMENTS.values():
        path = env.default_goals_path(data_dir)
        if path not in paths:
            paths.append(path)
    for path in [*paths, *map(Path, extra)]:
        held.add_file(path)
    return held


def overlaps(goals: Iterable[TrainingGoal], held: EvaluationGoals) -> list[Overlap]:
    found = (held.clash(goal) for goal in goals)
    return [overlap for overlap in found if overlap is not None]


def check_training_goals(
    goals: Iterable[TrainingGoal],
    command: str,
    *,
    allow: bool = False,
    data_dir: str | Path | None = None,
    eval_goals: Sequence[str | Path] = (),
) -> list[Overlap]:
    """Refuse (one line, naming the first clash) when a training goal is an evaluation goal; with ``allow``,
    warn on stderr instead. Returns the clashes (recorded by the caller)."""
    found = overlaps(goals, evaluation_goals(data_dir, eval_goals))
    if not found:
        return found
    more = f" ({len(found)} training goals clash in all)" if len(found) > 1 else ""
    if not allow:
        raise UgstError(f"{found[0].describe()}{more}: {command} does not train on evaluation goals (train on "
                        f"τ-retail train goals or generated ones: ugst goals multiwoz --split train), or pass "
                        f"{ALLOW_FLAG}")
    print(f"{command}: WARNING: {len(found)} training goals are evaluation goals, trained on anyway "
          f"({ALLOW_FLAG}); the first: {found[0].describe()}", file=sys.stderr)
    return found


def goals_of_file(path: str | Path, limit: int | None = None) -> list[TrainingGoal]:
    """The goals of a goal file a command will run (the first ``limit``), each with its line."""
    from ugst_dspy.files.goals import goal_lines

    return [TrainingGoal(goal.id, goal.instruction, f"{path}:{line}") for line, goal in goal_lines(path, limit)]


def goals_of_conversations(paths: Sequence[str | Path]) -> list[TrainingGoal]:
    """The goals of conversation files (each record's ``goal_id`` and ``instruction``), each goal once, with
    the line of its first conversation. Read as JSON only: the command's own reader checks them in full."""
    from ugst_dspy.files.jsonl import read_jsonl

    found: dict[tuple[str, str], TrainingGoal] = {}
    for path in paths:
        for number, record in read_jsonl(path):
            goal_id = str(record.get("goal_id") or record.get("id") or "")
            instruction = str(record.get("instruction") or "")
            found.setdefault((goal_id, instruction), TrainingGoal(goal_id, instruction, f"{path}:{number}"))
    return list(found.values())
