"""The README's main job, with what its records say: wall time, peak memory, turns per conversation, the
decomposition's repeated items and each role's calls, tokens and seconds (``meta.usage``).

``ugst simulate --env tau-retail --limit N --out OUT`` runs as a user runs it (the installed ``ugst``, the
default model of every role), into a fresh ``OUT`` that is kept for reading. Peak memory is the command's
own high-water resident set (``VmHWM``, polled every 0.2 s). A run that passes ``--max-seconds`` is
interrupted (SIGINT: the finished conversations are kept, exit 130) and the table says so. Progress goes to
``OUT.log``. With ``--trace`` the same command runs through :mod:`bench.trace_calls`, which writes every
LM call (role, tokens, seconds) to ``OUT.calls`` as it ends, so even an interrupted run shows its time.

    python -m bench.main_job_record --out /tmp/mainjob.jsonl
    python -m bench.main_job_record --out /tmp/one.jsonl --limit 1 --max-seconds 900
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import save, table, ugst_command
from ugst_dspy.conversation import Conversation
from bench.roles import repeated

ROLE_ORDER = ("decomposer", "simulator", "agent", "tracker")


def describe(conversation: Conversation) -> dict[str, Any]:
    state = conversation.initial_state
    texts = [located.item.text for located in state.items()] if state is not None else []
    meta = conversation.meta
    return {
        "id": conversation.key,
        "ended_by": conversation.ended_by,
        "turns": len(conversation.turns),
        "sub_components": len(texts),
        "repeated": repeated(texts),
        "sub_component_texts": texts,
        "seconds": meta.seconds,
        "usage": {role: used.to_json() for role, used in (meta.usage or {}).items()},
        "reward": (conversation.outcome or {}).get("reward"),
    }


def trace_summary(path: Path) -> dict[str, Any]:
    """Per role: calls, tokens, seconds, the slowest call, and calls that hit the token limit (from the trace)."""
    calls = [json.loads(line) for line in path.open()] if path.exists() else []
    roles: dict[str, Any] = {}
    for call in calls:
        r = roles.setdefault(call["role"], {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "seconds": 0.0,
                                            "slowest_s": 0.0, "completion_tokens_max": 0})
        r["calls"] += 1
        r["prompt_tokens"] += call.get("prompt_tokens") or 0
        r["completion_tokens"] += call.get("completion_tokens") or 0
        r["seconds"] += call.get("seconds") or 0.0
        r["slowest_s"] = max(r["slowest_s"], call.get("seconds") or 0.0)
        r["completion_tokens_max"] = max(r["completion_tokens_max"], call.get("completion_tokens") or 0)
    return {"calls": len(calls), "last_call_end_s": calls[-1]["t"] if calls else None, "roles": roles}


def run(limit: int, out: Path, max_seconds: float, trace: bool) -> dict[str, Any]:
    from ugst_dspy.optimizers.training import peak_rss_mb

    args = ["simulate", "--env", "tau-retail", "--limit", str(limit), "--out", str(out)]
    calls = out.with_name(out.name + ".calls")
    command = [sys.executable, "-m", "bench.trace_calls", str(calls), *args] if trace else [*ugst_command(), *args]
    log = out.with_name(out.name + ".log")
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    with log.open("w") as handle:
        # SIGINT back to its default in the child: a shell starting this in the background ignores it, and an
        # ignored SIGINT is inherited (Python then installs no KeyboardInterrupt handler)
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        peak, interrupted, stopped_at = 0.0, False, None
        while process.poll() is None:
            peak = max(peak, peak_rss_mb(process.pid))
            elapsed = time.perf_counter() - started
            if not interrupted and elapsed > max_seconds:
                process.send_signal(signal.SIGINT)  # the finished conversations stay; the one in flight ends
                interrupted, stopped_at = True, elapsed
            elif interrupted and elapsed > stopped_at + 60:
                process.terminate()  # the conversation in flight does not stop at Ctrl-C: it runs to its end
            time.sleep(0.2)
    seconds = time.perf_counter() - started
    from ugst_dspy.files.conversations import iter_conversations

    records = list(iter_conversations(out)) if out.exists() else []  # failed ones included: every record
    from ugst_dspy.files.failures import failures_path

    failed = failures_path(out)
    failures = [json.loads(line) for line in failed.open() if line.strip()] if failed.exists() else []
    return {
        "command": f"ugst simulate --env tau-retail --limit {limit} --out {out}",
        "exit_code": process.returncode,
        "interrupted_after_s": stopped_at,
        "seconds": seconds,
        "peak_rss_mb": peak,
        "load_average_start": load_start,
        "load_average_end": os.getloadavg()[0],
        "conversations": [describe(record) for record in records],
        "failed": failures,
        "log": str(log),
        "trace": trace_summary(calls) if trace else None,
    }


def render(result: dict[str, Any]) -> str:
    conversations = result["conversations"]
    note = f" (stopped after {result['interrupted_after_s']:.0f} s)" if result["interrupted_after_s"] else ""
    top = table(["command", "conversations", "failed", "wall s", "peak RSS MB", "exit"],
                [[result["command"], len(conversations), len(result["failed"]), f"{result['seconds']:.0f}{note}",
                  round(result["peak_rss_mb"]), result["exit_code"]]])
    head = ["conversation", "ended by", "turns", "sub-components", "repeated", "s"]
    head += [f"{role} calls / prompt tok / gen tok / s" for role in ROLE_ORDER]
    rows = []
    for c in conversations:
        row = [c["id"], c["ended_by"], c["turns"], c["sub_components"], c["repeated"], c["seconds"]]
        for role in ROLE_ORDER:
            u = c["usage"].get(role) or {}
            row.append(f"{u.get('calls', 0)} / {u.get('prompt_tokens') or 0:,} / {u.get('completion_tokens') or 0:,} / "
                       f"{u.get('seconds', 0):.0f}")
        rows.append(row)
    text = top + "\n\n" + table(head, rows)
    if result.get("trace"):
        trace = result["trace"]
        lines = [[role, r["calls"], r["prompt_tokens"], r["completion_tokens"], r["seconds"],
                  r["seconds"] / r["calls"], r["slowest_s"], r["completion_tokens_max"]]
                 for role, r in sorted(trace["roles"].items())]
        text += f"\n\nEvery LM call ({trace['calls']}, the last ending at {trace['last_call_end_s']} s):\n\n" + table(
            ["role", "calls", "prompt tok", "gen tok", "s", "s/call", "slowest s", "most gen tok"], lines)
    return text


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="a new conversations file (kept)")
    parser.add_argument("--max-seconds", type=float, default=1500, help="interrupt the run after this long")
    parser.add_argument("--trace", action="store_true",
                        help="run the command in-process through bench.trace_calls: every LM call to OUT.calls")
    args = parser.parse_args(argv)
    if args.out.exists():
        sys.exit(f"{args.out} exists: give a new file (a rerun into it would resume, not run again)")
    result = run(args.limit, args.out, args.max_seconds, args.trace)
    print(render(result))
    save("main_job_record", result)
    return result


if __name__ == "__main__":
    main()
