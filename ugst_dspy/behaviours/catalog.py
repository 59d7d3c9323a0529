"""The four non-collaborative behaviours of NCUser (Shim et al.), as policies any simulator can take.

A :class:`Behaviour` says what it makes the user do (:attr:`~Behaviour.summary`), how often by default
(:attr:`~Behaviour.default_rate`, the chance per user message), how many messages of one conversation it may
act on at each intensity, what it draws once per goal (:meth:`~Behaviour.draw`: an unavailable service of the
environment, tangents from a pool) and the instruction it adds to a user message
(:meth:`~Behaviour.instruction`). Every instruction ends with the same clause: the user still works toward
the goal and gives what is asked for (:data:`GOAL_CLAUSE`), which is what separates a difficult user from one
who abandons the task.

Add a behaviour by subclassing :class:`Behaviour` and adding an instance to :data:`BEHAVIOURS` (see
docs/behaviours.md).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ugst_dspy.behaviours.tangents import TANGENTS
from ugst_dspy.errors import UgstError

if TYPE_CHECKING:  # the environments (and their databases' code) load only where they are used
    from ugst_dspy.envs.services import UnavailableService

GOAL_CLAUSE = ("Stay the person your goal describes and keep working toward it: this message must still move "
               "your goal forward, and whatever it leaves out you give as soon as the agent asks for it.")


@dataclass(frozen=True)
class Behaviour:
    """A named, documented policy of a difficult user (see the module docstring)."""

    name: str
    title: str
    summary: str
    default_rate: float
    #: most user messages of one conversation it acts on, per intensity (``None``: no limit)
    max_acts: Mapping[str, int | None] = field(default_factory=lambda: {"mild": None, "moderate": None,
                                                                         "strong": None})
    #: whether it must act at least once in a conversation (drawn among the first half of the turns)
    at_least_once: bool = True
    #: once it starts, it acts on the following messages too (up to its most acts): asking again after a no
    consecutive: bool = False

    def draw(self, rng: random.Random, acting_turns: Sequence[int], services: Sequence[UnavailableService]) -> dict[str, Any]:
        """What the behaviour fixes once per goal (recorded in the plan); none by default."""
        return {}

    def instruction(self, intensity: str, drawn: Mapping[str, Any], act: int, turn: int) -> str:
        """The instruction for the ``act``-th (0-based) message it acts on, user message number ``turn``."""
        raise NotImplementedError


@dataclass(frozen=True)
class UnavailableServiceBehaviour(Behaviour):
    def draw(self, rng: random.Random, acting_turns: Sequence[int], services: Sequence[UnavailableService]) -> dict[str, Any]:
        if not services:
            raise UgstError("behaviour 'unavailable_service': the environment declares no unavailable services "
                            "(ToolEnvironment.unavailable_services)")
        return {"service": rng.choice(list(services)).to_json()}

    def instruction(self, intensity: str, drawn: Mapping[str, Any], act: int, turn: int) -> str:
        request = drawn["service"]["request"]
        if act == 0:
            return (f"In this message also ask the agent to {request}, as if it were a normal thing to ask; you "
                    "do not know whether it is offered.")
        if intensity == "strong":
            return (f"If the agent declined to {request}, insist: say you are unhappy about it and ask again "
                    "whether there is really no way; then carry on with the rest of your goal.")
        return (f"If the agent declined to {request}, ask once more whether there is any way at all, then accept "
                "the answer and carry on.")


@dataclass(frozen=True)
class DigressionBehaviour(Behaviour):
    def draw(self, rng: random.Random, acting_turns: Sequence[int], services: Sequence[UnavailableService]) -> dict[str, Any]:
        pool = list(TANGENTS)
        rng.shuffle(pool)
        return {"tangents": {str(turn): pool[k % len(pool)].to_json() for k, turn in enumerate(acting_turns)}}

    def instruction(self, intensity: str, drawn: Mapping[str, Any], act: int, turn: int) -> str:
        topic = drawn["tangents"][str(turn)]["topic"]
        return {
            "mild": f"Digress briefly: add one sentence about {topic}, which has nothing to do with your request.",
            "moderate": f"Digress: spend two or three sentences on {topic}, which has nothing to do with your "
                        "request, before or after what you need.",
            "strong": f"Digress at length: open with several sentences about {topic}, chatting as if to a friend, "
                      "before you come to what you need.",
        }[intensity]


@dataclass(frozen=True)
class ImpatienceBehaviour(Behaviour):
    def instruction(self, intensity: str, drawn: Mapping[str, Any], act: int, turn: int) -> str:
        return {
            "mild": "Sound a little impatient: ask the agent to be quick about it.",
            "moderate": "Express impatience: say you are in a hurry, that this is taking too long, and ask the agent "
                        "to speed up.",
            "strong": "Be openly impatient and irritated: complain about how long this takes and demand that the agent "
                      "hurry up, without being abusive.",
        }[intensity]


@dataclass(frozen=True)
class IncompleteUtteranceBehaviour(Behaviour):
    def instruction(self, intensity: str, drawn: Mapping[str, Any], act: int, turn: int) -> str:
        return {
            "mild": "Leave out one detail the agent will need (say 'my order' rather than its number, say, or "
                    "'the item' rather than which one), so that the agent has to ask for it.",
            "moderate": "Write a fragment, not a full sentence: a few words that leave out the details (ids, names, "
                        "numbers, which item) the agent needs, so that it has to ask for them.",
            "strong": "Write a bare fragment of two to five words that names what you want but no detail at all; "
                      "the agent has to ask for everything.",
        }[intensity]


BEHAVIOURS: dict[str, Behaviour] = {b.name: b for b in (
    UnavailableServiceBehaviour(
        name="unavailable_service", title="Requesting unavailable services",
        summary="Asks for something the environment cannot do (drawn per goal from its declared unavailable "
                "services, e.g. price matching in retail); at moderate or strong intensity asks again after a "
                "refusal (strong: insists).",
        default_rate=0.5, max_acts={"mild": 1, "moderate": 2, "strong": 3}, consecutive=True),
    DigressionBehaviour(
        name="digression", title="Digressing into tangential conversation",
        summary="Drifts into small talk unrelated to the task (a tangent per message, drawn from a pool): one "
                "sentence (mild), a few (moderate) or opening with it at length (strong).",
        default_rate=0.5),
    ImpatienceBehaviour(
        name="impatience", title="Expressing impatience",
        summary="Complains that things take too long and urges the agent to hurry, from a nudge (mild) to open "
                "irritation (strong).",
        default_rate=0.5),
    IncompleteUtteranceBehaviour(
        name="incomplete_utterance", title="Incomplete utterances",
        summary="Writes fragmentary messages that leave out details the agent must ask for: one detail (mild), a "
                "fragment (moderate) or a bare two-to-five-word phrase (strong); gives them when asked.",
        default_rate=0.5),
)}


def get_behaviour(name: str) -> Behaviour:
    """A behaviour by name; an unknown name is one line listing the known ones."""
    try:
        return BEHAVIOURS[name]
    except KeyError:
        raise UgstError(f"unknown behaviour {name!r} (known: {', '.join(BEHAVIOURS)})") from None
