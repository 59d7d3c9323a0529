"""The README's main job: wall time and peak memory of ``ugst simulate --env tau-retail --limit 2`` on the
embedded model, run as a user runs it (the installed ``ugst`` command, a fresh output file).

Peak memory is the largest resident set of the command's process tree as the kernel reports it for waited
children (``RUSAGE_CHILDREN``), so it covers the model, DSPy and the environment together.

    python -m bench.main_job
    python -m bench.main_job --limit 1
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import save, table, ugst_command


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "runs.jsonl"
        command = [*ugst_command(), "simulate", "--env", "tau-retail", "--limit", str(args.limit), "--out", str(out)]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        conversations = sum(1 for _ in out.open())
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    command_text = f"ugst simulate --env tau-retail --limit {args.limit}"
    print(table(["command", "conversations", "wall s", "peak RSS MB"],
                [[command_text, conversations, seconds, round(peak_mb)]]))
    result = {"command": command_text, "conversations": conversations, "seconds": seconds, "peak_rss_mb": peak_mb}
    save("main_job", result)
    return result


if __name__ == "__main__":
    main()
