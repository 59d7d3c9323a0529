"""Run a ``ugst`` command in this process with every LM call traced: one JSON line per call, written as it
ends (so an interrupted run still shows where its time went).

    python -m bench.trace_calls CALLS.jsonl simulate --env tau-retail --limit 2 --out runs.jsonl

Each line: ``t`` (seconds since start when the call ended), ``seconds``, ``role`` (from the LM's name, which
the model pool ends with the role), ``prompt_tokens``, ``completion_tokens`` and ``thread``. The command
itself runs as the installed ``ugst`` runs it (``ugst_dspy.cli.app.run``); DSPy's global callbacks are
kept by the run's own usage accounting, so tracing changes nothing else.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from dspy.utils.callback import BaseCallback


class CallTrace(BaseCallback):
    def __init__(self, path: str) -> None:
        self.handle = open(path, "a", buffering=1)
        self.began = time.perf_counter()
        self.started: dict[str, tuple[float, Any]] = {}
        self.lock = threading.Lock()

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self.started[call_id] = (time.perf_counter(), instance)

    def on_lm_end(self, call_id: str, outputs: Any, exception: Exception | None = None) -> None:
        started, lm = self.started.pop(call_id, (None, None))
        now = time.perf_counter()
        usage = {}
        history = getattr(lm, "history", None) or []
        if history:
            usage = history[-1].get("usage") or {}
        model = str(getattr(lm, "model", ""))
        record = {
            "t": round(now - self.began, 2),
            "seconds": round(now - started, 2) if started is not None else None,
            "role": model.rsplit(".", 1)[-1] if "." in model else model,
            "prompt_tokens": usage.get("prompt_tokens"),
            "completion_tokens": usage.get("completion_tokens"),
            "error": type(exception).__name__ if exception is not None else None,
            "thread": threading.current_thread().name,
        }
        with self.lock:
            self.handle.write(json.dumps(record) + "\n")


def main() -> None:
    import dspy

    path, *command = sys.argv[1:]
    dspy.settings.configure(callbacks=[CallTrace(path)])
    from ugst_dspy.cli.app import run

    sys.argv = ["ugst", *command]
    run()


if __name__ == "__main__":
    main()
