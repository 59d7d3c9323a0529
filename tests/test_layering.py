"""The house rules of shared/ARCHITECTURE.md, checked: imports point down the floors, and the ground knows no LLM.

Every module of the package (``ugst_dspy``, ``programs`` and ``optimizers`` as installed) has a floor; an
import of a module on a higher floor fails this test, whether at the top of the file or inside a function.
The ground (state, rules, schemas, files, metrics, report and the small pure modules beside them) may not
import dspy, torch, transformers, trl, vllm or outlines at all, not even lazily: neither by an import
statement nor through ``ugst_dspy.extras.require`` or ``importlib.import_module``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

GROUND, SIGNATURES, MODULES, PROGRAMS, RUNNER, CLI = range(6)
FLOORS: dict[str, int] = {
    # ground: pure data and the numbers computed from it
    **dict.fromkeys(["state", "rules", "schemas", "files", "metrics", "report", "conversation", "render", "errors",
                     "stop", "quoting", "transcript", "_version", "config_checks", "extras", "record", "run_meta"], GROUND),
    # floor 1: signatures, reward, engines, environments, behaviours, the run configuration, usage accounting
    **dict.fromkeys(["signatures", "reward", "engines", "envs", "behaviours", "serving", "config", "usage"], SIGNATURES),
    **dict.fromkeys(["modules", "agents"], MODULES),
    "programs": PROGRAMS,
    **dict.fromkeys(["runner", "optimizers"], RUNNER),
    **dict.fromkeys(["cli", "__main__"], CLI),
}
HEAVY = ("dspy", "torch", "transformers", "trl", "vllm", "outlines", "llama_cpp")
FOLDERS = {"ugst_dspy": ("ugst_dspy",), "programs": ("ugst_dspy", "programs"), "optimizers": ("ugst_dspy", "optimizers")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    parts = [*FOLDERS[parts[0]], *parts[1:]]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor(module: str) -> int | None:
    """The floor of a ``ugst_dspy`` module (``None`` for another package)."""
    parts = module.split(".")
    if parts[0] != "ugst_dspy":
        return None
    if len(parts) == 1:
        return CLI  # the package's public API gathers every floor
    if parts[1] not in FLOORS:
        raise AssertionError(f"ugst_dspy.{parts[1]} has no floor in tests/test_layering.py: give it one")
    return FLOORS[parts[1]]


def imports(tree: ast.AST) -> list[tuple[str, int]]:
    """Every module the code imports or loads by name (``require("torch", ...)``, ``import_module("x")``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, node.lineno))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in ("require", "import_module", "find_spec") and isinstance(node.args[0].value, str):
                found.append((node.args[0].value, node.lineno))
    return found


def sources() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (REPO / folder).rglob("*.py"))


def violations() -> list[str]:
    found = []
    for path in sources():
        module = module_name(path)
        own = floor(module)
        if module == "ugst_dspy" or module.endswith(".__main__"):
            continue
        for name, line in imports(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(REPO)}:{line}"
            other = floor(name)
            if other is not None and own is not None and other > own:
                found.append(f"{where}: {module} (floor {own}) imports {name} (floor {other})")
            if own == GROUND and name.split(".")[0] in HEAVY:
                found.append(f"{where}: {module} is ground and loads {name}")
    return found


def test_imports_point_down_the_floors_and_the_ground_knows_no_llm():
    assert violations() == []


def test_the_checker_finds_what_it_is_for(tmp_path):
    tree = ast.parse("import torch\nfrom ugst_dspy.runner import x\ndef f():\n    require('transformers', 'a', 'b')\n")
    assert [name for name, _ in imports(tree)] == ["torch", "ugst_dspy.runner", "transformers"]
    assert floor("ugst_dspy.metrics.success") == GROUND and floor("ugst_dspy.optimizers.grpo") == RUNNER
    with pytest.raises(AssertionError, match="has no floor"):
        floor("ugst_dspy.somewhere_new")
