"""Decomposition bounds follow the goal: every part of a long goal comes through whole, on the scripted path
(one call, or pieces merged in order) and against the per-call pydantic type an API answer is parsed with;
an answer beyond the bound, or cut off, is a parse error."""

from __future__ import annotations

import json

import dspy
import pytest
from dspy.adapters.json_adapter import _get_structured_outputs_response_format
from dspy.utils.exceptions import AdapterParseError

from ugst_dspy import validate
from ugst_dspy.engines.scripted import ScriptedCall, scripted_lm
from ugst_dspy.modules import DecomposeGoal
from ugst_dspy.modules.goal_pieces import goal_bound, ladder, local_grammar_budget, plan_pieces, sentences
from ugst_dspy.signatures.decompose import (
    DecomposeGoalSignature,
    Decomposition,
    bounded_signature,
    decomposition_type,
)

PARTS = 26


def long_sentence(i: int, length: int = 400) -> str:
    """A sentence of exactly ``length`` characters, distinct per ``i``, that ends in a period."""
    opening = "It must also hold that" if i % 3 == 2 else f"Task {i} is to"
    words = [opening]
    while len(" ".join(words)) < length - 12:
        words.append(f"item{i}w{len(words)}")
    text = " ".join(words)
    return text + " " + "z" * (length - len(text) - 2) + "."


def long_goal() -> tuple[str, list[str]]:
    parts = [long_sentence(i) for i in range(PARTS)]
    return " ".join(parts), parts


def echo_sentences(call: ScriptedCall) -> dict:
    """A decomposer that lists each sentence of the text it was given as one sub-component."""
    text = call.field("goal") or ""
    items = [{"category": "requirement" if s.startswith("It must") else "task_objective", "text": s}
             for s in (text[a:b] for a, b in sentences(text))]
    return {"decomposition": {"sub_components": items, "all_listed": True}}


def all_texts(state) -> list[str]:
    return [located.item.text for located in state.items()]


def test_bounds_follow_the_goal_with_headroom():
    goal, parts = long_goal()
    assert all(len(p) == 400 for p in parts)
    bound = goal_bound(goal)
    assert bound.max_items >= 2 * PARTS and bound.max_text >= 400 + 32  # 2 parts a sentence at least, + margin
    assert goal_bound("You are Yusuf Rossi in 19122.").max_items == 2
    assert goal_bound("You are Yusuf Rossi in 19122.").max_text == 64  # 29 + 32, rounded up
    assert [ladder(n) for n in (1, 2, 3, 5, 64, 65)] == [2, 2, 4, 8, 64, 128]
    # a local grammar's budget: the same index memory whatever the tokenizer (SmolLM2's, Qwen2.5's)
    assert (local_grammar_budget(49_152), local_grammar_budget(151_665)) == (2048, 663)


def test_a_budget_cuts_a_long_goal_into_pieces_that_join_back_whole():
    goal, _ = long_goal()
    assert len(plan_pieces(goal)) == 1 and plan_pieces(goal)[0].text == goal
    pieces = plan_pieces(goal, budget=2048)
    assert len(pieces) > 1 and all(p.bound.states <= 2048 for p in pieces)
    assert " ".join(p.text for p in pieces).split() == goal.split()  # nothing lost, no word cut
    # a sentence too long for the budget is cut at a clause mark, never inside a word
    sentence = "You want the keyboard, the mouse, the monitor, the chair and the lamp, all in black and white."
    cut = plan_pieces(sentence, budget=256)
    assert len(cut) > 1 and all(p.bound.states <= 256 for p in cut)
    assert [p.text for p in cut] == ["You want the keyboard,", "the mouse, the monitor,", "the chair and the lamp,",
                                     "all in black and white."]
    word = "x" * 3000  # no place to cut: one piece, over the budget, rather than a word cut in two
    assert [p.text for p in plan_pieces(word, budget=256)] == [word]


def test_a_scripted_answer_of_26_parts_of_400_characters_comes_through_whole():
    goal, parts = long_goal()
    lm = scripted_lm(echo_sentences)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        out = DecomposeGoal()(goal=goal)
    assert out.pieces == 1 and len(lm.engine.calls) == 1  # not a local engine: the whole goal in one call
    assert all_texts(out.state) == parts  # every part, every character
    validate("goal-state", out.state.to_json())
    schema = lm.engine.calls[0].schema["$defs"]
    assert schema["Decomposition"]["properties"]["sub_components"]["maxItems"] == goal_bound(goal).max_items
    assert schema["SubComponentSpec"]["properties"]["text"]["maxLength"] == goal_bound(goal).max_text
    answer = json.dumps(echo_sentences(lm.engine.calls[0]))
    assert 3 * lm.history[-1]["kwargs"]["max_tokens"] >= len(answer) > 3 * 1024  # room for the whole answer


