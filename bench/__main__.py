"""``python -m bench``: every benchmark that is written so far, one after the other, each printing its table.

Not yet here (see bench/README.md): simulation throughput against a raw vLLM server, training steps, the
main job.
"""

from __future__ import annotations

import time

from bench import constrained, report_speed, tracking_cost

STEPS = [
    ("tracking cost (tiny judge, 20 conversations)", lambda: tracking_cost.main([])),
    ("tracking agreement (embedded judge, 2 conversations, 4 turns)",
     lambda: tracking_cost.main(["--judge", "embedded", "--limit", "2", "--turns", "4"])),
    ("constrained decoding", lambda: constrained.main([])),
    ("evaluate and report on 1,000 conversations", lambda: report_speed.main([])),
]

if __name__ == "__main__":
    for title, step in STEPS:
        started = time.perf_counter()
        print(f"\n## {title}", flush=True)
        step()
        print(f"({time.perf_counter() - started:.0f} s)", flush=True)
