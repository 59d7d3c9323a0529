"""Fixtures for the environment tests: the real τ-bench data beside the repo (skipped when absent), fresh
environments, the raw database files read without the environment code, and a guard that the shared
files are never written."""

from __future__ import annotations

import gc
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from ugst_dspy.errors import UgstError


def _root() -> Path | None:
    from ugst_dspy.envs.base import data_dir

    try:
        root = data_dir()
    except UgstError:
        return None
    return root if (root / "tau_bench").is_dir() else None


ROOT = _root()


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="session")
def tau_root() -> Path:
    if ROOT is None:
        pytest.skip("τ-bench data not found (set UGST_DATA_DIR or put it at ../shared/data)")
    return ROOT


@pytest.fixture(scope="session", autouse=True)
def shared_files_untouched():
    """Hash the shared data before the session and check it is byte-for-byte the same after."""
    if ROOT is None:
        yield
        return
    before = file_hashes(ROOT / "tau_bench")
    yield
    assert file_hashes(ROOT / "tau_bench") == before, "the shared τ-bench files were modified"


@pytest.fixture(autouse=True)
def gc_paused():
    """No garbage collection during a test: each environment holds tens of thousands of containers, which
    the collector scans again and again while they live; reference counting frees them (twice as fast)."""
    enabled = gc.isenabled()
    gc.disable()
    yield
    if enabled:
        gc.enable()


@pytest.fixture(scope="session")
def raw(tau_root: Path) -> dict[str, dict[str, Any]]:
    """The database files as JSON, read directly (``raw["retail"]["orders"]``), to check tools against."""
    folder = tau_root / "tau_bench" / "db"
    return {
        domain: {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in (folder / domain).glob("*.json")}
        for domain in ("retail", "airline")
    }


@pytest.fixture
def retail(tau_root: Path):
    from ugst_dspy.envs.tau_retail import RetailEnv

    return RetailEnv(tau_root)


@pytest.fixture
def airline(tau_root: Path):
    from ugst_dspy.envs.tau_airline import AirlineEnv

    return AirlineEnv(tau_root)


def ok(env, name: str, **arguments: Any) -> Any:
    """Call a tool that must succeed; its result parsed from JSON."""
    result = env.call(name, arguments)
    assert not result.startswith("Error"), result
    return json.loads(result)


def refused(env, name: str, **arguments: Any) -> str:
    """Call a tool that must refuse; check it changed nothing and return its message."""
    before = snapshot(env)
    result = env.call(name, arguments)
    assert result.startswith("Error: "), result
    assert snapshot(env) == before
    return result


def snapshot(env) -> bytes:
    """The environment's database as bytes (faster than its hash; any change, even of key order, shows)."""
    return pickle.dumps(env.db, protocol=pickle.HIGHEST_PROTOCOL)
