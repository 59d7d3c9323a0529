"""DecomposeGoal on the tiny random model through the real local engine: each call's schema carries the
bound of the piece it decomposes, and every answer is complete and valid against it."""

from __future__ import annotations

import json
from typing import Any

import pytest

dspy = pytest.importorskip("dspy")
from jsonschema import Draft202012Validator  # noqa: E402

from ugst_dspy import validate  # noqa: E402
from ugst_dspy.engines import TransformersEngine, local_lm  # noqa: E402
from ugst_dspy.modules import DecomposeGoal  # noqa: E402
from ugst_dspy.modules.goal_pieces import plan_pieces  # noqa: E402

# three sentences; with a budget of 256 states each is a call of its own (2 parts of 64 or 128 characters)
GOAL = ("You are Yusuf Rossi in 19122. "
        "You want to exchange the keyboard of order #W2378156 for a clicky one. "
        "You are polite.")


class Recording(TransformersEngine):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[tuple[dict[str, Any], str, str, int]] = []

    def complete(self, request: Any) -> Any:
        response = super().complete(request)
        self.log.append((request.config.response_format["schema"], response.message.parts[0].text,
                         response.finish_reason, request.config.max_tokens))
        return response


def test_the_tiny_model_decomposes_within_the_bound_of_each_piece(tiny_model_dir, one_torch_thread):
    engine = Recording(tiny_model_dir, max_batch_size=1)
    lm = local_lm(engine, max_tokens=64)  # the role's max_tokens is only a floor
    decomposer = DecomposeGoal(grammar_budget=256)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        plan = decomposer.plan(GOAL)
        out = decomposer(goal=GOAL)
    assert [(p.bound.max_items, p.bound.max_text) for p in plan] == [(2, 64), (2, 128), (2, 64)]
    assert out.pieces == len(engine.log) == 3
    for piece, (schema, text, finish, max_tokens) in zip(plan, engine.log):
        defs = schema["$defs"]
        assert defs["Decomposition"]["properties"]["sub_components"]["maxItems"] == piece.bound.max_items
        assert defs["SubComponentSpec"]["properties"]["text"]["maxLength"] == piece.bound.max_text
        assert max_tokens == piece.bound.worst_case_tokens() > 64
        assert finish == "stop"  # random weights fill every string, and the answer still ends
        Draft202012Validator(schema).validate(json.loads(text))
    assert engine.generators_built == 2  # one grammar per distinct bound
    validate("goal-state", out.state.to_json())
    # by default the budget of a local engine follows its vocabulary: 2,048 states for SmolLM2's 49,152 tokens
    long_goal = " ".join(f"You want item {i} with a long note on why it matters to you so much." for i in range(30))
    assert [p.bound for p in DecomposeGoal().plan(long_goal, lm)] == [p.bound for p in plan_pieces(long_goal, 2048)]
    assert len(plan_pieces(long_goal, 2048)) > 1
