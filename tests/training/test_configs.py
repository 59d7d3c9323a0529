"""The paper's training defaults, and how the flags scale them into TRL's configs."""

from __future__ import annotations

import pytest

from ugst_dspy.errors import UgstError


def test_sft_defaults_are_the_papers(tmp_path):
    pytest.importorskip("trl", reason="the [train] extra is not installed")
    from ugst_dspy.optimizers.sft import SFTOptions, sft_config

    args = sft_config(SFTOptions(output_dir=str(tmp_path)))
    assert args.per_device_train_batch_size * args.gradient_accumulation_steps == 32
    assert (args.learning_rate, args.num_train_epochs, args.max_steps) == (1e-6, 4.0, -1)
    assert args.report_to == [] or args.report_to in ("none", ["none"])
    assert args.max_length is None and not args.gradient_checkpointing
    scaled = sft_config(SFTOptions(output_dir=str(tmp_path), batch_size=4, grad_accum=2, learning_rate=1e-4,
                                   max_steps=3))
    assert (scaled.per_device_train_batch_size, scaled.gradient_accumulation_steps, scaled.max_steps) == (2, 2, 3)
    with pytest.raises(UgstError, match="not a multiple of --grad-accum 3"):
        sft_config(SFTOptions(output_dir=str(tmp_path), batch_size=32, grad_accum=3))


def test_grpo_defaults_are_the_papers(tmp_path):
    pytest.importorskip("trl", reason="the [train] extra is not installed")
    from ugst_dspy.optimizers.grpo import GRPOOptions, grpo_config

    args = grpo_config(GRPOOptions(output_dir=str(tmp_path)), [0.5] * 5)
    assert args.num_generations == 8 and args.generation_batch_size == 16 * 8  # 16 prompts x 8 rollouts a step
    assert args.per_device_train_batch_size == 8 and args.gradient_accumulation_steps == 16
    assert (args.learning_rate, args.max_steps, args.reward_weights) == (5e-6, 350, [0.5] * 5)
    assert not args.use_vllm and args.beta == 0.0
    small = grpo_config(GRPOOptions(output_dir=str(tmp_path), batch_size=2, rollouts=4, grad_accum=1, max_steps=5),
                        [1.0] * 5)
    assert (small.per_device_train_batch_size, small.generation_batch_size, small.max_steps) == (8, 8, 5)
    with pytest.raises(UgstError, match="at least 2"):
        grpo_config(GRPOOptions(output_dir=str(tmp_path), rollouts=1), [1.0] * 5)
    with pytest.raises(UgstError, match="not a multiple of --grad-accum 3"):
        grpo_config(GRPOOptions(output_dir=str(tmp_path), batch_size=1, rollouts=4, grad_accum=3), [1.0] * 5)
