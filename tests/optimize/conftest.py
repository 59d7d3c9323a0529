"""Fixtures of the optimisation tests: the example conversations and scripted LMs for every role."""

from __future__ import annotations

import dspy
import pytest

from ugst_dspy.engines.scripted import scripted_lm
from ugst_dspy.files.conversations import read_conversations

from conftest import REPO

from . import scripted_optimize

EXAMPLES = REPO / "examples" / "conversations.jsonl"
SCRIPTED = "scripted:optimize.scripted_optimize:respond"  # tests/ is on sys.path


@pytest.fixture
def conversations():
    return read_conversations(EXAMPLES)


@pytest.fixture
def lms():
    """Scripted simulator, tracker and reflection LMs (one engine each, so calls can be counted)."""
    return {role: scripted_lm(scripted_optimize.respond, f"optimize-{role}") for role in ("simulator", "tracker", "reflection")}


@pytest.fixture
def json_adapter():
    with dspy.context(adapter=dspy.JSONAdapter()):
        yield
