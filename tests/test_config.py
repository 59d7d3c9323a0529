from __future__ import annotations

import pytest

from ugst_dspy.config import ROLES, UGSTConfig
from ugst_dspy.engines.spec import ModelPool, ModelSpec
from ugst_dspy.errors import UgstError


def test_defaults_use_the_embedded_model_everywhere():
    config = UGSTConfig()
    assert config.models() == dict.fromkeys(ROLES, "embedded")
    assert config.roles["simulator"].temperature > 0 and config.roles["tracker"].temperature == 0
    assert config.to_json()["roles"]["tracker"]["model"] == "embedded"


def test_toml_file_env_and_flags_in_that_order(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('seed = 7\nmax_turns = 6\n[roles.tracker]\nmodel = "openai/gpt-4o-mini"\ntemperature = 0.0\n')
    env = {"UGST_MODEL": "anthropic/claude", "UGST_AGENT_MODEL": "openai/gpt-4o"}
    config = UGSTConfig.resolve(path, {"simulator": "vllm:smol@http://127.0.0.1:9/v1"}, env=env, seed=None)
    assert config.seed == 7 and config.max_turns == 6
    assert config.models() == {
        "decomposer": "anthropic/claude",  # environment default
        "tracker": "openai/gpt-4o-mini",  # the file wins over the environment
        "simulator": "vllm:smol@http://127.0.0.1:9/v1",  # the flag wins
        "agent": "openai/gpt-4o",
        "rater": "anthropic/claude",
    }
    assert UGSTConfig.resolve(path, {"all": "embedded"}, env={}, seed=3).seed == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sede = 1\n", "unknown key 'sede'"),
        ("[roles.judge]\nmodel = 'x'\n", "unknown role 'roles.judge'"),
        ("[roles.tracker]\nmodle = 'x'\n", "unknown key 'roles.tracker.modle'"),
        ("max_turns = 0\n", "max_turns must be at least 1"),
        ("tracker_mode = 'lazy'\n", "tracker_mode must be batched or per_component"),
        ("seed = \n", "Invalid value"),
    ],
)
def test_bad_config_files_fail_with_one_line(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UgstError, match=message) as err:
        UGSTConfig.load(path)
    assert "\n" not in str(err.value)


def test_model_specs(tmp_path):
    assert ModelSpec.parse(None) == ModelSpec("embedded") == ModelSpec.parse("embedded")
    assert ModelSpec.parse("openai/gpt-4o-mini") == ModelSpec("api", "openai/gpt-4o-mini")
    assert ModelSpec.parse("vllm:smol@http://127.0.0.1:8000/v1") == ModelSpec("vllm", "smol", "http://127.0.0.1:8000/v1")
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert ModelSpec.parse(str(folder)) == ModelSpec("local", str(folder.resolve()))
    assert ModelSpec.parse(f"local:{folder}").kind == "local"
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert ModelSpec.parse(str(gguf)) == ModelSpec("gguf", str(gguf.resolve()))
    assert str(ModelSpec.parse("vllm:smol@http://h:1/v1")) == "vllm:smol@http://h:1/v1"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("./no/such/folder", "does not exist"),
        ("vllm:smol", "vllm:MODEL@http://HOST:PORT/v1"),
        ("gguf:/nope.gguf", "no GGUF file"),
        ("just words", "use embedded, a model folder"),
    ],
)
def test_bad_model_specs_fail_with_one_line(spec, message):
    with pytest.raises(UgstError, match=message):
        ModelSpec.parse(spec)


def test_pool_checks_specs_before_any_work():
    config = UGSTConfig.resolve(None, {"tracker": "./missing-model"}, env={})
    with pytest.raises(UgstError, match="missing-model"):
        ModelPool(config).check()
