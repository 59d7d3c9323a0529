"""The packaged data (``ugst_dspy/data``) is the reference copy, byte for byte once decompressed, file by file:
none missing, none extra. The reference sits beside the repository (``../shared/data``, read-only) or where
``$UGST_SHARED_DATA`` says; ``python scripts/package_data.py ../shared/data`` rewrites the packaged copy."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pytest

from ugst_dspy.envs import datafiles

REFERENCE = Path(os.environ.get("UGST_SHARED_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))


@pytest.fixture(scope="module")
def reference() -> Path:
    if not (REFERENCE / "tau_bench").is_dir():
        pytest.skip(f"the reference copy of the data is not here ({REFERENCE.resolve()}); set UGST_SHARED_DATA")
    return REFERENCE


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_packaged_copy_is_the_reference_file_by_file(reference: Path):
    packaged = datafiles.data_files(datafiles.PACKAGED_DATA)
    expected = {p.relative_to(reference).as_posix(): p for p in sorted(reference.rglob("*")) if p.is_file()}
    assert sorted(set(expected) - set(packaged)) == [], "missing from ugst_dspy/data"
    assert sorted(set(packaged) - set(expected)) == [], "in ugst_dspy/data but not in the reference"
    differ = [name for name, path in expected.items()
              if digest(datafiles.read_bytes(datafiles.PACKAGED_DATA / name)) != digest(path.read_bytes())]
    assert differ == [], "differ from the reference (run scripts/package_data.py)"


def test_the_big_files_are_stored_gzipped_and_reproducibly(reference: Path):
    packaged = datafiles.data_files(datafiles.PACKAGED_DATA)
    packed = {name for name, path in packaged.items() if path.name.endswith(".gz")}
    assert {name for name in packaged if "/db/" in name} | {"tau_bench/upstream_replay.jsonl"} == packed
    for name in packed:  # no name or time in the header: the same input always gives the same bytes
        header = packaged[name].read_bytes()[:10]
        assert header[:4] == b"\x1f\x8b\x08\x00" and header[4:8] == b"\x00\x00\x00\x00", name
    orders = packaged["tau_bench/db/retail/orders.json"].read_bytes()
    assert orders == gzip.compress((reference / "tau_bench/db/retail/orders.json").read_bytes(), 9, mtime=0)
    raw = sum(p.stat().st_size for p in reference.rglob("*") if p.is_file())
    stored = sum(p.stat().st_size for p in packaged.values())
    assert stored < raw / 3, (raw, stored)
