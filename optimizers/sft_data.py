"""Cold-start SFT data: conversations of the state-steered reasoning teacher -> prompt/completion records.

The teacher (``ReasoningSimulator(use_state=True)``) reasons with the goal state in view; every turn it
writes carries ``reasoning`` ``{progress, remaining, alignment}`` beside the reply. The student learns to
produce the same reasoning and reply *without* the state: each record's prompt is what the student
program sends (goal, conversation as the user saw it, turn budget; see :mod:`~ugst_dspy.optimizers.layout`)
and its completion is the reasoning, the reply and the stop flag in the layout's fixed JSON order. The
records are in TRL's conversational prompt/completion format, so SFT puts the loss on the completion only.

:func:`generate_teacher_conversations` runs the teacher with :class:`ConversationRunner` (resumable, like
``ugst simulate``); :func:`build_sft_data` does both steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ugst_dspy.behaviours.record import recorded_behaviour
from ugst_dspy.config import UGSTConfig
from ugst_dspy.conversation import Conversation
from ugst_dspy.errors import UgstError
from ugst_dspy.extras import require
from ugst_dspy.optimizers.layout import (
    StudentTurn,
    format_completion,
    parse_completion,
    recorded_student,
    student_messages,
)

__all__ = [
    "StudentTurn",
    "build_sft_data",
    "build_sft_dataset",
    "generate_teacher_conversations",
    "parse_completion",
    "read_sources",
    "sft_records",
]


def sft_records(
    conversations: Iterable[Conversation],
    program: Any = None,
    skip_errors: bool = True,
) -> list[dict[str, Any]]:
    """One prompt/completion record per teacher turn that carries reasoning.

    The stop flag of a record is true for the user's stop message only (:attr:`Conversation.stop_turn`: the
    last turn of a conversation the user ended, never answered by the agent in a simulated record;
    ``Terminate.`` with the teacher's reasoning for stopping when it said nothing else) and false for every
    turn before it. A record written before stop messages were kept ends with an answered turn: no turn of it
    is a stop.
    Conversations that ended in an error are left out when ``skip_errors``.
    """
    records = []
    for conversation in conversations:
        if skip_errors and conversation.ended_by == "error":
            continue
        max_turns = conversation.turn_limit()
        stop_turn = conversation.stop_turn
        student, plan = recorded_student(conversation, program)
        for index, turn in enumerate(conversation.turns):
            if not turn.has_reasoning:
                continue
            reasoning = dict(turn.reasoning or {})
            stop = index == stop_turn
            behaviour = recorded_behaviour(conversation, index, plan=plan) if plan is not None else None
            prompt = student_messages(conversation.instruction, conversation.turns[:index], max_turns, student,
                                      behaviour=behaviour)
            records.append({
                "prompt": prompt,
                "completion": [{"role": "assistant", "content": format_completion(reasoning, turn.user, stop)}],
                "conversation_id": conversation.key,
                "turn_index": index,
            })
    return records


def read_sources(paths: Sequence[str | Path]) -> list[Conversation]:
    """The results of every file, in order (failed conversations left out, with a note); a missing, empty or
    malformed file, or one given twice, is a one-line error."""
    import sys

    from ugst_dspy.files.conversations import load_conversations

    loaded = load_conversations(paths)
    if loaded.failed:
        print(f"ugst: {loaded.failure_note()}", file=sys.stderr)
    return loaded.conversations


def build_sft_dataset(
    sources: Sequence[str | Path] | Sequence[Conversation],
    program: Any = None,
    skip_errors: bool = True,
) -> Any:
    """A ``datasets.Dataset`` of SFT records from conversation files (or conversations).

    Refuses, in one line, sources that hold no teacher turn with reasoning.
    """
    datasets = require("datasets", "train", "SFT data")

    conversations = [c for c in sources if isinstance(c, Conversation)]
    paths = [p for p in sources if not isinstance(p, Conversation)]
    conversations += read_sources(paths)
    records = sft_records(conversations, program, skip_errors)
    if not records:
        where = ", ".join(str(p) for p in paths) or f"{len(conversations)} conversations"
        raise UgstError(
            f"no SFT data in {where}: no turn carries the teacher's reasoning "
            "(generate conversations with the reasoning teacher: ugst sft --teacher-runs FILE)"
        )
    return datasets.Dataset.from_list(records)


def generate_teacher_conversations(
    out: str | Path,
    config: UGSTConfig,
    env: str = "tau-retail",
    goals: str | Path | None = None,
    *,
    limit: int | None = None,
    agent: str = "dspy",
    agent_steps: int = 5,
    workers: int = 1,
    data_dir: str | Path | None = None,
    progress: Any = None,
) -> Any:
    """Run the state-steered reasoning teacher on the goals (default: the environment's training goals,
    never its evaluation goals) and append its conversations to ``out``; with ``config.behaviours`` the
    teacher is non-collaborative as asked (and still delivers its goal, steered by the state).

    Resumable (goals already in ``out`` are skipped), through the same path as ``ugst simulate``
    (:func:`~ugst_dspy.runner.goals.simulate_goals`: a file made with other settings is refused). Returns the
    :class:`BatchReport`.
    """
    from ugst_dspy.engines.spec import ModelPool
    from ugst_dspy.envs.registry import environment_class, training_goals_path
    from ugst_dspy.files.goals import read_goals
    from ugst_dspy.modules.simulators import ReasoningSimulator
    from ugst_dspy.runner.goals import simulate_goals
    from ugst_dspy.runner.simulate import ConversationRunner, make_agent

    environment_class(env)
    pool = ModelPool(config)
    pool.check()
    items = read_goals(goals or training_goals_path(env, data_dir), limit=limit)
    teacher = ReasoningSimulator(max_turns=config.max_turns, use_state=True, behaviours=config.behaviour_specs())
    runner = ConversationRunner(config, env, teacher, make_agent(agent, pool, agent_steps), pool, track=True,
                                data_dir=Path(data_dir) if data_dir else None, program="reasoning-teacher")
    return simulate_goals(runner, items, out, workers=workers, progress=progress)[0]


def build_sft_data(
    teacher_runs: str | Path,
    config: UGSTConfig,
    env: str = "tau-retail",
    goals: str | Path | None = None,
    *,
    program: Any = None,
    extra: Sequence[str | Path] = (),
    **run_options: Any,
) -> Any:
    """Generate (or finish generating) teacher conversations into ``teacher_runs``, then build the
    dataset from them and the ``extra`` conversation files."""
    generate_teacher_conversations(teacher_runs, config, env, goals, **run_options)
    return build_sft_dataset([*extra, teacher_runs], program=program)

