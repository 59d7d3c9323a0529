"""The conversation rater with a scripted model: the typed schema it sends, what it is shown, and how its
ratings average per group."""

from __future__ import annotations

import dspy
import pytest

from ugst_dspy import ToolCall, Turn
from ugst_dspy.engines.scripted import scripted_lm
from ugst_dspy.errors import UgstError
from ugst_dspy.metrics.quality import ConversationRating, quality_table, rubric_aspects
from ugst_dspy.modules import ConversationRater, rate_all

from .helpers import chat
from .scripted_rater import respond

GOAL = "Exchange the keyboard for a clicky one."


def test_scores_are_typed_one_to_five_and_classes_boolean():
    lm = scripted_lm(respond)
    turns = [Turn(user="Hi, I want a clicky keyboard.", agent="Sure.",
                  tool_calls=[ToolCall(name="find_items", arguments={"q": "clicky"}, result="SECRET-RESULT")])]
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        prediction = ConversationRater()(goal=GOAL, turns=turns)
    assert prediction.calls == 3 == len(lm.engine.calls)
    naturalness, coherence, failures = lm.engine.calls
    for call in (naturalness, coherence):
        score = call.schema["properties"]["score"]
        assert score["type"] == "integer" and score["enum"] == [1, 2, 3, 4, 5]
        assert call.schema["required"] == ["reason", "score"]  # the reason comes first
    assert failures.schema["properties"]["confusion"]["type"] == "boolean"
    assert failures.schema["properties"]["contradiction"]["type"] == "boolean"
    assert failures.schema["required"] == ["reason", "confusion", "contradiction"]
    assert "grammar" in naturalness.system and "conversational style" in naturalness.system
    assert "goal progression" in coherence.system and "logical flow" in coherence.system
    # Appendix F: coherence weighs whether the user answers the agent's questions and requests for
    # clarification; naturalness' context relevance weighs the user goal too
    assert "- response appropriateness: when the agent asks a question or asks for clarification, the user's " \
        "next message answers it" in coherence.system
    assert "- context relevance: it fits what the agent just said, the conversation so far and the user's goal" \
        in naturalness.system
    for criterion, call in (("naturalness", naturalness), ("coherence", coherence)):
        assert [a for a in rubric_aspects()[criterion] if f"- {a}" not in call.system] == []
    assert "confused about their role" in failures.system
    shown = naturalness.field("conversation") or ""
    assert "User:\n> Hi, I want a clicky keyboard." in shown and "SECRET-RESULT" not in shown  # no tool calls
    assert naturalness.field("goal") == GOAL
    assert prediction.rating == ConversationRating(
        naturalness=5, coherence=4, confusion=False, contradiction=False,
        reasons={"naturalness": "Scripted.", "coherence": "Scripted.", "failures": "Scripted."},
    )


def test_out_of_range_or_unparseable_answers_stay_unrated():
    lm = scripted_lm(lambda call: {"reason": "x", "score": 7} if "how natural" in call.system else respond(call))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        rating = ConversationRater(failures=False)(goal=GOAL, turns=[Turn(user="hello", agent="hi")]).rating
    assert rating.naturalness is None and rating.coherence == 4 and rating.confusion is None
    assert len(rating.errors) == 1 and rating.errors[0].startswith("naturalness: ")


def test_a_conversation_without_turns_is_not_rated():
    lm = scripted_lm(respond)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        prediction = ConversationRater()(goal=GOAL, turns=[])
    assert prediction.calls == 0 and not lm.engine.calls
    assert prediction.rating.naturalness is None and prediction.rating.errors == ("no turns to rate",)


def test_unknown_criterion_is_refused():
    with pytest.raises(UgstError, match="unknown rating criterion 'fluency'"):
        ConversationRater(criteria=("fluency",))


@pytest.mark.parametrize("workers", [1, 2])
def test_rate_all_then_average_per_group(workers):
    conversations = [
        chat("a", ["I want a clicky keyboard.", "Thanks."], sim="X"),  # 5, 4
        chat("b", ["I am a robot. Keyboard.", "actually no, keep it"], sim="X"),  # 2, 2, contradiction
        chat("c", ["How can I help you today?"], sim="Y"),  # 5, 4, confused
        chat("d", ["garble"], sim="Y"),  # naturalness unparseable, coherence 4
        chat("e", [], sim="Y"),  # not rated
    ]
    ratings = rate_all(conversations, ConversationRater(), scripted_lm(respond), workers=workers)
    assert [r.naturalness for r in ratings] == [5, 2, 5, None, None]
    assert [r.coherence for r in ratings] == [4, 2, 4, 4, None]
    x, y = quality_table(zip(conversations, ratings), group_by="sim")
    assert (x.group, x.conversations) == ("X", 2)
    assert x.scores["naturalness"].mean == pytest.approx(3.5) and x.scores["naturalness"].count == 2
    assert x.scores["coherence"].mean == pytest.approx(3.0)
    assert (x.failures["contradiction"].successes, x.failures["contradiction"].total) == (1, 2)
    assert (x.failures["confusion"].successes, x.failures["confusion"].total) == (0, 2)
    assert (y.group, y.conversations, y.unrated("naturalness"), y.unrated("coherence")) == ("Y", 3, 2, 1)
    assert y.scores["naturalness"].mean == 5.0 and y.scores["coherence"].mean == pytest.approx(4.0)
    assert (y.failures["confusion"].successes, y.failures["confusion"].total) == (1, 2)  # "e" was not judged
    (everyone,) = quality_table(zip(conversations, ratings))
    assert everyone.scores["naturalness"].mean == pytest.approx(12 / 3)
    assert everyone.to_json()["naturalness"] == {"mean": 4.0, "count": 3, "sum": 12, "unrated": 2}

