"""Micro-batching in the local engine: calls per second of concurrent greedy status judgements, with
batching off (``max_batch_size=1``: calls wait for each other) and on.

N threads each send M constrained status requests (``bench.constrained``'s schema, conversations of
different lengths) to one ``TransformersEngine``, the way the tracker's judges and the runner's workers
share a model. The table gives calls per second and the mean batch size the engine formed.

    python -m bench.batching                       # embedded SmolLM2, 8 threads x 4 calls
    python -m bench.batching --model tiny --threads 4
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

from bench.common import save, table, tiny_model
from bench.constrained import STATUS_SCHEMA


def _request(i: int, j: int) -> Any:
    from dspy.lm15 import Config, Message, Request

    turns = " ".join(f"User: I want item {k}. Agent: Item {k} is in stock." for k in range(1 + (i + j) % 5))
    prompt = f"Judge the task objective 'Exchange the keyboard' after: {turns} Answer as JSON with reason and status."
    fmt = {"type": "json_schema", "schema": STATUS_SCHEMA, "name": "out", "strict": True}
    return Request(model="local/bench", messages=(Message.user(prompt),),
                   config=Config(max_tokens=64, temperature=0.0, response_format=fmt))


def measure(folder: Any, threads: int, calls: int, max_batch_size: int) -> dict[str, Any]:
    from ugst_dspy.engines.local import TransformersEngine

    engine = TransformersEngine(folder, max_batch_size=max_batch_size, max_string_length=120)
    engine.complete(_request(0, 0))  # load the model and build the schema's generator outside the timing
    before = engine.batch_stats.batches, engine.batch_stats.jobs
    texts: list[str] = []

    def worker(i: int) -> None:
        for j in range(calls):
            texts.append(engine.complete(_request(i, j)).message.parts[0].text)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    for text in texts:
        json.loads(text)
    batches = engine.batch_stats.batches - before[0]
    jobs = engine.batch_stats.jobs - before[1]
    return {"max_batch_size": max_batch_size, "calls": jobs, "seconds": seconds,
            "calls_per_second": jobs / seconds, "mean_batch": jobs / max(batches, 1)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("embedded", "tiny"), default="embedded")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--calls", type=int, default=4, help="calls per thread")
    args = parser.parse_args(argv)
    if args.model == "tiny":
        folder = tiny_model()
    else:
        from ugst_dspy.engines.embedded import embedded_model_dir

        folder = embedded_model_dir()
    rows = [measure(folder, args.threads, args.calls, size) for size in (1, args.threads)]
    speedup = rows[1]["calls_per_second"] / rows[0]["calls_per_second"]
    print(table(["max batch", "calls", "s", "calls/s", "mean batch formed"],
                [[r["max_batch_size"], r["calls"], r["seconds"], r["calls_per_second"], r["mean_batch"]]
                 for r in rows]))
    print(f"batching: {speedup:.2f}x the calls per second ({args.model}, {args.threads} threads)")
    result = {"model": args.model, "threads": args.threads, "rows": rows, "speedup": speedup}
    save(f"batching-{args.model}", result)
    return result


if __name__ == "__main__":
    main()
