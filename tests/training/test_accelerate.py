"""``ugst sft`` and ``ugst grpo`` under ``accelerate launch``: the shipped configs, the batch split over processes,
the vLLM server settings, and real two-process runs (CPU, gloo) on the tiny model.

The launched runs go through a small probe script that counts who writes what: every final weight file, run
record and program must be written once, by the main process (rank 0).
"""

from __future__ import annotations

import glob
import json
import os
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from ugst_dspy.errors import UgstError
from ugst_dspy.optimizers.launch import CONFIGS, Processes, config_path

from conftest import REPO

TESTS = REPO / "tests"

PROBE = '''"""`ugst` with a log of the files each process writes (rank, what, where)."""
import json, os, sys

LOG = os.environ["UGST_PROBE_LOG"]


def note(kind, path):
    with open(LOG, "a") as log:
        log.write(json.dumps({"rank": int(os.environ.get("RANK", "0")), "kind": kind, "path": str(path)}) + "\\n")


import transformers

save_pretrained = transformers.PreTrainedModel.save_pretrained


def probe_save_pretrained(self, directory, *args, **kwargs):
    if kwargs.get("is_main_process", True):
        note("weights", directory)
    return save_pretrained(self, directory, *args, **kwargs)


transformers.PreTrainedModel.save_pretrained = probe_save_pretrained

from ugst_dspy.optimizers import training

write_json = training.write_json


def probe_write_json(path, data):
    note("json", path)
    return write_json(path, data)


training.write_json = probe_write_json

from ugst_dspy.cli.app import main

sys.exit(main(sys.argv[1:]))
'''


# -- the shipped configs ---------------------------------------------------------------------------


def test_every_shipped_config_is_package_data():
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = {name for pattern in patterns["ugst_dspy.optimizers"]
               for name in glob.glob(pattern, root_dir=REPO / "optimizers")}
    assert shipped == {f"accelerate/{name}.yaml" for name in CONFIGS}
    assert all(config_path(name).is_file() for name in CONFIGS)
    with pytest.raises(UgstError, match="no accelerate config 'zero4'"):
        config_path("zero4")