def test_pieces_are_decomposed_in_order_and_merged_into_one_state():
    goal, parts = long_goal()
    lm = scripted_lm(echo_sentences)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        decomposer = DecomposeGoal(grammar_budget=2048)
        plan = decomposer.plan(goal)
        out = decomposer(goal=goal)
    assert out.pieces == len(plan) == len(lm.engine.calls) > 1
    for piece, call in zip(plan, lm.engine.calls):
        assert call.field("goal") == piece.text
        defs = call.schema["$defs"]
        assert defs["Decomposition"]["properties"]["sub_components"]["maxItems"] == piece.bound.max_items
        assert defs["SubComponentSpec"]["properties"]["text"]["maxLength"] == piece.bound.max_text
    # every part, in goal order; a requirement that opens a piece still belongs to the objective before it
    expected = [(p, [parts[i + 1]] if i + 1 < PARTS and parts[i + 1].startswith("It must") else [])
                for i, p in enumerate(parts) if not p.startswith("It must")]
    assert [(o.text, [r.text for r in o.requirements]) for o in out.state.task_objectives] == expected
    assert any(piece.text.startswith("It must") for piece in plan)


def answer_of(items: list[tuple[str, str]]) -> dict:
    return {"decomposition": {"sub_components": [{"category": c, "text": t} for c, t in items], "all_listed": True}}


GOAL = "You are Yusuf Rossi in 19122. Exchange the keyboard."  # 2 + 2 parts, texts of at most 64 characters
ITEMS = [("user_profile", "You are Yusuf Rossi in 19122."), ("task_objective", "Exchange the keyboard.")]


def decompose_with(answer) -> None:
    with dspy.context(lm=scripted_lm(lambda call: answer), adapter=dspy.JSONAdapter()):
        DecomposeGoal()(goal=GOAL)


def test_an_answer_cut_off_mid_list_is_a_parse_error_not_a_shorter_list():
    full = json.dumps(answer_of(ITEMS + [("requirement", "The new keyboard has clicky switches.")]))
    with pytest.raises(AdapterParseError):
        decompose_with(full[: full.index("clicky")])  # out of max_tokens: DSPy would repair the JSON
    with pytest.raises(AdapterParseError):
        decompose_with({"decomposition": answer_of(ITEMS)["decomposition"]["sub_components"]})


def test_an_answer_beyond_the_goal_bound_is_refused():
    assert goal_bound(GOAL).max_items == 4 and goal_bound(GOAL).max_text == 64
    decompose_with(answer_of(ITEMS * 2))  # 4 items: within
    with pytest.raises(AdapterParseError, match="too_long|at most 4"):
        decompose_with(answer_of(ITEMS * 2 + ITEMS[:1]))
    with pytest.raises(AdapterParseError, match="at most 64 characters"):
        decompose_with(answer_of([("task_objective", "Exchange " + "very " * 12 + "old keyboard.")]))


def test_the_api_output_type_refuses_nothing_the_goal_bound_allows():
    goal, parts = long_goal()
    bound = goal_bound(goal)
    answer = {"sub_components": [{"category": "task_objective", "text": long_sentence(i, bound.max_text)}
                                 for i in range(bound.max_items)], "all_listed": True}
    parsed = decomposition_type(bound.max_items, bound.max_text).model_validate(answer)
    assert [s.text for s in parsed.sub_components] == [item["text"] for item in answer["sub_components"]]
    # the schema an API with structured outputs receives carries the same bounds
    sent = _get_structured_outputs_response_format(bounded_signature(DecomposeGoalSignature, *bound_pair(goal)))
    defs = sent.model_json_schema()["$defs"]
    assert defs["Decomposition"]["properties"]["sub_components"]["maxItems"] == bound.max_items
    assert defs["SubComponentSpec"]["properties"]["text"]["maxLength"] == bound.max_text
    assert decomposition_type(8, 256) is decomposition_type(8, 256)  # one type per bound pair
    # the signature's own type has no cap at all
    Decomposition.model_validate({"sub_components": [{"category": "preference", "text": "y" * 5000}] * 200,
                                  "all_listed": True})


def bound_pair(goal: str) -> tuple[int, int]:
    bound = goal_bound(goal)
    return bound.max_items, bound.max_text
