"""Fixtures for the environment tests: the τ-bench data installed with the package, fresh environments, the
raw database files read without the environment code, and a guard that the data files are never written."""

from __future__ import annotations

import gc
import gzip
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from ugst_dspy.envs.datafiles import PACKAGED_DATA

ROOT = PACKAGED_DATA


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="session")
def tau_root() -> Path:
    return ROOT


@pytest.fixture(scope="session", autouse=True)
def data_files_untouched():
    """Hash the data before the session and check it is byte-for-byte the same after."""
    before = file_hashes(ROOT / "tau_bench")
    yield
    assert file_hashes(ROOT / "tau_bench") == before, "the τ-bench data files were modified"


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
    """The database files (stored gzip'ed) as JSON, read directly (``raw["retail"]["orders"]``), to check tools
    against."""
    folder = tau_root / "tau_bench" / "db"
    return {
        domain: {path.name.removesuffix(".json.gz"): json.loads(gzip.decompress(path.read_bytes()))
                 for path in (folder / domain).glob("*.json.gz")}
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
