"""Every UGST module end to end on the tiny random model through the real local engine (Outlines keeps
its outputs schema-valid), with the model pool doing the wiring; every state written validates."""

from __future__ import annotations

import dspy
import pytest

from ugst_dspy import Conversation, Turn, validate
from ugst_dspy.config import UGSTConfig
from ugst_dspy.engines.spec import ModelPool
from ugst_dspy.modules import DecomposeGoal, GoalStateTracker, make_simulator
from ugst_dspy.programs import UGSTEvaluator
from ugst_dspy.usage import UsageRecorder

GOAL = "You are Yusuf Rossi in 19122. Exchange your keyboard for a clicky one. You are polite."


@pytest.fixture
def pool(tiny_model_dir, one_torch_thread):
    config = UGSTConfig.resolve(None, {"all": str(tiny_model_dir)}, env={})
    for role in config.roles.values():
        role.max_tokens = 200
    # random weights fill every string to its bound: keep the bounds small so each call ends early
    return ModelPool(config, engine_options={"max_string_length": 16, "max_items": 2})


def test_every_module_runs_on_the_tiny_model(pool, state):
    usage = UsageRecorder()
    with dspy.context(adapter=dspy.JSONAdapter()):
        decomposer = DecomposeGoal()
        decomposer.set_lm(pool.lm("decomposer"))
        with usage.role("decomposer"):
            initial = decomposer(goal=GOAL).state
        validate("goal-state", initial.to_json())
        turns = [Turn(user="Hi, I want to exchange my keyboard.", agent="Sure, what is your zip code?")]
        for mode in ("per_component", "batched"):
            tracker = GoalStateTracker(mode=mode)
            tracker.set_lm(pool.lm("tracker"))
            with usage.role("tracker"):
                out = tracker(goal=GOAL, state=state, turns=turns)
            validate("goal-state", out.state.to_json())
            assert out.calls >= 1
        for name in ("prompt", "goal-reminder", "state-steered", "reasoning"):
            simulator = make_simulator(name)
            simulator.set_lm(pool.lm("simulator"))
            with usage.role("simulator"):
                said = simulator(goal=GOAL, turns=turns, state=state)
            assert isinstance(said.reply, str) and isinstance(said.stop, bool)
    recorded = usage.to_json()
    assert recorded["tracker"]["calls"] == 7 + 1  # 7 open sub-components, then one batched call
    assert recorded["simulator"]["calls"] == 4 and recorded["decomposer"]["calls"] == 1
    assert all(role["prompt_tokens"] > 0 and role["completion_tokens"] > 0 for role in recorded.values())
    assert len(pool.engines()) == 1  # every role shares one loaded copy of the model


def test_evaluator_tracks_a_conversation_on_the_tiny_model(pool):
    evaluator = UGSTEvaluator(mode="batched")
    evaluator.decomposer.set_lm(pool.lm("decomposer"))
    evaluator.tracker.set_lm(pool.lm("tracker"))
    conversation = Conversation(goal_id="g", instruction=GOAL, ended_by="user_stop", turns=[
        Turn(user="Hello, I need a new keyboard.", agent="I can help. Your name?"),
        Turn(user="Yusuf Rossi. Thanks, bye! Terminate.", agent=""),
    ])
    with dspy.context(adapter=dspy.JSONAdapter()):
        tracked = evaluator.track_conversation(conversation)
    validate("conversation", tracked.to_json())
    assert all(turn.state is not None for turn in tracked.turns)
