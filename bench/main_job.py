"""The README's main job: wall time and peak memory of ``ugst simulate --env tau-retail --limit 2`` on the
embedded model, run as a user runs it (the installed ``ugst`` command, a fresh output file).

Peak memory is the command's own high-water resident set (``VmHWM``, polled while it runs), so it covers
the model, DSPy and the environment together, and nothing run before it.

    python -m bench.main_job
    python -m bench.main_job --limit 1
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.common import save, simulate, table


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=2)
    args = parser.parse_args(argv)
    seconds, conversations, peak_mb = simulate(["--env", "tau-retail", "--limit", str(args.limit)], quiet=True)
    command_text = f"ugst simulate --env tau-retail --limit {args.limit}"
    print(table(["command", "conversations", "wall s", "peak RSS MB"],
                [[command_text, conversations, seconds, round(peak_mb)]]))
    result = {"command": command_text, "conversations": conversations, "seconds": seconds, "peak_rss_mb": peak_mb}
    save("main_job", result)
    return result


if __name__ == "__main__":
    main()
