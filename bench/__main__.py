"""``python -m bench``: every benchmark, one after the other, each printing its table and writing its JSON
under bench/results/; the total time is printed at the end (budget: 30 minutes on the 2-core machine).

    python -m bench                 # everything
    python -m bench --skip vllm     # without the steps whose title contains "vllm"
"""

from __future__ import annotations

import argparse
import time

from bench import (
    batching,
    constrained,
    endpoints,
    engines,
    executors,
    main_job,
    report_speed,
    roles,
    tracking_cost,
    training,
    vllm_serving,
)

STEPS = [
    ("tracking cost (tiny judge, 20 conversations)", lambda: tracking_cost.main([])),
    ("tracking agreement (embedded judge, 2 conversations, 2 turns)",
     lambda: tracking_cost.main(["--judge", "embedded", "--limit", "2", "--turns", "2"])),
    ("constrained decoding", lambda: constrained.main(["--embedded", "16"])),
    ("local engine batching (embedded, 8 threads x 2 calls)", lambda: batching.main(["--calls", "2"])),
    ("vllm server: prefix-cache prefill (1 conversation), simulate throughput (6 goals, 6 workers, 1 turn, 2 agent steps)",
     lambda: vllm_serving.main(["--track", "1", "--simulate", "6", "--workers", "6", "--turns", "1", "--agent-steps", "2"])),
    ("training steps (tiny and embedded; SFT, single- and multi-turn GRPO)", lambda: training.main(["--steps", "2"])),
    ("executors: threads against a local Ray cluster (scripted model)", lambda: executors.main([])),
    ("one model on one and two (fake) servers", lambda: endpoints.main([])),
    ("engines: llama.cpp against transformers (SmolLM2 on both, Qwen on llama.cpp, 1 repeat)",
     lambda: engines.main(["--repeats", "1", "--gen-tokens", "64", "--qwen-gen-tokens", "32", "--prompt-chars", "1000"])),
    ("per-role quality of the embedded models (SmolLM2 and Qwen: 2 goals, 2 customers, 8 judge cases, 2 agent messages)",
     lambda: roles.main(["--goals", "2", "--customers", "2", "--agent", "2"])),
    ("main job", lambda: main_job.main([])),
    ("evaluate and report on 1,000 conversations", lambda: report_speed.main([])),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", action="append", default=[], help="skip steps whose title contains this")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    timings = []
    for title, step in STEPS:
        if any(word in title for word in args.skip):
            continue
        started = time.perf_counter()
        print(f"\n## {title}", flush=True)
        step()
        timings.append((title, time.perf_counter() - started))
        print(f"({timings[-1][1]:.0f} s)", flush=True)
    print("\n## time per step")
    for title, seconds in timings:
        print(f"  {seconds:6.0f} s  {title}")
    print(f"  {time.perf_counter() - began:6.0f} s  in all (budget: 1,800 s)")


if __name__ == "__main__":
    main()
