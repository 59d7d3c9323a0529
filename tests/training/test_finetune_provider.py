"""``dspy.BootstrapFinetune`` distils a program into local weights through the TRL provider (tiny model)."""

from __future__ import annotations

import dspy
import pytest

from ugst_dspy.engines.scripted import scripted_lm


def test_bootstrap_finetune_trains_the_tiny_model_with_trl(tiny_model_dir, tmp_path, one_torch_thread):
    pytest.importorskip("trl", reason="the [train] extra is not installed")
    from safetensors.torch import load_file

    from ugst_dspy.engines.local import TransformersEngine
    from ugst_dspy.optimizers.finetune_provider import TRLFinetuneProvider, trl_finetunable_lm
    from ugst_dspy.optimizers.quiet import quiet_training

    lm = trl_finetunable_lm(tiny_model_dir, output_root=tmp_path / "runs", max_new_tokens=8, max_string_length=8)
    assert isinstance(lm.provider, TRLFinetuneProvider) and lm.provider.finetunable
    student = dspy.Predict("question -> answer")
    student.set_lm(lm)
    teacher = dspy.Predict("question -> answer")
    teacher.set_lm(scripted_lm(lambda call: "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]"))
    trainset = [dspy.Example(question=f"Capital of France ({i})?", answer="Paris").with_inputs("question")
                for i in range(3)]
    optimizer = dspy.BootstrapFinetune(metric=lambda example, prediction, trace=None: prediction.answer == "Paris",
                                       train_kwargs={"max_steps": 2, "batch_size": 3, "learning_rate": 1e-3})
    with dspy.context(adapter=dspy.ChatAdapter()), quiet_training():
        distilled = optimizer.compile(student, trainset=trainset, teacher=teacher)

    engine = distilled.lm._engine_spec
    assert isinstance(engine, TransformersEngine) and engine.path.parent == tmp_path / "runs"
    assert distilled.lm.model == f"local/{engine.name}" and engine.max_string_length == 8  # the engine's options kept
    before, after = load_file(str(tiny_model_dir / "model.safetensors")), load_file(str(engine.path / "model.safetensors"))
    assert any(not before[k].equal(after[k]) for k in before)
    assert not (engine.path / "ugst_program.json").exists()  # not a simulator: no student program packed
    with dspy.context(adapter=dspy.JSONAdapter()):
        distilled(question="Capital of France?")  # the distilled program runs on the new weights
    assert engine.usage.calls == 1


def test_the_provider_refuses_unknown_train_kwargs(tiny_model_dir, tmp_path):
    from ugst_dspy.optimizers.finetune_provider import TRLFinetuneProvider

    provider = TRLFinetuneProvider(tmp_path)
    with pytest.raises(ValueError, match="unknown train_kwargs max_seq_length"):
        provider.options(str(tiny_model_dir), {"max_seq_length": 512})
    with pytest.raises(ValueError, match="cannot find the weights"):
        provider.options("local/some-name", {})
    options = provider.options(str(tiny_model_dir), {"epochs": 1})
    assert options.base_model == str(tiny_model_dir) and options.output_dir.startswith(str(tmp_path))
