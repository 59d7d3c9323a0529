"""What the τ-bench environments share: the data files, a cached database, argument checks and three tools.

The files live under ``<data_dir>/tau_bench/`` (see its ``SOURCE.md``): ``db/<domain>/<table>.json``, the
agent policy ``policy/<domain>.md``, the OpenAI tool schemas ``tools/<domain>.json`` and the task files
``<domain>_<split>.jsonl``, each read through :mod:`ugst_dspy.envs.datafiles` (so ``<table>.json.gz`` serves
for ``<table>.json``). They are read, never written. A domain's database is read once per process and
kept as pickled bytes, so no environment can alter the cached copy; each environment unpickles its own
private copy (a deep copy, many times faster than ``copy.deepcopy`` on these tables).

Tool behaviour was written from the tool descriptions and the policies, not copied from upstream code.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import json
import operator
import pickle
import weakref
from collections.abc import Mapping
from pathlib import Path
from types import MethodType
from typing import Any, ClassVar

from ugst_dspy.envs import datafiles
from ugst_dspy.envs.base import ToolEnvironment, ToolFunction
from ugst_dspy.envs.datafiles import data_dir as find_data_dir
from ugst_dspy.errors import UgstError
from ugst_dspy.errors import field_path

TABLES: dict[str, tuple[str, ...]] = {
    "retail": ("orders", "products", "users"),
    "airline": ("flights", "reservations", "users"),
}
SPLITS: dict[str, tuple[str, ...]] = {"retail": ("test", "train", "dev"), "airline": ("test",)}
TRANSFER_RESULT = "Transfer successful"


# -- files -------------------------------------------------------------------------------------------


def tau_dir(root: str | Path | None = None) -> Path:
    """The ``tau_bench`` folder inside the benchmark data folder (see :func:`ugst_dspy.envs.datafiles.data_dir`)."""
    folder = find_data_dir(root) / "tau_bench"
    if not folder.is_dir():
        raise UgstError(f"τ-bench data not found: {folder} is missing (pass --data-dir or set UGST_DATA_DIR)")
    return folder


def _domain(domain: str) -> str:
    if domain not in TABLES:
        raise UgstError(f"unknown τ-bench domain {domain!r} (known: {', '.join(TABLES)})")
    return domain


def tasks_path(domain: str, split: str = "test", root: str | Path | None = None) -> Path:
    """The task file of a domain's split, e.g. ``tau_bench/retail_test.jsonl`` (a one-line error when absent:
    it is the default goal file, opened by path)."""
    if split not in SPLITS[_domain(domain)]:
        raise UgstError(f"τ-bench {domain} has no split {split!r} (known: {', '.join(SPLITS[domain])})")
    path = tau_dir(root) / f"{domain}_{split}.jsonl"
    datafiles.stored_path(path)
    return path


def load_tasks(domain: str, split: str = "test", root: str | Path | None = None) -> list[dict[str, Any]]:
    """The tasks of a split as dicts ``{"id", "user_id", "instruction", "actions", "outputs", ...}``."""
    return datafiles.read_json_lines(tasks_path(domain, split, root))


@functools.cache
def _policy(domain: str, folder: Path) -> str:
    return datafiles.read_text(folder / "policy" / f"{domain}.md")


@functools.cache
def _schemas(domain: str, folder: Path) -> tuple[dict[str, Any], ...]:
    return tuple(datafiles.read_json(folder / "tools" / f"{domain}.json"))


@functools.cache
def _database_bytes(domain: str, folder: Path) -> bytes:
    tables = {table: datafiles.read_json(folder / "db" / domain / f"{table}.json") for table in TABLES[domain]}
    return pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL)


def load_policy(domain: str, root: str | Path | None = None) -> str:
    """The agent policy of a domain (the agent's system prompt), read once per process."""
    return _policy(_domain(domain), tau_dir(root).resolve())


def load_tool_schemas(domain: str, root: str | Path | None = None) -> list[dict[str, Any]]:
    """A private copy of the domain's OpenAI function schemas, in file order."""
    return copy.deepcopy(list(_schemas(_domain(domain), tau_dir(root).resolve())))


def load_database(domain: str, root: str | Path | None = None) -> dict[str, Any]:
    """A private copy of the domain's database ``{table: {key: record}}`` (the files are read once)."""
    return pickle.loads(_database_bytes(_domain(domain), tau_dir(root).resolve()))


# -- values ------------------------------------------------------------------------------------------


def as_json(value: Any) -> str:
    """A look-up result: the record(s) as a JSON string."""
    return json.dumps(value, ensure_ascii=False)


def money(value: float) -> int | float:
    """An amount rounded to cents; whole amounts as ``int``, so ``250`` and ``250.0`` store (and hash) alike."""
    rounded = round(float(value), 2)
    return int(rounded) if rounded.is_integer() else rounded


def count(value: float) -> int:
    """A whole number given as ``3`` or ``3.0``, stored as ``int``."""
    return int(value)


# -- the tools both domains have ---------------------------------------------------------------------

_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_SIGNS = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_ALLOWED_CHARACTERS = set("0123456789+-*/(). ")
MAX_EXPRESSION = 1000


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _SIGNS:
        return _SIGNS[type(node.op)](_evaluate(node.operand))
    raise ValueError("only numbers, + - * /, parentheses and spaces are allowed")


def calculate(expression: str) -> str:
    """The value of an arithmetic expression, rounded to 2 decimals; parsed, never ``eval``-ed."""
    if not isinstance(expression, str) or not expression.strip():
        return "Error: the expression is empty"
    if not set(expression) <= _ALLOWED_CHARACTERS:
        return "Error: invalid characters in expression (allowed: numbers, + - * /, parentheses and spaces)"
    if len(expression) > MAX_EXPRESSION:
        return f"Error: the expression is longer than {MAX_EXPRESSION} characters"
    try:
        return str(round(float(_evaluate(ast.parse(expression.strip(), mode="eval"))), 2))
    except SyntaxError:
        return "Error: the expression is not valid arithmetic"
    except ZeroDivisionError:
        return "Error: division by zero"
    except (OverflowError, RecursionError, MemoryError):
        return "Error: the expression is too large to calculate"
    except ValueError as err:
        return f"Error: {err}"


def think(thought: str) -> str:
    """A no-op: the thought stays in the call log; nothing is looked up or changed."""
    return ""


def transfer_to_human_agents(summary: str) -> str:
    """Hand the user to a human agent; the environment marks the conversation done."""
    return TRANSFER_RESULT


# -- the environment base ----------------------------------------------------------------------------


class TauEnvironment(ToolEnvironment):
    """A τ-bench domain: its schemas (from ``tools/<domain>.json``), policy and a private database copy.

    Arguments are checked against the tool's JSON schema before the tool runs, so a tool body can trust
    their types; a mismatch comes back as an ``"Error: ..."`` string naming the argument.
    """

    domain: ClassVar[str] = ""
    terminal_tools = frozenset({"transfer_to_human_agents"})
    outcome_key = "tau_bench"
    #: the tools both domains share, by name; every other tool of ``tools/<domain>.json`` is a method of the
    #: same name (see :meth:`register_tools`)
    shared_tools: ClassVar[dict[str, ToolFunction]] = {
        "calculate": calculate, "think": think, "transfer_to_human_agents": transfer_to_human_agents,
    }

    def __init__(self, data_dir: str | Path | None = None) -> None:
        root = find_data_dir(data_dir)
        # the base deep-copies what it is given; the database is installed after it, already a private copy
        super().__init__({}, load_policy(self.domain, root), load_tool_schemas(self.domain, root))
        self.db = load_database(self.domain, root)
        self.data_dir = root
        self._validators: dict[str, Any] = {}
        self.register_tools()

    def register_tools(self) -> None:
        """Register every tool the domain's schema file names: a shared tool, else the method of that name (a
        schema tool without one is a one-line error: the agent would be offered a tool that cannot run)."""
        for name in self.tool_names:
            function = self.shared_tools.get(name) or getattr(self, name, None)
            if not callable(function):
                raise UgstError(f"{type(self).__name__} has no tool {name!r} of tools/{self.domain}.json")
            self.register(function, name)

    def register(self, function: ToolFunction, name: str | None = None) -> None:
        """Register a tool. A method of this environment is bound to a weak proxy of it, so the tool table
        makes no reference cycle: a finished environment and its database are freed at once, without
        waiting for the garbage collector."""
        if inspect.ismethod(function) and function.__self__ is self:
            function = MethodType(function.__func__, weakref.proxy(self))
        super().register(function, name)

    @classmethod
    def default_goals_path(cls, data_dir: str | Path | None = None) -> Path:
        """The domain's test task file, the goals a run uses by default."""
        return tasks_path(cls.domain, "test", data_dir)

    @classmethod
    def training_goals_path(cls, data_dir: str | Path | None = None) -> Path:
        """The domain's train task file (τ-retail), the default goals of teacher runs; a domain without a
        train split (τ-airline) is a one-line error."""
        if "train" not in SPLITS[cls.domain]:
            raise UgstError(f"τ-bench {cls.domain} has no train split (only {', '.join(SPLITS[cls.domain])}, kept "
                            "for evaluation): give --goals FILE, e.g. τ-retail train goals or ugst goals multiwoz "
                            "--split train")
        return tasks_path(cls.domain, "train", data_dir)

    @classmethod
    def check_goal(cls, goal: Mapping[str, Any], data_dir: str | Path | None = None) -> str | None:
        """Refuses MultiWOZ goals and the tasks of another domain: a ``user_id`` not in this domain's
        users, ``actions`` that call tools it does not have (see :mod:`ugst_dspy.envs.goal_checks`)."""
        from ugst_dspy.envs.goal_checks import tau_goal_problem

        return tau_goal_problem(cls.domain, goal, data_dir)

    def task_outcome(self, goal: Mapping[str, Any], agent_messages: list[str]) -> dict[str, Any] | None:
        """The τ-bench outcome of a task (``actions`` present): the gold actions replayed on a fresh
        environment of this class and the databases compared, and the task's outputs looked for in
        ``agent_messages`` (see :mod:`ugst_dspy.envs.tau_outcome`); ``None`` for a goal without gold actions."""
        if "actions" not in goal:
            return None
        from ugst_dspy.envs.tau_outcome import outcome

        return outcome(type(self), dict(goal), self, agent_messages).to_json()

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Run a tool (see :meth:`ToolEnvironment.call`) after checking its arguments against its schema."""
        if name in self.functions and isinstance(arguments, dict):
            problem = self._argument_problem(name, arguments)
            if problem:
                self.calls.append({"name": name, "arguments": dict(arguments)})
                return problem
        return super().call(name, arguments)

    def _argument_problem(self, name: str, arguments: dict[str, Any]) -> str | None:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import best_match

        parameters = self.schema(name)["function"].get("parameters", {})
        if any(key not in arguments for key in parameters.get("required", [])):
            return None  # the base names the missing arguments
        if name not in self._validators:
            self._validators[name] = Draft202012Validator(parameters)
        error = best_match(self._validators[name].iter_errors(arguments))
        if error is None:
            return None
        where = field_path(error.absolute_path)
        return f"Error: invalid argument {where} for {name}: {error.message}" if where else f"Error: {error.message}"
