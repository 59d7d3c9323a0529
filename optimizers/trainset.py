"""Train sets for prompt optimisation: one ``dspy.Example`` per conversation prefix.

A tracked conversation record (simulated or imported; every turn has its ``state``) with turns
``t_1 .. t_n`` gives ``n`` examples. Example ``i`` (0-based) holds what a simulator sees before it writes
user message ``u_{i+1}``:

- inputs ``goal`` (the instruction), ``turns`` (``t_1 .. t_i``, as the simulator sees them: user text,
  agent text, tool calls; no states), ``state`` (``S_i``, the state after turn ``i``; ``S_0`` is the
  record's ``initial_state``) and ``max_turns``;
- labels ``reference`` (the record's own user message ``u_{i+1}``) and ``reference_stop`` (whether that
  message is the user's stop message, :attr:`~ugst_dspy.conversation.Conversation.stop_turn`: never a turn
  the agent answered);
- ``conversation_id`` and ``turn`` (``i + 1``), to trace an example back to its record;
- for a record made with behaviours, the input ``behaviour`` too: what the simulator was told before
  ``u_{i+1}`` (:func:`~ugst_dspy.behaviours.record.recorded_behaviour`), so the optimised program learns under
  the same pressure; :attr:`TrainSet.behaviours` are the specs to give the program.

Records that are not tracked are skipped and counted. Splitting keeps every prefix of one conversation on
the same side, so the validation score is not measured on prefixes of training conversations.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dspy

from ugst_dspy.behaviours.plan import BehaviourPlan
from ugst_dspy.behaviours.record import recorded_behaviour, recorded_plan
from ugst_dspy.behaviours.spec import BehaviourSpec
from ugst_dspy.conversation import DEFAULT_TURN_LIMIT, Conversation, Turn
from ugst_dspy.errors import UgstError

INPUT_FIELDS = ("goal", "turns", "state", "max_turns")
DEFAULT_MAX_TURNS = DEFAULT_TURN_LIMIT


@dataclass
class TrainSet:
    """The examples built from a set of records, and what was left out."""

    examples: list[dspy.Example] = field(default_factory=list)
    conversations: int = 0
    skipped_untracked: int = 0
    #: the behaviours of the records made with them (the first spec of each name): give them to the program
    behaviours: tuple[BehaviourSpec, ...] = ()

    def summary(self) -> str:
        note = f", {self.skipped_untracked} untracked skipped" if self.skipped_untracked else ""
        return f"{len(self.examples)} prefixes from {self.conversations} tracked conversations{note}"


@dataclass
class Split:
    """A deterministic train/validation split."""

    train: list[dspy.Example]
    val: list[dspy.Example]


def simulator_view(turn: Turn) -> Turn:
    """A turn as the simulator is handed it: the texts and tool calls, without the state or extras."""
    return Turn(user=turn.user, agent=turn.agent, tool_calls=list(turn.tool_calls), state=None)


def conversation_examples(conversation: Conversation, max_turns: int | None = None,
                          plan: BehaviourPlan | None = None) -> list[dspy.Example]:
    """One example per turn of a tracked conversation (see the module docstring); ``plan``: its behaviour plan,
    when the caller has read it already."""
    if not conversation.tracked:
        raise UgstError(f"conversation {conversation.key!r} is not tracked (run `ugst track` first)")
    limit = max_turns if max_turns is not None else conversation.turn_limit()
    states = conversation.states
    seen = [simulator_view(turn) for turn in conversation.turns]
    stop_turn = conversation.stop_turn  # the user's stop message: the only turn whose reference is a stop
    plan = plan or recorded_plan(conversation)
    examples = []
    for i, turn in enumerate(conversation.turns):
        extra = {"behaviour": recorded_behaviour(conversation, i, plan=plan)} if plan is not None else {}
        example = dspy.Example(
            goal=conversation.instruction,
            turns=seen[:i],
            state=states[i],
            max_turns=max(limit, i + 1),
            reference=turn.user,
            reference_stop=i == stop_turn,
            conversation_id=conversation.key,
            turn=i + 1,
            **extra,
        )
        examples.append(example.with_inputs(*INPUT_FIELDS, *extra))
    return examples


def build_trainset(conversations: Iterable[Conversation], max_turns: int | None = None) -> TrainSet:
    """Examples from every tracked record (in file order); untracked records are counted and skipped.

    ``max_turns`` overrides each record's own limit (``meta.config.max_turns``, else 10).
    """
    result = TrainSet()
    for conversation in conversations:
        if not conversation.tracked:
            result.skipped_untracked += 1
            continue
        result.conversations += 1
        plan = recorded_plan(conversation)
        result.examples.extend(conversation_examples(conversation, max_turns, plan))
        if plan is not None:
            known = {spec.name for spec in result.behaviours}
            result.behaviours += tuple(spec for spec in plan.specs if spec.name not in known)
    return result


def split_examples(
    examples: Sequence[dspy.Example],
    train: int | None = None,
    val: int | None = None,
    seed: int = 0,
    val_fraction: float = 0.2,
) -> Split:
    """Shuffle with ``seed`` and split by conversation: train gets up to ``train`` examples, val up to ``val``.

    With ``val`` unset, about ``val_fraction`` of the examples go to validation (at least one, when there
    are two or more conversations), taken in whole conversations: the examples of one conversation stay on
    one side (those past a full validation set are left out). Within each side they are shuffled too. A single conversation is split by its prefixes instead. The same inputs and seed always
    give the same split.
    """
    if train is not None and train < 1:
        raise UgstError(f"the train set needs at least 1 example, got {train}")
    if val is not None and val < 0:
        raise UgstError(f"the validation set size must be 0 or more, got {val}")
    rng = random.Random(seed)
    groups: dict[str, list[dspy.Example]] = {}
    for example in examples:
        groups.setdefault(str(example.get("conversation_id", id(example))), []).append(example)
    keys = list(groups)
    rng.shuffle(keys)
    if len(keys) < 2:  # one conversation: split its prefixes
        groups = {str(n): [example] for n, example in enumerate(examples)}
        keys = list(groups)
        rng.shuffle(keys)
    if not keys:
        return Split(train=[], val=[])
    total = sum(len(group) for group in groups.values())
    wanted_val = val if val is not None else (max(1, round(total * val_fraction)) if len(keys) > 1 else 0)
    val_part: list[dspy.Example] = []
    train_part: list[dspy.Example] = []
    for key in keys[:-1]:  # the last group always trains
        (val_part if len(val_part) < wanted_val else train_part).extend(groups[key])
    train_part.extend(groups[keys[-1]])
    rng.shuffle(train_part)
    rng.shuffle(val_part)
    return Split(train=train_part[:train] if train is not None else train_part, val=val_part[:wanted_val])
