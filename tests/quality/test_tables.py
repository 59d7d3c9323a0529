"""Pure aggregation and rendering: decomposition per group, n/a ratings, every table in every format."""

from __future__ import annotations

import json

import pytest

from ugst_dspy.metrics import Agreement, Rate, agreement
from ugst_dspy.metrics.decomposition import decomposition_table
from ugst_dspy.metrics.diversity import DiversityRow
from ugst_dspy.metrics.quality import ConversationRating, quality_table
from ugst_dspy.metrics.similarity import SimilarityRow
from ugst_dspy.report.agreement_table import format_agreement
from ugst_dspy.report.decomposition_table import format_decomposition
from ugst_dspy.report.quality_table import format_diversity, format_quality, format_similarity
from ugst_dspy.state import Category

from .helpers import chat, tracked


def test_decomposition_per_group_takes_the_first_initial_state_of_a_goal(state):
    first = tracked(state, [], "user_stop", key="g1")
    first.meta.sim = "X"
    again = first.model_copy(update={"id": "g1#2"})  # same goal, repeated
    no_state = chat("g2", ["hi"], sim="X")  # goal g2 run without an initial state: a missing prediction
    other_group = tracked(state, [], "user_stop", key="g1")
    other_group.meta.sim = "Y"
    gold = {"g1": state, "g2": state, "g3": state}
    x, y = decomposition_table([first, again, no_state, other_group], gold, group_by="sim")
    assert (x.conversations, x.repeated, x.not_in_gold, x.gold_not_run) == (3, 1, 0, 1)
    scored = (x.score.goals, x.score.missing_predictions, x.score.matched, x.score.predicted, x.score.gold)
    assert scored == (2, 1, 7, 7, 14)
    assert x.score.precision == 1.0 and x.score.recall == 0.5 and x.score.f1 == pytest.approx(2 / 3)
    assert (y.score.goals, y.score.recall, y.gold_not_run) == (1, 1.0, 2)


def test_unrated_groups_are_na():
    (row,) = quality_table([(chat("a", []), ConversationRating(errors=("no turns to rate",)))])
    assert row.scores["naturalness"].mean is None and row.unrated("coherence") == 1
    assert row.to_json()["confusion"] == {"flagged": 0, "judged": 0, "rate": None}
    text = format_quality([row])
    assert "n/a" in text and "all: unrated: naturalness 1, coherence 1" in text


@pytest.mark.parametrize("fmt", ["text", "markdown", "csv", "json"])
def test_every_table_in_every_format(fmt, state):
    conversation = tracked(state, [[]], "user_stop")
    tally = agreement([conversation], [conversation])
    assert tally.overall == Rate(7, 7)
    rating = ConversationRating(naturalness=4, coherence=3, confusion=True, contradiction=False)
    (quality,) = quality_table([(conversation, rating)])
    decomposition = decomposition_table([conversation], {"c": state})
    diversity = [DiversityRow("all", 1, 1, 50, 30, 40.123456, 0.8123456)]
    similarity = [SimilarityRow("all", 1, [0.25, 0.75])]
    outputs = [
        format_agreement(tally, fmt, "b.jsonl"),
        format_quality([quality], fmt, "scripted"),
        format_decomposition(decomposition, fmt, "gold.jsonl"),
        format_diversity(diversity, fmt),
        format_similarity(similarity, fmt),
    ]
    if fmt == "json":
        data = [json.loads(text) for text in outputs]
        assert data[0]["overall"]["rate"] == 1.0 and data[0]["against"] == "b.jsonl"
        assert data[1]["rows"][0]["naturalness"]["mean"] == 4.0 and data[1]["rater"] == "scripted"
        assert data[2]["rows"][0]["f1"] == 1.0
        assert data[3]["rows"][0]["mtld"] == 40.123456 and data[3]["mtld_threshold"] == 0.72
        assert data[4]["rows"][0]["mean"] == 0.5 and "BERTScore" in data[4]["measure"]
    elif fmt == "csv":
        assert outputs[0].splitlines()[0] == "category,agreement,matching,compared"
        assert outputs[1].splitlines()[1].startswith("all,1,4.000000,1,0,3.000000,1,0,1,1,0,1")
        assert outputs[3].splitlines()[1] == "all,1,1,50,30,40.123456,0.812346"
        assert outputs[4].splitlines()[1] == "all,1,2,0.500000"
    else:
        cells = {"markdown": "| all | 1 | 4.00 (n=1) | 3.00 (n=1) | 1/1 | 0/1 |", "text": "4.00 (n=1)"}[fmt]
        assert cells in outputs[1]
        assert "40.12" in outputs[3] and "0.812" in outputs[3]
        assert "0.500" in outputs[4] and "not BERTScore" in outputs[4]
        assert outputs[0].startswith("Agreement with b.jsonl")


def test_empty_agreement_is_na():
    text = format_agreement(Agreement(), "text")
    assert "Overall" in text and text.count("n/a") == 6
    assert Agreement().categories[Category.PREFERENCE].rate is None
