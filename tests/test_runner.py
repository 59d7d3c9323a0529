"""The conversation runner with a scripted model in every role: tool calls, tracking, stop, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ugst_dspy import read_conversations, validate
from ugst_dspy.config import UGSTConfig
from ugst_dspy.engines.spec import ModelPool
from ugst_dspy.files.goals import read_goals
from ugst_dspy.modules import make_simulator
from ugst_dspy.runner.simulate import ConversationRunner, make_agent

from conftest import REPO

SCRIPTED = "scripted:scripted_world:respond"


@pytest.fixture
def runner(shared_data):
    config = UGSTConfig.resolve(None, {"all": SCRIPTED}, env={}, max_turns=5)
    pool = ModelPool(config)
    return ConversationRunner(config, "tau-retail", make_simulator("state-steered"), make_agent("dspy", pool), pool)


def test_a_full_tau_bench_conversation_with_tools_tracking_and_stop(runner, shared_data):
    goal = read_goals(shared_data / "tau_bench" / "retail_test.jsonl", limit=1)[0]
    conversation = runner.run(goal)
    record = conversation.to_json()
    validate("conversation", record)
    assert conversation.ended_by == "user_stop" and "error" not in conversation.meta
    assert [t.user for t in conversation.turns][-1] == "Great, that's all I needed. Thanks!"
    first = conversation.turns[0]
    assert [c.name for c in first.tool_calls] == ["find_user_id_by_name_zip", "get_order_details"]
    assert first.tool_calls[0].result == "yusuf_rossi_9620"  # the real tool on the real database
    assert json.loads(first.tool_calls[1].result)["status"] == "delivered"
    assert conversation.turns[1].agent == "I have exchanged the keyboard for a clicky one."
    assert conversation.turns[-1].agent == ""  # the stop message gets no answer
    final = conversation.final_state
    assert [x.status.value for x in final.items()] == ["ALIGNED", "ALIGNED", "COMPLETE", "COMPLETE"]
    meta = conversation.meta
    assert meta["usage"]["simulator"]["calls"] == 3 and meta["usage"]["decomposer"]["calls"] == 1
    assert meta["usage"]["agent"]["calls"] == 4  # two tool steps and an answer, then an answer
    assert meta["usage"]["tracker"]["calls"] == 3
    assert meta["models"]["tracker"] == SCRIPTED and meta["simulator"] == "state-steered"
    assert meta["tau_bench"]["reward"] == 0.0  # the scripted agent never made the exchange


def test_an_error_ends_only_that_conversation(runner, shared_data, monkeypatch):
    goal = read_goals(shared_data / "tau_bench" / "retail_test.jsonl", limit=1)[0]

    def broken(*args, **kwargs):
        raise RuntimeError("agent crashed")

    monkeypatch.setattr(runner.agent, "respond", broken)
    conversation = runner.run(goal)
    assert conversation.ended_by == "error" and conversation.meta["error"] == "RuntimeError: agent crashed"
    validate("conversation", conversation.to_json())


def test_killing_simulate_and_rerunning_writes_every_goal_once(tmp_path, shared_data):
    out = tmp_path / "runs.jsonl"
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'tests'}{os.pathsep}{REPO}", "SCRIPTED_DELAY": "0.05"}
    args = [sys.executable, "-m", "ugst_dspy", "simulate", "--env", "tau-retail", "--limit", "6", "--turns", "3",
            "--model", SCRIPTED, "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = [c.goal_id for c in read_conversations(out)]
    assert 2 <= len(first) < 6
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ids = [c.goal_id for c in read_conversations(out)]
    assert sorted(ids) == sorted(f"retail-test-{i}" for i in range(6)) and len(ids) == len(set(ids))
    assert ids[: len(first)] == first  # what was written before the kill is kept as it was
    assert "T.O." in done.stdout and f"({len(first)} already done, skipped)" in done.stderr
