"""Built as a wheel and installed on its own, the package runs its main commands from any folder, on the data
it carries: no repository, no ``../shared``, no ``UGST_DATA_DIR``.

The wheel is built offline from a copy of the sources (nothing is written into the repository) and installed
without dependencies into a fresh virtual environment, which borrows this environment's packages through a
``.pth`` line naming its site-packages (a plain path: the editable install's finder there stays off, so only
the wheel's own files can be imported as ``ugst_dspy``).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

SOURCES = ("pyproject.toml", "README.md", "ugst_dspy", "programs", "optimizers")
SCRIPTED = {"tau-retail": "scripted:scripted_world:respond", "tau-airline": "scripted:airline_world:respond"}
AIRLINE_WORLD = '''"""The scripted world of tests/scripted_world.py with an airline agent: one look-up, then a reply."""
import json

from scripted_world import respond as retail


def respond(call):
    if "action" not in (call.schema or {}).get("properties", {}):
        return retail(call)
    if "get_user_details" not in (call.field("tool_results") or ""):
        return {"action": "call_tool", "tool_name": "get_user_details",
                "tool_arguments": json.dumps({"user_id": "mia_li_3668"}), "message": ""}
    return {"action": "respond", "tool_name": "think", "tool_arguments": "{}", "message": "Where to?"}
'''

pytestmark = pytest.mark.slow


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, work / "src" / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            (work / "src").mkdir(exist_ok=True)
            shutil.copy2(source, work / "src" / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         str(work / "src"), "-w", str(work / "dist")], cwd=work)
    (built,) = (work / "dist").glob("ugst_dspy-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment holding the wheel; returns its ``bin`` folder."""
    root = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(root)])
    python = root / "bin" / "python"
    purelib = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    borrowed = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    (purelib / "_borrowed_from_the_test_environment.pth").write_text("\n".join(dict.fromkeys(borrowed)) + "\n")
    # --target installs even though the borrowed packages hold an ugst-dspy already (this editable one);
    # --python makes the console script start the new environment's interpreter
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
         "--target", str(purelib), str(wheel)])
    if not (root / "bin" / "ugst").is_file():  # --target puts scripts beside the packages
        shutil.move(str(purelib / "bin" / "ugst"), root / "bin" / "ugst")
    return root / "bin"


def test_the_built_wheel_carries_the_data(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = REPO / "ugst_dspy" / "data"
    expected = {p.relative_to(REPO).as_posix() for p in data.rglob("*") if p.is_file()}
    assert sorted(expected - names) == []
    assert sorted(n for n in names if n.startswith("ugst_dspy/data/") and n not in expected) == []
    assert "ugst_dspy/programs/states/state-steered.json" in names and "ugst_dspy/optimizers/grpo.py" in names


@pytest.fixture
def elsewhere(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A folder outside the repository with the scripted model beside it, and an environment without any
    data folder setting."""
    responders = tmp_path / "responders"
    responders.mkdir()
    shutil.copy2(REPO / "tests" / "scripted_world.py", responders / "scripted_world.py")
    (responders / "airline_world.py").write_text(AIRLINE_WORLD)
    env = {k: v for k, v in os.environ.items()
           if k not in ("UGST_DATA_DIR", "UGST_SHARED_DATA", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PYTHONPATH=str(responders), HF_HUB_OFFLINE="1", UGST_CACHE_DIR=str(tmp_path / "cache"))
    work = tmp_path / "somewhere" / "else"
    work.mkdir(parents=True)
    return work, env


def test_the_installed_wheel_imports_its_own_files(venv: Path, elsewhere):
    work, env = elsewhere
    code = ("import ugst_dspy, ugst_dspy.optimizers, ugst_dspy.envs.datafiles as d; "
            "print(ugst_dspy.__file__); print(ugst_dspy.optimizers.__file__); print(d.data_dir())")
    lines = run([str(venv / "python"), "-c", code], cwd=work, env=env).stdout.split()
    root = venv.parent.resolve()
    assert all(Path(line).resolve().is_relative_to(root) for line in lines), lines
    assert lines[2].endswith("ugst_dspy/data")
    assert (venv / "ugst").read_text().splitlines()[0] == f"#!{venv / 'python'}"  # not this environment's


@pytest.mark.parametrize("env_name", ["tau-retail", "tau-airline"])
def test_simulate_runs_from_any_folder_on_the_packaged_data(venv: Path, elsewhere, env_name: str):
    work, env = elsewhere
    run([str(venv / "ugst"), "simulate", "--env", env_name, "--limit", "1", "--turns", "1",
         "--model", SCRIPTED[env_name], "--out", "runs.jsonl"], cwd=work, env=env)
    (record,) = [json.loads(line) for line in (work / "runs.jsonl").read_text().splitlines()]
    assert record["goal_id"] == f"{env_name.removeprefix('tau-')}-test-0" and len(record["turns"]) == 1
    looked_up = json.loads(record["turns"][0]["tool_calls"][-1]["result"])  # read from the packaged database
    assert looked_up["user_id" if env_name == "tau-retail" else "email"] == {
        "tau-retail": "yusuf_rossi_9620", "tau-airline": "mia.li3818@example.com"}[env_name]


def test_goals_multiwoz_runs_from_any_folder_on_the_packaged_data(venv: Path, elsewhere):
    work, env = elsewhere
    run([str(venv / "ugst"), "goals", "multiwoz", "--n", "2", "--seed", "1", "--out", "x.jsonl"], cwd=work, env=env)
    goals = [json.loads(line) for line in (work / "x.jsonl").read_text().splitlines()]
    assert [goal["id"] for goal in goals] == ["mwc-1-0000", "mwc-1-0001"] and all(g["instruction"] for g in goals)
    assert len((work / "x.gold.jsonl").read_text().splitlines()) == 2
