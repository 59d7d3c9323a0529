"""``ugst sft``/``ugst grpo``/``ugst export`` never write over a model: one-line refusals, nothing touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ugst_dspy.cli.app import main
from ugst_dspy.errors import UgstError


def fake_model(folder: Path) -> Path:
    """A folder that looks like a full checkpoint (the refusals come before any weight is read)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def refusal(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("ugst: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "runs.jsonl"
    path.write_text("")
    return path


@pytest.mark.parametrize("command", ["sft", "grpo"])
def test_training_never_writes_into_around_or_over_its_base_model(command, tmp_path, data, capsys):
    base = fake_model(tmp_path / "base")
    link = tmp_path / "link"
    link.symlink_to(base, target_is_directory=True)
    before = snapshot(tmp_path)
    cases = [(base, "is"), (base / "sft", "lies inside"), (tmp_path, "contains"), (link, "is")]
    for out, relation in cases:
        assert main([command, str(data), "--out", str(out), "--base-model", str(base)]) == 2
        assert f"--out {out}: {relation} the base model's folder {base.resolve()}" in refusal(capsys)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["sft", "grpo"])
def test_embedded_stands_for_its_folder_in_the_model_cache(command, tmp_path, data, capsys, monkeypatch):
    monkeypatch.setenv("UGST_CACHE_DIR", str(tmp_path / "cache"))
    from ugst_dspy.engines.embedded import embedded_model_dir

    folder = embedded_model_dir(prepare=False)
    for out, relation in ((folder, "is"), (folder / "run", "lies inside"), (tmp_path / "cache", "contains")):
        assert main([command, str(data), "--out", str(out)]) == 2  # the default base model is embedded
        assert f"{relation} the embedded model's folder {folder}" in refusal(capsys)
    assert not (tmp_path / "cache").exists()  # refused before converting anything


def test_the_base_under_a_lora_adapter_is_protected_too(tmp_path, data, capsys):
    base = fake_model(tmp_path / "base")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(base)}))
    assert main(["sft", str(data), "--out", str(base / "next"), "--base-model", str(adapter)]) == 2
    assert f"lies inside the LoRA base model's folder {base.resolve()}" in refusal(capsys)
    assert not (base / "next").exists()


def test_an_output_folder_is_new_empty_or_the_same_run_resumed(tmp_path, data, capsys):
    base = fake_model(tmp_path / "base")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    sft_run = tmp_path / "sft-run"
    sft_run.mkdir()
    (sft_run / "ugst_training.json").write_text(json.dumps({"stage": "sft"}))
    grpo_run = tmp_path / "grpo-run"  # interrupted: only the marker a starting run writes, and a checkpoint
    fake_model(grpo_run / "checkpoint-2")
    (grpo_run / "ugst_run.json").write_text(json.dumps({"stage": "grpo"}))
    before = snapshot(tmp_path)
    args = ["--base-model", str(base)]
    for command in ("sft", "grpo"):
        assert main([command, str(data), "--out", str(busy), *args]) == 2
        assert f"--out {busy}: already exists, is not empty and holds no `ugst {command}` run" in refusal(capsys)
        assert main([command, str(data), "--out", str(busy / "notes.txt"), *args]) == 2
        assert "notes.txt: is a file, not a folder" in refusal(capsys)
    assert main(["grpo", str(data), "--out", str(sft_run), *args]) == 2
    assert "holds an `ugst sft` run, not an `ugst grpo` one" in refusal(capsys)
    assert main(["sft", str(data), "--out", str(grpo_run), *args]) == 2
    assert "holds an `ugst grpo` run, not an `ugst sft` one" in refusal(capsys)
    assert main(["sft", str(data), "--out", str(sft_run), "--restart", *args]) == 2
    assert "holds an earlier `ugst sft` run; --resume continues it" in refusal(capsys)
    # resuming the same kind of run passes the check (and stops at the empty data, later)
    for command, out in (("sft", sft_run), ("grpo", grpo_run)):
        assert main([command, str(data), "--out", str(out), *args]) == 2
        err = refusal(capsys)
        assert "--out" not in err and str(data) in err  # the data's refusal, not the folder's
    # ... but not from a checkpoint of the very run it would write into
    assert main(["grpo", str(data), "--out", str(grpo_run), "--base-model", str(grpo_run / "checkpoint-2")]) == 2
    assert f"--out {grpo_run}: contains the base model's folder" in refusal(capsys)
    assert snapshot(tmp_path) == before


