"""The rater on the tiny random model through the real local engine: Outlines enforces the typed schema, so
even random weights can only answer a score in 1..5 and two booleans."""

from __future__ import annotations

import dspy
import pytest

from ugst_dspy import Turn
from ugst_dspy.config import UGSTConfig
from ugst_dspy.engines.spec import ModelPool
from ugst_dspy.modules import ConversationRater


@pytest.mark.slow  # builds the tiny model and three Outlines generators (~10-20 s on 2 busy cores)
def test_random_weights_still_give_typed_ratings(tiny_model_dir, one_torch_thread):
    config = UGSTConfig.resolve(None, {"rater": str(tiny_model_dir)}, env={})
    config.roles["rater"].max_tokens = 120
    pool = ModelPool(config, engine_options={"max_string_length": 16})
    rater = ConversationRater()
    rater.set_lm(pool.lm("rater"))
    turns = [Turn(user="Hi, I want to exchange my keyboard.", agent="Sure, what is your zip code?")]
    with dspy.context(adapter=dspy.JSONAdapter()):
        prediction = rater(goal="Exchange your keyboard for a clicky one.", turns=turns)
    rating = prediction.rating
    assert prediction.calls == 3 and rating.errors == ()
    assert rating.naturalness in (1, 2, 3, 4, 5) and rating.coherence in (1, 2, 3, 4, 5)
    assert isinstance(rating.confusion, bool) and isinstance(rating.contradiction, bool)
