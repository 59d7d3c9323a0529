"""Training: SFT and GRPO step time and peak memory on this machine, for the tiny and the embedded model.

Each (model, stage) runs in its own process (so its peak resident memory is its own) through the same
functions as ``ugst sft`` / ``ugst grpo``. Data: the tracking fixture's conversations with a teacher's
reasoning filled in (step time depends on lengths, not on content); GRPO's rewards come from a scripted
judge (a checksum of the reply picks each verdict), so the figure is the trainer's cost, not a judge's.
The first step is left out of the mean (warm-up). Settings per step: SFT 2 examples, GRPO 1 prompt x 4
rollouts of at most 64 tokens, full fine-tuning, float32, every core. ``grpo-multi`` is multi-turn GRPO
(``ugst grpo --rollout multi-turn``) with the same prompts and rollouts, each continuing for up to
``--turns`` user turns against an agent that looks up the order in its own τ-retail copy and answers (no
model: the figure is the policy's generation, the environment copies and the tracking loop).

    python -m bench.training                            # tiny and embedded, 4 steps each, every stage
    python -m bench.training --models tiny --steps 3 --stages grpo,grpo-multi
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


class LookupAgent:
    """The benchmark's agent: one read-only tool call on the roll-out's environment, then a fixed answer."""

    name = "lookup"

    def respond(self, turns: Any, user_message: str, env: Any) -> Any:
        from ugst_dspy.agents.base import AgentReply, run_tool

        call = run_tool(env, "get_order_details", {"order_id": "#W2378156"})
        return AgentReply(text="I found your order. What would you like to change?", tool_calls=[call])


def run_one(model: str, stage: str, steps: int, turns: int = 3) -> dict[str, Any]:
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
    from ugst_dspy.modules.scoring import ResponseScorer

    folder = str(tiny_model() if model == "tiny" else embedded_model_dir())
    conversations = teacher_conversations(8)
    with tempfile.TemporaryDirectory() as out, quiet_training():
        if stage == "sft":
            data = build_sft_dataset(conversations)
            result = train_sft(data, SFTOptions(output_dir=out, base_model=folder, batch_size=2, grad_accum=1,
                                                max_steps=steps, save_steps=10**6, learning_rate=1e-5))
        else:
            from ugst_dspy.optimizers.rollouts import (
                MultiTurnRollouts,
                RolloutOptions,
                RolloutRewardFunctions,
                rollout_rows,
            )
            from ugst_dspy.reward import TrajectoryConfig

            policy = load_model(folder)
            prompts, _ = build_grpo_dataset(conversations, policy[1], token_budget=1536)
            tracker = GoalStateTracker()
            tracker.set_lm(scripted_lm(checksum_judge))
            multi = None
            if stage == "grpo-multi":
                config = TrajectoryConfig()
                rewards = RolloutRewardFunctions(config)
                multi = MultiTurnRollouts(rollout_rows(list(prompts), conversations, "tau-retail"), agent=LookupAgent(),
                                          tracker=tracker, config=config,
                                          options=RolloutOptions(turns=turns, on_malformed="score_text"))
            else:
                rewards = UGSTRewardFunctions(ResponseScorer(tracker), on_malformed="score_text")
            result = train_grpo(prompts, rewards, GRPOOptions(
                output_dir=out, base_model=folder, batch_size=1, rollouts=4, max_steps=steps,
                max_completion_length=64, save_steps=10**6, learning_rate=1e-5), model=policy, rollouts=multi)
    timed = result.step_seconds[1:] or result.step_seconds
    extra = {"turns": turns, "rollout_stats": dict(multi.stats)} if stage == "grpo-multi" and multi else {}
    return {"model": model, "stage": stage, "steps": result.global_step, "step_seconds": result.step_seconds,
            "mean_step_seconds": sum(timed) / len(timed), "seconds": result.seconds, "peak_rss_mb": peak_rss_mb(),
            **extra}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny,embedded", help="comma-separated: tiny, embedded")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--stages", default="sft,grpo,grpo-multi", help="comma-separated: sft, grpo, grpo-multi")
    parser.add_argument("--turns", type=int, default=3, help="grpo-multi: most user turns of a roll-out")
    parser.add_argument("--name", default="", help="suffix of the result file")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "STAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(*args.one, args.steps, args.turns)))
        return {}
    rows = []
    for model in args.models.split(","):
        for stage in args.stages.split(","):
            done = subprocess.run([sys.executable, "-m", "bench.training", "--one", model, stage,
                                   "--steps", str(args.steps), "--turns", str(args.turns)], check=True,
                                  capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  {model}/{stage}: {rows[-1]['mean_step_seconds']:.2f} s/step", flush=True)
    print(table(["model", "stage", "steps", "s/step (after the first)", "run s", "peak RSS MB"],
                [[r["model"], r["stage"], r["steps"], r["mean_step_seconds"], r["seconds"], round(r["peak_rss_mb"])]
                 for r in rows]))
    result = {"device": "cpu", "rows": rows}
    save("training" + (f"-{args.name}" if args.name else ""), result)
    return result


if __name__ == "__main__":
    main()