def test_teacher_runs_are_not_written_into_the_output_folder(tmp_path, capsys):
    base = fake_model(tmp_path / "base")
    out = tmp_path / "sft"
    args = ["sft", "--teacher-runs", str(out / "teacher.jsonl"), "--env", "nope", "--out", str(out),
            "--base-model", str(base)]
    assert main(args) == 2
    assert "--teacher-runs" in refusal(capsys) and not out.exists()


def test_the_library_checks_too(tmp_path):
    from ugst_dspy.optimizers.grpo import GRPOOptions, train_grpo
    from ugst_dspy.optimizers.sft import SFTOptions, train_sft

    base = fake_model(tmp_path / "base")
    before = snapshot(tmp_path)
    with pytest.raises(UgstError, match="is the base model's folder"):
        train_sft([{"prompt": [], "completion": []}], SFTOptions(output_dir=str(base), base_model=str(base)))
    with pytest.raises(UgstError, match="lies inside the base model's folder"):
        train_grpo([{"prompt": []}], None, GRPOOptions(output_dir=str(base / "grpo"), base_model=str(base)))
    assert snapshot(tmp_path) == before


def test_export_never_writes_over_its_checkpoint_or_run(tmp_path, capsys):
    run = tmp_path / "run"
    checkpoint = fake_model(run / "checkpoint-2")
    (run / "ugst_training.json").write_text(json.dumps({"stage": "sft"}))
    base = fake_model(tmp_path / "base")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(base)}))
    link = tmp_path / "link"
    link.symlink_to(run, target_is_directory=True)
    (tmp_path / "file").write_text("x")
    before = snapshot(tmp_path)
    cases = [
        (checkpoint, run, "is the training run folder of the checkpoint"),
        (checkpoint, link, "is the training run folder of the checkpoint"),
        (checkpoint, checkpoint, "is the checkpoint"),
        (checkpoint, checkpoint / "export", "lies inside the checkpoint"),
        (checkpoint, run / "export", "lies inside the training run folder of the checkpoint"),
        (checkpoint, tmp_path, "contains the checkpoint"),
        (adapter, base, "is the LoRA checkpoint's base model"),
        (checkpoint, tmp_path / "file", "is a file, not a folder"),
    ]
    for source, out, reason in cases:
        for extra in ([], ["--overwrite"]):
            assert main(["export", str(source), "--out", str(out), *extra]) == 2
            assert f"--out {out}: {reason}" in refusal(capsys)
    assert snapshot(tmp_path) == before


def test_export_leaves_no_stray_files(tmp_path, capsys, monkeypatch, tiny_model_dir, one_torch_thread):
    from ugst_dspy.optimizers import export

    work = tmp_path / "work"
    work.mkdir()
    kept = work / "kept"
    kept.mkdir()
    (kept / "old.txt").write_text("old")
    real_card = export.model_card

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "model_card", full_disk)
    assert main(["export", str(tiny_model_dir), "--out", str(work / "new" / "deep" / "out")]) == 2
    assert "No space left on device" in refusal(capsys)
    assert main(["export", str(tiny_model_dir), "--out", str(kept), "--overwrite"]) == 2
    refusal(capsys)
    assert sorted(p.name for p in work.iterdir()) == ["kept"]  # not even the folders made for --out
    assert [p.name for p in kept.iterdir()] == ["old.txt"]

    monkeypatch.setattr(export, "model_card", real_card)
    link = work / "link"
    link.symlink_to(kept, target_is_directory=True)
    assert main(["export", str(tiny_model_dir), "--out", str(link), "--overwrite"]) == 0
    assert capsys.readouterr().out.strip() == str(link)
    assert link.is_symlink() and (kept / "model.safetensors").is_file() and not (kept / "old.txt").exists()
    assert sorted(p.name for p in work.iterdir()) == ["kept", "link"]  # no temporary or set-aside folder
