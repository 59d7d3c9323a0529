"""Shared fixtures: the benchmark data installed with the package, a tiny model and small hand-made goal states."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny Llama with SmolLM2's tokenizer, saved once for the whole session."""
    for module in ("torch", "transformers", "outlines"):
        pytest.importorskip(module, reason="the [local] extra is not installed")
    from ugst_dspy.engines import embedded_gguf_path, make_tiny_model
    from ugst_dspy.errors import UgstError

    try:
        embedded_gguf_path()
    except UgstError as err:
        pytest.skip(str(err))
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture
def one_torch_thread():
    """Run torch on one thread meanwhile: a 3 M-parameter model gains nothing from two, and two OpenMP
    threads on a busy 2-core machine make each call several times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def packaged_data() -> Path:
    """The benchmark data folder installed with the package (``ugst_dspy/data``): always there."""
    from ugst_dspy.envs.datafiles import PACKAGED_DATA

    return PACKAGED_DATA


@pytest.fixture
def state():
    from ugst_dspy import DEFAULT_RULES

    return DEFAULT_RULES.new_state(
        ["You are Yusuf Rossi in 19122."],
        ["You want everything addressed in one go."],
        [
            {"text": "Exchange the keyboard.", "requirements": ["Clicky switches."], "preferences": ["RGB backlight."]},
            {"text": "Exchange the thermostat.", "requirements": ["Works with Google Home."]},
        ],
    )
