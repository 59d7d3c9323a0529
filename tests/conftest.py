"""Shared fixtures: paths to the benchmark data beside the repo and small hand-made goal states."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = Path(os.environ.get("UGST_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


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
