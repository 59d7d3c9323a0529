"""A local transformers model as a DSPy 3.4 engine, with JSON-schema-constrained output through Outlines.

DSPy 3.4 talks to a custom engine with canonical lm15 objects: ``complete(Request) -> Response`` (plus
``stream`` and ``close``). Declaring ``supports_response_schema`` and ``"response_format"`` in
``supported_params`` makes :class:`dspy.JSONAdapter` put the signature's JSON Schema into
``request.config.response_format`` (``{"type": "json_schema", "schema": ...}``); the engine bounds it
(:mod:`ugst_dspy.engines.schema_bounds`) and lets Outlines constrain decoding to it, so even a 135 M model
(or a random one) answers with parseable JSON.

Nothing is loaded when an engine is built: the model, the tokenizer and each schema's Outlines generator
load on first use. One lock guards the model, since Outlines' logits processors are stateful and DSPy
runs predictors in threads (``dspy.Parallel``, ``module.batch``, the runner's workers): calls that arrive
while the model is busy wait, and the compatible ones among them (greedy, same schema, token budget and
stop strings) then run as one left-padded batch (:mod:`ugst_dspy.engines.batching`).

    from ugst_dspy.engines import embedded_model_dir, local_lm
    lm = local_lm(embedded_model_dir())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        ...
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ugst_dspy.engines.batching import BatchStats, MicroBatcher
from ugst_dspy.engines.chat import defuse_special_tokens, request_chat
from ugst_dspy.engines.decoding import StopOnText, TokenCounter, cut_at_stop, derive_seed
from ugst_dspy.engines.embedded import is_model_dir
from ugst_dspy.engines.meter import UsageMeter
from ugst_dspy.engines.schema_bounds import bound_schema
from ugst_dspy.errors import UgstError
from ugst_dspy.extras import require

if TYPE_CHECKING:
    import dspy
    from dspy.lm15 import Request, Response

# Bounds given to every string / array / integer of a response schema (see schema_bounds).
DEFAULT_MAX_STRING = 300
DEFAULT_MAX_ITEMS = 8
DEFAULT_MAX_DIGITS = 9
DEFAULT_MAX_NEW_TOKENS = 512
DEFAULT_MAX_BATCH = 8
WHITESPACE = r"[ ]?"
LOCAL_MODELS = "a local model (transformers + Outlines)"
"""What needs the ``local`` extra, in the one-line error of a missing package."""


def canonical_json(value: Any) -> str:
    """A stable text form of a JSON value (sorted keys, no spaces): the key of the generator cache."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def model_name_for(path: str | Path) -> str:
    """A model name unique to a checkpoint folder and its weights: ``<folder>-<10 hex digits>``.

    DSPy's response cache keys on the model name, not the engine: two checkpoints must never share one.
    The hash covers the resolved path and the size and modification time of the weight files, so a
    checkpoint rewritten in place gets a new name too.
    """
    folder = Path(path).expanduser().resolve()
    digest = hashlib.sha256(str(folder).encode())
    if folder.is_dir():
        for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            stat = weights.stat()
            digest.update(f"|{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return f"{_slug(folder.name)}-{digest.hexdigest()[:10]}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower() or "model"


class TransformersEngine:
    """A DSPy engine over a local causal LM: plain or JSON-schema-constrained chat completions.

    ``model`` is a checkpoint folder, or a loaded transformers model given together with its
    ``tokenizer``. Generation is greedy when the request's temperature is 0 or unset, otherwise sampled
    with the request's ``seed``, or else with a seed derived from the engine's ``seed`` and a call counter
    (reproducible for the same sequence of calls). ``max_tokens`` comes from the request, else
    ``max_new_tokens``. ``usage`` counts calls, tokens and seconds.

    Response schemas are bounded first (``max_string_length``, ``max_items``, ``max_digits``; see
    :func:`bound_schema`) and one Outlines generator is kept per bounded schema (the ``cached_schemas``
    most recent). A ``stop`` applies to unconstrained output only. ``device`` defaults to CUDA when
    available; ``compile_mask`` (default: only on CUDA) lets outlines-core ``torch.compile`` its mask
    kernel. Concurrent greedy calls that share a schema, ``max_tokens`` and stop strings run as one batch of
    at most ``max_batch_size`` (1 turns batching off); a batch's wall time is split evenly over its calls in
    ``usage``. Sampled calls always run alone, each with its own seed.
    """

    supports_response_schema = True
    supports_function_calling = False
    supports_reasoning = False
    supported_params = frozenset({"temperature", "max_tokens", "top_p", "top_k", "seed", "stop", "response_format"})

    def __init__(
        self,
        model: str | Path | Any,
        tokenizer: Any = None,
        *,
        name: str | None = None,
        seed: int = 0,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        max_string_length: int = DEFAULT_MAX_STRING,
        max_items: int = DEFAULT_MAX_ITEMS,
        max_digits: int | None = DEFAULT_MAX_DIGITS,
        cached_schemas: int = 16,
        device: str | None = None,
        compile_mask: bool | None = None,
        max_batch_size: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if isinstance(model, (str, os.PathLike)):
            if tokenizer is not None:
                raise ValueError("a tokenizer goes with a loaded model, not with a checkpoint folder")
            self.path: Path | None = Path(model).expanduser()
            self._hf_model: Any = None
        else:
            if tokenizer is None:
                raise ValueError("a loaded model needs its tokenizer: TransformersEngine(model, tokenizer)")
            self.path = None
            self._hf_model = model
        self._hf_tokenizer: Any = tokenizer
        if self.path is not None:
            self.name = name or model_name_for(self.path)
        else:
            label = getattr(getattr(model, "config", None), "name_or_path", "") or type(model).__name__
            self.name = name or f"{_slug(Path(str(label)).name)}-{uuid.uuid4().hex[:10]}"
        self.seed = seed
        self.max_new_tokens = max_new_tokens
        self.max_string_length = max_string_length
        self.max_items = max_items
        self.max_digits = max_digits
        self.cached_schemas = cached_schemas
        self.device = device
        self.compile_mask = compile_mask
        self.usage = UsageMeter()
        self.generators_built = 0
        self._lock = threading.Lock()
        self._batcher: MicroBatcher[_Call] = MicroBatcher(self._run_calls, self._lock, max_batch_size)
        self._outlines_model: Any = None
        self._plain: Any = None
        self._generators: OrderedDict[str, Any] = OrderedDict()
        self._sampled_calls = 0
        self._eos_ids: frozenset[int] = frozenset()
        self._specials: frozenset[str] = frozenset()  # the tokenizer's special tokens, kept out of message text

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else "in-memory model"
        return f"TransformersEngine({self.name!r}, {where})"

    # -- DSPy engine contract ----------------------------------------------------------------------

    def complete(self, request: Request) -> Response:
        """Answer one canonical request (one candidate), batched with concurrent compatible requests."""
        from dspy.clients.engines.base import validate_request
        from dspy.lm15 import Message, Response, TextPart, Usage

        validate_request(request)
        config = request.config
        schema = self._response_schema(config.response_format)
        call = _Call(
            chat=request_chat(request),
            schema=schema,
            schema_key=canonical_json(schema) if schema is not None else None,
            max_new=config.max_tokens or self.max_new_tokens,
            stops=tuple(config.stop) if schema is None and config.stop else (),
            config=config,
        )
        done: _Done = self._batcher.submit(call, call.batch_key())
        self.usage.add(done.prompt_tokens, done.completion_tokens, done.seconds)
        return Response(
            id=None,
            model=request.model,
            message=Message.assistant([TextPart(done.text)]),
            finish_reason="length" if done.truncated else "stop",
            usage=Usage(input_tokens=done.prompt_tokens, output_tokens=done.completion_tokens),
        )

    def stream(self, request: Request) -> Iterator[Any]:
        """The whole completion as stream events (transformers generation is not streamed here)."""
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        """Drop the loaded model (when loaded from a folder) and the cached generators; reloads on use."""
        with self._lock:
            self._outlines_model = None
            self._plain = None
            self._generators.clear()
            if self.path is not None:
                self._hf_model = None
                self._hf_tokenizer = None

    def dump_state(self) -> dict[str, Any]:
        """What :meth:`load_state` needs to rebuild this engine (DSPy saves it with a program's LM)."""
        if self.path is None:
            raise TypeError("an engine over an in-memory model cannot be saved; build it from a checkpoint folder")
        return {
            "path": str(self.path),
            "name": self.name,
            "seed": self.seed,
            "max_new_tokens": self.max_new_tokens,
            "max_string_length": self.max_string_length,
            "max_items": self.max_items,
            "max_digits": self.max_digits,
            "max_batch_size": self.max_batch_size,
            "cached_schemas": self.cached_schemas,
            "device": self.device,
            "compile_mask": self.compile_mask,
        }

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> TransformersEngine:
        state = dict(state)
        return cls(state.pop("path"), **state)

    # -- public helpers ----------------------------------------------------------------------------

    def load(self) -> None:
        """Load the model and tokenizer now (otherwise the first call does)."""
        with self._lock:
            self._load_locked()

    def bounded_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema as this engine constrains it: every string, array and integer bounded."""
        return bound_schema(schema, self.max_string_length, self.max_items, self.max_digits)

    @property
    def max_batch_size(self) -> int:
        """The most calls run as one batch (1: batching off)."""
        return self._batcher.max_batch_size

    @property
    def batch_stats(self) -> BatchStats:
        """How concurrent calls were grouped into batches so far."""
        return self._batcher.stats

    @property
    def cached_schema_count(self) -> int:
        """How many constrained generators are cached (one per distinct bounded schema)."""
        return len(self._generators)

    @property
    def hf_model(self) -> Any:
        """The transformers model (loaded on first access)."""
        self.load()
        return self._hf_model

    @property
    def hf_tokenizer(self) -> Any:
        """The transformers tokenizer (loaded on first access)."""
        self.load()
        return self._hf_tokenizer

    # -- internals (called with the lock held) -----------------------------------------------------

    def _run_calls(self, calls: Sequence[_Call]) -> list[_Done]:
        """Generate for calls that share a batch key (or one call alone) in one ``generate``."""
        first = calls[0]
        self._load_locked()
        generator = self._generator_locked(first.schema, first.schema_key)
        options = self._sampling_locked(first.config)
        seed = options.pop("seed", None)
        counter = TokenCounter(len(calls), self._hf_tokenizer.pad_token_id, self._eos_ids)
        if first.stops:
            transformers = require("transformers", "local", LOCAL_MODELS)

            stop = StopOnText(self._hf_tokenizer, first.stops, counter)
            options["stopping_criteria"] = transformers.StoppingCriteriaList([stop])
        started = time.perf_counter()
        with self._seeded(seed), self._mask_stance():
            texts = generator.batch(
                [_chat_input(defuse_special_tokens(call.chat, self._specials)) for call in calls],
                max_new_tokens=first.max_new, streamer=counter, **options
            )
        seconds = (time.perf_counter() - started) / len(calls)
        return [
            _Done(
                text=cut_at_stop(text, first.stops),
                prompt_tokens=counter.prompt_tokens[row],
                completion_tokens=counter.completion_tokens[row],
                seconds=seconds,
                truncated=counter.completion_tokens[row] >= first.max_new
                and counter.last_token[row] not in self._eos_ids,
            )
            for row, text in enumerate(texts)
        ]

    def _load_locked(self) -> None:
        if self._outlines_model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        outlines = require("outlines", "local", LOCAL_MODELS)

        if self._hf_model is None:
            assert self.path is not None
            if not is_model_dir(self.path):
                raise UgstError(f"not a model folder (no config.json and weights): {self.path}")
            torch = require("torch", "local", LOCAL_MODELS)
            transformers = require("transformers", "local", LOCAL_MODELS)

            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            self._hf_tokenizer = transformers.AutoTokenizer.from_pretrained(self.path)
            self._hf_model = transformers.AutoModelForCausalLM.from_pretrained(self.path).to(device).eval()
        self._outlines_model = outlines.from_transformers(self._hf_model, self._hf_tokenizer)
        ids = self._hf_model.generation_config.eos_token_id
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        self._eos_ids = frozenset([*ids, self._hf_tokenizer.eos_token_id])
        added = getattr(self._hf_tokenizer, "added_tokens_decoder", {}) or {}
        self._specials = frozenset([*self._hf_tokenizer.all_special_tokens,
                                    *(token.content for token in added.values() if getattr(token, "special", False))])

    def _generator_locked(self, schema: dict[str, Any] | None, key: str | None) -> Any:
        """The generator of ``schema`` (``key`` is its :func:`canonical_json`), or the plain one."""
        outlines = require("outlines", "local", LOCAL_MODELS)

        if schema is None or key is None:
            if self._plain is None:
                self._plain = outlines.Generator(self._outlines_model)
            return self._plain
        generator = self._generators.get(key)
        if generator is not None:
            self._generators.move_to_end(key)
            return generator
        output_type = outlines.types.JsonSchema(schema, whitespace_pattern=WHITESPACE)
        generator = outlines.Generator(self._outlines_model, output_type)
        self.generators_built += 1
        self._generators[key] = generator
        while len(self._generators) > max(1, self.cached_schemas):
            self._generators.popitem(last=False)
        return generator

    def _sampling_locked(self, config: Any) -> dict[str, Any]:
        if not config.temperature:
            return {"do_sample": False, "num_beams": 1}
        if config.seed is not None:
            seed = config.seed
        else:
            seed = derive_seed(self.seed, self._sampled_calls)
            self._sampled_calls += 1
        return {
            "do_sample": True,
            "num_beams": 1,
            "temperature": config.temperature,
            "top_p": config.top_p if config.top_p is not None else 1.0,
            "top_k": config.top_k if config.top_k is not None else 0,
            "seed": seed,
        }

    @contextmanager
    def _mask_stance(self) -> Iterator[None]:
        """Run Outlines' token-mask kernel eagerly unless ``compile_mask`` (default: only on CUDA).

        outlines-core wraps it in ``torch.compile``: on CPU that costs 2-5 s on the first call, needs a C
        compiler (without one torch prints a long traceback and falls back anyway) and is no faster.
        """
        compile_mask = self.compile_mask
        if compile_mask is None:
            compile_mask = self._hf_model.device.type == "cuda"
        if compile_mask:
            yield
            return
        torch = require("torch", "local", LOCAL_MODELS)

        with torch.compiler.set_stance("force_eager"):
            yield

    @contextmanager
    def _seeded(self, seed: int | None) -> Iterator[None]:
        """Seed torch for one sampled generation, leaving the global RNG state as it was."""
        if seed is None:
            yield
            return
        torch = require("torch", "local", LOCAL_MODELS)

        device = self._hf_model.device
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    def _response_schema(self, response_format: dict[str, Any] | None) -> dict[str, Any] | None:
        if not response_format:
            return None
        kind = response_format.get("type")
        if kind == "json_schema":
            return self.bounded_schema(response_format["schema"])
        if kind == "json_object":
            return {"type": "object"}
        from dspy.lm15 import UnsupportedFeatureError

        raise UnsupportedFeatureError(
            f"{self.name}: response_format type {kind!r} is not supported", feature="response_format"
        )


@dataclass(frozen=True)
class _Call:
    """One request as the engine runs it."""

    chat: list[dict[str, str]]
    schema: dict[str, Any] | None
    schema_key: str | None  # canonical_json(schema): the generator cache's key and part of the batch key
    max_new: int
    stops: tuple[str, ...]
    config: Any

    def batch_key(self) -> Hashable | None:
        """Greedy calls with the same schema, token budget and stop strings batch together; sampled calls
        run alone, so each keeps its own seed (and stays reproducible)."""
        if self.config.temperature:
            return None
        return (self.schema_key, self.max_new, self.stops)


@dataclass(frozen=True)
class _Done:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    truncated: bool


def _chat_input(chat: list[dict[str, str]]) -> Any:
    return require("outlines.inputs", "local", LOCAL_MODELS).Chat(chat)


def local_lm(
    path_or_model: str | Path | Any,
    name: str | None = None,
    *,
    tokenizer: Any = None,
    seed: int = 0,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    max_string_length: int = DEFAULT_MAX_STRING,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_digits: int | None = DEFAULT_MAX_DIGITS,
    device: str | None = None,
    max_batch_size: int = DEFAULT_MAX_BATCH,
    **lm_kwargs: Any,
) -> dspy.LM:
    """A ``dspy.LM("local/<name>", engine=TransformersEngine(...))`` over a checkpoint folder or model.

    ``path_or_model`` is a folder, a loaded model (with ``tokenizer=``) or a :class:`TransformersEngine`
    (the engine options are then its own). The name defaults to one unique to the checkpoint (see
    :func:`model_name_for`). Other keyword arguments go to ``dspy.LM``; ``cache`` defaults to False and
    ``num_retries`` to 0 (a local failure is not transient). Nothing is loaded until the first call.
    """
    import dspy

    if isinstance(path_or_model, TransformersEngine):
        if tokenizer is not None:
            raise ValueError("tokenizer= goes with a loaded model, not with an engine")
        engine = path_or_model
        if name is not None and name != engine.name:
            raise ValueError(f"the engine is already named {engine.name!r}")
    else:
        engine = TransformersEngine(
            path_or_model,
            tokenizer,
            name=name,
            seed=seed,
            max_new_tokens=max_new_tokens,
            max_string_length=max_string_length,
            max_items=max_items,
            max_digits=max_digits,
            device=device,
            max_batch_size=max_batch_size,
        )
    lm_kwargs.setdefault("cache", False)
    lm_kwargs.setdefault("num_retries", 0)
    return dspy.LM(f"local/{engine.name}", engine=engine, **lm_kwargs)
