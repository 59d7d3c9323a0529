"""The chain on the embedded SmolLM2-135M: 2 SFT steps, 2 GRPO steps, export, reload, one simulated turn."""

from __future__ import annotations

import dspy
import pytest

from ugst_dspy import Turn

from training.test_pipeline_tiny import GOAL, changed, scripted_rewards, teacher_conversations, weights

NO_CHECKPOINTS = {"save_strategy": "no"}  # a SmolLM2 checkpoint with optimizer state is 1.5 GB; the final weights do


@pytest.mark.slow
def test_two_sft_and_two_grpo_steps_on_smollm2_then_export_and_simulate(tmp_path, capsys):
    pytest.importorskip("trl", reason="the [train] extra is not installed")
    from ugst_dspy.engines.embedded import embedded_model_dir
    from ugst_dspy.engines.local import local_lm
    from ugst_dspy.errors import UgstError
    from ugst_dspy.optimizers.export import export_checkpoint
    from ugst_dspy.optimizers.grpo import GRPOOptions, build_grpo_dataset, train_grpo
    from ugst_dspy.optimizers.quiet import quiet_training
    from ugst_dspy.optimizers.sft import SFTOptions, train_sft
    from ugst_dspy.optimizers.sft_data import build_sft_dataset
    from ugst_dspy.optimizers.training import load_model
    from ugst_dspy.programs.io import load_program

    try:
        base = embedded_model_dir()
    except UgstError as err:
        pytest.skip(str(err))
    conversations = teacher_conversations()
    with quiet_training():
        sft = train_sft(build_sft_dataset(conversations), SFTOptions(
            output_dir=str(tmp_path / "sft"), base_model=str(base), batch_size=1, grad_accum=1, max_steps=2,
            learning_rate=1e-5), config_overrides=NO_CHECKPOINTS)
        policy = load_model(tmp_path / "sft")
        prompts, _ = build_grpo_dataset(conversations, policy[1])
        grpo = train_grpo(prompts, scripted_rewards(on_malformed="score_text"), GRPOOptions(
            output_dir=str(tmp_path / "grpo"), base_model=str(tmp_path / "sft"), batch_size=1, rollouts=2,
            max_steps=2, max_completion_length=32, learning_rate=1e-5), model=policy, config_overrides=NO_CHECKPOINTS)
        del policy
        exported = export_checkpoint(tmp_path / "grpo", tmp_path / "export")
    with capsys.disabled():
        print(f"\nSmolLM2: SFT {sft.mean_step_seconds:.2f} s/step, GRPO {grpo.mean_step_seconds:.2f} s/step, "
              f"peak RSS {grpo.peak_rss_mb:.0f} MB")
    assert sft.global_step == 2 and grpo.global_step == 2
    base_weights, sft_weights = weights(base), weights(tmp_path / "sft")
    assert changed(base_weights, sft_weights)
    del base_weights
    assert changed(sft_weights, weights(exported))

    program = load_program(exported / "ugst_program.json")
    program.set_lm(local_lm(exported, max_new_tokens=300, max_string_length=24, max_items=2))
    turns = [Turn(user="Hi, I'd like to exchange my keyboard.", agent="Sure, what is your zip code?")]
    with dspy.context(adapter=dspy.JSONAdapter()):
        said = program(goal=GOAL, turns=turns, max_turns=4)
    assert isinstance(said.reply, str) and isinstance(said.stop, bool)
