"""The reward over several user turns (multi-turn GRPO), and the same function in evaluate and optimize."""

from __future__ import annotations

import json

import pytest

from ugst_dspy import Conversation, Turn, ugst_reward
from ugst_dspy.reward import RewardConfig, TrajectoryConfig, conversation_reward, trajectory_reward
from ugst_dspy.state import CATEGORIES, Status


def _set(state, address, status):
    return state.with_item(address, state.get(address).model_copy(update={"status": status}))


def test_one_turn_without_final_share_or_termination_is_the_per_reply_reward(state):
    after = _set(_set(state, "task_objectives[0]", Status.ATTEMPTED), "user_policy[0]", Status.MISALIGNED)
    config = TrajectoryConfig(RewardConfig(), termination_weight=0.0, final_share=0.0)
    assert trajectory_reward([state, after], config).total == pytest.approx(ugst_reward(state, after).total)


def test_categories_blend_per_turn_indicators_with_the_final_success(state):
    s1 = _set(state, "task_objectives[0]", Status.COMPLETE)
    s2 = s1  # the second turn moves nothing
    reward = trajectory_reward([state, s1, s2])
    # task objectives: indicators 1 then 0 (mean 0.5); 1 of 2 complete at the end (0.5)
    assert reward.values["task_objective"] == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)
    assert reward.values["user_profile"] == 1.0 and reward.values["termination"] == 1.0
    weights = TrajectoryConfig().weights
    assert reward.total == pytest.approx(sum(w * reward.values[n] for n, w in zip(TrajectoryConfig().names, weights)))


@pytest.mark.parametrize("flags, signal", [
    ({"stop_with_request": True}, "stop_with_request"),
    ({"stopped": True}, "stopped_with_open_objectives"),
    ({"at_turn_limit": True}, "out_of_turns_open"),
])
def test_each_termination_failure_zeroes_termination(state, flags, signal):
    reward = trajectory_reward([state, state], **flags)
    assert reward.signals[signal] and reward.values["termination"] == 0.0


def test_stopping_or_running_out_with_every_objective_attempted_is_no_failure(state):
    done = _set(_set(state, "task_objectives[0]", Status.COMPLETE), "task_objectives[1]", Status.ATTEMPTED)
    assert trajectory_reward([state, done], stopped=True, at_turn_limit=True).values["termination"] == 1.0


def test_a_conversation_record_gets_the_same_reward(state):
    done = _set(state, "task_objectives[0]", Status.COMPLETE)
    turns = [Turn(user="Exchange it.", agent="Done.", state=done), Turn(user="Terminate.", agent="", state=done)]
    conversation = Conversation(goal_id="g", instruction="x", initial_state=state, turns=turns, ended_by="user_stop")
    # the bare stop message is no turn; the user stopped with the thermostat still INCOMPLETE
    assert conversation_reward(conversation) == trajectory_reward([state, done], stopped=True)
    asking = conversation.model_copy(update={"turns": [turns[0], Turn(user="And the thermostat? Terminate.",
                                                                      agent="", state=done)]})
    assert conversation_reward(asking).signals["stop_with_request"]
    untracked = conversation.model_copy(update={"initial_state": None})
    assert conversation_reward(untracked) is None


def test_evaluate_prints_the_conversation_reward(tmp_path, state):
    from typer.testing import CliRunner

    from ugst_dspy.cli.app import app

    done = _set(state, "task_objectives[0]", Status.COMPLETE)
    record = Conversation(goal_id="g", instruction="x", initial_state=state, ended_by="max_turns",
                          turns=[Turn(user="Exchange it.", agent="Done.", state=done)], meta={"env": "tau-retail"})
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(record.to_json()) + "\n")
    result = CliRunner().invoke(app, ["evaluate", str(path), "--reward", "--format", "json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)["reward"]["rows"]["all"]
    direct = conversation_reward(record)
    assert row["total"] == pytest.approx(direct.total) and row["termination"] == 0.0  # out of turns, one open
    text = CliRunner().invoke(app, ["evaluate", str(path), "--reward"]).output
    assert "UGST conversation reward" in text


def test_the_optimize_metric_can_add_termination(state):
    pytest.importorskip("dspy")
    import dspy

    from ugst_dspy.engines.scripted import scripted_lm
    from ugst_dspy.optimizers.metric import make_ugst_metric

    def judge(call):  # the batched tracker: nothing moves
        lines = (call.field("open_sub_components") or "").splitlines()
        return {"verdicts": [{"id": line.split("|")[0].strip(), "reason": "-",
                              "status": line.split("|")[2].split()[-1]} for line in lines]}

    example = dspy.Example(goal="x", turns=[Turn(user="Hi", agent="Hello")], state=state, max_turns=10)
    plain = make_ugst_metric(tracker_lm=scripted_lm(judge))
    strict = make_ugst_metric(tracker_lm=scripted_lm(judge), termination_weight=0.5)
    going, stopping = dspy.Prediction(reply="Exchange it please.", stop=False), dspy.Prediction(reply="", stop=True)
    with dspy.context(adapter=dspy.JSONAdapter()):
        base = plain(example, going)
        assert plain(example, stopping) == base  # the paper's reward has no term for stopping
        assert strict(example, going) > strict(example, stopping)  # stopping with objectives open costs
        total = 0.5 * len(CATEGORIES)
        assert strict(example, going) == pytest.approx((base * total + 0.5) / (total + 0.5))
