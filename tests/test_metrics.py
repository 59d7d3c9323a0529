"""Metric tests against numbers computed by hand."""

from __future__ import annotations

import pytest

from ugst_dspy import DEFAULT_RULES, Conversation, GoalState, StatusUpdate, Turn, apply_updates, success_table
from ugst_dspy.metrics import agreement, decomposition_quality, text_similarity
from ugst_dspy.state import Category


def moved(state: GoalState, *updates: tuple[str, str]) -> GoalState:
    result = apply_updates(state, [StatusUpdate(a, s, "r") for a, s in updates])
    assert not result.illegal
    return result.state


def conv(key: str, turns: list[GoalState | None], initial: GoalState | None, simulator: str = "prompt",
         ended_by: str = "user_stop") -> Conversation:
    return Conversation(id=key, goal_id=key, instruction="x", initial_state=initial,
                        turns=[Turn(user="u", agent="a", state=s) for s in turns], ended_by=ended_by,
                        meta={"models": {"simulator": simulator}})


def test_success_rates_are_pooled_and_na_is_left_out_of_the_average(state):
    # conversation A: profile ok, policy broken, objective 0 COMPLETE, objective 1 ATTEMPTED,
    # requirement 0 COMPLETE, requirement 1 INCOMPLETE, preference ALIGNED
    a = moved(state, ("user_policy[0]", "MISALIGNED"), ("task_objectives[0]", "COMPLETE"),
              ("task_objectives[1]", "ATTEMPTED"), ("task_objectives[0].requirements[0]", "COMPLETE"),
              ("task_objectives[0].preferences[0]", "ALIGNED"))
    # conversation B: a goal with only one objective (no profile, policy, requirement or preference)
    b0 = DEFAULT_RULES.new_state(task_objectives=["Book a taxi."])
    rows = success_table([conv("A", [state, a], state), conv("B", [], b0), conv("C", [None], None)])
    (row,) = rows
    rates = {c: (r.successes, r.total) for c, r in row.categories.items()}
    assert rates == {
        Category.USER_PROFILE: (1, 1), Category.USER_POLICY: (0, 1), Category.TASK_OBJECTIVE: (2, 3),
        Category.REQUIREMENT: (1, 2), Category.PREFERENCE: (1, 1),
    }
    assert row.conversations == 2 and row.untracked == 1
    assert row.average == pytest.approx((1 + 0 + 2 / 3 + 1 / 2 + 1) / 5)

    only_b = success_table([conv("B", [], b0)])[0]
    assert only_b.categories[Category.PREFERENCE].rate is None  # n/a
    assert only_b.average == pytest.approx(0.0)  # only T.O. counts: 0/1
    done = success_table([conv("B", [moved(b0, ("task_objectives[0]", "COMPLETE"))], b0)])[0]
    assert done.average == pytest.approx(1.0)


def test_success_rates_group_by_a_meta_path(state):
    good = moved(state, ("task_objectives[0]", "COMPLETE"), ("task_objectives[1]", "COMPLETE"))
    rows = success_table(
        [conv("1", [good], state, "big"), conv("2", [state], state, "small"), conv("3", [good], state, "big")],
        group_by="models.simulator",
    )
    assert [(r.group, r.conversations, r.categories[Category.TASK_OBJECTIVE].rate) for r in rows] == [
        ("big", 2, 1.0), ("small", 1, 0.0),
    ]
    assert [r.group for r in success_table([conv("1", [good], state)], group_by="meta.nothing")] == ["n/a"]


def test_agreement_per_category_and_overall(state):
    x1 = moved(state, ("task_objectives[0]", "COMPLETE"))
    y1 = moved(state, ("task_objectives[0]", "ATTEMPTED"), ("user_policy[0]", "MISALIGNED"))
    first = [conv("A", [x1, x1], state), conv("only-first", [state], state)]
    second = [conv("A", [y1, x1], state), conv("only-second", [state], state)]
    result = agreement(first, second)
    # turn 1: 7 compared, 2 differ (policy, objective 0); turn 2: 7 compared, 0 differ
    assert (result.overall.successes, result.overall.total) == (12, 14)
    assert (result.categories[Category.USER_POLICY].successes, result.categories[Category.USER_POLICY].total) == (1, 2)
    assert result.categories[Category.TASK_OBJECTIVE].successes == 3
    assert result.conversations == 1 and result.unpaired == 2
    final = agreement(first, second, final_only=True)
    assert (final.overall.successes, final.overall.total) == (7, 7)


def test_agreement_skips_sub_components_whose_text_differs(state):
    other = DEFAULT_RULES.new_state(["Someone else."], ["You want everything addressed in one go."])
    result = agreement([conv("A", [state], state)], [conv("A", [other], other)])
    assert result.overall.total == 1 and result.overall.successes == 1  # only the policy pairs
    assert result.mismatched_items == 6


def test_text_similarity():
    assert text_similarity("Book a taxi.", "book a TAXI") == 1.0
    assert text_similarity("a b c d", "a b") == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert text_similarity("x", "y") == 0.0 and text_similarity("", "") == 1.0


def test_decomposition_precision_recall_f1_and_category_accuracy():
    gold = DEFAULT_RULES.new_state(
        ["You are Yusuf Rossi in 19122."],
        ["You are detail-oriented."],
        [{"text": "Exchange the mechanical keyboard.", "requirements": ["It must have clicky switches."]}],
    )
    predicted = DEFAULT_RULES.new_state(
        ["You are Yusuf Rossi in 19122."],  # matched, same category
        [],
        [
            {"text": "Exchange the mechanical keyboard.",  # matched, same category
             "preferences": ["It must have clicky switches."]},  # matched, wrong category
            "Ask for a discount on shipping.",  # unmatched
        ],
    )
    score = decomposition_quality({"g": predicted}, {"g": gold, "missing": GoalState(user_profile=gold.user_profile)})
    # predicted 4 (+0 for the missing goal), gold 4 + 1, matched 3
    assert (score.predicted, score.gold, score.matched, score.same_category) == (4, 5, 3, 2)
    assert score.precision == pytest.approx(3 / 4) and score.recall == pytest.approx(3 / 5)
    assert score.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert score.category_accuracy == pytest.approx(2 / 3)
    assert score.missing_predictions == 1 and score.goals == 2
