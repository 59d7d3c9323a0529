"""The user simulators, each a DSPy module that answers with a reply and a structured stop flag.

- :class:`PromptSimulator` (paper Eq. 1): the goal and the conversation only.
- :class:`GoalReminderSimulator` (the paper's Table 7 baseline): the goal restated before every reply.
- :class:`StateSteeredSimulator` (Eq. 2): the latest goal state S_{i-1}, with progress, before every reply.
- :class:`ReasoningSimulator`: reasoning in three parts (progress, remaining, alignment), then the reply; with
  ``use_state=True`` it is the SFT teacher that reasons with the goal state in view.

Every simulator can take non-collaborative behaviours (``behaviours=["impatience", ...]``, see
:mod:`ugst_dspy.behaviours`): its predictor then gets one more input, ``behaviour``, the instruction of the
behaviours that act on this message (and, for a simulator that sees the goal state, the parts of the goal
still open), drawn per goal by :meth:`UserSimulator.plan_behaviours`.

Every simulator is told the length limit once (``turn_budget``, the same text before every turn, as in the
paper's prompt). ``countdown=True`` tells it instead which turn it is writing and how many are left: an
option, off by default for the four paper configurations, recorded in the program file and in ``meta``.

A reply that carries the raw-chat stop convention (``Terminate.``) stops the conversation too; the marker
is removed and the rest of the message kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import dspy

from ugst_dspy.behaviours.plan import NO_BEHAVIOUR, BehaviourPlan, TurnBehaviour, environment_plan, make_plan
from ugst_dspy.behaviours.spec import BehaviourSpec, as_specs
from ugst_dspy.conversation import REASONING_FIELDS, Turn
from ugst_dspy.errors import UgstError
from ugst_dspy.render import render_state
from ugst_dspy.signatures.simulate import (
    GoalReminderSignature,
    PromptSimulatorSignature,
    ReasoningSignature,
    StateSteeredSignature,
    SteeredReasoningSignature,
)
from ugst_dspy.state import GoalState
from ugst_dspy.stop import split_stop
from ugst_dspy.transcript import budget_text, user_view

BEHAVIOUR_FIELD = "behaviour"
BehaviourLike = BehaviourSpec | str | Mapping[str, Any]


def _behaviour_field() -> Any:
    return dspy.InputField(desc="How to behave in this message (or none): the behaviours to show while you still "
                                "work toward your goal.")


class UserSimulator(dspy.Module):
    """Common behaviour: build the inputs, call the one predictor ``respond``, read reply and stop."""

    name: ClassVar[str] = ""
    #: whether this kind of simulator reads the goal state (an instance may say otherwise: ``uses_state``)
    state_input: ClassVar[bool] = False
    signature: ClassVar[type[dspy.Signature]] = PromptSimulatorSignature

    def __init__(self, max_turns: int = 10, countdown: bool = False, behaviours: Iterable[BehaviourLike] = ()) -> None:
        super().__init__()
        self.max_turns = max_turns
        self.countdown = countdown
        self.uses_state: bool = getattr(self, "uses_state", type(self).state_input)
        self.behaviours: tuple[BehaviourSpec, ...] = ()
        self.respond = dspy.Predict(self.make_signature())
        self.set_behaviours(behaviours)

    def make_signature(self) -> type[dspy.Signature]:
        """The predictor's signature (the class's; a subclass may choose by its options)."""
        return type(self).signature

    def program_options(self) -> dict[str, Any]:
        """The options a program file records to rebuild this simulator (``options`` and the turn limit)."""
        return {"max_turns": self.max_turns, **self.options()}

    def set_behaviours(self, behaviours: Iterable[BehaviourLike]) -> None:
        """Take these behaviours (none: the plain simulator): adds or removes the predictor's ``behaviour``
        input, keeping its (compiled) instructions and demos."""
        specs = as_specs(behaviours)
        signature = self.respond.signature
        present = BEHAVIOUR_FIELD in signature.input_fields
        if specs and not present:
            self.respond.signature = signature.append(BEHAVIOUR_FIELD, _behaviour_field(), type_=str)
        elif not specs and present:
            self.respond.signature = signature.delete(BEHAVIOUR_FIELD)
        self.behaviours = specs

    def plan_behaviours(self, goal_id: str, env: str | None = None, *, seed: int = 0, max_turns: int | None = None,
                        services: Sequence[Any] = ()) -> BehaviourPlan:
        """The behaviour plan of one goal: the messages each behaviour acts on and what it draws (an unavailable
        service of environment ``env``, or of ``services``; tangents), reproducible from ``seed``."""
        turns = max_turns or self.max_turns
        if env is not None:
            return environment_plan(self.behaviours, goal_id, env, seed=seed, max_turns=turns)
        return make_plan(self.behaviours, goal_id, seed=seed, max_turns=turns, services=services)

    def options(self) -> dict[str, Any]:
        """What changes this simulator's prompts besides its (compiled) state: recorded in ``meta``."""
        options: dict[str, Any] = {"countdown": self.countdown}
        if self.behaviours:
            options["behaviours"] = [spec.to_json() for spec in self.behaviours]
        return options

    def extra_inputs(self, goal: str, state: GoalState | None) -> dict[str, str]:
        return {}

    def forward(
        self,
        goal: str,
        turns: Sequence[Turn] = (),
        state: GoalState | None = None,
        max_turns: int | None = None,
        behaviour: TurnBehaviour | str | None = None,
    ) -> dspy.Prediction:
        """The next user message after ``turns``; ``state`` is S_{i-1} (needed by state-steered simulators);
        ``behaviour`` what the behaviours ask of this message (``BehaviourPlan.turn``; none when omitted)."""
        if self.uses_state and state is None:
            raise UgstError(f"the {self.name} simulator needs the current goal state")
        prediction = self.respond(**self.inputs(goal, turns, state, max_turns, behaviour))
        reply, marked = split_stop(str(prediction.reply or ""))
        reasoning = {key: prediction[key] for key in REASONING_FIELDS if key in prediction}
        return dspy.Prediction(reply=reply, stop=bool(prediction.stop) or marked, reasoning=reasoning)

    def inputs(
        self,
        goal: str,
        turns: Sequence[Turn] = (),
        state: GoalState | None = None,
        max_turns: int | None = None,
        behaviour: TurnBehaviour | str | None = None,
    ) -> dict[str, Any]:
        """The predictor's inputs before user message ``len(turns) + 1`` (SFT and GRPO prompts use them too)."""
        inputs = {
            "goal": goal,
            "conversation": user_view(turns),
            **self.extra_inputs(goal, state),
            "turn_budget": budget_text(len(turns) + 1, max_turns or self.max_turns, self.countdown),
        }
        if self.behaviours:
            if behaviour is None:
                inputs[BEHAVIOUR_FIELD] = NO_BEHAVIOUR
            elif isinstance(behaviour, TurnBehaviour):  # the open parts of the goal only for who sees the state
                inputs[BEHAVIOUR_FIELD] = behaviour.render(with_state=self.uses_state)
            else:
                inputs[BEHAVIOUR_FIELD] = str(behaviour)
        elif behaviour is not None:
            raise UgstError(f"the {self.name} simulator has no behaviours: set them (behaviours=[...] or "
                            "set_behaviours) before passing a behaviour")
        return inputs


