"""Executors: what fanning conversations out to Ray workers costs against the default thread pool.

    python -m bench.executors                                  # 4, 16 and 32 goals, 2 workers, 20 ms per model call
    python -m bench.executors --goals 8,32 --workers 2 --delay 0.05 --repeats 2

One ``ugst simulate`` per executor (``--executor thread``, ``--executor ray`` with no address: a local
cluster started and stopped by the run) and goal count, as a user runs it, on the scripted model of the tests
(``tests/scripted_world.py``; every call sleeps ``--delay`` seconds, like a model that answers in that time
without using the CPU). Wall time is the whole command, split by the times its progress lines appear on
standard error: *to first record* (imports, for Ray the cluster's start and each worker's imports, and the
first conversation), *per conversation* in the steady state (from the first record to the last, divided by
the conversations in between) and *after the last* (the table and, for Ray, stopping the cluster). Ray's
overhead is the difference with the thread pool's. In-conversation seconds are the records' own
``meta.seconds`` (the time inside the conversation loop, wherever it ran).

This measures overhead on whatever machine runs it; on the 2-core machine, Ray's workers compete with the
driver and the cluster's own processes for the same two cores, so there is nothing to gain here: Ray pays
off when the workers are on other machines, or when the conversations are CPU-bound in one process.
Results in ``bench/results/executors[-NAME].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import save, table, ugst_command

REPO = Path(__file__).resolve().parents[1]
EXECUTORS = ("thread", "ray")


def run(executor: str, goals: int, args: argparse.Namespace) -> dict[str, Any]:
    """One ``ugst simulate`` into a fresh output: wall seconds and what its records say."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "runs.jsonl"
        command = [*ugst_command(), "simulate", "--env", "tau-retail", "--limit", str(goals), "--turns",
                   str(args.turns), "--model", "scripted:scripted_world:respond", "--workers", str(args.workers),
                   "--executor", executor, "--out", str(out)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)]),
               "SCRIPTED_DELAY": str(args.delay)}
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert process.stderr is not None
        lines, finished = [], []  # stderr, and when each "[k/N] ..." progress line came
        for line in process.stderr:
            lines.append(line)
            if re.match(r"\[\d+/\d+\] ", line):
                finished.append(time.perf_counter() - started)
        seconds = time.perf_counter() - started if process.wait() == 0 else 0.0
        if process.returncode:
            raise SystemExit(f"bench.executors: {' '.join(command)} exited {process.returncode}:\n"
                             + "".join(lines)[-2000:])
        records = [json.loads(line) for line in out.read_text().splitlines()]
    if len(records) != goals:
        raise SystemExit(f"bench.executors: {executor}, {goals} goals: {len(records)} records")
    calls = sum(role["calls"] for r in records for role in r["meta"]["usage"].values())
    steady = (finished[-1] - finished[0]) / (goals - 1) if goals > 1 else None
    return {"executor": executor, "goals": goals, "seconds": round(seconds, 2),
            "to_first_record": round(finished[0], 2),
            "steady_seconds_per_conversation": round(steady, 3) if steady is not None else None,
            "after_last_record": round(seconds - finished[-1], 2),
            "conversation_seconds": round(sum(r["meta"]["seconds"] for r in records) / goals, 3),
            "calls_per_conversation": round(calls / goals, 1)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goals", default="4,16,32", help="comma-separated goal counts")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds each scripted model call sleeps")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each setting (the fastest is kept)")
    parser.add_argument("--name", default="", help="suffix of the result file")
    args = parser.parse_args(argv)
    counts = sorted({int(n) for n in args.goals.split(",") if n.strip()})
    rows = []
    for goals in counts:
        for executor in EXECUTORS:  # alternate, so a busy spell of the machine hits both
            runs = [run(executor, goals, args) for _ in range(args.repeats)]
            rows.append(min(runs, key=lambda r: r["seconds"]) | {"all_seconds": [r["seconds"] for r in runs]})
            print(f"bench.executors: {executor}, {goals} goals: {rows[-1]['seconds']:.1f} s", flush=True)
    thread_rows = {r["goals"]: r for r in rows if r["executor"] == "thread"}
    lines = []
    for row in rows:
        base = thread_rows[row["goals"]]
        steady = row["steady_seconds_per_conversation"]
        lines.append([row["executor"], row["goals"], row["seconds"], row["to_first_record"],
                      "n/a" if steady is None else steady, row["after_last_record"], row["conversation_seconds"],
                      (row["seconds"] - base["seconds"]) / row["goals"]])
    print(table(["executor", "goals", "wall s", "to first record s", "steady s/conv", "after last s",
                 "in-conversation s/conv", "overhead s/conv vs thread (wall)"], lines))
    data = {"workers": args.workers, "turns": args.turns, "delay": args.delay, "repeats": args.repeats,
            "model": "scripted:scripted_world:respond", "ray": metadata.version("ray"), "rows": rows}
    path = save("executors" + (f"-{args.name}" if args.name else ""), data)
    print(f"wrote {path}")
    return data


if __name__ == "__main__":
    main()
