"""``ugst sft``, ``ugst grpo`` and ``ugst export`` on the command line: help, one-line refusals, a LoRA run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ugst_dspy.cli.app import app, main

from conftest import REPO


@pytest.fixture(autouse=True)
def commands():
    """The three commands on the app (a no-op once cli/app.py registers them itself)."""
    from ugst_dspy.cli import export, grpo, sft

    names = {command.name for command in app.registered_commands}
    for name, function in (("sft", sft.sft), ("grpo", grpo.grpo), ("export", export.export)):
        if name not in names:
            app.command(name)(function)


@pytest.mark.parametrize("command", ["sft", "grpo", "export"])
def test_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--out" in out
    expected = {"sft": ["--lora", "--batch-size", "--lr", "--epochs", "--max-steps", "--grad-accum", "--teacher-runs"],
                "grpo": ["--rollouts", "--use-vllm", "--token-budget", "--max-steps", "--alpha"],
                "export": ["--program", "--evaluation"]}[command]
    assert all(flag in out for flag in expected)


def test_help_stays_light():
    code = (
        "import sys\n"
        "from ugst_dspy.cli import app, export, grpo, sft\n"
        "for n, f in (('sft', sft.sft), ('grpo', grpo.grpo), ('export', export.export)):\n"
        "    app.app.command(n)(f)\n"
        "for c in ('sft', 'grpo', 'export'):\n"
        "    app.main([c, '--help'])\n"
        "import ugst_dspy.optimizers\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'vllm', 'peft', 'datasets') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("ugst: error: ") and err.count("\n") == 1, err
    return err


def test_bad_input_is_refused_in_one_line(tmp_path, capsys, tiny_model_dir):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = str(tmp_path / "out")
    assert main(["export", str(tmp_path / "missing"), "--out", out]) == 2
    assert "no such checkpoint folder" in one_line_error(capsys)
    assert main(["export", str(tmp_path), "--out", out]) == 2
    assert "not a checkpoint" in one_line_error(capsys)
    assert main(["sft", "--out", out]) == 2
    assert "give teacher conversation files" in one_line_error(capsys)
    assert main(["sft", str(tmp_path / "nope.jsonl"), "--out", out]) == 2
    assert "no such conversation file" in one_line_error(capsys)
    assert main(["sft", str(empty), "--out", out, "--base-model", str(tiny_model_dir)]) == 2
    assert f"no records in {empty}" in one_line_error(capsys)
    assert main(["sft", str(empty), "--out", out, "--batch-size", "6", "--grad-accum", "4"]) == 2
    assert "not a multiple of --grad-accum" in one_line_error(capsys)
    assert main(["sft", str(empty), "--out", out, "--base-model", "openai/gpt-4o-mini"]) == 2
    assert "training needs local weights" in one_line_error(capsys)
    assert main(["sft", str(empty)]) == 2
    assert "Missing option '--out'" in one_line_error(capsys)
    assert main(["grpo", str(empty), "--out", out]) == 2
    assert f"no records in {empty}" in one_line_error(capsys)
    assert main(["grpo", str(empty), "--out", out, "--use-vllm", "fast"]) == 2
    assert "unknown --use-vllm 'fast'" in one_line_error(capsys)
    if __import__("importlib").util.find_spec("vllm") is None:
        assert main(["grpo", str(empty), "--out", out, "--use-vllm", "colocate"]) == 2
        assert "needs the 'gpu' extra (no module named 'vllm'): pip install 'ugst-dspy[gpu]'" in one_line_error(capsys)
    assert main(["grpo", str(empty), "--out", out, "--rollouts", "1"]) == 2
    one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_sft_from_teacher_runs_with_lora_then_export(tmp_path, capsys, tiny_model_dir, one_torch_thread):
    """`ugst sft --teacher-runs` runs the state-steered reasoning teacher (scripted roles), trains a LoRA
    adapter on its turns; `ugst export` merges it into full weights."""
    runs = tmp_path / "teacher.jsonl"
    sft_out, export_out = tmp_path / "sft", tmp_path / "export"
    args = ["sft", "--teacher-runs", str(runs), "--env", "tau-retail", "--limit", "1", "--turns", "3",
            "--model", "scripted:training.world:respond", "--base-model", str(tiny_model_dir), "--out", str(sft_out),
            "--lora", "--lora-r", "4", "--batch-size", "2", "--grad-accum", "1", "--lr", "1e-2", "--max-steps", "1"]
    assert main(args) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "1 teacher conversations" in err and "ugst sft: 3 records from 1 conversations" in err
    assert "ugst sft: step 1/1" in err
    record = json.loads(runs.read_text().splitlines()[0])
    assert record["meta"]["program"] == "reasoning-teacher" and all("reasoning" in t for t in record["turns"])
    assert record["goal_id"] == "retail-train-0"  # teacher runs default to the training goals
    assert json.loads((sft_out / "ugst_training.json").read_text())["eval_overlap"] == 0
    assert (sft_out / "adapter_config.json").is_file() and (sft_out / "ugst_program.json").is_file()
    assert main(["sft", str(runs), "--out", str(tmp_path / "dry"), "--base-model", str(tiny_model_dir), "--dry-run"]) == 0
    assert not (tmp_path / "dry").exists()

    assert main(["export", str(sft_out), "--out", str(export_out), "--evaluation", str(runs)]) == 0
    assert capsys.readouterr().out.strip() == str(export_out)
    from safetensors.torch import load_file

    base, merged = load_file(str(tiny_model_dir / "model.safetensors")), load_file(str(export_out / "model.safetensors"))
    assert set(base) == set(merged) and any(not base[k].equal(merged[k]) for k in base)
    assert not (export_out / "adapter_config.json").exists()
    card = (export_out / "README.md").read_text()
    assert "LoRA, merged on export" in card and "## Evaluation" in card and "| all | 1 |" in card
    assert main(["export", str(sft_out), "--out", str(export_out)]) == 2
    assert "already exists and is not empty" in one_line_error(capsys)
    # GRPO from the LoRA checkpoint (merged on load), the tracker played by the scripted judge
    grpo_out = tmp_path / "grpo"
    args = ["grpo", str(runs), "--base-model", str(sft_out), "--out", str(grpo_out), "--batch-size", "1",
            "--rollouts", "2", "--max-steps", "1", "--max-completion-length", "8", "--lr", "1e-3",
            "--tracker-model", "scripted:training.world:judge", "--on-malformed", "score_text"]
    assert main(args) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "ugst grpo: 3 prompts" in err and "ugst grpo: step 1/1" in err and "2 tracker calls" in err
    record = json.loads((grpo_out / "ugst_training.json").read_text())
    assert record["stage"] == "grpo" and record["previous"]["stage"] == "sft" and record["previous"]["lora"]
    assert record["reward"]["weights"]["preference"] == 0.5 and record["reward"]["on_malformed"] == "score_text"
    assert record["reward"]["tracker_mode"] == "batched"  # the rewards' (steering) tracker, recorded
    assert (grpo_out / "model.safetensors").is_file() and (grpo_out / "ugst_program.json").is_file()


def test_grpo_with_multi_turn_rollouts_on_the_command_line(tmp_path, capsys, tiny_model_dir, one_torch_thread):
    """`ugst grpo --rollout multi-turn`: the roll-outs talk to the scripted agent in τ-retail (each conversation's
    meta.env), the scripted judge tracks them; the run record says so."""
    runs, out = tmp_path / "runs.jsonl", tmp_path / "grpo"
    assert main(["simulate", "--env", "tau-retail", "--split", "train", "--limit", "1", "--turns", "3", "--model",
                 "scripted:scripted_world:respond", "--out", str(runs)]) == 0
    capsys.readouterr()
    args = ["grpo", str(runs), "--base-model", str(tiny_model_dir), "--out", str(out), "--rollout", "multi-turn",
            "--turns", "2", "--batch-size", "1", "--rollouts", "2", "--max-steps", "1", "--max-completion-length", "8",
            "--agent-model", "scripted:scripted_world:respond", "--tracker-model", "scripted:training.world:judge",
            "--on-malformed", "score_text", "--termination-weight", "0.25"]
    assert main(args) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "ugst grpo: step 1/1" in err and "tracker calls" in err
    record = json.loads((out / "ugst_training.json").read_text())
    assert record["rollout"] == "multi-turn" and record["rollouts"]["turns"] == 2
    assert record["rollouts"]["rollouts"] == 2 and record["rollouts"]["agent_calls"] >= 1
    assert record["reward"]["termination_weight"] == 0.25 and record["reward"]["functions"][-1] == "termination"
    assert (out / "model.safetensors").is_file() and (out / "ugst_program.json").is_file()
    assert main(["grpo", str(runs), "--out", str(tmp_path / "x"), "--rollout", "many-turns"]) == 2
