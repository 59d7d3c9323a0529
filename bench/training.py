"""Training: SFT and GRPO step time and peak memory on this machine, for the tiny and the embedded model.

Each (model, stage) runs in its own process (so its peak resident memory is its own) through the same
functions as ``ugst sft`` / ``ugst grpo``. Data: the tracking fixture's conversations with a teacher's
reasoning filled in (step time depends on lengths, not on content); GRPO's rewards come from a scripted
judge (a checksum of the reply picks each verdict), so the figure is the trainer's cost, not a judge's.
The first step is left out of the mean (warm-up). Settings per step: SFT 2 examples, GRPO 1 prompt x 4
rollouts of at most 64 tokens, full fine-tuning, float32, every core.

    python -m bench.training                            # tiny and embedded, 4 steps each
    python -m bench.training --models tiny --steps 3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import FIXTURES, save, table, tiny_model

REASONING = {"progress": "I gave my name and zip code.", "remaining": "Ask for the exchange of the keyboard.",
             "alignment": "Stay detail-oriented and address everything in one go."}
def teacher_conversations(limit: int) -> list[Any]:
    from ugst_dspy import read_conversations

    out = []
    for conversation in read_conversations(FIXTURES / "tracking_conversations.jsonl")[:limit]:
        turns = [turn.model_copy(update={"reasoning": REASONING, "state": conversation.initial_state})
                 for turn in conversation.turns[:4]]
        out.append(conversation.model_copy(update={"turns": turns}))
    return out


def run_one(model: str, stage: str, steps: int) -> dict[str, Any]:
    """One training run in this process; returns its step times and peak memory."""
    from ugst_dspy.engines.embedded import embedded_model_dir
    from ugst_dspy.engines.scripted import checksum_judge, scripted_lm
    from ugst_dspy.modules.tracker import GoalStateTracker
    from ugst_dspy.optimizers.grpo import GRPOOptions, build_grpo_dataset, train_grpo
    from ugst_dspy.optimizers.quiet import quiet_training
    from ugst_dspy.optimizers.rewards import UGSTRewardFunctions
    from ugst_dspy.optimizers.sft import SFTOptions, train_sft
    from ugst_dspy.optimizers.sft_data import build_sft_dataset
    from ugst_dspy.optimizers.training import load_model, peak_rss_mb
    from ugst_dspy.scoring import ResponseScorer

    folder = str(tiny_model() if model == "tiny" else embedded_model_dir())
    conversations = teacher_conversations(8)
    with tempfile.TemporaryDirectory() as out, quiet_training():
        if stage == "sft":
            data = build_sft_dataset(conversations)
            result = train_sft(data, SFTOptions(output_dir=out, base_model=folder, batch_size=2, grad_accum=1,
                                                max_steps=steps, save_steps=10**6, learning_rate=1e-5))
        else:
            policy = load_model(folder)
            prompts, _ = build_grpo_dataset(conversations, policy[1], token_budget=1536)
            tracker = GoalStateTracker()
            tracker.set_lm(scripted_lm(checksum_judge))
            rewards = UGSTRewardFunctions(ResponseScorer(tracker), on_malformed="score_text")
            result = train_grpo(prompts, rewards, GRPOOptions(
                output_dir=out, base_model=folder, batch_size=1, rollouts=4, max_steps=steps,
                max_completion_length=64, save_steps=10**6, learning_rate=1e-5), model=policy)
    timed = result.step_seconds[1:] or result.step_seconds
    return {"model": model, "stage": stage, "steps": result.global_step, "step_seconds": result.step_seconds,
            "mean_step_seconds": sum(timed) / len(timed), "seconds": result.seconds, "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny,embedded", help="comma-separated: tiny, embedded")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "STAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(*args.one, args.steps)))
        return {}
    rows = []
    for model in args.models.split(","):
        for stage in ("sft", "grpo"):
            done = subprocess.run([sys.executable, "-m", "bench.training", "--one", model, stage,
                                   "--steps", str(args.steps)], check=True, capture_output=True, text=True,
                                  cwd=Path(__file__).resolve().parent.parent)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  {model}/{stage}: {rows[-1]['mean_step_seconds']:.2f} s/step", flush=True)
    print(table(["model", "stage", "steps", "s/step (after the first)", "run s", "peak RSS MB"],
                [[r["model"], r["stage"], r["steps"], r["mean_step_seconds"], r["seconds"], round(r["peak_rss_mb"])]
                 for r in rows]))
    result = {"device": "cpu", "rows": rows}
    save("training", result)
    return result


if __name__ == "__main__":
    main()
