"""The environment interface: a domain's tools, its agent policy and a private copy of its database.

Environments are plain Python over JSON databases (no DSPy inside). Each conversation gets its own
environment object, whose database is a fresh copy of the shared files; the files themselves are never
written. Tools are functions taking keyword arguments and returning a string (JSON for look-ups); a tool
that refuses (a failed precondition, a missing record) returns an ``"Error: ..."`` string instead of raising.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from ugst_dspy.envs.services import UnavailableService

ToolFunction = Callable[..., str]


def db_hash(db: Any) -> str:
    """A stable hash of a database (key order does not matter)."""
    return hashlib.sha256(json.dumps(db, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class ToolEnvironment:
    """Common machinery: tool schemas and dispatch, a per-episode database copy, the end flag.

    Subclasses set ``name``, fill ``self.db`` and register their tools with :meth:`register`.
    """

    name: str = ""
    #: tools whose call ends the conversation (τ-bench: ``transfer_to_human_agents``)
    terminal_tools: frozenset[str] = frozenset()
    #: what a user may ask for that this environment cannot provide (its policy forbids it or no tool does
    #: it), so the agent's right answer is to decline: the ``unavailable_service`` behaviour draws from these
    #: (see :mod:`ugst_dspy.envs.services`); the base declares none
    unavailable_services: tuple[UnavailableService, ...] = ()
    #: the key under which a conversation record keeps :meth:`task_outcome` (``meta[outcome_key]``), or
    #: ``None`` when the environment reports no outcome of its own
    outcome_key: ClassVar[str | None] = None

    @classmethod
    def check_goal(cls, goal: Mapping[str, Any], data_dir: str | Path | None = None) -> str | None:
        """Why the goal record ``goal`` is not one of this environment's (``field 'F': ...``), or ``None``
        when it may be (see :mod:`ugst_dspy.envs.goal_checks`). The base accepts every goal."""
        return None

    @classmethod
    def training_goals_path(cls, data_dir: str | Path | None = None) -> Path:
        """The goal file teacher runs use by default: never an evaluation file. The base has none (a
        one-line error saying what to pass instead)."""
        from ugst_dspy.errors import UgstError

        raise UgstError(f"{cls.name or cls.__name__} has no training goals: give --goals FILE (not its evaluation "
                        "goals; generated MultiWOZ training goals: ugst goals multiwoz --split train)")

    def __init__(self, db: dict[str, Any], policy: str, schemas: list[dict[str, Any]]) -> None:
        self.db = copy.deepcopy(db)
        self.policy = policy
        self.schemas = schemas
        self.functions: dict[str, ToolFunction] = {}
        self.done = False
        self.calls: list[dict[str, Any]] = []

    # -- tools -----------------------------------------------------------------------------------

    def register(self, function: ToolFunction, name: str | None = None) -> None:
        self.functions[name or function.__name__] = function

    @property
    def tool_names(self) -> list[str]:
        return [schema["function"]["name"] for schema in self.schemas]

    def schema(self, name: str) -> dict[str, Any]:
        for schema in self.schemas:
            if schema["function"]["name"] == name:
                return schema
        raise KeyError(name)

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Run a tool; unknown tools and bad arguments come back as error strings, never as exceptions."""
        arguments = dict(arguments or {})
        self.calls.append({"name": name, "arguments": arguments})
        function = self.functions.get(name)
        if function is None:
            return f"Error: unknown tool {name!r}"
        required = self.schema(name)["function"].get("parameters", {}).get("required", [])
        missing = [key for key in required if key not in arguments]
        if missing:
            return f"Error: missing argument(s) {', '.join(missing)} for {name}"
        try:
            result = function(**arguments)
        except TypeError as err:
            return f"Error: bad arguments for {name}: {err}"
        except (KeyError, ValueError) as err:
            return f"Error: {err}"
        if name in self.terminal_tools:
            self.done = True
        return result

    def state_hash(self) -> str:
        return db_hash(self.db)

    # -- the outcome -----------------------------------------------------------------------------

    def task_outcome(self, goal: Mapping[str, Any], agent_messages: list[str]) -> dict[str, Any] | None:
        """The environment's own verdict on the conversation that just ran on it, as JSON (``reward`` and
        why), from the goal record ``goal`` and the agent's messages to the user; ``None`` when the goal
        gives nothing to check. It is reported beside UGST, never instead of it. The base checks nothing."""
        return None
