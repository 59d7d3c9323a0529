"""Conversation affinity: which conversation the LM calls of this thread (or asyncio task) belong to.

A model served by several servers (``vllm:MODEL@URL1,URL2``, :mod:`ugst_dspy.engines.endpoints`) sends every
call made inside ``with conversation_affinity(key):`` to one server, so that server's prefix cache holds the
conversation's earlier turns and each call only pays for its new tokens::

    with conversation_affinity(goal.id):
        ...  # every LM call of this conversation, in this thread

The key lives in a :class:`~contextvars.ContextVar`: it follows the code into coroutines and
``asyncio.to_thread``, not into threads started by hand (a ``ThreadPoolExecutor`` task sees no key unless
it runs in a copied context, ``contextvars.copy_context().run``). Blocks nest; the innermost key wins. When
the last block of a key ends (across threads), listeners registered with :func:`add_end_listener` hear
``conversation_ended(key)``, so a router can stop counting that conversation as active on its server (it
still remembers where the key went, for a retry of the same conversation).

Pure Python: no dspy, no I/O.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

_KEY: ContextVar[str | None] = ContextVar("ugst_conversation_affinity", default=None)
_lock = threading.Lock()
_open: Counter[str] = Counter()
_listeners: weakref.WeakSet[Any] = weakref.WeakSet()


class EndListener(Protocol):
    def conversation_ended(self, key: str) -> None: ...


@contextmanager
def conversation_affinity(key: str) -> Iterator[str]:
    """Send the LM calls made inside the block to the server that ``key``'s conversation uses.

    ``key`` names the conversation (a goal id, a record id); an int is taken as its decimal string. An empty
    key is a ``ValueError``.
    """
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise ValueError(f"a conversation affinity key is a string, got {type(key).__name__}")
    key = str(key)
    if not key:
        raise ValueError("a conversation affinity key must not be empty")
    token = _KEY.set(key)
    with _lock:
        _open[key] += 1
    try:
        yield key
    finally:
        _KEY.reset(token)
        with _lock:
            _open[key] -= 1
            ended = _open[key] <= 0
            if ended:
                del _open[key]
            listeners = list(_listeners) if ended else []
        for listener in listeners:
            listener.conversation_ended(key)


def current_affinity() -> str | None:
    """The key of the innermost :func:`conversation_affinity` block around this code, or ``None``."""
    return _KEY.get()


def open_conversations() -> int:
    """How many distinct keys have a block open now (in any thread)."""
    with _lock:
        return len(_open)


def is_open(key: str) -> bool:
    """Whether a :func:`conversation_affinity` block of ``key`` is open now (in any thread)."""
    with _lock:
        return key in _open


def add_end_listener(listener: EndListener) -> None:
    """Call ``listener.conversation_ended(key)`` when the last open block of a key ends (held weakly)."""
    with _lock:
        _listeners.add(listener)
