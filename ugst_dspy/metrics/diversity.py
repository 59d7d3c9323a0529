"""Lexical diversity of the simulated user's messages: MTLD and HD-D (the paper's Table 6).

Both are computed by the ``lexicalrichness`` package (the ``quality`` extra; imported on first use) over one
token sequence per group of conversations: the tokens of every user utterance, conversation after
conversation in input order and turn after turn, concatenated. Tokenisation is the package's default,
reproduced by :func:`tokenize` so that it is fixed here rather than by the installed version:

1. lower-case the text (``str.lower``);
2. delete every run of ASCII digits ``0-9``;
3. delete the hyphen-minus ``-``, the en dash and the em dash;
4. replace each ASCII punctuation character (Python's ``string.punctuation``) with a space;
5. split on whitespace.

- **MTLD** (McCarthy and Jarvis 2010), threshold 0.72: walking through the tokens, a *factor* ends as soon as
  the type-token ratio of the current segment is <= 0.72, and a new segment starts; the unfinished last
  segment adds the partial factor ``(1 - TTR) / (1 - 0.72)``. MTLD = tokens / factors, averaged over a
  forward and a backward pass. A text whose tokens are all different has MTLD = its length. n/a with no token.
- **HD-D** (McCarthy and Jarvis 2007), 42 draws: the sum over types ``t`` of
  ``P(t occurs at least once in 42 tokens drawn without replacement) / 42``, the hypergeometric probability
  from the type's count and the token count (an expected type-token ratio of a 42-token sample, in [0, 1]).
  n/a with fewer than 42 tokens.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.errors import UgstError
from ugst_dspy.extras import missing_message, require
from ugst_dspy.metrics.success import group_key

MTLD_THRESHOLD = 0.72
HDD_DRAWS = 42
LIBRARY = "lexicalrichness"

_DIGITS = re.compile(r"[0-9]+")
_DASHES = str.maketrans("", "", "-\u2013\u2014")
_PUNCTUATION = str.maketrans(string.punctuation, " " * len(string.punctuation))


def tokenize(text: str) -> list[str]:
    """The tokens of a text (the five steps of the module docstring)."""
    text = _DIGITS.sub("", text.lower()).translate(_DASHES)
    return text.translate(_PUNCTUATION).split()


def user_tokens(conversations: Iterable[Conversation]) -> list[str]:
    """The concatenated tokens of every user utterance, in input and turn order."""
    return [token for conversation in conversations for turn in conversation.turns for token in tokenize(turn.user)]


def _lexical_richness(tokens: Sequence[str]) -> Any:
    lexicalrichness = require(LIBRARY, "quality", "lexical diversity")
    return lexicalrichness.LexicalRichness(list(tokens), preprocessor=None, tokenizer=None)


def mtld(tokens: Sequence[str], threshold: float = MTLD_THRESHOLD) -> float | None:
    """MTLD of a token sequence (``None`` when it is empty)."""
    if not tokens:
        return None
    return float(_lexical_richness(tokens).mtld(threshold=threshold))


def hdd(tokens: Sequence[str], draws: int = HDD_DRAWS) -> float | None:
    """HD-D of a token sequence (``None`` with fewer than ``draws`` tokens)."""
    if len(tokens) < draws:
        return None
    return float(_lexical_richness(tokens).hdd(draws=draws))


@dataclass
class DiversityRow:
    """MTLD and HD-D of the user side of one group of conversations, with the counts behind them."""

    group: str
    conversations: int = 0
    utterances: int = 0
    tokens: int = 0
    types: int = 0
    mtld: float | None = None
    hdd: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "conversations": self.conversations,
            "utterances": self.utterances,
            "tokens": self.tokens,
            "types": self.types,
            "mtld": self.mtld,
            "hdd": self.hdd,
        }


def diversity_table(
    conversations: Iterable[Conversation],
    group_by: str | None = None,
    threshold: float = MTLD_THRESHOLD,
    draws: int = HDD_DRAWS,
) -> list[DiversityRow]:
    """One row per group (in order of first appearance); see the module docstring."""
    key = group_key(group_by)
    groups: dict[str, list[Conversation]] = {}
    for conversation in conversations:
        groups.setdefault(key(conversation), []).append(conversation)
    rows = []
    for name, members in groups.items():
        tokens = user_tokens(members)
        rows.append(
            DiversityRow(
                group=name,
                conversations=len(members),
                utterances=sum(len(c.turns) for c in members),
                tokens=len(tokens),
                types=len(set(tokens)),
                mtld=mtld(tokens, threshold),
                hdd=hdd(tokens, draws),
            )
        )
    return rows


def library_version() -> str:
    """``lexicalrichness X.Y.Z`` as installed; a one-line UgstError when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{LIBRARY} {version(LIBRARY)}"
    except PackageNotFoundError:
        raise UgstError(missing_message("lexical diversity", "quality", LIBRARY)) from None
