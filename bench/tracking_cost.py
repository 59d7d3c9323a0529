"""Tracking cost: the paper's scheme against per-component skipping and batched tracking.

On the fixed fixture (bench/fixtures/tracking_conversations.jsonl, 20 τ-bench conversations), each mode
tracks every turn with the same judge; the table gives LM calls, prompt and completion tokens and wall
time per conversation, and the status agreement of each mode with the paper's scheme (every
sub-component judged every turn with the full history). Prompt tokens are counted by the model's
tokenizer; with the tiny random judge they are what any judge with SmolLM2's tokenizer reads for the same
state trajectory, but its statuses are random, so agreement is measured with a real judge on a subset.

    python -m bench.tracking_cost                          # counts on the tiny judge, 20 conversations
    python -m bench.tracking_cost --judge embedded --limit 2 --turns 4
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import dspy

from bench.common import FIXTURES, save, table, tiny_model
from ugst_dspy import read_conversations
from ugst_dspy.config import UGSTConfig
from ugst_dspy.conversation import Conversation
from ugst_dspy.engines.spec import ModelPool
from ugst_dspy.metrics.agreement import agreement
from ugst_dspy.modules.tracker import GoalStateTracker
from ugst_dspy.usage import UsageRecorder

MODES = {
    "paper (all, every turn)": {"mode": "per_component", "skip_absorbed": False},
    "per-component + skipping": {"mode": "per_component", "skip_absorbed": True},
    "batched + skipping": {"mode": "batched", "skip_absorbed": True},
}


def track(tracker: GoalStateTracker, conversation: Conversation, turns: int) -> tuple[Conversation, dict[str, Any]]:
    usage = UsageRecorder()
    state = conversation.initial_state
    assert state is not None
    out_turns = []
    started = time.perf_counter()
    source = conversation.turns[:turns]
    for i in range(len(source)):
        with usage.role("tracker"):
            state = tracker(goal=conversation.instruction, state=state, turns=source[: i + 1]).state
        out_turns.append(source[i].model_copy(update={"state": state}))
    seconds = time.perf_counter() - started
    return conversation.model_copy(update={"turns": out_turns}), {**usage.to_json()["tracker"], "seconds": seconds}


def tracker_lm(spec: str, max_tokens: int, **engine_options: Any) -> Any:
    """The tracker role's LM for a model spec, generating at most ``max_tokens`` per call."""
    config = UGSTConfig.resolve(None, {"tracker": spec}, env={})
    config.roles["tracker"].max_tokens = max_tokens
    return ModelPool(config, engine_options=engine_options).lm("tracker")


def fixture(limit: int) -> list[Conversation]:
    """The first ``limit`` conversations of the tracking fixture."""
    return read_conversations(FIXTURES / "tracking_conversations.jsonl")[:limit]


def track_all(lm: Any, options: dict[str, Any], conversations: list[Conversation],
              turns: int) -> tuple[GoalStateTracker, list[tuple[Conversation, dict[str, Any]]]]:
    """One tracker with ``options`` on ``lm`` tracks each conversation's first ``turns`` turns in order."""
    tracker = GoalStateTracker(**options)
    tracker.set_lm(lm)
    with dspy.context(adapter=dspy.JSONAdapter()):
        return tracker, [track(tracker, conversation, turns) for conversation in conversations]


def run(judge: str, limit: int, turns: int) -> dict[str, Any]:
    spec = str(tiny_model()) if judge == "tiny" else judge
    options = {"max_string_length": 16, "max_items": 4} if judge == "tiny" else {}
    lm = tracker_lm(spec, 384, **options)
    conversations = fixture(limit)
    results: dict[str, Any] = {}
    tracked: dict[str, list[Conversation]] = {}
    for name, options_ in MODES.items():
        _, done = track_all(lm, options_, conversations, turns)
        tracked[name] = [conversation for conversation, _ in done]
        totals = {key: sum(used[key] or 0 for _, used in done)
                  for key in ("calls", "prompt_tokens", "completion_tokens", "seconds")}
        per = {key: value / len(conversations) for key, value in totals.items()}
        results[name] = per
        print(f"  {name}: {per}", flush=True)
    baseline = tracked["paper (all, every turn)"]
    for name in MODES:
        rate = agreement(tracked[name], baseline).overall
        results[name]["agreement_with_paper"] = rate.rate
        results[name]["agreement_counts"] = [rate.successes, rate.total]
    return {"judge": judge, "conversations": len(conversations), "max_turns": turns, "modes": results}


def render(result: dict[str, Any]) -> str:
    paper = result["modes"]["paper (all, every turn)"]["prompt_tokens"]
    rows = []
    for name, r in result["modes"].items():
        ratio = paper / r["prompt_tokens"] if r["prompt_tokens"] else float("nan")
        agree = "n/a" if r["agreement_with_paper"] is None else f"{100 * r['agreement_with_paper']:.1f}% ({r['agreement_counts'][0]}/{r['agreement_counts'][1]})"
        rows.append([name, r["calls"], r["prompt_tokens"], r["completion_tokens"], r["seconds"], f"{ratio:.1f}x", agree])
    head = ["mode", "calls/conv", "prompt tok/conv", "completion tok/conv", "s/conv", "fewer prompt tok", "agreement with paper"]
    return f"judge: {result['judge']}, {result['conversations']} conversations, <= {result['max_turns']} turns\n\n" + table(head, rows)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="tiny", help="tiny, embedded or any model spec")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1 if args.judge == "tiny" else max(1, torch.get_num_threads()))
    result = run(args.judge, args.limit, args.turns)
    print(render(result))
    save(f"tracking_cost_{'tiny' if args.judge == 'tiny' else 'judge'}", result)
    return result


if __name__ == "__main__":
    main()
