"""One model on one server against the same model on two (``vllm:MODEL@URL1,URL2``), with fake servers.

N conversations, W at a time (W workers, as ``ugst simulate --workers W``), each make M calls one after the
other, inside ``conversation_affinity(key)`` as the runner does. Two workloads: all conversations at once
(16 by 16 workers: every conversation is placed at the start, before any server has shown its speed) and
conversations arriving as others finish (48 by 16 workers). Each server is the fake OpenAI server of the tests
(``tests/faults/fake_openai.py``) with a fixed capacity: ``--slots`` requests are served at a time, each
for ``--service`` seconds, later ones queue. That stands for a GPU server's batch limit; nothing is
generated. The table gives the wall time, the requests each server answered, and what the servers saw of
conversation affinity: conversations that reached more than one server (**violations**, 0 is required
with keys) and calls that went to another server than the conversation's previous call (**switches**:
a real server would have had to read that conversation's prefix again).

Scenarios: one server; two servers with affinity keys; two servers without keys (least requests in flight,
call by call: the contrast); two servers of which the second serves 3x slower, with keys and without.

What a fake server shows: the routing (spread, affinity, queueing under a capacity limit) and the client
overhead of routing. It does not show prefix-cache savings (the fake has no cache: a switch costs nothing
here), nor a real server's batching curve (its time per request grows with the batch; here it is flat
up to ``--slots`` and queues beyond). The ideal time is the larger of all calls spread over every slot
(calls x service / slots per server, summed over servers at their speeds) and each worker's conversations'
calls one after the other at the fastest speed (ceil(N / W) x M x service).

The JSON keeps every run's walls and, for the median run, the router's own counts (``endpoint_stats()``,
which include one warm-up call before the timing; the table counts what the servers received during it).

    python -m bench.endpoints                          # 16:16 and 48:16 (conversations:workers) x 6 calls
    python -m bench.endpoints --workload 8:8 --calls 4 --repeats 1 --no-save
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Any

from bench.common import save, table

REPO = Path(__file__).resolve().parents[1]
SCENARIOS: list[tuple[str, int, bool, tuple[float, ...]]] = [
    # name, servers, affinity keys, service-time factor of each server
    ("1 server", 1, True, (1.0,)),
    ("2 servers, affinity", 2, True, (1.0, 1.0)),
    ("2 servers, no keys (least in flight per call)", 2, False, (1.0, 1.0)),
    ("2 servers, the 2nd 3x slower, affinity", 2, True, (1.0, 3.0)),
    ("2 servers, the 2nd 3x slower, no keys", 2, False, (1.0, 3.0)),
]


def _fake_server_class() -> type:
    if str(REPO / "tests") not in sys.path:
        sys.path.insert(0, str(REPO / "tests"))
    from faults.fake_openai import FakeOpenAI

    class SlotServer(FakeOpenAI):
        """The fake server, answering ``slots`` requests at a time, ``service`` seconds each."""

        def __init__(self, slots: int, service: float) -> None:
            super().__init__("good", responder="faults.fake_openai:pong")
            self.service = service
            self._slots = threading.BoundedSemaphore(slots)
            self.busiest = 0
            self._busy = 0
            self._busy_lock = threading.Lock()

        def completion(self, body: dict[str, Any], text: str | None = None) -> dict[str, Any]:
            with self._slots:
                with self._busy_lock:
                    self._busy += 1
                    self.busiest = max(self.busiest, self._busy)
                time.sleep(self.service)
                with self._busy_lock:
                    self._busy -= 1
            return super().completion(body, text)

    return SlotServer


def run(servers: int, keys: bool, factors: tuple[float, ...], *, conversations: int, workers: int, calls: int,
        slots: int, service: float) -> dict[str, Any]:
    """One run of a scenario: fresh servers and LM; returns its measurements."""
    from ugst_dspy.engines.affinity import conversation_affinity
    from ugst_dspy.serving.provider import vllm_lm

    SlotServer = _fake_server_class()
    with ExitStack() as stack:
        fakes = [stack.enter_context(SlotServer(slots, service * factors[i])) for i in range(servers)]
        lm = vllm_lm([fake.url for fake in fakes], "fake", timeout=60.0, num_retries=1, max_tokens=16)
        latencies: list[float] = []

        def conversation(number: int) -> None:
            key = f"conv{number}"
            with conversation_affinity(key) if keys else nullcontext():
                for call in range(calls):
                    began = time.perf_counter()
                    lm(f"{key} call {call}")
                    latencies.append(time.perf_counter() - began)

        lm("warm-up")  # connection pools and imports, outside the timing
        for fake in fakes:
            fake.bodies.clear()
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(conversation, range(conversations)))
        wall = time.perf_counter() - began
        stats = lm.endpoint_stats() if hasattr(lm, "endpoint_stats") else None
        where: dict[str, dict[int, int]] = defaultdict(dict)  # conversation -> call -> server
        for index, fake in enumerate(fakes):
            for body in fake.bodies:
                key, _, call = body["messages"][-1]["content"].split()
                where[key][int(call)] = index
        busiest = [fake.busiest for fake in fakes]
    served = [sum(1 for calls_of in where.values() for server in calls_of.values() if server == i)
              for i in range(servers)]
    violations = sum(1 for calls_of in where.values() if len(set(calls_of.values())) > 1)
    switches = sum(1 for calls_of in where.values() for c in range(1, calls) if calls_of[c] != calls_of[c - 1])
    capacity = sum(slots / factor for factor in factors)
    return {
        "wall_s": round(wall, 3),
        "ideal_s": round(max(conversations * calls * service / capacity,
                             -(-conversations // workers) * calls * service), 3),
        "calls": sum(served),
        "per_server_requests": served,
        "per_server_conversations": [sum(1 for calls_of in where.values() if calls_of[0] == i)
                                     for i in range(servers)],
        "busiest_slots": busiest,
        "affinity_violations": violations,
        "switches": switches,
        "mean_call_s": round(statistics.mean(latencies), 4),
        "router": stats,
    }


def workload(text: str) -> tuple[int, int]:
    conversations, _, workers = text.partition(":")
    return int(conversations), int(workers or conversations)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", action="append", type=workload, default=None, metavar="N:W",
                        help="N conversations by W workers (repeatable; default 16:16 and 48:16)")
    parser.add_argument("--calls", type=int, default=6, help="calls per conversation, one after the other (M)")
    parser.add_argument("--slots", type=int, default=4, help="requests a server serves at a time")
    parser.add_argument("--service", type=float, default=0.1, help="seconds a request takes in a slot")
    parser.add_argument("--repeats", type=int, default=3, help="runs per scenario (the median run is shown)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    workloads = args.workload or [(16, 16), (48, 16)]

    results, tables = [], []
    for conversations, workers in workloads:
        rows = []
        for name, servers, keys, factors in SCENARIOS:
            runs = [run(servers, keys, factors, conversations=conversations, workers=workers, calls=args.calls,
                        slots=args.slots, service=args.service) for _ in range(args.repeats)]
            runs.sort(key=lambda r: r["wall_s"])
            median = runs[len(runs) // 2]
            results.append({"workload": f"{conversations}:{workers}", "conversations": conversations,
                            "workers": workers, "scenario": name, "servers": servers, "affinity_keys": keys,
                            "service_factors": factors, "walls_s": [r["wall_s"] for r in runs],
                            "violations_all_runs": sum(r["affinity_violations"] for r in runs), **median})
            rows.append(results[-1])
        one = rows[0]["wall_s"]
        header = ["scenario", "wall s (median)", "ideal s", "speed-up", "requests per server",
                  "conversations per server", "affinity violations (all runs)", "switches", "mean call s"]
        body = [[r["scenario"], r["wall_s"], r["ideal_s"], f"{one / r['wall_s']:.2f}x",
                 " / ".join(map(str, r["per_server_requests"])), " / ".join(map(str, r["per_server_conversations"])),
                 r["violations_all_runs"] if r["affinity_keys"] else f"({r['violations_all_runs']})", r["switches"],
                 r["mean_call_s"]] for r in rows]
        title = (f"{conversations} conversations by {workers} workers x {args.calls} calls; each server {args.slots} "
                 f"slots x {args.service} s per request; {args.repeats} runs per scenario (median shown)")
        tables.append(f"{title}\n\n{table(header, body)}")
        print(tables[-1] + "\n", flush=True)
    settings = {"workloads": [f"{n}:{w}" for n, w in workloads], "calls": args.calls, "slots": args.slots,
                "service_s": args.service, "repeats": args.repeats}
    data = {"settings": settings, "results": results, "tables": tables}
    if not args.no_save:
        print(f"saved {save('endpoints', data)}")
    return data


if __name__ == "__main__":
    main()
