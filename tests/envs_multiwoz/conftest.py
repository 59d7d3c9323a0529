"""Fixtures: the MultiWOZ data installed with the package, its raw databases and a generated goal set."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ugst_dspy.envs.datafiles import PACKAGED_DATA

DATA = PACKAGED_DATA
DB_DIR = DATA / "multiwoz" / "db"


def file_digests() -> dict[str, str]:
    """SHA-256 of every file under the MultiWOZ data folder."""
    root = DATA / "multiwoz"
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def raw(data_dir: Path) -> dict[str, Any]:
    """The databases as read straight from the (gzip'ed) files: the facts the tools must agree with."""
    return {name: json.loads(gzip.decompress((DB_DIR / f"{name}_db.json.gz").read_bytes()))
            for name in ("attraction", "hospital", "hotel", "police", "restaurant", "taxi", "train")}


@pytest.fixture(scope="session")
def digests_before(data_dir: Path) -> dict[str, str]:
    return file_digests()


@pytest.fixture(scope="session")
def goals(data_dir: Path, digests_before: dict[str, str]) -> list[Any]:
    from ugst_dspy.envs.multiwoz_goals import generate_multiwoz_goals

    return generate_multiwoz_goals(120, seed=11, data_dir=data_dir)


@pytest.fixture
def env(data_dir: Path, digests_before: dict[str, str]) -> Any:
    from ugst_dspy.envs.multiwoz import MultiWOZEnv

    return MultiWOZEnv(data_dir, seed=3)
