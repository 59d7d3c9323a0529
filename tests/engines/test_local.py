"""TransformersEngine on the tiny random model: DSPy calls, schema-valid JSON, caching, seeds, threads, usage."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from ugst_dspy.engines import TransformersEngine, canonical_json, local_lm, model_name_for, request_chat
from ugst_dspy.errors import UgstError

dspy = pytest.importorskip("dspy")
from dspy.lm15 import Config, Message, Request, UnsupportedFeatureError  # noqa: E402


class RecordingEngine(TransformersEngine):
    """Keeps the response format and the raw text of every call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[tuple[dict[str, Any] | None, str, str]] = []
        self._log_lock = threading.Lock()

    def complete(self, request: Request) -> Any:
        response = super().complete(request)
        with self._log_lock:
            self.log.append((request.config.response_format, response.message.parts[0].text, response.finish_reason))
        return response


class JudgeStatus(dspy.Signature):
    """Judge whether the user's task objective is complete in the conversation."""

    objective: str = dspy.InputField()
    conversation: str = dspy.InputField()
    status: Literal["INCOMPLETE", "ATTEMPTED", "COMPLETE"] = dspy.OutputField()
    reason: str = dspy.OutputField(desc="one short sentence")


class Objective(BaseModel):
    text: str
    requirements: list[str]
    preferences: list[str]


class Decompose(dspy.Signature):
    """Decompose a user goal into profile, policy and task objectives."""

    goal: str = dspy.InputField()
    user_profile: list[str] = dspy.OutputField()
    user_policy: list[str] = dspy.OutputField()
    task_objectives: list[Objective] = dspy.OutputField()


def _request(text: str = "hello", **config: Any) -> Request:
    return Request(model="local/test", messages=(Message.user(text),), config=Config(**config))


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> RecordingEngine:
    """Tight bounds keep every random answer short; sampling (seeded) makes the structures vary."""
    return RecordingEngine(tiny_model_dir, max_string_length=12, max_items=2)


def test_constructor_loads_nothing(tmp_path: Path) -> None:
    engine = TransformersEngine(tmp_path / "missing")
    assert engine._hf_model is None and engine._outlines_model is None
    with pytest.raises(UgstError, match="not a model folder"):
        engine.complete(_request())


def test_request_chat_builds_messages() -> None:
    request = Request(
        model="local/x",
        system="Be brief.",
        messages=(Message.user("hi"), Message.assistant("hello"), Message.developer("now JSON"), Message.user("go")),
    )
    assert request_chat(request) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "system", "content": "now JSON"},
        {"role": "user", "content": "go"},
    ]
    with pytest.raises(UnsupportedFeatureError):
        request_chat(Request(model="local/x", messages=(Message.tool("call_1", "42"),)))


def test_200_constrained_calls_through_dspy_are_schema_valid(engine: RecordingEngine, one_torch_thread: None) -> None:
    lm = local_lm(engine, temperature=1.0, max_tokens=400, cache=False)
    judge, decompose = dspy.Predict(JudgeStatus), dspy.Predict(Decompose)
    engine.log.clear()
    engine.usage.reset()
    results = []
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        for i in range(100):
            results.append(judge(objective=f"Exchange keyboard #{i}.", conversation=f"User: hi {i}\nAgent: ok"))
            results.append(decompose(goal=f"You are user {i}. Return order #{i} and get a refund to your card."))

    assert len(engine.log) == 200
    nested = 0
    for response_format, raw, finish in engine.log:
        assert response_format is not None and response_format["type"] == "json_schema"
        schema = response_format["schema"]
        value = json.loads(raw)
        Draft202012Validator(engine.bounded_schema(schema)).validate(value)
        Draft202012Validator(schema).validate(value)  # bounded is stricter: the original holds too
        assert finish == "stop"
        nested += any(objective["requirements"] for objective in value.get("task_objectives", []))
    assert nested > 0, "sampling never produced a nested list: the test would not exercise nesting"
    assert {r.status for r in results[0::2]} <= {"INCOMPLETE", "ATTEMPTED", "COMPLETE"}
    assert all(isinstance(r.task_objectives, list) for r in results[1::2])
    assert engine.cached_schema_count == 2
    usage = engine.usage.snapshot()
    assert usage["calls"] == 200 and usage["prompt_tokens"] > 200 * 100 and usage["completion_tokens"] > 200


