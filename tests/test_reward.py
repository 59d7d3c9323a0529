from __future__ import annotations

import pytest

from ugst_dspy import DEFAULT_RULES, RewardConfig, StatusUpdate, apply_updates, ugst_reward
from ugst_dspy.state import CATEGORIES, Category


def after(state, *updates):
    return apply_updates(state, [StatusUpdate(a, s) for a, s in updates]).state


def test_reward_in_progress_mode(state):
    # nothing moved: profile and policy ALIGNED (1 each), tasks not all successful and none moved (0, 0),
    # preference MISALIGNED (0)
    r = ugst_reward(state, state)
    assert r.total == pytest.approx(1.0)
    assert r.failed == [Category.TASK_OBJECTIVE, Category.REQUIREMENT, Category.PREFERENCE]
    # one requirement moved forward: requirement indicator 1 although the other is still INCOMPLETE
    s1 = after(state, ("task_objectives[0].requirements[0]", "COMPLETE"))
    r1 = ugst_reward(state, s1)
    assert r1.indicators[Category.REQUIREMENT] == 1 and r1.indicators[Category.TASK_OBJECTIVE] == 0
    assert r1.total == pytest.approx(1.5)
    # the same state again: nothing moved with this response any more
    assert ugst_reward(s1, s1).indicators[Category.REQUIREMENT] == 0


def test_reward_in_success_mode_and_weights(state):
    s1 = after(state, ("task_objectives[0].requirements[0]", "COMPLETE"), ("user_policy[0]", "MISALIGNED"))
    weights = dict.fromkeys(CATEGORIES, 0.0) | {Category.REQUIREMENT: 2.0, Category.USER_PROFILE: 1.0}
    config = RewardConfig(weights=weights, mode="success")
    r = ugst_reward(state, s1, config)
    assert r.indicators[Category.REQUIREMENT] == 0 and r.indicators[Category.USER_POLICY] == 0
    assert r.total == pytest.approx(1.0)
    done = after(s1, ("task_objectives[1].requirements[0]", "ATTEMPTED"))
    assert ugst_reward(s1, done, config).total == pytest.approx(3.0)
    assert r.to_json()["indicators"]["requirement"] == 0 and config.to_json()["mode"] == "success"


def test_empty_categories_count_one():
    only = DEFAULT_RULES.new_state(task_objectives=["Book a taxi."])
    r = ugst_reward(only, only)
    assert r.indicators == {c: int(c is not Category.TASK_OBJECTIVE) for c in CATEGORIES}
    assert r.total == pytest.approx(2.0)


def test_bad_reward_config():
    with pytest.raises(ValueError, match="indicator mode"):
        RewardConfig(mode="strict")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="missing for: preference"):
        RewardConfig(weights={c: 1.0 for c in CATEGORIES if c is not Category.PREFERENCE})


def test_response_scorer_tracks_the_response_then_scores_it(state):
    import dspy

    from ugst_dspy.engines.scripted import scripted_lm
    from ugst_dspy.modules.scoring import ResponseScorer
    from ugst_dspy.transcript import latest_user_message

    def judge(call):
        lines = (call.field("open_sub_components") or "").splitlines()
        said = latest_user_message(call.field("conversation") or "")
        verdicts = []
        for line in lines:
            key, category, now, _, text = [p.strip() for p in line.split("|")]
            status = now[4:]
            if category == "preference" and "RGB" in said:
                status = "ALIGNED"
            verdicts.append({"id": key, "reason": "r", "status": status})
        return {"verdicts": verdicts}

    with dspy.context(lm=scripted_lm(judge), adapter=dspy.JSONAdapter()):
        scorer = ResponseScorer()
        plain = scorer.score("goal", state, [], "Hello there.")
        rgb = scorer.score("goal", state, [], "I'd like an RGB keyboard.")
    assert plain.reward.total == ugst_reward(state, state).total == 1.0
    assert rgb.reward.total == 1.5 and rgb.state.get("task_objectives[0].preferences[0]").status.value == "ALIGNED"
