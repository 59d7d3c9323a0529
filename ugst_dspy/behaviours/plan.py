"""A behaviour plan: what the behaviours of a run do in one conversation, drawn once per goal with a seed.

:func:`make_plan` draws, for every behaviour asked for, the user messages it acts on (each message with the
behaviour's rate, up to its most acts at the intensity; a behaviour that must act at least once and drew no
message acts on one of the first half) and what it fixes per goal (an unavailable service, tangents). The
draws depend on the run's seed, the goal id and the behaviour's name only, so a rerun reproduces them and
adding a behaviour never changes another's draws.

:meth:`BehaviourPlan.turn` gives what the simulator is told before user message ``n`` (a
:class:`TurnBehaviour`: the names that act and the instruction text). Given the goal state the simulator sees,
a simulator that sees it is also shown the parts of the goal still open, so a difficult user is reminded of
everything it must still deliver (:meth:`TurnBehaviour.render`). The plan is recorded in ``meta.behaviours`` and rebuilt from it (:meth:`BehaviourPlan.from_json`)
by training and evaluation.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ugst_dspy.behaviours.catalog import GOAL_CLAUSE, get_behaviour
from ugst_dspy.behaviours.spec import BehaviourSpec, as_specs
from ugst_dspy.errors import UgstError
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.state import Category, GoalState

if TYPE_CHECKING:  # the environments (and their databases' code) load only where they are used
    from ugst_dspy.envs.services import UnavailableService

NO_BEHAVIOUR = "None in this message: write it as your goal and the conversation call for."
OPEN_CATEGORIES = (Category.TASK_OBJECTIVE, Category.REQUIREMENT, Category.PREFERENCE)
PLAN_VERSION = 1


@dataclass(frozen=True)
class TurnBehaviour:
    """What the simulator is told before one user message: the behaviours that act on it, their instructions,
    and the parts of the goal still open (shown only to a simulator that sees the goal state)."""

    names: tuple[str, ...] = ()
    instructions: str = NO_BEHAVIOUR
    still_open: tuple[str, ...] = ()

    def render(self, with_state: bool = False) -> str:
        """The ``behaviour`` input: the instructions, and with ``with_state`` the open parts of the goal."""
        if with_state and self.names and self.still_open:
            return (self.instructions + "\nStill open in your goal (cover every one before you stop):\n"
                    + "\n".join(f"- {text}" for text in self.still_open))
        return self.instructions

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class BehaviourPlan:
    """The behaviours of one conversation (see the module docstring)."""

    specs: tuple[BehaviourSpec, ...]
    #: behaviour name -> the user messages (1-based) it acts on, in order
    schedule: Mapping[str, tuple[int, ...]]
    #: behaviour name -> what it fixed for this goal (see :meth:`Behaviour.draw`)
    drawn: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.specs)

    @property
    def label(self) -> str:
        """``impatience+digression``: the group name of ``ugst evaluate --group-by behaviour``."""
        return "+".join(self.names) or "none"

    def acting(self, number: int) -> tuple[str, ...]:
        """The behaviours that act on user message ``number``, in the order they were asked for."""
        return tuple(name for name in self.names if number in self.schedule.get(name, ()))

    def turn(self, number: int, state: GoalState | None = None, rules: RuleSet = DEFAULT_RULES) -> TurnBehaviour:
        """What the simulator is told before user message ``number`` (with the open parts of ``state``, the
        state the simulator would see)."""
        return self.describe(self.acting(number), number, state, rules)

    def describe(self, names: Sequence[str], number: int, state: GoalState | None = None,
                 rules: RuleSet = DEFAULT_RULES) -> TurnBehaviour:
        """The text for the behaviours ``names`` acting on message ``number`` (training rebuilds a recorded
        turn's text this way, from the names the record holds)."""
        if not names:
            return TurnBehaviour()
        specs = {spec.name: spec for spec in self.specs}
        lines = []
        for name in names:
            if name not in specs:
                raise UgstError(f"behaviour {name!r} acts on message {number} but is not in the plan "
                                f"({', '.join(self.names) or 'none'})")
            act = self.schedule.get(name, ()).index(number) if number in self.schedule.get(name, ()) else 0
            lines.append("- " + get_behaviour(name).instruction(specs[name].intensity, self.drawn.get(name, {}), act,
                                                                number))
        text = "In this message:\n" + "\n".join(lines) + "\n" + GOAL_CLAUSE
        left = tuple(open_parts(state, rules)) if state is not None else ()
        return TurnBehaviour(tuple(names), text, left)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": PLAN_VERSION,
            "specs": [spec.to_json() for spec in self.specs],
            "schedule": {name: list(turns) for name, turns in self.schedule.items()},
            "drawn": {name: dict(values) for name, values in self.drawn.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BehaviourPlan:
        """The plan a record holds in ``meta.behaviours``; a malformed one is one line."""
        try:
            specs = as_specs(data["specs"])
            schedule = {str(k): tuple(int(t) for t in v) for k, v in dict(data.get("schedule") or {}).items()}
            drawn = {str(k): dict(v) for k, v in dict(data.get("drawn") or {}).items()}
        except (KeyError, TypeError, ValueError) as err:
            raise UgstError(f"meta.behaviours: not a behaviour plan ({type(err).__name__}: {err})") from None
        return cls(specs=specs, schedule=schedule, drawn=drawn)


def open_parts(state: GoalState, rules: RuleSet = DEFAULT_RULES) -> list[str]:
    """The task objectives, requirements and preferences of ``state`` not yet successful, in goal order."""
    return [located.text for located in state.items()
            if located.category in OPEN_CATEGORIES and not rules.is_success(located.category, located.status)]


def _schedule(spec: BehaviourSpec, rng: random.Random, max_turns: int) -> tuple[int, ...]:
    behaviour = get_behaviour(spec.name)
    most = behaviour.max_acts.get(spec.intensity)
    limit = most if most is not None else max_turns
    rate = spec.effective_rate
    if behaviour.consecutive:
        start = next((turn for turn in range(1, max_turns + 1) if rng.random() < rate), None)
        if start is None and behaviour.at_least_once:
            start = rng.randint(1, max(1, (max_turns + 1) // 2))
        return tuple(range(start, min(max_turns, start + limit - 1) + 1)) if start is not None else ()
    turns = [turn for turn in range(1, max_turns + 1) if rng.random() < rate][:limit]
    if not turns and behaviour.at_least_once:
        turns = [rng.randint(1, max(1, (max_turns + 1) // 2))]
    return tuple(turns)


def make_plan(
    specs: Iterable[BehaviourSpec | str | Mapping[str, Any]],
    goal_id: str,
    *,
    seed: int = 0,
    max_turns: int = 10,
    services: Sequence[UnavailableService] = (),
) -> BehaviourPlan:
    """Draw the plan of one goal (see the module docstring); ``services`` are the environment's unavailable
    services (``ToolEnvironment.unavailable_services``)."""
    specs = tuple(spec.resolved() for spec in as_specs(specs))
    schedule: dict[str, tuple[int, ...]] = {}
    drawn: dict[str, Mapping[str, Any]] = {}
    for spec in specs:
        rng = random.Random(f"ugst-behaviour:{seed}:{goal_id}:{spec.name}")
        schedule[spec.name] = _schedule(spec, rng, max_turns)
        drawn[spec.name] = get_behaviour(spec.name).draw(rng, schedule[spec.name], services)
    return BehaviourPlan(specs=specs, schedule=schedule, drawn=drawn)


def environment_plan(
    specs: Iterable[BehaviourSpec | str | Mapping[str, Any]], goal_id: str, env: str, *, seed: int = 0,
    max_turns: int = 10,
) -> BehaviourPlan:
    """:func:`make_plan` with the unavailable services of environment ``env`` (``tau-retail``, ``multiwoz`` ...)."""
    from ugst_dspy.envs.registry import environment_class

    services = getattr(environment_class(env), "unavailable_services", ())
    return make_plan(specs, goal_id, seed=seed, max_turns=max_turns, services=services)