def test_one_generator_per_schema(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, one_torch_thread: None
) -> None:
    import outlines

    built = []
    real = outlines.Generator

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(args[1] if len(args) > 1 else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(outlines, "Generator", counting)
    engine = TransformersEngine(tiny_model_dir, max_string_length=8, max_items=2)
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"enum": ["x", "y"]}},
        "required": ["a", "b"],
    }
    same_reordered = {
        "required": ["a", "b"],
        "properties": {"b": {"enum": ["x", "y"]}, "a": {"type": "string"}},
        "type": "object",
    }
    other = {"type": "object", "properties": {"n": {"type": "boolean"}}, "required": ["n"]}
    for fmt in (schema, schema, same_reordered, other, schema):
        engine.complete(_request(response_format={"type": "json_schema", "schema": fmt}))
    assert len(built) == 2 and engine.generators_built == 2 and engine.cached_schema_count == 2
    assert canonical_json(schema) == canonical_json(same_reordered)


def test_greedy_is_deterministic_and_max_tokens_is_respected(engine: RecordingEngine, one_torch_thread: None) -> None:
    first = engine.complete(_request("say something", max_tokens=6))
    second = engine.complete(_request("say something", max_tokens=6, temperature=0))
    assert first.message.parts[0].text == second.message.parts[0].text
    assert first.usage.output_tokens == 6 and first.finish_reason == "length"  # random weights never stop early
    assert first.usage.input_tokens > 5


def test_sampling_is_seeded(tiny_model_dir: Path, engine: RecordingEngine, one_torch_thread: None) -> None:
    def text(eng: TransformersEngine, **config: Any) -> str:
        return eng.complete(_request("tell me", max_tokens=8, temperature=1.0, **config)).message.parts[0].text

    assert text(engine, seed=7) == text(engine, seed=7)
    assert text(engine, seed=7) != text(engine, seed=8)
    # Without a request seed, the k-th sampled call of an engine uses a seed derived from (engine seed, k):
    # calls differ from each other, and a fresh engine with the same seed replays the same sequence.
    one = TransformersEngine(tiny_model_dir, seed=3)
    two = TransformersEngine(tiny_model_dir, seed=3)
    run_one = [text(one) for _ in range(3)]
    assert len(set(run_one)) == 3
    assert [text(two) for _ in range(3)] == run_one


def test_threads_share_one_engine(engine: RecordingEngine, one_torch_thread: None) -> None:
    lm = local_lm(engine, temperature=1.0, max_tokens=400)
    program = dspy.Predict(JudgeStatus)
    examples = [
        dspy.Example(objective=f"objective {i}", conversation="User: hi").with_inputs("objective", "conversation")
        for i in range(12)
    ]
    engine.log.clear()
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        outputs = program.batch(examples, num_threads=4, return_failed_examples=False)
    assert len(outputs) == 12 and all(o.status in ("INCOMPLETE", "ATTEMPTED", "COMPLETE") for o in outputs)
    assert len(engine.log) == 12


