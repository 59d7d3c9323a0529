"""The UGST metric: the normalised SPEC reward of the predicted message, and GEPA's feedback form."""

from __future__ import annotations

import inspect

import dspy
import pytest

from ugst_dspy.conversation import Turn
from ugst_dspy.errors import UgstError
from ugst_dspy.modules.tracker import GoalStateTracker
from ugst_dspy.optimizers.metric import make_ugst_metric
from ugst_dspy.optimizers.trainset import build_trainset
from ugst_dspy.reward import RewardConfig, ugst_reward
from ugst_dspy.modules.scoring import ResponseScorer
from ugst_dspy.state import CATEGORIES, Category

from .scripted_optimize import BLAND, GOOD


@pytest.fixture
def first_prefix(conversations):
    return build_trainset(conversations[:1]).examples[0]  # S_0: tasks open, preference not expressed


def direct_reward(example, reply, tracker_lm, config=None):
    """The reward computed by hand: the tracker on the turn with ``reply``, then ``ugst_reward``."""
    tracker = GoalStateTracker()
    tracker.set_lm(tracker_lm)
    turns = [*example.turns, Turn(user=reply)]
    after = tracker(goal=example.goal, state=example.state, turns=turns).state
    return ugst_reward(example.state, after, config)


@pytest.mark.parametrize("reply", [GOOD, BLAND, "I'm rude and want clicky switches."])
def test_the_metric_is_the_normalised_spec_reward(first_prefix, lms, json_adapter, reply):
    metric = make_ugst_metric(tracker_lm=lms["tracker"])
    score = metric(first_prefix, dspy.Prediction(reply=reply, stop=False))
    expected = direct_reward(first_prefix, reply, lms["tracker"])
    assert isinstance(score, float)
    assert score == pytest.approx(expected.total / 2.5)
    assert score == {GOOD: 1.0, BLAND: 0.4}.get(reply, 0.6)


def test_custom_weights_normalise_by_their_sum(first_prefix, lms, json_adapter):
    weights = {c: 1.0 for c in CATEGORIES} | {Category.PREFERENCE: 3.0}
    config = RewardConfig(weights=weights)
    metric = make_ugst_metric(tracker_lm=lms["tracker"], config=config)
    score = metric(first_prefix, dspy.Prediction(reply=BLAND, stop=False))
    assert score == pytest.approx(direct_reward(first_prefix, BLAND, lms["tracker"], config).total / 7.0) == 2 / 7
    with pytest.raises(UgstError, match="sum to 0"):
        make_ugst_metric(tracker_lm=lms["tracker"], config=RewardConfig(weights=dict.fromkeys(CATEGORIES, 0.0)))


def test_gepa_form_returns_score_and_feedback_naming_failed_categories(first_prefix, lms, json_adapter):
    metric = make_ugst_metric(tracker_lm=lms["tracker"])
    inspect.signature(metric).bind(None, None, None, None, None)  # what dspy.GEPA checks
    dspy.GEPA(metric=metric, reflection_lm=lms["reflection"], max_metric_calls=1)
    pred = dspy.Prediction(reply=BLAND, stop=True)
    out = metric(first_prefix, pred, None, "respond", None)
    assert isinstance(out, dspy.Prediction)
    assert out.score == metric(first_prefix, pred) == pytest.approx(0.4)
    feedback = out.feedback
    assert "Failed: task_objective, requirement, preference." in feedback
    assert "user_profile" not in feedback and "user_policy" not in feedback
    assert "the user does not mention clicky switches" in feedback  # the judge's reason
    assert "[MISALIGNED] You prefer a clicky keyboard" in feedback
    assert "ended the conversation with 2 task objective(s) still INCOMPLETE" in feedback
    good = metric(first_prefix, dspy.Prediction(reply=GOOD, stop=False), None, "respond", None)
    assert good.score == 1.0 and "Every category is met" in good.feedback and "Failed" not in good.feedback
    rude = metric(first_prefix, dspy.Prediction(reply="I'm rude.", stop=False), None, "respond", None)
    assert "Failed: user_profile, user_policy, task_objective, requirement, preference." in rude.feedback


def test_scores_are_memoised_per_prefix_and_reply(first_prefix, lms, json_adapter):
    scorer = ResponseScorer()
    scorer.tracker.set_lm(lms["tracker"])
    metric = make_ugst_metric(scorer)
    pred = dspy.Prediction(reply=BLAND, stop=False)
    metric(first_prefix, pred)
    metric(first_prefix, pred, None, "respond", None)
    assert len(lms["tracker"].engine.calls) == 1
    metric(first_prefix, dspy.Prediction(reply=GOOD, stop=False))
    assert len(lms["tracker"].engine.calls) == 2
