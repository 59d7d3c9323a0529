"""llama.cpp as the CPU engine for GGUF models: a DSPy engine beside the transformers one.

``LlamaCppEngine(path)`` answers DSPy requests with llama-cpp-python (the ``llamacpp`` extra; ``./install.sh``
builds it once, pip keeps the wheel). What it guarantees, as the transformers engine does:

- **Schema-valid JSON that ends.** A request's JSON schema becomes a llama.cpp grammar: every token is
  constrained. Free text is bounded first, as the transformers engine bounds it (every string at most
  ``max_string_length`` characters, every array ``max_items`` items; see
  :func:`~ugst_dspy.engines.schema_bounds.bound_schema`): an unbounded string lets a small model ramble in
  its ``reason`` until ``max_tokens`` cuts the JSON off, and a judge whose every answer is cut off never
  changes a status (``bench/roles.py`` measured exactly that). A llama.cpp grammar repeats a rule once per
  allowed character or item, so large bounds, nested, exceed what its parser accepts (and a grammar it
  rejects crashes the process). So every grammar is checked before use, in order: the bounded schema, the
  schema as given, the schema without size bounds (the parse after generation checks the schema's own
  bounds, loudly); a schema it cannot hold at all is a one-line error, never a crash.
- **Seeded sampling.** Greedy at temperature 0; otherwise each call samples with its request's seed (or
  the engine's), so a run is reproducible.
- **Usage.** Prompt and completion tokens of every call, as llama.cpp counts them.
- **The prompt prefix reused.** One model serves every role; a RAM cache of evaluated states (keyed by
  token prefix) lets a call resume from the longest prefix seen before, so the agent's long policy prompt
  is read once per conversation, not on every call, even with other roles' calls in between.
- **No forged turns.** The model's special tokens in message text are written out of reach
  (:func:`~ugst_dspy.engines.chat.defuse_special_tokens`).

Calls are serialised on one model (llama.cpp uses every core; two at once only slow each other down).
Nothing is loaded in the constructor: the model loads on the first call.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ugst_dspy.engines.chat import defuse_special_tokens, request_chat
from ugst_dspy.engines.meter import UsageMeter
from ugst_dspy.engines.local import DEFAULT_MAX_ITEMS, DEFAULT_MAX_STRING, canonical_json
from ugst_dspy.engines.schema_bounds import bound_schema
from ugst_dspy.errors import UgstError
from ugst_dspy.extras import require

if TYPE_CHECKING:
    from dspy.lm15 import Request, Response

LLAMACPP = "llama.cpp models"
SIZE_KEYWORDS = frozenset({"maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties"})
DEFAULT_CONTEXT = 8192
DEFAULT_CACHE_BYTES = 2 << 30


def llamacpp_available() -> bool:
    """Whether llama-cpp-python is installed (nothing is imported)."""
    from importlib.util import find_spec

    return find_spec("llama_cpp") is not None


class LlamaCppEngine:
    """A GGUF model on llama.cpp as a DSPy engine (see the module docstring)."""

    supports_response_schema = True
    supports_function_calling = False
    supports_reasoning = False
    supported_params = frozenset({"temperature", "max_tokens", "top_p", "top_k", "seed", "stop", "response_format"})

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        seed: int = 0,
        n_ctx: int = DEFAULT_CONTEXT,
        n_threads: int | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        max_new_tokens: int = 512,
        max_string_length: int = DEFAULT_MAX_STRING,
        max_items: int = DEFAULT_MAX_ITEMS,
    ) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem.lower()
        self.seed, self.n_ctx, self.n_threads = seed, n_ctx, n_threads
        self.cache_bytes, self.max_new_tokens = cache_bytes, max_new_tokens
        self.max_string_length, self.max_items = max_string_length, max_items
        self.usage = UsageMeter()
        self._llm: Any = None
        self._specials: frozenset[str] = frozenset()
        self._grammars: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LlamaCppEngine({self.name!r}, {self.path})"

    # -- loading -----------------------------------------------------------------------------------

    def load(self) -> Any:
        """Load the model now (otherwise the first call does); returns the ``llama_cpp.Llama``."""
        with self._lock:
            return self._load_locked()

    def _load_locked(self) -> Any:
        if self._llm is not None:
            return self._llm
        llama_cpp = require("llama_cpp", "llamacpp", LLAMACPP)
        if not self.path.is_file():
            raise UgstError(f"no GGUF file at {self.path}")
        # llama-cpp-python generates on half the cores by default; every core is ours (bench/engines.py:
        # Qwen 1.5B 6.2 -> 9.5 generated tokens/s on 2 cores)
        threads = self.n_threads or os.cpu_count() or 1
        llm = llama_cpp.Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=threads,
                              n_threads_batch=threads, seed=self.seed, verbose=False)
        if self.cache_bytes:
            llm.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=self.cache_bytes))
        self._specials = frozenset(_special_tokens(llm))
        self._llm = llm
        return llm

    def close(self) -> None:
        """Free the model; it reloads on the next call."""
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    # -- DSPy engine contract ------------------------------------------------------------------------

    def complete(self, request: Request) -> Response:
        from dspy.clients.engines.base import validate_request
        from dspy.lm15 import Message, Response, TextPart, Usage

        validate_request(request)
        config = request.config
        chat = request_chat(request)
        options: dict[str, Any] = {"max_tokens": config.max_tokens or self.max_new_tokens}
        temperature = config.temperature or 0.0
        options["temperature"] = temperature
        if temperature:
            options["seed"] = config.seed if config.seed is not None else self.seed
            if config.top_p is not None:
                options["top_p"] = config.top_p
            if getattr(config, "top_k", None) is not None:
                options["top_k"] = config.top_k
        else:
            options["top_k"] = 1  # greedy
        schema = self._response_schema(config.response_format)
        if schema is None and config.stop:
            options["stop"] = list(config.stop)
        started = time.perf_counter()
        with self._lock:
            llm = self._load_locked()
            if schema is not None:
                options["grammar"] = self._grammar_locked(schema)
            out = llm.create_chat_completion(messages=defuse_special_tokens(chat, self._specials), **options)
        seconds = time.perf_counter() - started
        choice = out["choices"][0]
        text = choice["message"].get("content") or ""
        usage = out.get("usage") or {}
        prompt, completion = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        self.usage.add(prompt, completion, seconds)
        return Response(
            id=None,
            model=request.model,
            message=Message.assistant([TextPart(text)]),
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            usage=Usage(input_tokens=prompt, output_tokens=completion),
        )

    def stream(self, request: Request) -> Iterator[Any]:
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def _response_schema(self, response_format: dict[str, Any] | None) -> dict[str, Any] | None:
        if not response_format:
            return None
        kind = response_format.get("type")
        if kind == "json_schema":
            return response_format.get("schema") or response_format.get("json_schema", {}).get("schema")
        if kind == "json_object":
            return {"type": "object"}
        raise UgstError(f"unsupported response_format type {kind!r}")

    def _grammar_locked(self, schema: dict[str, Any]) -> Any:
        """The checked llama.cpp grammar of ``schema``, bounded where llama.cpp can hold it (one per schema, kept)."""
        key = canonical_json(schema)
        if key not in self._grammars:
            llama_cpp = require("llama_cpp", "llamacpp", LLAMACPP)
            from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

            bounded = bound_schema(schema, self.max_string_length, self.max_items, string_budget=None)
            candidates = [bounded, schema, without_size_bounds(schema)]
            for candidate in [c for i, c in enumerate(candidates) if c not in candidates[:i]]:
                text = json_schema_to_gbnf(json.dumps(candidate))
                sampler = llama_cpp.llama_sampler_init_grammar(self._llm._model.vocab, text.encode("utf-8"), b"root")
                if sampler:
                    llama_cpp.llama_sampler_free(sampler)
                    self._grammars[key] = LlamaGrammar.from_string(text, verbose=False)
                    break
            else:
                raise UgstError(f"llama.cpp cannot hold the response schema {key[:200]} as a grammar")
        return self._grammars[key]


def without_size_bounds(schema: Any) -> Any:
    """A copy of ``schema`` without length and count keywords (the parse after generation checks them)."""
    if isinstance(schema, dict):
        return {key: without_size_bounds(value) for key, value in schema.items() if key not in SIZE_KEYWORDS}
    if isinstance(schema, list):
        return [without_size_bounds(value) for value in schema]
    return schema


def _special_tokens(llm: Any) -> list[str]:
    """The texts of the model's control tokens (``<|im_end|>`` ...), read from its vocabulary."""
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llm.model) if hasattr(llama_cpp, "llama_model_get_vocab") else None
    found = []
    for token in range(llm.n_vocab()):
        attr = (llama_cpp.llama_vocab_get_attr(vocab, token) if vocab is not None
                else llama_cpp.llama_token_get_attr(llm.model, token))
        if attr & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL:
            text = llm.detokenize([token], special=True).decode("utf-8", "replace")
            if len(text) > 1:
                found.append(text)
    return found


def gguf_metadata(path: str | Path) -> dict[str, Any]:
    """A GGUF file's scalar metadata (architecture, name, context length ...), read without loading weights."""
    gguf = require("gguf", "local", "reading GGUF metadata")
    reader = gguf.GGUFReader(str(path))
    data: dict[str, Any] = {}
    for key, field in reader.fields.items():
        if len(field.data) != 1 or key.startswith("tokenizer.ggml."):
            continue
        value = field.parts[field.data[0]]
        try:
            data[key] = bytes(value).decode("utf-8") if field.types and field.types[0].name == "STRING" else value.tolist()[0]
        except (AttributeError, IndexError, UnicodeDecodeError):
            continue
    return json.loads(json.dumps(data, default=str))
