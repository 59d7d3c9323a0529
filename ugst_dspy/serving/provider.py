"""DSPy clients for vLLM servers: one lm15 provider per base URL, declared so that ``dspy.JSONAdapter``
sends the signature's output schema as a strict JSON schema, which vLLM enforces with structured outputs.

``dspy.LM("openai/<model>", api_base=...)`` would reach the server too, but DSPy knows nothing of such a
model and falls back to plain JSON mode; a registered provider with ``ModelSupport(response_schema=True)``
gets the schema. Registrations are process-wide (``dspy.lm15.register_provider``); an LM binds the ones
present when it is built, so :func:`vllm_lm` registers first and then builds.

String bounds: DSPy keeps only a field's type when it builds the schema, so ``dspy.OutputField(max_length=N)``
and ``Annotated[str, Field(max_length=N)]`` send no ``maxLength``. A pydantic model as the output type
keeps its constraints (``reason: str = Field(max_length=N)`` inside it), and so does a ``str`` subclass with
its own pydantic schema. A weak model needs those bounds, or it writes until ``max_tokens``.

Several servers of one model (one per GPU): :func:`vllm_lm` takes a list of base URLs (or the spec's
comma-separated form, ``http://127.0.0.1:8000/v1,http://127.0.0.1:8001/v1``) and returns a
:class:`~ugst_dspy.engines.endpoints.MultiEndpointLM`, which sends each request to one of them (conversation
affinity, least requests in flight, one failover; see that module).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from ugst_dspy.errors import UgstError

PROVIDER_PREFIX = "ugst-vllm"

_lock = threading.Lock()
_providers: dict[str, str] = {}


def normalize_base_url(base_url: str) -> str:
    """``http://host:port/v1`` from a server address with or without ``/v1`` and a trailing slash."""
    url = base_url.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UgstError(f"vLLM base URL {base_url!r} is not an http(s) URL like http://127.0.0.1:8000/v1")
    return url if parts.path else f"{url}/v1"


def parse_base_urls(urls: str | Sequence[str]) -> tuple[str, ...]:
    """The normalized base URLs of a comma-separated list (``http://h:8000/v1,http://h:8001/v1``; spaces
    after the commas are allowed) or of a sequence. An empty entry, one that is not an http(s) URL, or a
    server listed twice (after normalization) is a one-line :class:`UgstError`."""
    entries = urls.split(",") if isinstance(urls, str) else list(urls)
    if not entries:
        raise UgstError("no model server URL given")
    found: dict[str, int] = {}
    for number, entry in enumerate(entries, 1):
        text = entry.strip() if isinstance(entry, str) else ""
        where = f"model server URL #{number} of {len(entries)}" if len(entries) > 1 else "model server URL"
        if not text:
            raise UgstError(f"{where} is empty (a stray comma?)")
        if any(ch.isspace() for ch in text):
            raise UgstError(f"{where} {text!r} contains a space")
        if text.count("://") > 1:
            raise UgstError(f"{where} {text!r} is not an http(s) URL: it holds two (separate servers with commas)")
        try:
            url = normalize_base_url(text)
            urllib.parse.urlsplit(url).port  # noqa: B018 - raises ValueError for a port that is not a number
        except (UgstError, ValueError):
            raise UgstError(f"{where} {text!r} is not an http(s) URL like http://127.0.0.1:8000/v1") from None
        if url in found:
            raise UgstError(f"{where} {text!r} is the same server as #{found[url]} ({url})")
        found[url] = number
    return tuple(found)


def provider_name(base_url: str) -> str:
    """The provider id for a base URL: ``ugst-vllm-<host>-<port>[-<path>]``, hyphenated, one per URL."""
    parts = urllib.parse.urlsplit(normalize_base_url(base_url))
    path = "" if parts.path == "/v1" else parts.path
    slug = re.sub(r"[^a-z0-9]+", "-", f"{parts.netloc}{path}".lower()).strip("-")
    return f"{PROVIDER_PREFIX}-{slug}"


