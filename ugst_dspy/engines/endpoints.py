"""One model on several OpenAI-compatible servers (one vLLM server per GPU): ``vllm:MODEL@URL1,URL2,...``.

:class:`MultiEndpointLM` is a ``dspy.LM`` like the one a single server gets (same model string, sampling,
``timeout``, ``num_retries``, cache), that sends each request to one of its servers:

- **Conversation affinity.** Inside ``with conversation_affinity(key):`` (:mod:`ugst_dspy.engines.affinity`)
  every call of that key goes to one server, so its prefix cache holds the conversation's earlier turns. A
  key seen for the first time goes to the server with the fewest requests in flight; ties go to the one
  with fewer open conversations pinned there, then to the key's *home*, the server its CRC-32 names (then
  the next ones in turn). The hash is the same in every process, so worker processes that each see only
  their own (idle) requests still spread their conversations evenly. Keys are remembered least recently
  used first out, beyond ``max_conversations`` (4096); a forgotten key is placed again like a new one.
- **Least in flight.** A call without a key goes to the server with the fewest requests in flight (ties:
  fewer open conversations, then the servers in turn), call by call.
- **Retries, then one failover.** A request keeps the role's ``timeout`` and ``retries`` on the server it
  was sent to (DSPy's retry loop, backoff 1, 2, 4... s). If it still fails with an error *of the server*
  (connection refused or reset, HTTP 5xx, a timeout), it is sent once more, with its retries again, to
  the least loaded other server; if that fails too, the call fails (and the conversation fails as any
  failed call does, ``docs/runs.md``). The error names the servers tried. Errors of the request (HTTP 400,
  an unparseable answer) fail at once, on any server. Nothing is dropped silently.
- **A failed server rests.** A server whose request failed that way is passed over for ``cooldown`` seconds
  (30) by new keys, by calls without a key and by keys pinned to it (which move, once, to another server:
  counted as ``moved``), unless every server is resting. Its next success clears it.
- **Counts.** :meth:`MultiEndpointLM.endpoint_stats` gives per server the requests sent, succeeded and
  failed, failovers taken in, requests in flight, conversations pinned, and whether it rests now.

Copies (``lm.copy(...)``) and deep copies share the router, so their requests are counted and spread
together; so do LMs built with the same ``router=`` (a :class:`~ugst_dspy.engines.spec.ModelPool` gives
every role on the same servers one router: in flight counts every request this process has on a server, and
a conversation's calls of all roles go to one server). The request goes out as ``api_base=URL`` on the LM's
own model string: DSPy keeps one connection pool per server, and its response cache (which ignores
``api_base``) is shared by all servers.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import dspy
from dspy.clients.base_lm import BaseLM
from dspy.utils.callback import with_callbacks
from dspy.utils.exceptions import LMServerError, LMTimeoutError, LMTransportError

from ugst_dspy.engines.affinity import add_end_listener, current_affinity, is_open

MAX_CONVERSATIONS = 4096
"""Affinity keys a router remembers (least recently used forgotten first)."""
COOLDOWN_S = 30.0
"""Seconds a server whose request failed (after retries) is passed over while another one is up."""
ENDPOINT_ERRORS: tuple[type[BaseException], ...] = (LMTransportError, LMServerError, LMTimeoutError)
"""Errors of the server rather than of the request: they fail a request over to another server once."""

Outcome = Literal["ok", "failed", "down", "cancelled"]

# BaseLM.__call__/acall without their callback wrapper: the wrapper runs once per logical call around the
# routing (a usage recorder counts one call, not one per server tried). Without ``__wrapped__`` (another
# DSPy) the wrapped methods are used, and a failed-over call is counted twice by callbacks.
_CALL = getattr(BaseLM.__call__, "__wrapped__", BaseLM.__call__)
_ACALL = getattr(BaseLM.acall, "__wrapped__", BaseLM.acall)


def home_index(key: str, count: int) -> int:
    """The server a conversation key prefers among ``count`` when loads tie (CRC-32: the same in every process)."""
    return zlib.crc32(key.encode("utf-8")) % count


@dataclass
class _Endpoint:
    url: str
    in_flight: int = 0
    requests: int = 0
    ok: int = 0
    failed: int = 0
    failovers_in: int = 0
    conversations: int = 0
    active: int = 0
    down_until: float = 0.0
    last_error: str | None = None


class EndpointRouter:
    """Which server each request goes to (thread-safe; no I/O). See the module docstring for the rules.

    :meth:`acquire` picks a server and counts the request in flight there; :meth:`finish` ends it with
    its outcome. ``clock`` is for tests.
    """

    def __init__(self, urls: Sequence[str], *, max_conversations: int = MAX_CONVERSATIONS,
                 cooldown: float = COOLDOWN_S, clock: Callable[[], float] = time.monotonic) -> None:
        if not urls:
            raise ValueError("an endpoint router needs at least one URL")
        if max_conversations < 1 or cooldown < 0:
            raise ValueError("max_conversations must be at least 1 and cooldown at least 0")
        self.urls = tuple(urls)
        self.max_conversations, self.cooldown, self.clock = max_conversations, float(cooldown), clock
        self._setup()

    def _setup(self) -> None:
        self._lock = threading.Lock()
        self._endpoints = [_Endpoint(url) for url in self.urls]
        self._keys: OrderedDict[str, int] = OrderedDict()
        self._live: set[str] = set()  # keys counted in an endpoint's ``active``: their block is open
        self.moved = self.forgotten = self.failovers = 0
        self._turn = 0  # where ties of calls without a key start, in turn
        add_end_listener(self)

    # copies of an LM share its router; a pickled one starts afresh with the same servers
    def __deepcopy__(self, memo: dict[int, Any]) -> EndpointRouter:
        return self

    def __getstate__(self) -> dict[str, Any]:
        return {"urls": self.urls, "max_conversations": self.max_conversations, "cooldown": self.cooldown}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.urls, self.max_conversations, self.cooldown = state["urls"], state["max_conversations"], state["cooldown"]
        self.clock = time.monotonic
        self._setup()

    def acquire(self, key: str | None = None, exclude: frozenset[int] = frozenset()) -> int:
        """The index of the server for the next request of ``key`` (``None``: no conversation), other than
        ``exclude`` (the servers a failing-over request already tried); counts it in flight there."""
        with self._lock:
            now = self.clock()
            candidates = [i for i in range(len(self.urls)) if i not in exclude] or list(range(len(self.urls)))
            up = [i for i in candidates if self._endpoints[i].down_until <= now] or candidates
            index = self._keys.get(key) if key is not None else None
            if index is not None:
                self._keys.move_to_end(key)  # type: ignore[arg-type]
                if index not in up:
                    self.moved += 1
                    index = None
            if index is None:
                count = len(self.urls)
                if key is not None:
                    first = home_index(key, count)
                else:
                    first, self._turn = self._turn, (self._turn + 1) % count
                index = min(up, key=lambda i: (self._endpoints[i].in_flight, self._endpoints[i].active,
                                               (i - first) % count))
            if key is not None:
                self._pin(key, index)
            if exclude:
                self.failovers += 1
                self._endpoints[index].failovers_in += 1
            endpoint = self._endpoints[index]
            endpoint.in_flight += 1
            endpoint.requests += 1
            return index

    def _pin(self, key: str, index: int) -> None:
        old = self._keys.get(key)
        if old != index:
            self._keys[key] = index
            self._endpoints[index].conversations += 1
        if key in self._live:
            if old != index and old is not None:
                self._endpoints[old].active -= 1
                self._endpoints[index].active += 1
        elif is_open(key):  # not a late call after its block ended (a task that outlived it)
            self._live.add(key)
            self._endpoints[index].active += 1
        while len(self._keys) > self.max_conversations:
            gone, where = self._keys.popitem(last=False)
            self.forgotten += 1
            if gone in self._live:
                self._live.discard(gone)
                self._endpoints[where].active -= 1

    def finish(self, index: int, outcome: Outcome, error: str | None = None) -> None:
        """End a request on server ``index``: ``ok``, ``failed`` (the request's fault), ``down`` (the
        server's fault: it rests for ``cooldown`` seconds) or ``cancelled`` (interrupted: not counted)."""
        with self._lock:
            endpoint = self._endpoints[index]
            endpoint.in_flight -= 1
            if outcome == "ok":
                endpoint.ok += 1
                endpoint.down_until = 0.0
            elif outcome in ("failed", "down"):
                endpoint.failed += 1
                endpoint.last_error = error
                if outcome == "down":
                    endpoint.down_until = self.clock() + self.cooldown

    def conversation_ended(self, key: str) -> None:
        """The last ``conversation_affinity(key)`` block ended: the key no longer counts as open on its
        server (where it went is still remembered)."""
        with self._lock:
            if key in self._live:
                self._live.discard(key)
                self._endpoints[self._keys[key]].active -= 1

    def where(self, key: str) -> str | None:
        """The URL ``key``'s calls go to now, if it is remembered."""
        with self._lock:
            index = self._keys.get(key)
            return None if index is None else self.urls[index]

    def stats(self) -> dict[str, Any]:
        """Per server: requests sent (``requests``: first tries and failovers), ``ok``, ``failed`` (after
        retries), ``failovers_in``, ``in_flight``, ``conversations`` pinned there (ever) and ``open`` now,
        ``resting`` (passed over after a failure) and the ``last_error``; and for the router the keys
        remembered, keys ``moved`` off a resting server, keys ``forgotten`` and ``failovers``."""
        with self._lock:
            now = self.clock()
            return {
                "endpoints": [{"url": e.url, "requests": e.requests, "ok": e.ok, "failed": e.failed,
                               "failovers_in": e.failovers_in, "in_flight": e.in_flight,
                               "conversations": e.conversations, "open": e.active,
                               "resting": e.down_until > now, "last_error": e.last_error}
                              for e in self._endpoints],
                "conversations": len(self._keys), "moved": self.moved, "forgotten": self.forgotten,
                "failovers": self.failovers,
            }


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]


