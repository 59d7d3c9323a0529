"""The student's prompt and completion layout, shared by SFT data, GRPO prompts, rewards and inference.

The trained student *is* the DSPy program ``ReasoningSimulator()`` (or a compiled variant of it): its
prompt is exactly the chat that program sends through the run's adapter (JSONAdapter by default) -- the
goal, the conversation as the user saw it and the turn budget (the limit stated once, or the per-turn
countdown when the program has ``countdown`` on), never the goal state -- and its completion
is the JSON object that adapter parses, with the fields in a fixed order::

    {"progress": "...", "remaining": "...", "alignment": "...", "reply": "...", "stop": false}

So a checkpoint trained on this layout runs unchanged as ``ugst simulate --simulator-model DIR`` (the
local engine constrains decoding to the same schema), and :func:`parse_completion` reads the raw text a
DSPy-free generator (TRL's rollouts, :mod:`ugst_dspy.optimizers.student`) produces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ugst_dspy.conversation import DEFAULT_TURN_LIMIT, REASONING_FIELDS, Turn
from ugst_dspy.stop import split_stop

COMPLETION_FIELDS = (*REASONING_FIELDS, "reply", "stop")
# Recorded in checkpoints: prompts by DSPy's JSONAdapter, completion as above. v3: the turn budget states the
# limit once unless the program's countdown option is on (v2 always counted down); v2: the conversation is
# quoted (ugst_dspy.transcript); a v1 checkpoint was trained on raw "You: ..." lines.
LAYOUT = "dspy-json-v3"
DEFAULT_MAX_TURNS = DEFAULT_TURN_LIMIT
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


@dataclass(frozen=True)
class StudentTurn:
    """A parsed completion: the three reasoning parts, the reply (stop marker removed) and the stop flag."""

    reply: str
    stop: bool
    reasoning: dict[str, str] = field(default_factory=dict)


def student_program(program: Any = None, behaviours: Sequence[Any] = ()) -> Any:
    """The student program whose prompts are the layout: ``program`` itself, else ``ReasoningSimulator()``.

    A program that is not a stateless reasoning simulator is refused (its outputs would not fit). With
    ``behaviours`` (the specs of a record made with them) a program without them is copied and given them,
    so its prompts have the ``behaviour`` input; ``program`` itself is never changed.
    """
    import copy

    from ugst_dspy.errors import UgstError
    from ugst_dspy.modules.simulators import ReasoningSimulator

    if program is None:
        return ReasoningSimulator(behaviours=behaviours)
    if not isinstance(program, ReasoningSimulator) or program.uses_state:
        name = getattr(program, "name", type(program).__name__)
        raise UgstError(f"the student program must be a reasoning simulator without state, not {name!r}")
    if behaviours and not program.behaviours:
        program = copy.deepcopy(program)
        program.set_behaviours(behaviours)
    return program


def recorded_student(conversation: Any, program: Any = None) -> tuple[Any, Any]:
    """``(student program, behaviour plan)`` for a record: the program with the record's behaviours when it
    was made with some (plan ``None`` otherwise)."""
    from ugst_dspy.behaviours.record import recorded_plan

    plan = recorded_plan(conversation)
    return student_program(program, plan.specs if plan is not None else ()), plan


def student_inputs(
    goal: str, turns: Sequence[Turn], max_turns: int = DEFAULT_MAX_TURNS, program: Any = None, behaviour: Any = None
) -> dict[str, str]:
    """The inputs the student sees before writing turn ``len(turns) + 1``: what the simulator module builds
    (:meth:`~ugst_dspy.modules.simulators.UserSimulator.inputs`, its countdown option and, for a program with
    behaviours, ``behaviour`` included)."""
    return student_program(program).inputs(goal, turns, None, max_turns, behaviour)


def student_messages(
    goal: str,
    turns: Sequence[Turn],
    max_turns: int = DEFAULT_MAX_TURNS,
    program: Any = None,
    adapter: Any = None,
    behaviour: Any = None,
) -> list[dict[str, str]]:
    """The chat messages (system, demos, user) that ``program`` sends for this turn; no goal state (a
    ``behaviour`` is rendered without the open parts of the goal)."""
    import dspy

    student = student_program(program)
    predictor = student.respond
    adapter = adapter or dspy.JSONAdapter()
    inputs = student_inputs(goal, turns, max_turns, student, behaviour)
    messages = adapter.format(predictor.signature, list(predictor.demos), inputs)
    return [{"role": m["role"], "content": str(m["content"])} for m in messages]


def format_completion(reasoning: Mapping[str, Any], reply: str, stop: bool) -> str:
    """The completion text: one JSON object with the fields in :data:`COMPLETION_FIELDS` order."""
    values: dict[str, Any] = {key: str(reasoning.get(key) or "") for key in REASONING_FIELDS}
    values["reply"] = reply
    values["stop"] = bool(stop)
    return json.dumps(values, ensure_ascii=False)


def parse_completion(text: str, strict: bool = True) -> StudentTurn | None:
    """Read a completion; ``None`` when it does not follow the layout.

    ``strict`` (rewards) takes the outermost ``{...}`` as JSON and needs a string ``reply``; otherwise
    (inference) a cut-off or sloppy object is repaired first, as DSPy's JSONAdapter does.
    """
    fields = _load(text, strict)
    if not isinstance(fields, dict):
        return None
    reply = fields.get("reply")
    if not isinstance(reply, str) or (strict and not reply.strip() and not fields.get("stop")):
        return None
    stop = fields.get("stop", False)
    if isinstance(stop, str):
        stop = stop.strip().lower() in ("true", "yes", "1")
    elif not isinstance(stop, bool):
        if strict:
            return None
        stop = bool(stop)
    text_reply, marked = split_stop(reply)
    reasoning = {key: str(fields.get(key) or "") for key in REASONING_FIELDS}
    return StudentTurn(reply=text_reply, stop=stop or marked, reasoning=reasoning)


def _load(text: str, strict: bool) -> Any:
    match = _OBJECT.search(text or "")
    if match is not None:
        try:
            return json.loads(match.group(0))
        except json.JSONDecodeError:
            pass
    if strict:
        return None
    import json_repair

    try:
        return json_repair.loads(text or "")
    except Exception:  # noqa: BLE001 - anything unreadable is simply not the layout
        return None


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or a list of chat messages (the assistant's content)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence):
        return "".join(str(m.get("content") or "") for m in completion if isinstance(m, Mapping))
    return str(completion)