def test_plain_call_stop_and_usage_meter(engine: RecordingEngine, one_torch_thread: None) -> None:
    lm = local_lm(engine, max_tokens=12)
    engine.usage.reset()
    [text] = lm("hello there")
    assert isinstance(text, str)
    usage = engine.usage.reset()
    assert usage["calls"] == 1 and usage["completion_tokens"] == 12 and usage["seconds"] > 0
    assert engine.usage.snapshot()["calls"] == 0
    # Same seed, same path until the stop string appears; the stop string itself is cut off.
    full = engine.complete(_request("stop test", max_tokens=12, temperature=1.0, seed=5)).message.parts[0].text
    stop = full[len(full) // 2 : len(full) // 2 + 2]
    assert len(stop) == 2
    cut = engine.complete(_request("stop test", max_tokens=12, temperature=1.0, seed=5, stop=(stop,)))
    assert cut.message.parts[0].text == full[: full.find(stop)] and cut.finish_reason == "stop"


def test_unique_names_and_saved_state(tiny_model_dir: Path, tmp_path: Path) -> None:
    name = model_name_for(tiny_model_dir)
    assert name == model_name_for(tiny_model_dir) and name.startswith("model-")
    other = tmp_path / "model"
    other.mkdir()
    assert model_name_for(other) != name  # same folder name, another checkpoint
    lm = local_lm(tiny_model_dir)
    assert lm.model == f"local/{name}" and lm.cache is False
    assert local_lm(tiny_model_dir, "mine").model == "local/mine"
    engine = lm.engine
    again = TransformersEngine.load_state(engine.dump_state())
    assert again.name == engine.name and again.path == engine.path and again.max_items == engine.max_items
    tuned = TransformersEngine(tiny_model_dir, seed=3, max_new_tokens=77, max_string_length=55, max_items=4,
                               max_digits=5, cached_schemas=3, device="cpu", compile_mask=False, max_batch_size=2)
    rebuilt = TransformersEngine.load_state(tuned.dump_state())
    settings = ("name", "path", "seed", "max_new_tokens", "max_string_length", "max_items", "max_digits",
                "cached_schemas", "device", "compile_mask", "max_batch_size")
    assert {k: getattr(rebuilt, k) for k in settings} == {k: getattr(tuned, k) for k in settings}  # every setting
    state = lm.dump_state()
    assert state["engine"]["state"]["path"] == str(tiny_model_dir)
    loaded = dspy.LM.load_state(state, allow_custom_lm_class=True)
    assert isinstance(loaded.engine, TransformersEngine) and loaded.engine.name == name and loaded.model == lm.model


def _while_busy(lock: threading.Lock, batcher: Any, calls: list[Callable[[], None]]) -> None:
    """Start every call while the model is busy (``lock`` held), wait until all are queued, then let them run."""
    threads = [threading.Thread(target=call) for call in calls]
    with lock:
        for thread in threads:
            thread.start()
        while len(batcher._waiting) < len(calls):
            threading.Event().wait(0.01)
    for thread in threads:
        thread.join()


def _concurrently(engine: TransformersEngine, requests: list[Request]) -> list[Any]:
    """Every request queued while the engine is busy; their responses in order."""
    results: list[Any] = [None] * len(requests)

    def call(i: int) -> Callable[[], None]:
        return lambda: results.__setitem__(i, engine.complete(requests[i]))

    _while_busy(engine._lock, engine._batcher, [call(i) for i in range(len(requests))])
    return results


def test_concurrent_greedy_calls_run_as_one_batch(engine: RecordingEngine, one_torch_thread: None) -> None:
    schema = {
        "type": "object",
        "properties": {"status": {"enum": ["COMPLETE", "INCOMPLETE"]}, "reason": {"type": "string"}},
        "required": ["status", "reason"],
    }
    fmt = {"type": "json_schema", "schema": schema}
    prompts = [f"conversation {'x ' * (3 * i)}" for i in range(5)]  # different lengths: padded batch
    alone = [engine.complete(_request(p, max_tokens=60, response_format=fmt)) for p in prompts]
    plain_alone = engine.complete(_request(prompts[0], max_tokens=6))
    before = engine.batch_stats.batches
    engine.usage.reset()
    together = _concurrently(
        engine,
        [_request(p, max_tokens=60, response_format=fmt) for p in prompts]
        + [_request(prompts[0], max_tokens=6), _request(prompts[1], max_tokens=6, temperature=1.0, seed=1)],
    )
    # five constrained calls in one batch, the plain greedy call alone (another key), the sampled one alone
    assert engine.batch_stats.batches - before == 3 and engine.batch_stats.largest == 5
    for one, batched in zip(alone, together):
        assert batched.message.parts[0].text == one.message.parts[0].text
        Draft202012Validator(schema).validate(json.loads(batched.message.parts[0].text))
        assert (batched.usage.input_tokens, batched.usage.output_tokens) == (one.usage.input_tokens, one.usage.output_tokens)
        assert batched.finish_reason == one.finish_reason
    assert together[5].message.parts[0].text == plain_alone.message.parts[0].text
    usage = engine.usage.reset()
    assert usage["calls"] == 7
    assert usage["prompt_tokens"] == sum(r.usage.input_tokens for r in together)


def test_batching_can_be_turned_off_and_errors_reach_every_caller(tiny_model_dir: Path) -> None:
    from ugst_dspy.engines.batching import MicroBatcher

    with pytest.raises(ValueError, match="max_batch_size"):
        TransformersEngine(tiny_model_dir, max_batch_size=0)
    lock = threading.Lock()

    def fail(payloads: Any) -> list[Any]:
        raise RuntimeError(f"boom {len(payloads)}")

    batcher: MicroBatcher[int] = MicroBatcher(fail, lock, max_batch_size=4)
    errors: list[str] = []

    def call(i: int) -> Callable[[], None]:
        def submit() -> None:
            try:
                batcher.submit(i, "same")
            except RuntimeError as error:
                errors.append(str(error))

        return submit

    _while_busy(lock, batcher, [call(i) for i in range(3)])
    assert errors == ["boom 3"] * 3 and batcher.stats.batches == 1
