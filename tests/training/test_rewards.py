"""The student layout and the GRPO reward functions, with a scripted judge (no model, no torch)."""

from __future__ import annotations

import json

import dspy
import pytest

from ugst_dspy import Turn, ugst_reward
from ugst_dspy.engines.scripted import scripted_lm
from ugst_dspy.modules.simulators import ReasoningSimulator
from ugst_dspy.modules.tracker import GoalStateTracker
from ugst_dspy.optimizers.layout import format_completion, parse_completion, student_messages
from ugst_dspy.optimizers.rewards import UGSTRewardFunctions
from ugst_dspy.reward import RewardConfig
from ugst_dspy.modules.scoring import ResponseScorer
from ugst_dspy.state import CATEGORIES, Category

from training.world import judge

GOAL = "You are Yusuf Rossi in 19122. Exchange your keyboard for a clicky one. You are polite."


def make_rewards(config: RewardConfig | None = None, **options):
    tracker = GoalStateTracker()
    lm = scripted_lm(judge)
    tracker.set_lm(lm)
    return UGSTRewardFunctions(ResponseScorer(tracker, config), **options), lm.engine


def columns(state, turns=()):
    return {"goal": GOAL, "state": json.dumps(state.to_json()), "turns": json.dumps([t.model_dump(mode="json") for t in turns])}


def test_the_student_prompt_is_what_the_dspy_program_sends_and_holds_no_state(state):
    seen = []

    def answer(call):
        seen.append(call)
        return {"progress": "p", "remaining": "r", "alignment": "a", "reply": "Hello.", "stop": False}

    simulator = ReasoningSimulator()
    simulator.set_lm(scripted_lm(answer))
    turns = [Turn(user="Hi, I want to exchange a keyboard.", agent="Sure, your zip code?")]
    with dspy.context(adapter=dspy.JSONAdapter()):
        said = simulator(goal=GOAL, turns=turns, max_turns=6)
    messages = student_messages(GOAL, turns, 6)
    assert messages == [{"role": "system", "content": seen[0].system}, *seen[0].messages]
    assert "can last at most 6 turns" in messages[-1]["content"] and "INCOMPLETE" not in messages[-1]["content"]
    assert "This is turn" not in messages[-1]["content"]  # the limit stated once, as at inference
    counting = ReasoningSimulator(countdown=True)  # a program with the countdown: its training prompts count too
    counting.set_lm(scripted_lm(answer))
    with dspy.context(adapter=dspy.JSONAdapter()):
        counting(goal=GOAL, turns=turns, max_turns=6)
    assert student_messages(GOAL, turns, 6, counting) == [{"role": "system", "content": seen[1].system}, *seen[1].messages]
    assert "This is turn 2 of at most 6; 4 more after this one." in seen[1].messages[-1]["content"]
    assert said.reply == "Hello." and said.reasoning == {"progress": "p", "remaining": "r", "alignment": "a"}
    # the completion layout is the JSON object the program's adapter parses
    text = format_completion({"progress": "p", "remaining": "r", "alignment": "a"}, "Hello.", False)
    parsed = dspy.JSONAdapter().parse(simulator.respond.signature, text)
    assert list(parsed) == ["progress", "remaining", "alignment", "reply", "stop"] and parsed["reply"] == "Hello."


def test_parse_completion_strict_and_lenient():
    text = format_completion({"progress": "x"}, "Thanks, bye! Terminate.", False)
    assert parse_completion(text).reply == "Thanks, bye!" and parse_completion(text).stop
    assert parse_completion("no json here") is None
    cut = '{"progress": "a", "remaining": "b", "alignment": "c", "reply": "I need a clicky'
    assert parse_completion(cut) is None
    assert parse_completion(cut, strict=False).reply == "I need a clicky"
    assert parse_completion('{"reply": "", "stop": false}') is None  # nothing said and no stop


def test_weighted_sum_of_the_five_functions_is_the_ugst_reward(state):
    config = RewardConfig(weights={c: w for c, w in zip(CATEGORIES, (0.5, 0.25, 1.0, 0.75, 0.1), strict=True)})
    rewards, engine = make_rewards(config)
    turns = [Turn(user="Hi.", agent="Hello, how can I help?")]
    replies = ["I am Yusuf Rossi, zip 19122.", "Please exchange my keyboard.", "A clicky one, thanks!", "Bye."]
    completions = [[{"role": "assistant", "content": format_completion({}, r, False)}] for r in replies]
    row = columns(state, turns)
    kwargs = {key: [value] * len(replies) for key, value in row.items()}
    per_function = [f(prompts=[[]] * len(replies), completions=completions, completion_ids=[], **kwargs)
                    for f in rewards.functions]
    assert [f.__name__ for f in rewards.functions] == [c.value for c in CATEGORIES]
    assert rewards.tracker_calls == len(replies) and len(engine.calls) == len(replies)  # once per completion
    direct_tracker = GoalStateTracker()
    direct_tracker.set_lm(scripted_lm(judge))
    totals = set()
    for i, reply in enumerate(replies):
        after = direct_tracker(goal=GOAL, state=state, turns=[*turns, Turn(user=reply)]).state
        direct = ugst_reward(state, after, config)
        weighted = sum(w * values[i] for w, values in zip(rewards.weights, per_function, strict=True))
        assert weighted == pytest.approx(direct.total)
        assert [values[i] for values in per_function] == [direct.indicators[c] for c in CATEGORIES]
        totals.add(direct.total)
    assert len(totals) > 1  # the scripted judge does tell replies apart


def test_malformed_completions_score_zero_without_a_tracker_call(state):
    rewards, engine = make_rewards()
    row = columns(state)
    out = rewards.functions[0](prompts=[[]], completions=[[{"role": "assistant", "content": "random words"}]],
                               goal=[row["goal"]], state=[row["state"]], turns=[row["turns"]])
    assert out == [0.0] and not engine.calls and rewards.malformed == 1
    lenient, engine = make_rewards(on_malformed="score_text")
    lenient.functions[2](prompts=[[]], completions=["random words"], goal=[row["goal"]], state=[row["state"]],
                         turns=[row["turns"]])
    assert len(engine.calls) == 1 and lenient.score("random words", **row).reply == "random words"


def test_parallel_scoring_scores_each_distinct_row_once(state):
    rewards, engine = make_rewards(workers=3)
    row = columns(state)
    texts = [format_completion({}, reply, False) for reply in ("a", "b", "a", "c", "b", "a")]
    scores = rewards.score_batch(texts, [row["goal"]] * 6, [row["state"]] * 6, [row["turns"]] * 6)
    assert len(engine.calls) == 3 and scores[0] is scores[2] is scores[5]
    assert {s.total for s in scores} <= {s.reward.total for s in scores}
    assert all(s.reward is not None and s.indicators[Category.USER_PROFILE] in (0, 1) for s in scores)