def _name_servers(exc: BaseException, tried: list[str]) -> None:
    """Say in the error which servers the call tried (the message stays one line, the type unchanged)."""
    note = f" (model server {tried[0]})" if len(tried) == 1 else \
        f" (model servers {tried[0]}, then {tried[1]} after it failed)"
    if exc.args and isinstance(exc.args[0], str) and note not in exc.args[0]:
        exc.args = (exc.args[0] + note, *exc.args[1:])
        if isinstance(getattr(exc, "message", None), str):
            exc.message += note  # type: ignore[attr-defined]


class MultiEndpointLM(dspy.LM):
    """A ``dspy.LM`` whose requests are spread over several OpenAI-compatible servers of one model.

    ``model`` is the DSPy model string (a provider declared for the first server, see
    :func:`ugst_dspy.serving.provider.vllm_lm`); ``endpoints`` are the servers' base URLs, each request is
    sent to one of them as ``api_base``. Other keyword arguments are ``dspy.LM``'s (``timeout``,
    ``num_retries``, sampling...). See the module docstring for the routing, failover and counts.
    """

    def __init__(self, model: str, endpoints: Sequence[str], *, router: EndpointRouter | None = None,
                 max_conversations: int = MAX_CONVERSATIONS, cooldown: float = COOLDOWN_S, **kwargs: Any) -> None:
        if isinstance(endpoints, str) or not endpoints:
            raise ValueError("endpoints is a non-empty list of base URLs")
        if kwargs.get("api_base") or kwargs.get("base_url"):
            raise ValueError("a MultiEndpointLM sends each request to one of its endpoints: no api_base/base_url")
        endpoints = tuple(endpoints)
        if router is not None and router.urls != endpoints:
            raise ValueError(f"the router routes to {router.urls}, not to the endpoints {endpoints}")
        super().__init__(model, **kwargs)
        self.endpoints = endpoints
        self.router = router or EndpointRouter(endpoints, max_conversations=max_conversations, cooldown=cooldown)

    def endpoint_stats(self) -> dict[str, Any]:
        """Per-server request counts and the router's (see :meth:`EndpointRouter.stats`)."""
        return self.router.stats()

    def _failed(self, index: int, exc: BaseException, tried: list[int]) -> int | None:
        """Record a failed request on server ``index``; the server to fail over to, or ``None`` (raise)."""
        if not isinstance(exc, Exception):
            self.router.finish(index, "cancelled")
            return None
        down = isinstance(exc, ENDPOINT_ERRORS)
        self.router.finish(index, "down" if down else "failed", _short(exc))
        if down and len(tried) == 1 and len(self.endpoints) > 1:
            return self.router.acquire(current_affinity(), exclude=frozenset(tried))
        _name_servers(exc, [self.endpoints[i] for i in tried])
        return None

    @with_callbacks
    def __call__(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        index, tried = self.router.acquire(current_affinity()), []
        while True:
            tried.append(index)
            try:
                result = _CALL(self, prompt, messages=messages, **{**kwargs, "api_base": self.endpoints[index]})
            except BaseException as exc:
                following = self._failed(index, exc, tried)
                if following is None:
                    raise
                index = following
                continue
            self.router.finish(index, "ok")
            return result

    @with_callbacks
    async def acall(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        index, tried = self.router.acquire(current_affinity()), []
        while True:
            tried.append(index)
            try:
                result = await _ACALL(self, prompt, messages=messages,
                                      **{**kwargs, "api_base": self.endpoints[index]})
            except BaseException as exc:
                following = self._failed(index, exc, tried)
                if following is None:
                    raise
                index = following
                continue
            self.router.finish(index, "ok")
            return result

    def dump_state(self) -> dict[str, Any]:
        state = super().dump_state()
        state.update({"endpoints": list(self.endpoints), "max_conversations": self.router.max_conversations,
                      "cooldown": self.router.cooldown})
        return state
