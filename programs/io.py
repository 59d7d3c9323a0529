"""Saving and loading programs: DSPy's JSON state plus a ``ugst`` entry that says what to rebuild.

A program file is what ``dspy.Module.save`` writes, with one more top-level key,
``{"ugst": {"kind": "simulator" | "evaluator", "name": ..., "options": {...}}}``; DSPy's own ``load``
ignores it, and :func:`load_program` uses it to build the right module before loading the state.

:func:`load_program` checks the file before DSPy reads it: UTF-8 JSON, an object, a ``ugst`` entry of the
right types (:data:`OPTION_CHECKS`) and, for every predictor of the program, a state of the shape DSPy's
``save`` writes. A bad file is one line naming the file and the key (``prog.json: field 'ugst.options':
must be an object, not a string``).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import dspy

from ugst_dspy.errors import UgstError
from ugst_dspy.files.jsonl import decode_text
from ugst_dspy.modules.simulators import SIMULATORS, UserSimulator

STATES_DIR = Path(__file__).resolve().parent / "states"
KINDS = ("simulator", "evaluator")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rule_set(value: Any) -> bool:
    from ugst_dspy.rules import RULE_SETS

    return value in RULE_SETS


#: what each program option may hold (options a kind does not use are ignored)
OPTION_CHECKS: dict[str, tuple[Any, str]] = {
    "max_turns": (lambda v: _is_int(v) and v >= 1, "a whole number of at least 1"),
    "use_state": (lambda v: isinstance(v, bool), "true or false"),
    "countdown": (lambda v: isinstance(v, bool), "true or false"),
    "mode": (lambda v: v in ("batched", "per_component"), "batched or per_component"),
    "rules": (lambda v: isinstance(v, str) and _rule_set(v), "a known rule set name"),
    "behaviours": (lambda v: _behaviours(v), "a list of behaviours ({name, rate, intensity}) of known names"),
}


def _behaviours(value: Any) -> bool:
    from ugst_dspy.behaviours import as_specs

    if not isinstance(value, list):
        return False
    try:
        as_specs(value)
    except UgstError:
        return False
    return True


def build_program(kind: str, name: str, options: dict[str, Any] | None = None) -> dspy.Module:
    """A fresh (uncompiled) program: a simulator by name, or the UGST evaluator."""
    options = dict(options or {})
    if kind == "simulator":
        if name not in SIMULATORS:
            raise UgstError(f"unknown simulator {name!r} (use one of {', '.join(SIMULATORS)})")
        cls = SIMULATORS[name]
        accepted = inspect.signature(cls.__init__).parameters  # options another kind of simulator records are ignored
        return cls(**{key: value for key, value in options.items() if key in accepted})
    if kind == "evaluator":
        from ugst_dspy.programs.evaluator import UGSTEvaluator
        from ugst_dspy.rules import get_rules

        return UGSTEvaluator(mode=options.get("mode", "per_component"), rules=get_rules(options.get("rules")))
    raise UgstError(f"unknown program kind {kind!r} (use simulator or evaluator)")


def describe(program: dspy.Module) -> dict[str, Any]:
    """The ``ugst`` entry of a program file for ``program``."""
    if isinstance(program, UserSimulator):
        return {"kind": "simulator", "name": program.name, "options": program.program_options()}
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
    data = _read_object(path)
    entry = data.get("ugst")
    if entry is None or (isinstance(entry, dict) and ("kind" not in entry or "name" not in entry)):
        raise UgstError(f"{path}: field 'ugst': missing; not a ugst-dspy program file")
    _check_entry(path, entry)
    try:
        program = build_program(entry["kind"], entry["name"], entry.get("options"))
    except UgstError as err:
        raise UgstError(f"{path}: field 'ugst.name': {err}") from None
    _check_state(path, data, program)
    try:
        program.load(str(path))
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise UgstError(f"{path}: the saved state does not fit a {entry['kind']} {entry['name']!r}: {err}") from None
    return program


def _kind(value: Any) -> str:
    names = ((bool, "a boolean"), (str, "a string"), (int, "a number"), (float, "a number"), (list, "a list"),
             (dict, "an object"))
    return "null" if value is None else next((n for t, n in names if isinstance(value, t)), type(value).__name__)


def _read_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; a one-line error for a missing, non-UTF-8, non-JSON or non-object file."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UgstError(f"{path}: {err.strerror}") from None
    text = decode_text(raw, path, "a program file is UTF-8 JSON")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise UgstError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise UgstError(f"{path}: a program file is a JSON object (DSPy's saved state), not {_kind(data)}")
    return data


def _check_entry(path: Path, entry: Any) -> None:
    """The ``ugst`` entry: ``kind`` and ``name`` strings, ``options`` an object of known value types."""
    if not isinstance(entry, dict):
        raise UgstError(f"{path}: field 'ugst': must be an object, not {_kind(entry)}")
    for key in ("kind", "name"):
        if not isinstance(entry[key], str):
            raise UgstError(f"{path}: field 'ugst.{key}': must be a string, not {_kind(entry[key])}")
    if entry["kind"] not in KINDS:
        raise UgstError(f"{path}: field 'ugst.kind': unknown program kind {entry['kind']!r} (use {' or '.join(KINDS)})")
    options = entry.get("options")
    if options is None:
        return
    if not isinstance(options, dict):
        raise UgstError(f"{path}: field 'ugst.options': must be an object, not {_kind(options)}")
    for key, value in options.items():
        test, what = OPTION_CHECKS.get(key, (None, ""))
        if test is not None and not test(value):
            raise UgstError(f"{path}: field 'ugst.options.{key}': must be {what}, got {value!r}")


def _check_state(path: Path, data: dict[str, Any], program: dspy.Module) -> None:
    """Every predictor's saved state has the shape DSPy's ``save`` writes (checked before DSPy reads it)."""
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("dependency_versions"), dict):
        raise UgstError(f"{path}: field 'metadata.dependency_versions': missing or not an object "
                        "(a program file is what dspy.Module.save writes)")
    for name, _ in program.named_predictors():
        state = data.get(name)
        if not isinstance(state, dict):
            problem = "missing" if state is None else f"must be an object, not {_kind(state)}"
            raise UgstError(f"{path}: field '{name}': {problem} (the state of predictor {name!r})")
        for key, kinds, what in (("demos", list, "a list"), ("signature", dict, "an object")):
            if not isinstance(state.get(key), kinds):
                raise UgstError(f"{path}: field '{name}.{key}': must be {what}, not {_kind(state.get(key))}")
        if "lm" not in state or not isinstance(state["lm"], (dict, type(None))):
            raise UgstError(f"{path}: field '{name}.lm': must be an object or null, not {_kind(state.get('lm'))}")
        for number, demo in enumerate(state["demos"]):
            if not isinstance(demo, dict):
                raise UgstError(f"{path}: field '{name}.demos[{number}]': must be an object, not {_kind(demo)}")
        signature = state["signature"]
        if not isinstance(signature.get("instructions"), str):
            raise UgstError(f"{path}: field '{name}.signature.instructions': must be a string, "
                            f"not {_kind(signature.get('instructions'))}")
        fields = signature.get("fields")
        if not isinstance(fields, list):
            raise UgstError(f"{path}: field '{name}.signature.fields': must be a list, not {_kind(fields)}")
        for number, item in enumerate(fields):
            where = f"{name}.signature.fields[{number}]"
            if not isinstance(item, dict):
                raise UgstError(f"{path}: field '{where}': must be an object, not {_kind(item)}")
            for key in ("prefix", "description"):
                if not isinstance(item.get(key), str):
                    raise UgstError(f"{path}: field '{where}.{key}': must be a string, not {_kind(item.get(key))}")


def shipped_program(name: str) -> Path:
    """The path of a program state shipped with the package (``programs/states/<name>.json``)."""
    path = STATES_DIR / f"{name}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in STATES_DIR.glob("*.json")))
        raise UgstError(f"no shipped program {name!r} (shipped: {known})")
    return path
