"""Does a goal belong to an environment? τ-bench retail, τ-bench airline and MultiWOZ goals told apart.

A goal is a record ``{"id", "instruction", ...}``; what its other fields say decides where it belongs:

- a τ-bench task names its ``domain``, its ``user_id`` (a user of that domain's database) and its gold
  ``actions`` (calls of that domain's tools);
- a MultiWOZ goal carries a ``goal`` object of domains (the corpus' goal files), or the ``domains`` and
  ``source: "multiwoz-challenge"`` of ``ugst goals multiwoz``.

A goal with none of these fields (your own ``{"id", "instruction"}``) belongs anywhere. Each check returns
the first problem as ``field 'F': what is wrong``, or ``None``; :func:`check_goals` refuses a goal file in
one line naming the file and the first goal that does not belong.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ugst_dspy.envs.multiwoz import DB_DOMAINS as MULTIWOZ_DOMAINS
from ugst_dspy.envs.tau_common import TABLES
from ugst_dspy.errors import UgstError

MULTIWOZ_SOURCE = "multiwoz-challenge"  # the ``source`` of ``ugst goals multiwoz`` goals
TAU_DOMAINS: tuple[str, ...] = tuple(TABLES)


def _multiwoz_field(goal: Mapping[str, Any]) -> str | None:
    """The field that marks ``goal`` as a MultiWOZ goal, if any."""
    if isinstance(goal.get("goal"), Mapping):
        return "goal"
    if goal.get("source") == MULTIWOZ_SOURCE:
        return "source"
    domains = goal.get("domains")
    if isinstance(domains, list) and domains and all(d in MULTIWOZ_DOMAINS for d in domains):
        return "domains"
    return None


def _tau_field(goal: Mapping[str, Any]) -> str | None:
    """The field that marks ``goal`` as a τ-bench task, if any."""
    if goal.get("domain") in TAU_DOMAINS:
        return "domain"
    return next((key for key in ("user_id", "actions") if key in goal), None)


@functools.cache
def _tau_names(domain: str, folder: Path) -> tuple[frozenset[str], frozenset[str]]:
    """``(user ids, tool names)`` of a τ-bench domain (read once per process and data folder)."""
    from ugst_dspy.envs.tau_common import load_database, load_tool_schemas

    users = frozenset(load_database(domain, folder).get("users", {}))
    tools = frozenset(schema["function"]["name"] for schema in load_tool_schemas(domain, folder))
    return users, tools


def tau_goal_problem(domain: str, goal: Mapping[str, Any], data_dir: str | Path | None = None) -> str | None:
    """Why ``goal`` is no task of τ-bench ``domain`` (``field 'F': ...``), or ``None`` when it may be."""
    marker = _multiwoz_field(goal)
    if marker is not None:
        return f"field '{marker}': a MultiWOZ goal, not a τ-bench {domain} task"
    other = goal.get("domain")
    if other in TAU_DOMAINS and other != domain:
        return f"field 'domain': a τ-bench {other} task, not one of τ-bench {domain}"
    if "user_id" not in goal and "actions" not in goal:
        return None
    from ugst_dspy.envs.tau_common import tau_dir

    users, tools = _tau_names(domain, tau_dir(data_dir).parent.resolve())
    if "user_id" in goal:
        user = goal["user_id"]
        if not isinstance(user, str):
            return f"field 'user_id': must be a string, not {type(user).__name__}"
        if user not in users:
            return f"field 'user_id': no user {user!r} in the τ-bench {domain} database"
    actions = goal.get("actions", [])
    if not isinstance(actions, list):
        return f"field 'actions': must be a list of tool calls, not {type(actions).__name__}"
    for number, action in enumerate(actions):
        name = action.get("name") if isinstance(action, Mapping) else None
        if not isinstance(name, str):
            return f"field 'actions[{number}].name': must be a tool name"
        if name not in tools:
            return f"field 'actions[{number}].name': {name!r} is not a tool of τ-bench {domain}"
    return None


def multiwoz_goal_problem(goal: Mapping[str, Any]) -> str | None:
    """Why ``goal`` is no MultiWOZ goal (``field 'F': ...``), or ``None`` when it may be."""
    marker = _tau_field(goal)
    if marker is not None:
        kind = goal.get("domain") if goal.get("domain") in TAU_DOMAINS else ""
        return f"field '{marker}': a τ-bench {kind + ' ' if kind else ''}task, not a MultiWOZ goal"
    if "goal" in goal and not isinstance(goal["goal"], Mapping):
        return f"field 'goal': must be an object of MultiWOZ domains, not {type(goal['goal']).__name__}"
    domains = goal.get("domains", [])
    if not isinstance(domains, list):
        return f"field 'domains': must be a list of MultiWOZ domains, not {type(domains).__name__}"
    for number, name in enumerate(domains):
        if name not in MULTIWOZ_DOMAINS:
            return f"field 'domains[{number}]': {name!r} is not a MultiWOZ domain ({', '.join(MULTIWOZ_DOMAINS)})"
    return None


def check_goals(env: str, goals: Iterable[Any], source: str | Path, data_dir: str | Path | None = None) -> None:
    """Refuse the first goal (a :class:`~ugst_dspy.files.goals.Goal`) that does not belong to ``env``."""
    from ugst_dspy.envs.registry import environment_class

    cls = environment_class(env)
    for goal in goals:
        problem = cls.check_goal(goal.to_json(), data_dir)
        if problem is not None:
            raise UgstError(f"{source}: goal {goal.id!r} is not a goal of --env {env}: {problem}")
