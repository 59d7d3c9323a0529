"""How fast are ``ugst evaluate`` and ``ugst report`` on 1,000 tracked conversations?

    .venv/bin/python bench/report_speed.py                 # 1,000 conversations x 10 turns x 8 sub-components
    .venv/bin/python bench/report_speed.py -n 200 --browser  # also open the report in headless Chromium

Generates seeded synthetic conversations (legal status changes under the default rules, a judge reason on
every change, tool calls, usage per role, valid per the conversation schema) into a temporary file, then
runs each command in a fresh process through ``ugst_dspy.cli.app.main`` and prints a table: seconds inside
the command (wall and CPU: on a busy machine the CPU seconds are the steadier number), seconds of the whole
process (interpreter and imports included), output size and peak RSS.
With ``--browser`` it also times opening the report in Chromium (load to first page of the list) and
expanding one conversation.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORDS = (
    "order exchange keyboard thermostat refund address payment card gift shipping return item size colour "
    "cancel booking flight seat hotel restaurant taxi train reservation date time price cheaper available "
    "please confirm details account email zip code user wants agent replies new old same similar clicky "
    "switches backlight google home apple homekit premium economy window aisle luggage pending delivered"
).split()


def sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def synthetic_conversation(rng: random.Random, number: int, turns: int = 10) -> dict[str, Any]:
    """One tracked conversation record: 1 profile, 1 policy, 2 objectives with a requirement and a preference each."""
    from ugst_dspy.rules import DEFAULT_RULES, StatusUpdate, apply_updates

    state = DEFAULT_RULES.new_state(
        [sentence(rng, 6, 12)], [sentence(rng, 8, 16)],
        [{"text": sentence(rng, 10, 20), "requirements": [sentence(rng, 6, 12)], "preferences": [sentence(rng, 8, 14)]}
         for _ in range(2)],
    )
    initial = state.to_json()
    records = []
    for _ in range(turns):
        updates = []
        for located in state.items():
            allowed = [s for s in DEFAULT_RULES.allowed_next(located.category, located.status) if s != located.status]
            if allowed and rng.random() < 0.18:
                updates.append(StatusUpdate(str(located.address), rng.choice(allowed).value, sentence(rng, 6, 14)))
        state = apply_updates(state, updates).state
        calls = [
            {"name": rng.choice(["get_order_details", "find_user", "exchange_items", "search_flights"]),
             "arguments": {"order_id": f"#W{rng.randint(1000000, 9999999)}"},
             "result": {"status": rng.choice(["delivered", "pending"]), "items": [sentence(rng, 3, 6)]},
             "id": f"call-{number}-{len(records)}-{k}"}
            for k in range(rng.choice([0, 0, 1, 2]))
        ]
        records.append({"user": sentence(rng, 12, 30), "agent": sentence(rng, 15, 45), "tool_calls": calls,
                        "state": state.to_json()})
    simulator = rng.choice(["prompt", "state-steered"])
    usage = {role: {"calls": turns, "prompt_tokens": rng.randint(5000, 20000),
                    "completion_tokens": rng.randint(300, 3000), "seconds": round(rng.uniform(1, 30), 3)}
             for role in ("simulator", "agent", "tracker")}
    return {
        "id": f"synthetic-{number}", "goal_id": f"goal-{number % 250}", "instruction": sentence(rng, 40, 80),
        "initial_state": initial, "turns": records,
        "ended_by": rng.choice(["user_stop", "max_turns", "max_turns", "agent_stop"]),
        "meta": {"simulator": simulator, "models": {"simulator": f"{simulator}-model", "tracker": "embedded"},
                 "seed": number, "rules": DEFAULT_RULES.to_json(), "usage": usage, "synthetic": True},
    }


def write_conversations(path: Path, count: int, turns: int, seed: int) -> None:
    from ugst_dspy.files.jsonl import dump_line
    from ugst_dspy.schemas import validate

    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for number in range(count):
            record = synthetic_conversation(rng, number, turns)
            if number < 3:
                validate("conversation", record)
            handle.write(dump_line(record))


def read_only(path: str) -> int:
    """What every command that reads conversations does first: read and validate the file (``load_conversations``)."""
    from ugst_dspy.files.conversations import load_conversations

    return 0 if load_conversations([path]).conversations else 1


def child(command: str, args: list[str]) -> None:
    """Run one ``ugst`` command (or ``read``: reading alone) in this process and print its time and this process's
    peak RSS as JSON."""
    from ugst_dspy.cli import app as cli

    if command == "report" and "report" not in {c.name for c in cli.app.registered_commands}:
        from ugst_dspy.cli.report import report

        cli.app.command("report")(report)  # until cli/app.py registers it
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    code = read_only(args[0]) if command == "read" else cli.main([command, *args])
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    print(json.dumps({"code": code, "seconds": seconds, "cpu": cpu, "peak_mb": usage.ru_maxrss / 1024}))


def run_child(command: str, args: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", command, *args], capture_output=True, text=True,
                          cwd=REPO)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise SystemExit(f"ugst {command} exited {result['code']}:\n{done.stderr}")
    return {**result, "wall": wall}


def browser_times(html: Path) -> dict[str, float]:
    sys.path.insert(0, str(REPO / "tests"))
    from report.cdp import CHROMIUM, Chromium

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"--browser needs {CHROMIUM}")
    with Chromium() as page:
        load = page.open(html.resolve().as_uri(), ready="document.documentElement.dataset.ready")
        started = time.perf_counter()
        page.evaluate("document.querySelector('#list-body tr.conv').click()")
        chips = page.evaluate("document.querySelectorAll('.detail .chip[data-turn]').length")
        expand = time.perf_counter() - started
        started = time.perf_counter()
        page.evaluate("var s = document.getElementById('f-diagnostic'); s.value = 'length_exhaustion';"
                      "s.dispatchEvent(new Event('change'))")
        filtered = time.perf_counter() - started
        heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize / 1048576 : 0")
        if page.errors:
            raise SystemExit(f"browser errors: {page.errors}")
    return {"load": load, "expand": expand, "chips": chips, "filter": filtered, "heap_mb": heap}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--conversations", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="Keep the generated files in this folder.")
    parser.add_argument("--browser", action="store_true", help="Also time the report in headless Chromium.")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        child(options.child[0], options.child[1:])
        return
    with tempfile.TemporaryDirectory(prefix="ugst-bench-") as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        data, table, html = folder / "conversations.jsonl", folder / "table.txt", folder / "report.html"
        started = time.perf_counter()
        write_conversations(data, options.conversations, options.turns, options.seed)
        print(f"generated {options.conversations} conversations x {options.turns} turns x 8 sub-components "
              f"in {time.perf_counter() - started:.1f} s: {data.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
        results = {
            "read (validate)": (run_child("read", [str(data)]), data),
            "ugst evaluate": (run_child("evaluate", [str(data), "-g", "simulator", "-o", str(table)]), table),
            "ugst report": (run_child("report", [str(data), "-g", "simulator", "-o", str(html)]), html),
        }
        print(f"\n{'command':<16}{'command s':>11}{'CPU s':>8}{'process s':>11}{'output MB':>11}{'peak RSS MB':>13}")
        for name, (result, out) in results.items():
            size = "-" if out == data else f"{out.stat().st_size / 1e6:.2f}"
            print(f"{name:<16}{result['seconds']:>11.2f}{result['cpu']:>8.2f}{result['wall']:>11.2f}"
                  f"{size:>11}{result['peak_mb']:>13.0f}")
        print(f"(input: {data.stat().st_size / 1e6:.1f} MB of JSON Lines)")
        if options.browser:
            times = browser_times(html)
            print(f"\nChromium: open to first page {times['load']:.2f} s, expand one conversation "
                  f"{times['expand'] * 1000:.0f} ms ({times['chips']} chips), filter {times['filter'] * 1000:.0f} ms, "
                  f"JS heap {times['heap_mb']:.0f} MB")


if __name__ == "__main__":
    main()
