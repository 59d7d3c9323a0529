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
from ugst_dspy.runner.failure import ItemFailed
from ugst_dspy.runner.simulate import ConversationRunner, make_agent

from conftest import REPO

SCRIPTED = "scripted:scripted_world:respond"


@pytest.fixture
def runner():
    config = UGSTConfig.resolve(None, {"all": SCRIPTED}, env={}, max_turns=5)
    pool = ModelPool(config)
    return ConversationRunner(config, "tau-retail", make_simulator("state-steered"), make_agent("dspy", pool), pool)


def test_a_full_tau_bench_conversation_with_tools_tracking_and_stop(runner, packaged_data):
    goal = read_goals(packaged_data / "tau_bench" / "retail_test.jsonl", limit=1)[0]
    conversation = runner.run(goal)
    record = conversation.to_json()
    validate("conversation", record)
    assert conversation.ended_by == "user_stop" and conversation.meta.error is None
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
    assert meta.usage["simulator"].calls == 3 and meta.usage["decomposer"].calls == 1
    assert meta.usage["agent"].calls == 4  # two tool steps and an answer, then an answer
    # the recorded states by the paper's per-component judge (4, 4 and 2 open items), and the state the
    # simulator sees by the batched steering tracker after the turns the user answers (1 call each)
    assert meta.usage["tracker"].calls == 4 + 4 + 2 + 2
    assert meta.config["tracker_mode"] == "per_component" and meta.config["steering_tracker_mode"] == "batched"
    assert meta.steering.to_json() == {"mode": "batched", "separate_tracker": True, "illegal_updates": 0}
    assert meta.simulator_options == {"countdown": False}
    assert meta.models["tracker"] == SCRIPTED and meta.simulator == "state-steered"
    assert meta.tau_bench["reward"] == 0.0  # the scripted agent never made the exchange


def test_the_recorded_states_are_the_evaluation_trackers_and_the_simulator_sees_the_steering_ones(
    packaged_data, monkeypatch
):
    import scripted_world

    goal = read_goals(packaged_data / "tau_bench" / "retail_test.jsonl", limit=1)[0]
    original, seen = scripted_world.respond, []

    def respond(call):
        fields = set((call.schema or {}).get("properties", {}))
        if "reply" in fields:
            seen.append(call.field("goal_state"))
        if "verdicts" in fields:  # the batched steering judge finds every open task attempted at once
            answer = original(call)
            return {"verdicts": [{**v, "status": "ATTEMPTED"} if v["status"] == "INCOMPLETE" else v
                                 for v in answer["verdicts"]]}
        return original(call)

    monkeypatch.setattr(scripted_world, "respond", respond)

    def run(simulator: str, **settings):
        config = UGSTConfig.resolve(None, {"all": SCRIPTED}, env={}, max_turns=5, **settings)
        pool = ModelPool(config)
        seen.clear()
        runner = ConversationRunner(config, "tau-retail", make_simulator(simulator), make_agent("dspy", pool), pool)
        return runner.run(goal)

    two = run("state-steered")
    requirement = "task_objectives[0].requirements[0]"
    assert two.turns[0].state.get(requirement).status.value == "INCOMPLETE"  # recorded: per-component
    assert "requirement [ATTEMPTED] The new keyboard" in " ".join(seen[1].split())  # seen: the steering state
    one = run("state-steered", steering_tracker_mode="per_component")  # the modes agree: one tracker
    assert one.meta.steering.separate_tracker is False and one.meta.usage["tracker"].calls == 10
    assert "requirement [INCOMPLETE] The new keyboard" in " ".join(seen[1].split())
    plain = run("prompt")  # a simulator that reads no state gets no steering tracker
    assert plain.meta.steering is None and plain.meta.usage["tracker"].calls == 10
    batched = run("prompt", tracker_mode="batched")  # --mode batched still records batched states
    assert batched.meta.usage["tracker"].calls == 3 and batched.meta.config["tracker_mode"] == "batched"


def test_a_teacher_that_stops_with_an_empty_reply_ends_with_its_stop_message(packaged_data, monkeypatch):
    """The reasoning teacher's bare stop (empty reply + stop flag) is the record's last turn, with its
    reasoning, no agent reply and the state after the agent's last answer; SFT labels the stop there only."""
    import scripted_world
    from ugst_dspy.metrics.diagnostics import diagnose
    from ugst_dspy.modules.simulators import ReasoningSimulator
    from ugst_dspy.optimizers.layout import parse_completion
    from ugst_dspy.optimizers.sft_data import sft_records

    original = scripted_world.respond

    def respond(call):
        answer = original(call)
        if "progress" in (call.schema or {}).get("properties", {}):
            turn = scripted_world._turn_number(call)
            reasoning = {"progress": f"turn {turn}", "remaining": "nothing" if turn == 3 else "the keyboard",
                         "alignment": "polite"}
            answer = {**reasoning, **(answer if turn < 3 else {"reply": "", "stop": True})}
        return answer

    monkeypatch.setattr(scripted_world, "respond", respond)
    config = UGSTConfig.resolve(None, {"all": SCRIPTED}, env={}, max_turns=5)
    pool = ModelPool(config)
    teacher = ReasoningSimulator(max_turns=5, use_state=True)
    goal = read_goals(packaged_data / "tau_bench" / "retail_test.jsonl", limit=1)[0]
    conversation = ConversationRunner(config, "tau-retail", teacher, make_agent("dspy", pool), pool).run(goal)
    validate("conversation", conversation.to_json())
    assert conversation.ended_by == "user_stop" and len(conversation.turns) == 3
    *answered, last = conversation.turns
    assert all(turn.agent for turn in answered)
    assert (last.user, last.agent, last.tool_calls) == ("Terminate.", "", [])
    assert last.reasoning == {"progress": "turn 3", "remaining": "nothing", "alignment": "polite"}
    assert last.state == answered[-1].state == conversation.final_state  # nothing said to judge: carried over
    assert conversation.meta.usage["tracker"].calls == 4 + 4 + 2  # no judge call for the stop message
    assert conversation.stop_turn == 2 and "stop_with_request" not in diagnose(conversation)
    records = sft_records([conversation])
    parsed = [parse_completion(record["completion"][0]["content"]) for record in records]
    assert [record["turn_index"] for record in records] == [0, 1, 2]
    assert [turn.stop for turn in parsed] == [False, False, True]  # not on the turn the agent answered
    assert parsed[-1].reasoning["remaining"] == "nothing" and parsed[-1].reply == ""
    assert answered[-1].agent in records[-1]["prompt"][-1]["content"]  # the student stops after the answer


def test_an_error_ends_only_that_conversation(runner, packaged_data, monkeypatch):
    goal = read_goals(packaged_data / "tau_bench" / "retail_test.jsonl", limit=1)[0]

    def broken(*args, **kwargs):
        raise RuntimeError("agent crashed")

    monkeypatch.setattr(runner.agent, "respond", broken)
    conversation = runner.run(goal)
    assert conversation.ended_by == "error"
    assert conversation.meta.failure.to_json() == {"type": "RuntimeError", "message": "agent crashed", "role": "agent", "turn": 1}
    assert conversation.meta.error == "RuntimeError: agent crashed (role agent, turn 1)"
    validate("conversation", conversation.to_json())
    with pytest.raises(ItemFailed) as failed:  # as a batch item, a failure is never a result
        runner(goal)
    assert failed.value.error["role"] == "agent" and failed.value.record["goal_id"] == goal.id


def test_killing_simulate_and_rerunning_writes_every_goal_once(tmp_path):
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
