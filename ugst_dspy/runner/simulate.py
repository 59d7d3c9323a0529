"""The conversation loop: the user simulator and the agent alternate, UGST tracks the goal state each turn.

A conversation ends when the user stops (structured flag or ``Terminate.``), the agent ends it (a terminal
tool such as ``transfer_to_human_agents``), the turn limit is reached, or an error happens; an error ends
only that conversation: it is recorded with its reason and the run goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dspy

from ugst_dspy.agents.base import Agent
from ugst_dspy.config import UGSTConfig
from ugst_dspy.conversation import Conversation, Turn
from ugst_dspy.engines.spec import ModelPool, configure_adapter
from ugst_dspy.errors import UgstError
from ugst_dspy.files.goals import Goal
from ugst_dspy.modules.decompose import DecomposeGoal
from ugst_dspy.modules.simulators import UserSimulator
from ugst_dspy.modules.tracker import GoalStateTracker
from ugst_dspy.rules import get_rules
from ugst_dspy.runner.meta import run_meta
from ugst_dspy.state import GoalState
from ugst_dspy.usage import UsageRecorder

ROLES_USED = ("decomposer", "tracker", "simulator", "agent")


def make_agent(spec: str, pool: ModelPool, max_steps: int = 5) -> Agent:
    """``dspy`` (the default tool-calling agent on the agent role's model), ``endpoint:MODEL@URL`` or ``human``."""
    from ugst_dspy.agents import DSPyToolAgent, EndpointAgent, HumanAgent

    if spec in ("", "dspy"):
        agent = DSPyToolAgent(max_steps=max_steps)
        agent.set_lm(pool.lm("agent"))
        return agent
    if spec.startswith("endpoint:"):
        return EndpointAgent.from_spec(spec, max_steps=max_steps, temperature=pool.config.role("agent").temperature)
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
        rules = get_rules(self.config.rules)
        self.decomposer = DecomposeGoal(rules)
        self.tracker = GoalStateTracker(mode=self.config.tracker_mode, rules=rules)  # type: ignore[arg-type]
        self.decomposer.set_lm(self.pool.lm("decomposer"))
        self.tracker.set_lm(self.pool.lm("tracker"))
        self.simulator.set_lm(self.pool.lm("simulator"))

    def __call__(self, goal: Goal) -> dict[str, Any]:
        return self.run(goal).to_json()

    def run(self, goal: Goal) -> Conversation:
        from ugst_dspy.envs.registry import make_env

        env = make_env(self.env_name, self.data_dir)
        usage = UsageRecorder()
        started = time.perf_counter()
        turns: list[Turn] = []
        initial: GoalState | None = None
        ended_by, error = "max_turns", None
        illegal = 0
        with dspy.context(adapter=configure_adapter(self.config)):
            try:
                if self.track or self.simulator.uses_state:
                    with usage.role("decomposer"):
                        initial = self.decomposer(goal=goal.instruction).state
                state = initial
                for _ in range(self.config.max_turns):
                    with usage.role("simulator"):
                        said = self.simulator(goal=goal.instruction, turns=turns, state=state,
                                              max_turns=self.config.max_turns)
                    if said.stop and not said.reply:
                        ended_by = "user_stop"
                        break
                    turn = Turn(user=said.reply, agent="", tool_calls=[], state=None)
                    if said.reasoning:
                        turn.reasoning = said.reasoning  # type: ignore[attr-defined]
                    agent_stop = False
                    if not said.stop:
                        with usage.role("agent"):
                            reply = self.agent.respond(turns, said.reply, env)
                        turn.agent, turn.tool_calls, agent_stop = reply.text, reply.tool_calls, reply.stop or env.done
                    turns.append(turn)
                    if state is not None and (self.track or self.simulator.uses_state):
                        with usage.role("tracker"):
                            out = self.tracker(goal=goal.instruction, state=state, turns=turns)
                        state = out.state
                        turn.state = state
                        turn.illegal_updates = [item.to_json() for item in out.illegal]  # type: ignore[attr-defined]
                        illegal += len(out.illegal)
                    if said.stop:
                        ended_by = "user_stop"
                        break
                    if agent_stop:
                        ended_by = "agent_stop"
                        break
            except Exception as err:  # the conversation ends here; the run goes on
                ended_by = "error"
                error = " ".join(f"{type(err).__name__}: {err}".split())[:500]
        meta = run_meta(self.config, ROLES_USED)
        meta.update({
            "env": self.env_name,
            "simulator": self.simulator.name,
            "program": self.program,
            "agent": getattr(self.agent, "name", type(self.agent).__name__),
            "tracked": self.track,
            "illegal_updates": illegal,
            "seconds": round(time.perf_counter() - started, 3),
            "usage": usage.to_json(),
        })
        if error is not None:
            meta["error"] = error
        outcome = self.outcome(env, goal, turns)
        if outcome is not None:
            meta["tau_bench"] = outcome
        return Conversation(id=goal.id, goal_id=goal.id, instruction=goal.instruction, initial_state=initial,
                            turns=turns, ended_by=ended_by, meta=meta)  # type: ignore[arg-type]

    def outcome(self, env: Any, goal: Goal, turns: list[Turn]) -> dict[str, Any] | None:
        """The τ-bench outcome (gold actions replayed, databases compared) beside UGST, for τ-bench goals."""
        if not self.env_name.startswith("tau-") or "actions" not in goal.fields:
            return None
        from ugst_dspy.envs.tau_outcome import outcome

        return outcome(type(env), goal.fields, env, [turn.agent for turn in turns]).to_json()
