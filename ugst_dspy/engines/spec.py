"""Model specs: one string per role names the model behind it, and a pool turns specs into DSPy LMs.

| spec | model |
| --- | --- |
| ``embedded`` (or empty) | the default embedded model, Qwen2.5-Coder-1.5B-Instruct (see ``engines.catalog``) |
| ``embedded:NAME`` | an embedded model by name: ``qwen2.5-coder-1.5b-instruct`` (``qwen``), ``smollm2-135m-instruct`` (``smollm2``) |
| ``PATH`` or ``local:PATH`` | a Hugging Face checkpoint folder, run with transformers (+ Outlines for JSON) |
| ``FILE.gguf`` or ``gguf:FILE`` | a GGUF file |
| ``vllm:MODEL@URL`` | a model served by a vLLM server (``URL`` like ``http://127.0.0.1:8000/v1``) |
| ``vllm:MODEL@URL1,URL2`` | one model on several servers, spread by conversation (``engines.endpoints``) |
| ``provider/model`` | any model DSPy reaches on its own (``openai/gpt-4o-mini``, ``anthropic/...``) |
| ``scripted:MODULE:FUNCTION`` | a Python function plays the model (tests, dry runs; see ``engines.scripted``) |

GGUF models (the embedded ones included) run on llama.cpp (:mod:`ugst_dspy.engines.llamacpp`) when
llama-cpp-python is installed and ``gguf_engine`` is ``auto`` or ``llamacpp``; otherwise (or with
``gguf_engine = "transformers"``) they are converted once into a checkpoint folder in the cache and run with
transformers, as training needs. Roles that name the same local model share one loaded copy. Every role
gets its own ``dspy.LM`` object, so sampling settings stay per role.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ugst_dspy.config import EMBEDDED, ROLES, UGSTConfig, apply_offline_defaults
from ugst_dspy.errors import UgstError
from ugst_dspy.extras import check as check_extra

SpecKind = Literal["embedded", "local", "gguf", "vllm", "api", "scripted"]
_API = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*/\S+$")
_VLLM = re.compile(r"^(?P<model>[^@\s]+)@(?P<urls>\S.*)$")
VLLM_FORM = "a vLLM model is vllm:MODEL@http://HOST:PORT/v1 (several servers: vllm:MODEL@URL1,URL2)"
USAGE = "use embedded, a model folder, a .gguf file, vllm:MODEL@URL, provider/model or scripted:MODULE:FUNCTION"
LOCAL_MODULES: tuple[str, ...] = ("torch", "transformers", "outlines")
"""What a local model (embedded, a folder, a GGUF file) imports when it loads: the ``local`` extra."""
_SCRIPTED = re.compile(r"^scripted:(?P<target>[A-Za-z_][\w.]*:[A-Za-z_]\w*)$")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec (see the module docstring)."""

    kind: SpecKind
    target: str = ""
    base_url: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> ModelSpec:
        """Parse a spec; a malformed one, or a path that does not exist, raises a one-line UgstError."""
        raw = (text or "").strip()
        if raw in ("", EMBEDDED, "default"):
            return cls("embedded")
        if raw.startswith(EMBEDDED + ":"):
            from ugst_dspy.engines.catalog import embedded_model

            return cls("embedded", embedded_model(raw[len(EMBEDDED) + 1 :]).name)
        if raw.startswith("vllm:"):
            match = _VLLM.match(raw[len("vllm:") :])
            if match is None:
                raise UgstError(f"bad model spec {raw!r}: {VLLM_FORM}")
            return cls("vllm", match.group("model"), cls._urls(match.group("urls"), raw))
        if raw.startswith("scripted:"):
            match = _SCRIPTED.match(raw)
            if match is None:
                raise UgstError(f"bad model spec {raw!r}: a scripted model is scripted:package.module:function")
            return cls("scripted", match.group("target"))
        for prefix, kind in (("local:", "local"), ("gguf:", "gguf")):
            if raw.startswith(prefix):
                return cls._path(kind, raw[len(prefix) :], raw)  # type: ignore[arg-type]
        if raw.endswith(".gguf"):
            return cls._path("gguf", raw, raw)
        if raw.startswith(("/", "./", "../", "~")) or Path(raw).exists():
            return cls._path("local", raw, raw)
        if _API.match(raw):
            return cls("api", raw)
        raise UgstError(f"bad model spec {raw!r}: {USAGE}")

    @staticmethod
    def _urls(text: str, raw: str) -> str:
        """The spec's server URLs, checked (one-line errors), as written, comma-separated without spaces."""
        from ugst_dspy.serving.provider import parse_base_urls

        try:
            parse_base_urls(text)
        except UgstError as err:
            raise UgstError(f"bad model spec {raw!r}: {err}; {VLLM_FORM}") from None
        return ",".join(entry.strip() for entry in text.split(","))

    @property
    def base_urls(self) -> tuple[str, ...]:
        """The servers of a served model, as written (one unless the spec lists several); empty otherwise."""
        return tuple(self.base_url.split(",")) if self.base_url else ()

    @classmethod
    def _path(cls, kind: SpecKind, path: str, raw: str) -> ModelSpec:
        where = Path(path).expanduser()
        if kind == "gguf":
            if not where.is_file():
                raise UgstError(f"bad model spec {raw!r}: no GGUF file at {where}")
        elif not (where / "config.json").is_file():
            problem = "does not exist" if not where.exists() else "is not a model folder (no config.json)"
            raise UgstError(f"bad model spec {raw!r}: {where} {problem}")
        return cls(kind, str(where.resolve()))

    def __str__(self) -> str:
        if self.kind == "embedded":
            return f"{EMBEDDED}:{self.target}" if self.target else EMBEDDED
        if self.kind == "vllm":
            return f"vllm:{self.target}@{self.base_url}"
        if self.kind == "scripted":
            return f"scripted:{self.target}"
        return self.target


