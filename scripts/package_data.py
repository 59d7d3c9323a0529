"""Copy a reference benchmark data folder into the package (``ugst_dspy/data/``), gzip'ing the big files.

    python scripts/package_data.py ../shared/data          # rewrite ugst_dspy/data from the reference copy
    python scripts/package_data.py ../shared/data --check  # exit 1 if the packaged copy differs

The databases (``*/db/**.json``) and τ-bench's replay oracle are stored as ``<name>.gz`` (deterministic: no
file name, mtime 0, level 9, so the same input always gives the same bytes); every other file is copied as
it is. ``tests/envs/test_packaged_data.py`` checks the result against the reference, file by file.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "ugst_dspy" / "data"
COMPRESSED = ("*/db/*.json", "*/db/*/*.json", "tau_bench/upstream_replay.jsonl")
"""Relative paths stored gzip'ed: read only by the code, and most of the size."""


def stored_name(relative: str) -> str:
    return relative + ".gz" if any(fnmatch(relative, pattern) for pattern in COMPRESSED) else relative


def packed(source: Path, relative: str) -> bytes:
    data = source.read_bytes()
    return gzip.compress(data, compresslevel=9, mtime=0) if stored_name(relative) != relative else data


def plan(reference: Path) -> dict[str, bytes]:
    """Stored relative path -> stored bytes, for every file of ``reference``."""
    files = sorted(p for p in reference.rglob("*") if p.is_file())
    return {stored_name(p.relative_to(reference).as_posix()): packed(p, p.relative_to(reference).as_posix())
            for p in files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="the folder holding tau_bench/ and multiwoz/")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on any difference")
    args = parser.parse_args(argv)
    if not (args.reference / "tau_bench").is_dir() or not (args.reference / "multiwoz").is_dir():
        print(f"package_data: {args.reference} holds no tau_bench/ and multiwoz/", file=sys.stderr)
        return 2
    wanted = plan(args.reference)
    present = {p.relative_to(TARGET).as_posix() for p in TARGET.rglob("*") if p.is_file()} if TARGET.is_dir() else set()
    if args.check:
        differ = sorted(k for k in wanted if k not in present or (TARGET / k).read_bytes() != wanted[k])
        extra = sorted(present - set(wanted))
        for name in differ + extra:
            print(f"package_data: {name} {'differs' if name in differ else 'is extra'}", file=sys.stderr)
        return 1 if differ or extra else 0
    if TARGET.is_dir():
        shutil.rmtree(TARGET)
    for name, data in wanted.items():
        (TARGET / name).parent.mkdir(parents=True, exist_ok=True)
        (TARGET / name).write_bytes(data)
    raw = sum(p.stat().st_size for p in args.reference.rglob("*") if p.is_file())
    print(f"package_data: {len(wanted)} files, {raw:,} bytes raw -> {sum(map(len, wanted.values())):,} stored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
