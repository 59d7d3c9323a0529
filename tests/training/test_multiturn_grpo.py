"""Multi-turn GRPO on the tiny random model: roll-outs talk to an agent in their own environment copies, the
goal state over the roll-out is the reward, and only the policy's first turn is trained."""

from __future__ import annotations

import json
import zlib
from types import SimpleNamespace

import pytest

from ugst_dspy.agents.base import AgentReply
from ugst_dspy.conversation import ToolCall
from ugst_dspy.engines.scripted import scripted_lm
from ugst_dspy.modules.tracker import GoalStateTracker
from ugst_dspy.reward import TrajectoryConfig, trajectory_reward
from ugst_dspy.state import CATEGORIES

from training.test_pipeline_tiny import teacher_conversations
from training.world import judge

USER = "yusuf_rossi_9620"


class WritingAgent:
    """An agent that changes the database on every turn, by what the user said: a leak would show."""

    name = "writing"

    def respond(self, turns, user_message, env):
        tag = f"{zlib.crc32(user_message.encode()) % 100000:05d}"
        arguments = {"user_id": USER, "address1": f"{tag} Main St", "address2": "", "city": "Philadelphia",
                     "state": "PA", "country": "USA", "zip": "19122"}
        result = env.call("modify_user_address", arguments)
        return AgentReply(text=f"AGENTSAYS {tag}", tool_calls=[ToolCall(name="modify_user_address",
                                                                          arguments=arguments, result=result)])


@pytest.fixture(scope="module")
def run(tiny_model_dir, tmp_path_factory):
    pytest.importorskip("trl", reason="the [train] extra is not installed")
    import torch

    from ugst_dspy.optimizers.grpo import GRPOOptions, build_grpo_dataset, train_grpo
    from ugst_dspy.optimizers.quiet import quiet_training
    from ugst_dspy.optimizers.rollouts import (
        MultiTurnRollouts,
        RolloutOptions,
        RolloutRewardFunctions,
        rollout_rows,
    )
    from ugst_dspy.optimizers.training import load_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("multiturn")
    conversations = teacher_conversations()
    for conversation in conversations:
        conversation.meta.env = "tau-retail"
    tracker = GoalStateTracker()
    tracker.set_lm(scripted_lm(judge))
    config = TrajectoryConfig()
    batches = []

    class Recording(MultiTurnRollouts):
        def __call__(self, prompts, trainer):
            out = super().__call__(prompts, trainer)
            batches.append(SimpleNamespace(rollouts=list(self.last), out=out, tokenizer=trainer.processing_class))
            return out

    with quiet_training():
        policy = load_model(tiny_model_dir)
        data, _ = build_grpo_dataset(conversations, policy[1])
        rollouts = Recording(rollout_rows(list(data), conversations), agent=WritingAgent(), tracker=tracker,
                             config=config, options=RolloutOptions(turns=2, workers=2, on_malformed="score_text"))
        result = train_grpo(data, RolloutRewardFunctions(config), GRPOOptions(
            output_dir=str(root / "grpo"), base_model=str(tiny_model_dir), batch_size=1, rollouts=4, max_steps=2,
            max_completion_length=16, learning_rate=1e-3, log_completions=True), model=policy, rollouts=rollouts)
    yield SimpleNamespace(result=result, batches=batches, root=root, config=config, rollouts=rollouts)
    torch.set_num_threads(threads)


def test_two_multi_turn_steps_run_and_record_what_they_did(run):
    assert run.result.global_step == 2 and len(run.batches) == 2
    record = json.loads((run.root / "grpo" / "ugst_training.json").read_text())
    assert record["rollout"] == "multi-turn" and record["rollouts"]["turns"] == 2
    assert record["reward"]["functions"] == [c.value for c in CATEGORIES] + ["termination"]
    assert run.rollouts.stats["rollouts"] == 8 and run.rollouts.stats["agent_calls"] >= 8


def test_the_agent_and_the_later_turns_carry_no_loss(run):
    for batch in run.batches:
        out = batch.out
        for k, rollout in enumerate(batch.rollouts):
            assert out["completion_ids"][k] == rollout.first_ids  # only the policy's first turn is trained
            assert out["env_mask"][k] == [1] * len(rollout.first_ids)
            sequence = batch.tokenizer.decode(out["prompt_ids"][k] + out["completion_ids"][k])
            assert "AGENTSAYS" not in sequence  # the agent's answers of the roll-out are never in it
            assert any(t.agent.startswith("AGENTSAYS") for t in rollout.new_turns)  # ... though it did answer


def test_the_logged_rewards_are_the_trajectory_reward_computed_directly(run):
    import pandas as pd

    history = {entry["step"]: entry for entry in run.result.log_history if "reward" in entry}
    names = run.config.names
    for step, batch in zip((1, 2), run.batches):
        direct = [trajectory_reward(r.states, run.config, stop_with_request=r.stop_with_request, stopped=r.stopped,
                                    at_turn_limit=r.at_turn_limit) for r in batch.rollouts]
        table = pd.read_parquet(run.root / "grpo" / "completions" / f"completions_{step:05d}.parquet")
        assert len(table) == 4
        for (_, logged), reward in zip(table.iterrows(), direct):
            for name in names:
                assert logged[name] == pytest.approx(reward.values[name])
        assert history[step]["reward"] == pytest.approx(sum(r.total for r in direct) / 4)
        for name in names:
            assert history[step][f"rewards/{name}/mean"] == pytest.approx(sum(r.values[name] for r in direct) / 4)


def test_a_roll_outs_environment_never_leaks_into_another(run):
    from ugst_dspy.envs.registry import make_env
    from ugst_dspy.optimizers.rollouts import replay_prefix

    for batch in run.batches:
        for rollout in batch.rollouts:
            own = [call for turn in rollout.new_turns for call in turn.tool_calls]
            fresh = replay_prefix(make_env("tau-retail"), rollout.row.conversation.turns[:rollout.row.index])
            for call in own:
                fresh.call(call.name, call.arguments)
            assert rollout.env.state_hash() == fresh.state_hash()  # its own calls and nothing else
            last = own[-1].arguments["address1"]
            assert rollout.env.db["users"][USER]["address"]["address1"] == last
        addresses = {r.env.db["users"][USER]["address"]["address1"] for r in batch.rollouts}
        assert len(addresses) > 1  # the roll-outs did different things, each in its own copy