def register_vllm_provider(base_url: str) -> str:
    """Declare the vLLM server at ``base_url`` to DSPy once per process; returns the provider id."""
    url = normalize_base_url(base_url)
    with _lock:
        if url in _providers:
            return _providers[url]
        from dspy.lm15 import (
            AccessPolicy,
            EndpointSupport,
            ModelSupport,
            OpenAIChatCompat,
            ProviderDefinition,
            register_provider,
        )

        name = provider_name(url)
        access = AccessPolicy(
            provider=name,
            supports=EndpointSupport(complete=True, stream=True, models=True),
            auth_modes=("bearer",),
            base_url=url,
        )
        definition = ProviderDefinition.chat(access, compat=OpenAIChatCompat.preset("vllm"), placeholder_key="none")
        register_provider(definition, supports=ModelSupport(response_schema=True))
        _providers[url] = name
        return name


def served_models(base_url: str, timeout: float = 5.0) -> list[str]:
    """The model names a vLLM (or any OpenAI-compatible) server lists; UgstError when it does not answer."""
    url = normalize_base_url(base_url)
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=timeout) as answer:
            body = json.loads(answer.read())
    except urllib.error.HTTPError as err:
        raise UgstError(f"vLLM server at {url} answered {err.code} to GET /models") from None
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise UgstError(f"vLLM server at {url} is unreachable ({reason}); is it running?") from None
    try:
        return [str(entry["id"]) for entry in body["data"]]
    except (KeyError, TypeError):
        raise UgstError(f"vLLM server at {url} sent a model list without data[].id") from None


def vllm_lm(
    base_url: str | Sequence[str],
    model: str,
    *,
    cache: bool = False,
    num_retries: int = 3,
    timeout: float | None = None,
    check: bool = True,
    router: Any = None,
    **kwargs: Any,
) -> Any:
    """A ``dspy.LM`` for ``model`` on the vLLM server at ``base_url``, with JSON-schema structured outputs.

    The DSPy response cache is off unless ``cache=True``. ``num_retries`` retries server errors, timeouts
    and broken connections with exponential backoff (DSPy's own retry loop). ``timeout`` (seconds) bounds
    each wait of a request (sending, every read; connecting keeps DSPy's 10 s), so a server that stops
    answering fails the call.
    ``check`` first asks the server for its models (waiting at most ``timeout``, and 5 s), so a wrong URL
    or model name fails here with a one-line :class:`UgstError` rather than after the retries of the first
    call. Other keyword arguments go to ``dspy.LM`` (``max_tokens``, ``temperature``, ``api_key``...).

    Several servers of the model (a list, or URLs separated by commas): every one is checked, and the LM is a
    :class:`~ugst_dspy.engines.endpoints.MultiEndpointLM` over them, with the same settings per request;
    ``router`` (an :class:`~ugst_dspy.engines.endpoints.EndpointRouter` over the same normalized URLs) shares
    the spread with other LMs on those servers.
    """
    if not model:
        raise UgstError("vllm_lm needs a model name (the server's --served-model-name)")
    urls = parse_base_urls(base_url)
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
            raise UgstError(f"vllm_lm: timeout must be a number of seconds above 0, got {timeout!r}")
        kwargs["timeout"] = float(timeout)
    if check:
        for url in urls:
            names = served_models(url, timeout=min(5.0, timeout or 5.0))
            if model not in names:
                raise UgstError(f"vLLM server at {url} serves {', '.join(map(repr, names)) or 'no model'}, "
                                f"not {model!r}")
    import dspy

    provider = register_vllm_provider(urls[0])
    if len(urls) == 1:
        return dspy.LM(f"{provider}/{model}", cache=cache, num_retries=num_retries, **kwargs)
    from ugst_dspy.engines.endpoints import MultiEndpointLM

    return MultiEndpointLM(f"{provider}/{model}", urls, router=router, cache=cache, num_retries=num_retries,
                           **kwargs)
