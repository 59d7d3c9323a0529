"""The conversation loop: the user simulator and the agent alternate, UGST tracks the goal state each turn.

A conversation ends when the user stops (structured flag or ``Terminate.``), the agent ends it (a terminal
tool such as ``transfer_to_human_agents``), the turn limit is reached, or an error happens. An error (a model
or agent that fails after its retries, a timeout) ends only that conversation: :meth:`ConversationRunner.run`
returns it with ``ended_by: error`` and ``meta.failure`` (the error, the role and the turn), and as a batch
item it raises :class:`~ugst_dspy.runner.failure.ItemFailed`, so the run records it as a failure, never as a
result, and goes on.

With behaviours (a simulator built with ``behaviours=[...]``, ``ugst simulate --behaviour``), each goal gets
its plan (:meth:`~ugst_dspy.modules.simulators.UserSimulator.plan_behaviours`, seeded by the run's seed and the
goal id): before every user message the simulator is told what the behaviours ask of it, with the parts of
its goal still open when it sees the state; each turn records the behaviours that acted on it
(``turn.behaviours``) and ``meta.behaviours`` the plan (``meta.behaviour``, its label, groups tables).

The environment reports the task outcome itself (``ToolEnvironment.task_outcome``: τ-bench's reward, the
MultiWOZ booking outcome), recorded under ``meta[env.outcome_key]`` beside UGST.

The states a record holds come from the evaluation tracker (``config.tracker_mode``, the paper's
per-component judge by default); a simulator that reads the state (state-steered, the SFT teacher) sees the
steering tracker's (``config.steering_tracker_mode``, batched by default), one tracker when the two agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dspy

from ugst_dspy.agents.base import Agent
from ugst_dspy.config import UGSTConfig
from ugst_dspy.conversation import Conversation, EndedBy, Turn
from ugst_dspy.engines.spec import ModelPool, configure_adapter
from ugst_dspy.errors import UgstError
from ugst_dspy.files.goals import Goal
from ugst_dspy.modules.decompose import DecomposeGoal
from ugst_dspy.modules.simulators import UserSimulator
from ugst_dspy.modules.tracker import GoalStateTracker
from ugst_dspy.rules import get_rules
from ugst_dspy.files.failures import error_text
from ugst_dspy.runner.failure import ItemFailed, error_info
from ugst_dspy.run_meta import RunMeta
from ugst_dspy.runner.meta import run_meta, simulation_settings
from ugst_dspy.state import GoalState
from ugst_dspy.stop import STOP_MESSAGE
from ugst_dspy.usage import UsageRecorder

ROLES_USED = ("decomposer", "tracker", "simulator", "agent")


def make_agent(spec: str, pool: ModelPool, max_steps: int = 5) -> Agent:
    """``dspy`` (the default tool-calling agent on the agent role's model), ``endpoint:MODEL@URL`` or ``human``.

    An endpoint agent takes the agent role's temperature, request timeout and retries."""
    from ugst_dspy.agents import DSPyToolAgent, EndpointAgent, HumanAgent

    if spec in ("", "dspy"):
        agent = DSPyToolAgent(max_steps=max_steps)
        agent.set_lm(pool.lm("agent"))
        return agent
    if spec.startswith("endpoint:"):
        role = pool.config.role("agent")
        return EndpointAgent.from_spec(spec, max_steps=max_steps, temperature=role.temperature,
                                       timeout=float(role.timeout), max_retries=pool.config.retries("agent"))
    if spec == "human":
        return HumanAgent()
    raise UgstError(f"bad agent {spec!r}: use dspy, endpoint:MODEL@URL or human")


@dataclass
class ConversationRunner:
    """Runs one goal to a conversation record. Thread-safe: workers share one runner."""

    config: UGSTConfig
    env_name: str
    simulator: UserSimulator
    agent: Agent
    pool: ModelPool
    track: bool = True
    data_dir: Path | None = None
    program: str | None = None

    def __post_init__(self) -> None:
        rules = self.rules = get_rules(self.config.rules)
        if self.simulator.behaviours:  # a behaviour the environment cannot serve fails here, before any model runs
            self.simulator.plan_behaviours("check", self.env_name, seed=self.config.seed,
                                           max_turns=self.config.max_turns)
        self.decomposer = DecomposeGoal(rules)
        self.tracker = GoalStateTracker(mode=self.config.tracker_mode, rules=rules)
        # What a state-steered simulator sees: the recorded (evaluation) state when the two modes agree, else
        # the state of a second tracker in the steering mode (docs/ugst.md, "Two trackers").
        steering = self.config.steering_tracker_mode
        separate = self.simulator.uses_state and steering != self.config.tracker_mode
        self.steering_tracker: GoalStateTracker | None = None
        if separate:
            self.steering_tracker = GoalStateTracker(mode=steering, rules=rules)
        self.decomposer.set_lm(self.pool.lm("decomposer"))
        self.tracker.set_lm(self.pool.lm("tracker"))
        if self.steering_tracker is not None:
            self.steering_tracker.set_lm(self.pool.lm("tracker"))
        self.simulator.set_lm(self.pool.lm("simulator"))

    def __call__(self, goal: Goal) -> dict[str, Any]:
        """The conversation record of ``goal``; a conversation that failed raises :class:`ItemFailed`."""
        conversation = self.run(goal)
        if conversation.ended_by == "error":
            failure = conversation.meta.failure
            raise ItemFailed(failure.to_json() if failure is not None else {}, conversation.to_json())
        return conversation.to_json()

    def describe(self) -> dict[str, Any]:
        """The part of ``meta`` that is the same for every conversation of this runner."""
        meta = run_meta(self.config, ROLES_USED)
        meta.update({
            "env": self.env_name,
            "simulator": self.simulator.name,
            "simulator_options": self.simulator.options(),
            "program": self.program,
            "agent": getattr(self.agent, "name", type(self.agent).__name__),
            "tracked": self.track,
        })
        return meta

    def settings(self) -> dict[str, Any]:
        """What a rerun into the same output must match (see :func:`simulation_settings`)."""
        return simulation_settings(RunMeta.model_validate(self.describe()))

    def run(self, goal: Goal) -> Conversation:
        """The conversation of ``goal``; every model call of it goes to one server of a role's several
        (:func:`~ugst_dspy.engines.affinity.conversation_affinity`), so the server's prefix cache serves it."""
        from ugst_dspy.engines.affinity import conversation_affinity

        with conversation_affinity(goal.id):
            return self._run(goal)

    def _run(self, goal: Goal) -> Conversation:
        from ugst_dspy.envs.registry import make_env

        env = make_env(self.env_name, self.data_dir)
        plan = None
        if self.simulator.behaviours:
            plan = self.simulator.plan_behaviours(goal.id, self.env_name, seed=self.config.seed,
                                                  max_turns=self.config.max_turns)
        usage = UsageRecorder()
        started = time.perf_counter()
        turns: list[Turn] = []
        initial: GoalState | None = None
        ended_by: EndedBy = "max_turns"
        error: dict[str, Any] | None = None
        illegal = steering_illegal = 0
        role, turn_number = "decomposer", 0  # where the conversation is, for a failure's record
        with dspy.context(adapter=configure_adapter(self.config)):
            try:
                if self.track or self.simulator.uses_state:
                    with usage.role("decomposer"):
                        initial = self.decomposer(goal=goal.instruction).state
                state = steer = initial  # the recorded (evaluation) state and the one the simulator sees
                for turn_number in range(1, self.config.max_turns + 1):
                    role = "simulator"
                    acting = plan.turn(turn_number, steer, self.rules) if plan is not None else None
                    with usage.role("simulator"):
                        said = self.simulator(goal=goal.instruction, turns=turns, state=steer,
                                              max_turns=self.config.max_turns, behaviour=acting)
                    if said.stop and not said.reply:
                        # The stop message is the last turn (docs/ugst.md, "The user's stop message"): the marker,
                        # the reasoning, no agent reply; its state is the one after the agent's last answer.
                        stop_turn = Turn(user=STOP_MESSAGE, agent="", tool_calls=[],
                                         state=state if self.track else None)
                        if said.reasoning:
                            stop_turn.reasoning = said.reasoning
                        if acting is not None:
                            stop_turn.behaviours = list(acting.names)
                        if self.track and state is not None:
                            stop_turn.illegal_updates = []
                        turns.append(stop_turn)
                        ended_by = "user_stop"
                        break
                    turn = Turn(user=said.reply, agent="", tool_calls=[], state=None)
                    if said.reasoning:
                        turn.reasoning = said.reasoning
                    if acting is not None:
                        turn.behaviours = list(acting.names)
                    agent_stop = False
                    if not said.stop:
                        role = "agent"
                        with usage.role("agent"):
                            reply = self.agent.respond(turns, said.reply, env)
                        turn.agent, turn.tool_calls, agent_stop = reply.text, reply.tool_calls, reply.stop or env.done
                    turns.append(turn)
                    if self.track and state is not None:
                        role = "tracker"
                        with usage.role("tracker"):
                            out = self.tracker(goal=goal.instruction, state=state, turns=turns)
                        state = out.state
                        turn.state = state
                        turn.illegal_updates = [item.to_json() for item in out.illegal]
                        illegal += len(out.illegal)
                        if self.simulator.uses_state and self.steering_tracker is None:
                            steer, steering_illegal = state, steering_illegal + len(out.illegal)
                    steerer = self.steering_tracker if self.steering_tracker is not None else self.tracker
                    goes_on = not (said.stop or agent_stop) and turn_number < self.config.max_turns
                    needed = steerer is not self.tracker or not self.track  # else the recorded state steers
                    if self.simulator.uses_state and steer is not None and goes_on and needed:
                        role = "tracker"
                        with usage.role("tracker"):
                            out = steerer(goal=goal.instruction, state=steer, turns=turns)
                        steer, steering_illegal = out.state, steering_illegal + len(out.illegal)
                    if said.stop:
                        ended_by = "user_stop"
                        break
                    if agent_stop:
                        ended_by = "agent_stop"
                        break
            except Exception as err:  # the conversation ends here; the run goes on
                ended_by = "error"
                error = error_info(err, role, turn_number or None)
        meta = self.describe()
        meta.update({
            "illegal_updates": illegal,
            "seconds": round(time.perf_counter() - started, 3),
            "usage": usage.to_json(),
        })
        if self.simulator.uses_state:
            separate = self.steering_tracker is not None
            mode = self.config.steering_tracker_mode if separate else self.config.tracker_mode
            meta["steering"] = {"mode": mode, "separate_tracker": separate, "illegal_updates": steering_illegal}
        if error is not None:
            meta["error"] = error_text(error)
            meta["failure"] = error
        if plan is not None:
            meta["behaviours"] = plan.to_json()
            meta["behaviour"] = plan.label
        outcome = env.task_outcome(goal.fields, [turn.agent for turn in turns])
        if outcome is not None and env.outcome_key:
            meta[env.outcome_key] = outcome
        return Conversation(id=goal.id, goal_id=goal.id, instruction=goal.instruction, initial_state=initial,
                            turns=turns, ended_by=ended_by, meta=RunMeta.model_validate(meta))
