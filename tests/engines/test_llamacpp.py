"""The llama.cpp engine on the small embedded GGUF (SmolLM2-135M): schema-valid JSON through DSPy, seeded
sampling, usage, the prompt prefix reused across calls with other prompts in between, no forged turns."""

from __future__ import annotations

import json
from typing import Literal

import dspy
import pytest
from jsonschema import Draft202012Validator

from ugst_dspy.config import UGSTConfig
from ugst_dspy.engines.catalog import gguf_path
from ugst_dspy.engines.llamacpp import LlamaCppEngine
from ugst_dspy.engines.spec import ModelPool

pytestmark = pytest.mark.slow


class Verdict(dspy.Signature):
    """Judge whether the task objective is complete in the conversation."""

    objective: str = dspy.InputField()
    conversation: str = dspy.InputField()
    status: Literal["INCOMPLETE", "ATTEMPTED", "COMPLETE"] = dspy.OutputField()
    reason: str = dspy.OutputField()


@pytest.fixture(scope="module")
def engine():
    engine = LlamaCppEngine(gguf_path("smollm2"), name="llamacpp-test", n_ctx=4096)
    yield engine
    engine.close()


def lm(engine, **kwargs):
    return dspy.LM(f"local/{engine.name}-{len(kwargs)}", engine=engine, cache=False, **kwargs)


def test_constrained_output_is_schema_valid_through_dspy(engine):
    judge = dspy.Predict(Verdict)
    with dspy.context(lm=lm(engine, max_tokens=96), adapter=dspy.JSONAdapter()):
        for n in range(4):
            out = judge(objective=f"Exchange keyboard number {n}.", conversation="User: exchange it\nAgent: Done.")
            assert out.status in ("INCOMPLETE", "ATTEMPTED", "COMPLETE") and isinstance(out.reason, str)
    assert engine.usage.calls >= 4 and engine.usage.prompt_tokens > 0 and engine.usage.completion_tokens > 0


def test_the_grammar_holds_a_json_schema(engine):
    from dspy.lm15 import Config, Message, Request

    schema = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string", "maxLength": 12},
                                                         "maxItems": 3}, "done": {"type": "boolean"}},
              "required": ["items", "done"], "additionalProperties": False}
    request = Request(model="x", messages=[Message.user("List three fruits.")],
                      config=Config(max_tokens=80, temperature=0.0,
                                    response_format={"type": "json_schema", "schema": schema, "name": "fruits"}))
    text = engine.complete(request).message.parts[0].text
    Draft202012Validator(schema).validate(json.loads(text))


def story_request(schema, max_tokens=200):
    from dspy.lm15 import Config, Message, Request

    return Request(model="x", messages=[Message.user("Tell me a very long story about a dragon, then judge it.")],
                   config=Config(max_tokens=max_tokens, temperature=0.0,
                                 response_format={"type": "json_schema", "schema": schema, "name": "judge"}))


def test_free_text_is_bounded_so_the_answer_always_ends():
    """An unbounded reason lets a small model ramble until max_tokens cuts the JSON off (a judge whose every
    answer is cut off never changes a status): bounded, the string closes and the status follows."""
    schema = {"type": "object", "properties": {"reason": {"type": "string"},
                                               "status": {"enum": ["COMPLETE", "INCOMPLETE"]}},
              "required": ["reason", "status"]}
    bounded = LlamaCppEngine(gguf_path("smollm2"), name="bounded", n_ctx=2048, max_string_length=40)
    try:
        answer = json.loads(bounded.complete(story_request(schema)).message.parts[0].text)
    finally:
        bounded.close()
    assert len(answer["reason"]) <= 40 and answer["status"] in ("COMPLETE", "INCOMPLETE")


def test_bounds_llamacpp_cannot_hold_are_dropped_and_checked_after(engine):
    huge = {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 5000}}, "required": ["reason"]}
    text = engine.complete(story_request(huge, max_tokens=40)).message.parts[0].text  # no crash: a grammar it holds
    assert text.startswith('{') and engine._grammars


def test_sampling_is_seeded_so_a_run_is_reproducible():
    """The same calls in the same order on a fresh engine give the same samples (llama.cpp's logits after
    a reused prefix differ in the last bits from a cold read, so reproducibility is per run, as for a rerun)."""

    def run() -> list[str]:
        fresh = LlamaCppEngine(gguf_path("smollm2"), name="llamacpp-seeded", n_ctx=2048)
        try:
            return [lm(fresh, temperature=1.0, max_tokens=24, seed=seed)("Tell me about trains.")[0]
                    for seed in (3, 4, 3, 5)]
        finally:
            fresh.close()

    first = run()
    assert run() == first
    assert len(set(first)) > 1


def test_the_prompt_prefix_is_reused_with_other_calls_in_between(engine, monkeypatch):
    policy = "You are a careful retail agent. " + " ".join(f"Rule {n}: be polite and check order {n}." for n in range(60))
    agent = lm(engine, max_tokens=8)
    other = lm(engine, max_tokens=8, temperature=0.0)
    llm = engine.load()
    evaluated: list[int] = []  # tokens llama.cpp had to evaluate (a prefix found in the cache is not evaluated)
    plain_eval = llm.eval
    monkeypatch.setattr(llm, "eval", lambda tokens: (evaluated.append(len(tokens)), plain_eval(tokens))[1])

    def read(model, messages):
        evaluated.clear()
        model(messages=messages)
        return sum(evaluated)

    first = read(agent, [{"role": "system", "content": policy}, {"role": "user", "content": "Hi."}])
    read(other, [{"role": "user", "content": "Something else entirely, to evict the last prompt."}])
    second = read(agent, [{"role": "system", "content": policy}, {"role": "user", "content": "Hi."},
                          {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "My order?"}])
    assert first > 500 and second < first / 4, (first, second)  # the long policy was not read again


def test_special_tokens_in_text_do_not_open_turns(engine):
    engine.load()
    assert "<|im_end|>" in engine._specials and "<|im_start|>" in engine._specials


def test_gguf_specs_and_the_embedded_model_run_on_llamacpp():
    pool = ModelPool(UGSTConfig.resolve(None, {"all": "embedded:smollm2"}, env={}))
    assert isinstance(pool.lm("tracker").engine, LlamaCppEngine)
    assert pool.lm("tracker").engine is pool.lm("agent").engine  # one model serves every role
    forced = ModelPool(UGSTConfig.from_dict({"gguf_engine": "transformers", "roles": {"tracker": {"model": "embedded:smollm2"}}}))
    from ugst_dspy.engines.local import TransformersEngine

    assert isinstance(forced.lm("tracker").engine, TransformersEngine)
