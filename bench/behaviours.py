"""Non-collaborative users: per behaviour, how well the user still delivers its goal and how the agent fares.

    python -m bench.behaviours                                  # the embedded model, 2 τ-retail goals, 4 turns
    python -m bench.behaviours --model vllm:MODEL@http://127.0.0.1:8000/v1 --goals 20 --turns 10
    python -m bench.behaviours --env multiwoz --settings none,impatience,all

One ``ugst simulate`` per setting (no behaviour, each behaviour alone at rate 1.0, all four together), the
state-steered simulator against the default tool-calling agent, every role on ``--model``, on the same goals
and seed; each run is written to ``bench/results/behaviours/<model>/<env>-<setting>.jsonl`` (rerunning
resumes). The table: goal alignment (UGST Avg and task objectives), the agent's outcome (τ-bench reward or
MultiWOZ booking, failures split into agent failed / goal not delivered), turns, tool errors, and the rule
check: the share of acting messages that show their behaviour (base: the same check where it did not act).
Results in ``bench/results/behaviours[-NAME].json``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS, save, table, ugst_command

BEHAVIOURS = ("unavailable_service", "digression", "impatience", "incomplete_utterance")
SETTINGS = ("none", *BEHAVIOURS, "all")


def flags(setting: str) -> list[str]:
    """The ``--behaviour`` flags of a setting: each behaviour acts on every message it may (rate 1.0)."""
    names = () if setting == "none" else BEHAVIOURS if setting == "all" else (setting,)
    return [arg for name in names for arg in ("--behaviour", f"{name}:rate=1")]


def run(setting: str, args: argparse.Namespace, out: Path) -> float:
    command = [*ugst_command(), "simulate", "--env", args.env, "--simulator", "state-steered", "--limit",
               str(args.goals), "--turns", str(args.turns), "--model", args.model, "--mode", args.mode,
               "--steering-mode", args.mode, "--seed", str(args.seed), "--out", str(out), *flags(setting)]
    started = time.perf_counter()
    code = subprocess.call(command, stdout=subprocess.DEVNULL)
    if code not in (0, 1):  # 1: some conversations failed (counted apart, retried by a rerun)
        raise SystemExit(f"bench.behaviours: {' '.join(command)} exited {code}")
    return time.perf_counter() - started


def summarise(setting: str, path: Path, seconds: float) -> dict[str, Any]:
    from ugst_dspy.files.conversations import load_conversations
    from ugst_dspy.metrics.agent_outcome import outcome_table
    from ugst_dspy.metrics.behaviours import behaviour_table
    from ugst_dspy.metrics.success import Rate, success_table
    from ugst_dspy.state import Category

    loaded = load_conversations([path], allow_empty=True)
    done = loaded.conversations
    success = success_table(done)[0] if done else None
    outcome = outcome_table(done)[0] if done else None
    checks = behaviour_table(done)
    shown = base = None
    if checks:
        row = checks[0]
        shown = sum(row.shown.values(), start=Rate(0, 0))
        base = sum(row.base.values(), start=Rate(0, 0))
    return {
        "setting": setting, "conversations": len(done), "failed": loaded.failed, "seconds": round(seconds, 1),
        "avg": success.average if success else None,
        "task_objectives": success.categories[Category.TASK_OBJECTIVE].to_json() if success else None,
        "outcome": outcome.to_json() if outcome else None,
        "behaviours": checks[0].to_json() if checks else None,
        "shown": shown.to_json() if shown else None, "base": base.to_json() if base else None,
    }


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def fraction(data: dict[str, Any] | None) -> str:
    return "n/a" if not data or not data.get("total") else f"{percent(data['rate'])} ({data['successes']}/{data['total']})"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded", help="model spec of every role (default: embedded)")
    parser.add_argument("--env", default="tau-retail")
    parser.add_argument("--goals", type=int, default=2)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--mode", default="batched", help="tracker mode of the tables and the steering")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated, from {', '.join(SETTINGS)}")
    parser.add_argument("--name", default="", help="suffix of the result file")
    args = parser.parse_args(argv)
    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        parser.error(f"unknown setting(s) {', '.join(sorted(unknown))}")
    folder = RESULTS / "behaviours" / re.sub(r"[^\w.-]+", "_", args.model)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for setting in settings:
        out = folder / f"{args.env}-{setting}.jsonl"
        seconds = run(setting, args, out)
        rows.append(summarise(setting, out, seconds))
        print(f"bench.behaviours: {setting}: {rows[-1]['conversations']} conversations in {seconds:.0f} s", flush=True)
    header = ["behaviour", "N (failed)", "UGST Avg", "T.O.", "task success", "agent failed", "goal not delivered",
              "turns", "tool errors/conv", "shown when asked", "shown unasked"]
    lines = []
    for row in rows:
        outcome = row["outcome"] or {}
        lines.append([row["setting"], f"{row['conversations']} ({row['failed']})", percent(row["avg"]),
                      fraction(row["task_objectives"]), fraction(outcome.get("task_success")),
                      outcome.get("agent_failed", "n/a"), outcome.get("goal_not_delivered", "n/a"),
                      outcome.get("mean_turns") or "n/a", outcome.get("tool_errors_per_conversation") or 0.0,
                      fraction(row["shown"]), fraction(row["base"])])
    print(table(header, lines))
    data = {"model": args.model, "env": args.env, "goals": args.goals, "turns": args.turns, "mode": args.mode,
            "seed": args.seed, "rows": rows}
    path = save("behaviours" + (f"-{args.name}" if args.name else ""), data)
    print(f"wrote {path}")
    return data


if __name__ == "__main__":
    main()