class ModelPool:
    """Builds the ``dspy.LM`` of each role from a :class:`UGSTConfig`, loading shared local models once.

    Nothing is loaded or contacted in the constructor; :meth:`lm` parses the spec (bad specs fail there
    with one line) and builds the LM, whose model loads on its first call. ``engine_options`` go to every
    local :class:`~ugst_dspy.engines.local.TransformersEngine` (e.g. ``max_string_length``).
    """

    def __init__(self, config: UGSTConfig | None = None, engine_options: dict[str, Any] | None = None) -> None:
        apply_offline_defaults()
        self.config = config or UGSTConfig()
        self.engine_options = dict(engine_options or {})
        self._engines: dict[str, Any] = {}
        self._lms: dict[str, Any] = {}
        self._routers: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    def spec(self, role: str) -> ModelSpec:
        return ModelSpec.parse(self.config.role(role).model)

    def check(self) -> None:
        """Parse every role's spec now, so a bad one fails before any work starts."""
        for role in ROLES:
            self.spec(role)

    def lm(self, role: str) -> Any:
        """The LM of ``role`` (built once per pool)."""
        with self._lock:
            if role not in self._lms:
                self._lms[role] = self._build(role)
            return self._lms[role]

    def engines(self) -> dict[str, Any]:
        """The local engines built so far, by checkpoint."""
        return dict(self._engines)

    def endpoint_stats(self) -> dict[str, dict[str, Any]]:
        """How the requests to each set of several servers spread, by the set (``URL1,URL2``, normalized):
        the roles built on it so far and :meth:`ugst_dspy.engines.endpoints.EndpointRouter.stats`. Every role
        whose spec lists the same servers shares one router (one count of requests in flight per server)."""
        with self._lock:
            built, routers = dict(self._lms), dict(self._routers)
        stats = {}
        for urls, router in routers.items():
            roles = [role for role, lm in built.items() if getattr(lm, "router", None) is router]
            stats[",".join(urls)] = {"roles": roles, **router.stats()}
        return stats

    def servers_for(self, key: str) -> dict[str, str]:
        """Per role on several servers (built so far): the server conversation ``key`` is placed on now, for
        the roles that have placed it (a conversation's record can say where it ran)."""
        with self._lock:
            built = dict(self._lms)
        found = {role: lm.router.where(key) for role, lm in built.items() if hasattr(lm, "endpoint_stats")}
        return {role: url for role, url in found.items() if url is not None}

    def _router(self, urls: tuple[str, ...]) -> Any:
        """The one router of a set of servers (called under the pool's lock)."""
        from ugst_dspy.engines.endpoints import EndpointRouter
        from ugst_dspy.serving.provider import parse_base_urls

        key = parse_base_urls(urls)
        if key not in self._routers:
            self._routers[key] = EndpointRouter(key)
        return self._routers[key]

    def _sampling(self, role: str) -> dict[str, Any]:
        settings = self.config.role(role)
        kwargs: dict[str, Any] = {"temperature": settings.temperature, "max_tokens": settings.max_tokens}
        if settings.top_p is not None:
            kwargs["top_p"] = settings.top_p
        return kwargs

    def _requests(self, role: str) -> dict[str, Any]:
        """The request limits of a remote LM: the role's timeout, and its retries (DSPy's loop retries timeouts,
        5xx and broken connections with exponential backoff, 1 s doubling to at most 60 s)."""
        return {"timeout": float(self.config.role(role).timeout), "num_retries": self.config.retries(role)}

    def _build(self, role: str) -> Any:
        import dspy

        spec = self.spec(role)
        sampling = self._sampling(role)
        if spec.kind == "vllm":
            from ugst_dspy.serving.provider import vllm_lm

            assert spec.base_url is not None
            router = self._router(spec.base_urls) if len(spec.base_urls) > 1 else None
            return vllm_lm(spec.base_urls, spec.target, router=router, cache=self.config.cache,
                           seed=self.config.seed, **self._requests(role), **sampling)
        if spec.kind == "scripted":
            from ugst_dspy.engines.scripted import ScriptedEngine, load_responder

            engine = ScriptedEngine(load_responder(spec.target))
            return dspy.LM(f"local/scripted-{spec.target}.{role}", engine=engine, cache=False, num_retries=0, **sampling)
        if spec.kind == "api":
            return dspy.LM(spec.target, cache=self.config.cache, seed=self.config.seed, **self._requests(role),
                           **sampling)
        engine = self._local_engine(spec)
        # One LM object per role over the shared engine; the role in the name keeps DSPy's cache keys apart.
        return dspy.LM(f"local/{engine.name}.{role}", engine=engine, cache=self.config.cache, num_retries=0,
                       seed=self.config.seed, **sampling)

    def _local_engine(self, spec: ModelSpec) -> Any:
        if spec.kind in ("embedded", "gguf") and self._on_llamacpp():
            return self._llamacpp_engine(spec)
        # before anything loads or converts: a base install says here, in one line, which extra it lacks
        what = "the embedded model" if spec.kind == "embedded" else f"the local model {spec.target}"
        check_extra(LOCAL_MODULES + (("gguf",) if spec.kind in ("embedded", "gguf") else ()), "local", what)
        from ugst_dspy.engines.embedded import embedded_checkpoint, prepare_gguf_model
        from ugst_dspy.engines.local import TransformersEngine

        if spec.kind == "embedded":
            folder = embedded_checkpoint(spec.target or None)
        elif spec.kind == "gguf":
            folder = prepare_gguf_model(Path(spec.target))
        else:
            folder = Path(spec.target)
        key = str(folder)
        if key not in self._engines:
            self._engines[key] = TransformersEngine(folder, seed=self.config.seed, **self.engine_options)
        return self._engines[key]


    def _on_llamacpp(self) -> bool:
        """Whether GGUF models run on llama.cpp under this config (``gguf_engine``; ``auto``: when installed)."""
        from ugst_dspy.engines.llamacpp import llamacpp_available

        choice = self.config.gguf_engine
        if choice == "llamacpp":
            check_extra("llama_cpp", "llamacpp", "gguf_engine = 'llamacpp'")
            return True
        return choice == "auto" and llamacpp_available()

    def _llamacpp_engine(self, spec: ModelSpec) -> Any:
        from ugst_dspy.engines.catalog import embedded_model, gguf_path
        from ugst_dspy.engines.llamacpp import LlamaCppEngine

        if spec.kind == "embedded":
            model = embedded_model(spec.target or None)
            path, name = gguf_path(model.name), f"llamacpp-{model.name}"
        else:
            path = Path(spec.target)
            name = f"llamacpp-{path.stem.lower()}"
        key = f"llamacpp:{path}"
        if key not in self._engines:
            self._engines[key] = LlamaCppEngine(path, name=name, seed=self.config.seed)
        return self._engines[key]


def configure_adapter(config: UGSTConfig) -> Any:
    """The DSPy adapter our modules use under ``config`` (JSONAdapter by default)."""
    import dspy

    return dspy.JSONAdapter() if config.adapter == "json" else dspy.ChatAdapter()
