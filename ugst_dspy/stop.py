"""The end of a conversation as the user signals it: a structured flag, or a marker in raw chat text.

Raw chat models follow the paper's convention of writing ``Terminate.`` (τ-bench's user writes
``###STOP###``). :func:`split_stop` removes such a marker and keeps whatever else the message says.
"""

from __future__ import annotations

import re

STOP_MARKERS = ("Terminate.", "TERMINATE", "###STOP###")
STOP_MESSAGE = "Terminate."
"""The user's message recorded when it stopped without saying anything else (the paper's convention)."""
_MARKER = re.compile(r"\s*(?:\bTerminate\.|\bTERMINATE\b|###STOP###)\s*")


def split_stop(text: str) -> tuple[str, bool]:
    """``(text without stop markers, whether a marker was there)``."""
    if not _MARKER.search(text):
        return text.strip(), False
    return " ".join(_MARKER.sub(" ", text).split()), True