def test_the_config_path_prints_for_a_launch_command():
    result = subprocess.run([sys.executable, "-m", "ugst_dspy.optimizers.launch", "fsdp"], capture_output=True,
                            text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0 and Path(result.stdout.strip()) == config_path("fsdp")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_shipped_configs_are_what_accelerate_launch_reads(name, monkeypatch):
    """Each config goes through accelerate's own launcher checks and becomes the environment its processes get;
    the FSDP and DeepSpeed plugins are built from that environment (DeepSpeed itself is not needed for that)."""
    accelerate = pytest.importorskip("accelerate", reason="the [local] extra is not installed")
    del accelerate
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import DeepSpeedPlugin, FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    config = load_config_from_file(str(config_path(name)))
    assert str(config.distributed_type.value) == {"ddp": "MULTI_GPU", "fsdp": "FSDP", "deepspeed_zero2": "DEEPSPEED",
                                                  "deepspeed_zero3": "DEEPSPEED", "cpu_ddp": "MULTI_GPU"}[name]
    args = launch_command_parser().parse_args(["--config_file", str(config_path(name)), "train.py"])
    args, defaults, _ = _validate_launch_command(args)
    if args.use_deepspeed:
        args.deepspeed_fields_from_accelerate_config = ",".join(defaults.deepspeed_config)
        _, env = prepare_deepspeed_cmd_env(args)
    else:
        env = prepare_multi_gpu_env(args)
    for key in [k for k in os.environ if k.startswith(("ACCELERATE_", "FSDP_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith(("ACCELERATE_", "FSDP_")):
            monkeypatch.setenv(key, value)
    if name == "fsdp":
        plugin = FullyShardedDataParallelPlugin()
        assert plugin.fsdp_version == 2 and "FULL_STATE_DICT" in str(plugin.state_dict_type)  # export reads it
        assert not plugin.cpu_ram_efficient_loading
    elif name.startswith("deepspeed"):
        plugin = DeepSpeedPlugin()
        zero = plugin.deepspeed_config["zero_optimization"]
        assert zero["stage"] == int(name[-1]) and not plugin.zero3_init_flag
        assert zero["stage3_gather_16bit_weights_on_model_save"] == (name == "deepspeed_zero3")
        assert plugin.deepspeed_config["gradient_accumulation_steps"] == "auto"  # filled from the command's flags
    else:
        assert args.multi_gpu and not args.use_fsdp and not args.use_deepspeed
        assert args.mixed_precision == ("no" if name == "cpu_ddp" else "bf16")


# -- the batch over processes, vLLM's server -----------------------------------------------------------


def test_the_batch_is_the_optimizer_steps_over_all_processes():
    from ugst_dspy.optimizers.training import split_batch

    assert split_batch(32, 8) == (4, 8)  # one process: as before
    assert split_batch(32, 8, 2) == (4, 4) and split_batch(32, 8, 8) == (4, 1)  # the micro-batch kept
    assert split_batch(2, 1, 2) == (1, 1) and split_batch(6, 3, 2) == (1, 3)  # never a larger micro-batch
    assert split_batch(12, 2, 2) == (6, 1) and split_batch(12, 6, 4) == (1, 3)
    assert split_batch(128, 16, 4) == (8, 4)  # GRPO: 16 prompts x 8 roll-outs, one prompt's group at a time
    with pytest.raises(UgstError, match="cannot be shared out evenly over 3 processes: use a multiple of 3"):
        split_batch(32, 8, 3)
    with pytest.raises(UgstError, match="not a multiple of --grad-accum 3"):
        split_batch(32, 3, 2)


def test_sft_config_splits_the_batch_over_the_processes(tmp_path, monkeypatch):
    pytest.importorskip("trl", reason="the [train] extra is not installed")
    from ugst_dspy.optimizers import launch
    from ugst_dspy.optimizers.sft import SFTOptions, sft_config

    monkeypatch.setattr(launch, "processes", lambda: Processes(index=0, count=4))
    args = sft_config(SFTOptions(output_dir=str(tmp_path)))  # the paper's 32 = 4 per device x 2 steps x 4
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (4, 2)
    assert args.ddp_find_unused_parameters is False


def test_grpo_server_mode_is_trls_server_settings(tmp_path, monkeypatch):
    """`--use-vllm server --vllm-server-url URL` sets TRL 1.16's use_vllm, vllm_mode and vllm_server_base_url (the
    server's root: TRL's client adds /v1/..., /health and its weight-sync routes itself)."""
    pytest.importorskip("trl", reason="the [train] extra is not installed")
    from ugst_dspy.optimizers import grpo
    from ugst_dspy.optimizers.grpo import GRPOOptions, grpo_config

    monkeypatch.setattr(grpo, "check_extra", lambda *args, **kwargs: None)  # vllm is a GPU machine's extra
    for url in ("http://10.0.0.7:8000", "http://10.0.0.7:8000/", "http://10.0.0.7:8000/v1", "http://10.0.0.7:8000/v1/"):
        args = grpo_config(GRPOOptions(output_dir=str(tmp_path), use_vllm="server", vllm_server_url=url), [0.5] * 5)
        assert (args.use_vllm, args.vllm_mode, args.vllm_server_base_url) == (True, "server", "http://10.0.0.7:8000")
    colocate = grpo_config(GRPOOptions(output_dir=str(tmp_path), use_vllm="colocate"), [0.5] * 5)
    assert colocate.vllm_mode == "colocate" and colocate.vllm_max_model_length == 2048 + 512
    with pytest.raises(UgstError, match="needs --vllm-server-url"):
        grpo_config(GRPOOptions(output_dir=str(tmp_path), use_vllm="server"), [0.5] * 5)


def test_multi_turn_roll_outs_refuse_what_several_processes_cannot_run(monkeypatch):
    from ugst_dspy.optimizers.grpo import check_processes

    check_processes(True, "server")  # one process: anything goes
    monkeypatch.setenv("WORLD_SIZE", "2")
    check_processes(False, "server")
    check_processes(True, "colocate")
    with pytest.raises(UgstError, match="multi-turn with --use-vllm server runs on one training process"):
        check_processes(True, "server")
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    with pytest.raises(UgstError, match="does not run under FSDP"):
        check_processes(True, "off")
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "false")
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "3")
    with pytest.raises(UgstError, match="does not run under DeepSpeed ZeRO-3"):
        check_processes(True, "off")
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "2")
    check_processes(True, "off")


def test_one_process_uses_no_process_group(monkeypatch):
    from ugst_dspy.optimizers import launch

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert launch.processes() is launch.SINGLE and launch.processes().is_main
    assert launch.on_main(lambda: 41 + 1) == 42 and launch.local_main_first(lambda: "x") == "x"
    assert launch.sum_over_processes({"calls": 3}) == {"calls": 3}

    def refuse() -> None:
        raise UgstError("as it was")

    with pytest.raises(UgstError, match="as it was"):
        launch.on_main(refuse)


# -- two processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_env(log: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               ACCELERATE_USE_CPU="1", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", LITELLM_LOCAL_MODEL_COST_MAP="True",
               UGST_PROBE_LOG=str(log), TRL_EXPERIMENTAL_SILENCE="1")
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_PORT", "MASTER_ADDR"):
        env.pop(key, None)
    return env


