"""Saving and loading programs: DSPy's JSON state plus a ``ugst`` entry that says what to rebuild.

A program file is what ``dspy.Module.save`` writes, with one more top-level key,
``{"ugst": {"kind": "simulator" | "evaluator", "name": ..., "options": {...}}}``; DSPy's own ``load``
ignores it, and :func:`load_program` uses it to build the right module before loading the state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dspy

from ugst_dspy.errors import UgstError
from ugst_dspy.modules.simulators import SIMULATORS, ReasoningSimulator, UserSimulator

STATES_DIR = Path(__file__).resolve().parent / "states"


def build_program(kind: str, name: str, options: dict[str, Any] | None = None) -> dspy.Module:
    """A fresh (uncompiled) program: a simulator by name, or the UGST evaluator."""
    options = dict(options or {})
    if kind == "simulator":
        if name not in SIMULATORS:
            raise UgstError(f"unknown simulator {name!r} (use one of {', '.join(SIMULATORS)})")
        cls = SIMULATORS[name]
        if cls is ReasoningSimulator:
            return ReasoningSimulator(max_turns=options.get("max_turns", 10), use_state=options.get("use_state", False))
        return cls(max_turns=options.get("max_turns", 10))
    if kind == "evaluator":
        from ugst_dspy.programs.evaluator import UGSTEvaluator
        from ugst_dspy.rules import get_rules

        return UGSTEvaluator(mode=options.get("mode", "batched"), rules=get_rules(options.get("rules")))
    raise UgstError(f"unknown program kind {kind!r} (use simulator or evaluator)")


def describe(program: dspy.Module) -> dict[str, Any]:
    """The ``ugst`` entry of a program file for ``program``."""
    if isinstance(program, UserSimulator):
        options: dict[str, Any] = {"max_turns": program.max_turns}
        if isinstance(program, ReasoningSimulator):
            options["use_state"] = program.uses_state
        return {"kind": "simulator", "name": program.name, "options": options}
    from ugst_dspy.programs.evaluator import UGSTEvaluator

    if isinstance(program, UGSTEvaluator):
        return {"kind": "evaluator", "name": "ugst", "options": {"mode": program.tracker.mode, "rules": program.rules.name}}
    raise UgstError(f"cannot save a {type(program).__name__}: not a ugst-dspy program")


def save_program(program: dspy.Module, path: str | Path) -> Path:
    """Save with DSPy's ``save`` and add the ``ugst`` entry; returns the path."""
    path = Path(path)
    if path.suffix != ".json":
        raise UgstError(f"{path}: a program file ends with .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["ugst"] = describe(program)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_program(path: str | Path) -> dspy.Module:
    """Rebuild the program a file describes and load its (compiled) state with DSPy's ``load``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UgstError(f"{path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise UgstError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    entry = data.get("ugst")
    if not isinstance(entry, dict) or "kind" not in entry or "name" not in entry:
        raise UgstError(f"{path}: field 'ugst': missing; not a ugst-dspy program file")
    program = build_program(entry["kind"], entry["name"], entry.get("options"))
    try:
        program.load(str(path))
    except (KeyError, ValueError, TypeError) as err:
        raise UgstError(f"{path}: the saved state does not fit a {entry['kind']} {entry['name']!r}: {err}") from None
    return program


def shipped_program(name: str) -> Path:
    """The path of a program state shipped with the package (``programs/states/<name>.json``)."""
    path = STATES_DIR / f"{name}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in STATES_DIR.glob("*.json")))
        raise UgstError(f"no shipped program {name!r} (shipped: {known})")
    return path
