"""Fixtures for the engine tests: a tiny random model made once per session, offline (tests/conftest.py sets
HF_HUB_OFFLINE)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def _need_local_stack() -> None:
    for module in ("torch", "transformers", "outlines"):
        pytest.importorskip(module, reason="the [local] extra is not installed")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny Llama with SmolLM2's tokenizer, saved once for the whole session."""
    _need_local_stack()
    from ugst_dspy.engines import embedded_gguf_path, make_tiny_model
    from ugst_dspy.errors import UgstError

    try:
        embedded_gguf_path()
    except UgstError as err:
        pytest.skip(str(err))
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture
def one_torch_thread() -> Any:
    """Run torch on one thread meanwhile: a 3 M-parameter model gains nothing from two, and two OpenMP
    threads on a busy 2-core machine make each call several times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