def run_ugst(args: list[str], probe: Path, log: Path, processes: int) -> subprocess.CompletedProcess:
    python = sys.executable
    if processes > 1:
        command = [python, "-m", "accelerate.commands.launch", "--config_file", str(config_path("cpu_ddp")),
                   "--num_processes", str(processes), "--main_process_port", str(free_port()), str(probe), *args]
    else:
        command = [python, str(probe), *args]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=launch_env(log), timeout=300)
    print(f"{args[0]} on {processes} process(es): {time.perf_counter() - started:.1f} s")
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr[-6000:]}"
    return result


def writes(log: Path, out: Path) -> list[tuple[int, str, str]]:
    """(rank, kind, name in out) of every write the probe saw into ``out`` itself; the log is emptied."""
    found = []
    for line in log.read_text().splitlines() if log.is_file() else []:
        entry = json.loads(line)
        path = Path(entry["path"])
        folder = path if entry["kind"] == "weights" else path.parent
        if folder.resolve() == out.resolve():
            found.append((entry["rank"], entry["kind"], path.name))
    log.unlink(missing_ok=True)
    return sorted(found)


def test_sft_then_grpo_on_two_processes_and_a_one_process_resume(tmp_path, tiny_model_dir):
    """`ugst sft --teacher-runs` and `ugst grpo` launched on two CPU processes: the teacher runs once, progress
    prints once, the main process alone writes weights, program and run record (world size 2), and a plain
    one-process rerun resumes from the two-process checkpoint."""
    probe, log = tmp_path / "probe.py", tmp_path / "writes.jsonl"
    probe.write_text(PROBE)
    runs, sft_out, grpo_out = tmp_path / "teacher.jsonl", tmp_path / "sft", tmp_path / "grpo"
    sft = ["sft", "--teacher-runs", str(runs), "--env", "tau-retail", "--limit", "1", "--turns", "3",
           "--model", "scripted:training.world:respond", "--base-model", str(tiny_model_dir), "--out", str(sft_out),
           "--batch-size", "2", "--grad-accum", "1", "--lr", "1e-3", "--save-steps", "2"]
    err = run_ugst([*sft, "--max-steps", "2"], probe, log, processes=2).stderr
    assert err.count("1 teacher conversations, 0 already there") == 1 and len(runs.read_text().splitlines()) == 1
    assert err.count("ugst sft: 3 records from 1 conversations") == 1
    assert err.count("ugst sft: step 1/2") == 1 and err.count("ugst sft: step 2/2") == 1
    assert err.count(f"{sft_out}: 2 steps") == 1
    assert writes(log, sft_out) == [(0, "json", "ugst_training.json"), (0, "weights", "sft")]
    record = json.loads((sft_out / "ugst_training.json").read_text())
    assert record["stage"] == "sft" and record["global_step"] == 2 and record["world_size"] == 2
    assert record["distributed"] == {"type": "MULTI_CPU", "processes": 2, "machines": 1,
                                     "per_device_train_batch_size": 1, "gradient_accumulation_steps": 1}
    assert json.loads((sft_out / "ugst_run.json").read_text())["stage"] == "sft"
    assert (sft_out / "model.safetensors").is_file() and (sft_out / "ugst_program.json").is_file()
    assert sorted(p.name for p in (sft_out / "checkpoint-2").glob("rng_state_*.pth")) == ["rng_state_0.pth",
                                                                                         "rng_state_1.pth"]

    # GRPO from the SFT output, the tracker played by the scripted judge on both processes
    grpo = ["grpo", str(runs), "--base-model", str(sft_out), "--out", str(grpo_out), "--batch-size", "1",
            "--rollouts", "2", "--max-steps", "1", "--max-completion-length", "8", "--lr", "1e-3",
            "--tracker-model", "scripted:training.world:judge", "--on-malformed", "score_text"]
    err = run_ugst(grpo, probe, log, processes=2).stderr
    assert err.count("ugst grpo: 3 prompts") == 1 and err.count("ugst grpo: step 1/1") == 1
    assert err.count("2 tracker calls") == 1  # one completion on each process, counted together
    assert writes(log, grpo_out) == [(0, "json", "ugst_training.json"), (0, "weights", "grpo")]
    record = json.loads((grpo_out / "ugst_training.json").read_text())
    assert record["stage"] == "grpo" and record["world_size"] == 2 and record["previous"]["world_size"] == 2
    assert record["reward"]["tracker_calls"] == 2 and record["distributed"]["per_device_train_batch_size"] == 1

    # a plain one-process rerun of the SFT command resumes from the two-process checkpoint
    err = run_ugst([*sft, "--max-steps", "3"], probe, log, processes=1).stderr
    assert "training to step 3 (from step 2)" in err and "0 teacher conversations, 1 already there" in err
    record = json.loads((sft_out / "ugst_training.json").read_text())
    assert record["global_step"] == 3 and record["world_size"] == 1
    assert record["resumed_from"] == str(sft_out / "checkpoint-2")
    assert writes(log, sft_out) == [(0, "json", "ugst_training.json"), (0, "weights", "sft")]