class PromptSimulator(UserSimulator):
    name = "prompt"


class GoalReminderSimulator(UserSimulator):
    name = "goal-reminder"
    signature = GoalReminderSignature

    def extra_inputs(self, goal: str, state: GoalState | None) -> dict[str, str]:
        return {"goal_reminder": goal}


class StateSteeredSimulator(UserSimulator):
    name = "state-steered"
    state_input = True
    signature = StateSteeredSignature

    def extra_inputs(self, goal: str, state: GoalState | None) -> dict[str, str]:
        assert state is not None
        return {"goal_state": render_state(state)}


class ReasoningSimulator(UserSimulator):
    name = "reasoning"
    signature = ReasoningSignature

    def __init__(self, max_turns: int = 10, use_state: bool = False, countdown: bool = False,
                 behaviours: Iterable[BehaviourLike] = ()) -> None:
        self.uses_state = use_state  # read by the base before it builds the predictor
        super().__init__(max_turns, countdown, behaviours)

    def make_signature(self) -> type[dspy.Signature]:
        return SteeredReasoningSignature if self.uses_state else ReasoningSignature

    def program_options(self) -> dict[str, Any]:
        return {**super().program_options(), "use_state": self.uses_state}

    def extra_inputs(self, goal: str, state: GoalState | None) -> dict[str, str]:
        return {"goal_state": render_state(state)} if self.uses_state and state is not None else {}


SIMULATORS: dict[str, type[UserSimulator]] = {
    cls.name: cls for cls in (PromptSimulator, GoalReminderSimulator, StateSteeredSimulator, ReasoningSimulator)
}


def make_simulator(name: str, max_turns: int = 10, countdown: bool = False,
                   behaviours: Iterable[BehaviourLike] = ()) -> UserSimulator:
    """A simulator by its command-line name: prompt, goal-reminder, state-steered or reasoning."""
    try:
        return SIMULATORS[name](max_turns=max_turns, countdown=countdown, behaviours=behaviours)
    except KeyError:
        raise UgstError(f"unknown simulator {name!r} (use one of {', '.join(SIMULATORS)})") from None
