"""The τ-bench outcome check: did the conversation leave the database as the task's gold actions do, and did
the agent tell the user what the task says it must?

The gold ``actions`` of a task are replayed on a fresh environment and the two final databases are compared
by :func:`ugst_dspy.envs.base.db_hash` (upstream's hash: sorted keys, ``ensure_ascii=False``). When the task
lists ``outputs``, each must also appear in some agent message (case ignored, the message's commas ignored,
as upstream's ``calculate_reward`` does). The reward is 1.0 when both hold, else 0.0. On the as-published
environments (``tau-retail``, ``tau-airline``) this is τ-bench's reward exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ugst_dspy.envs.base import ToolEnvironment


@dataclass(frozen=True)
class TaskOutcome:
    """The verdict on one conversation: ``reward`` 1.0 or 0.0 and why."""

    reward: float
    db_match: bool
    #: one flag per task output, in the task's order: whether some agent message says it
    outputs_found: list[bool] = field(default_factory=list)
    #: what replaying the gold actions returned as errors, ``"<index> <tool>: Error: ..."`` (information only)
    gold_errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "reward": self.reward,
            "db_match": self.db_match,
            "outputs_found": list(self.outputs_found),
            "gold_errors": list(self.gold_errors),
        }


def replay(env: ToolEnvironment, actions: Iterable[dict[str, Any]]) -> list[str]:
    """Run ``[{"name", "kwargs"}]`` on ``env`` in order (``"arguments"`` is accepted for ``"kwargs"``);
    the tool results, errors included."""
    return [env.call(action["name"], action.get("kwargs", action.get("arguments", {}))) for action in actions]


EnvFactory = Callable[..., ToolEnvironment]


def gold_hash(env_cls: EnvFactory, task: dict[str, Any], data_dir: str | Path | None = None) -> tuple[str, list[str]]:
    """The database hash after the task's gold actions on a fresh ``env_cls(data_dir)``, and the errors they
    met."""
    env = env_cls(data_dir) if data_dir is not None else env_cls()
    results = replay(env, task.get("actions", []))
    errors = [
        f"{index} {action['name']}: {result}"
        for index, (action, result) in enumerate(zip(task.get("actions", []), results))
        if result.startswith("Error")
    ]
    return env.state_hash(), errors


def output_found(output: str, messages: Iterable[str]) -> bool:
    """Whether ``output`` appears in one of ``messages``, as upstream checks it: case ignored, the message's
    commas ignored (``"1093.34"`` is found in ``"1,093.34"``; an output with a comma would never be found, and
    no τ-bench task has one)."""
    wanted = output.lower()
    return any(wanted in _normalise(message) for message in messages)


def outcome(
    env_cls: EnvFactory,
    task: dict[str, Any],
    final_db_hash_or_env: str | ToolEnvironment,
    agent_messages: list[str],
    data_dir: str | Path | None = None,
) -> TaskOutcome:
    """Score a conversation on a τ-bench task from its final database (a hash or the environment itself)
    and the agent's messages to the user.

    ``env_cls`` makes the environment the gold actions replay on: the class, or a factory such as
    ``functools.partial(AirlineEnv, policy_checks=False)`` when the conversation ran on one made so.
    ``data_dir`` defaults to the final environment's own, else :func:`ugst_dspy.envs.datafiles.data_dir`.
    """
    final = final_db_hash_or_env
    if isinstance(final, ToolEnvironment):
        if data_dir is None:
            data_dir = getattr(final, "data_dir", None)
        final = final.state_hash()
    expected, errors = gold_hash(env_cls, task, data_dir)
    db_match = final == expected
    found = [output_found(str(output), agent_messages) for output in task.get("outputs") or []]
    reward = 1.0 if db_match and all(found) else 0.0
    return TaskOutcome(reward=reward, db_match=db_match, outputs_found=found, gold_errors=errors)


def _normalise(text: str) -> str:
    return text.lower().replace(",", "")
