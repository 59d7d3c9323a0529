"""How a goal is cut into decomposer calls, and the output bound of each call, derived from the goal itself.

A decomposition must hold every part of its goal in the goal's own wording (the paper: "Ensure that no
part of the original goal is left out"), so no fixed cap on the number of sub-components or on their length
can be right: both follow the text the call decomposes.

- Items: each sentence may yield ``2 + clause marks`` sub-components, summed over the sentences. A mark is
  where a sentence may hold one more part: ``,`` ``;`` ``:`` ``(`` or one of the words and, or, but, with,
  without, if, unless, otherwise, instead, also, then.
- Text: the longest sentence plus :data:`TEXT_MARGIN` characters (a part written as a self-contained
  sentence may gain a few words), so a model that copies a whole sentence is never cut mid-word.

Both are rounded up to a power of two (:func:`ladder`): more headroom (up to twice), and few distinct bounds,
so a local engine builds few grammars (7 distinct bounds over the 115 τ-retail test goals).

Outlines' index has one state per character a bounded string may still take, repeated for each item an
array may hold: a grammar costs about ``max_items x max_text`` states (on the tiny model's 49k-token
vocabulary ~0.6 MB and 30-45 ms each on a busy 2-core machine; 25 items of 440 characters took 211 s and
6.6 GB, the former fixed 14 of 160 101 s and 1.3 GB: ``python -m bench.decompose_bounds``). With a
``budget``, :func:`plan_pieces` cuts the goal into consecutive pieces whose bounds stay within it: whole
sentences where they fit, a sentence too long for the budget at its clause marks (then at spaces, never
inside a word). The pieces join back into the goal, so a requirement that opens a piece still follows its
objective in the merged list. Without a budget the whole goal is one call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

TEXT_MARGIN = 32
"""Characters a sub-component's text may have beyond the longest sentence it comes from."""
LOCAL_GRAMMAR_BUDGET = 2048
"""Default ``max_items x max_text`` of one call on a local (Outlines) engine with SmolLM2's vocabulary: no
more index than the former fixed bound of 14 items of 160 characters (2,240 states, ~1.3 GB), whatever the
goal. See :func:`local_grammar_budget` for other vocabularies."""
REFERENCE_VOCABULARY = 49_152
"""The vocabulary :data:`LOCAL_GRAMMAR_BUDGET` is measured with (SmolLM2's, the tiny test model's)."""
ANSWER_OVERHEAD = 96
"""Characters of the answer around the list: braces, field names, the closing flag."""
ITEM_OVERHEAD = 64
"""Characters of one item besides its text: ``{"category": "task_objective", "text": ""}, ``."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")
_MARK = re.compile(r"[,;:(]|\b(?:and|or|but|with|without|if|unless|otherwise|instead|also|then)\b", re.IGNORECASE)
_CLAUSE_CUT = re.compile(r"(?<=[,;:])\s+|\s+(?=(?:and|or|but)\b)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def ladder(n: int, least: int = 2) -> int:
    """The smallest power of two that is at least ``n`` (and at least ``least``)."""
    return 1 << math.ceil(math.log2(max(n, least, 1)))


def local_grammar_budget(vocabulary: int) -> int:
    """:data:`LOCAL_GRAMMAR_BUDGET` for a tokenizer of ``vocabulary`` tokens: an index state holds about an
    entry per token, so a larger vocabulary gets fewer states for the same memory (Qwen2.5's 151,665: 663)."""
    return max(1, LOCAL_GRAMMAR_BUDGET * REFERENCE_VOCABULARY // max(vocabulary, 1))


def sentences(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` spans of the sentences of ``text`` (split after ``.!?`` and at line breaks)."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text.rstrip()):
        spans.append((start, len(text.rstrip())))
    return spans


def part_allowance(text: str) -> int:
    """How many sub-components one sentence (or clause) may yield: ``2 +`` its clause marks."""
    return 2 + len(_MARK.findall(text))


@dataclass(frozen=True)
class Bound:
    """The output bound of one decomposer call: at most ``max_items`` sub-components of ``max_text`` characters."""

    max_items: int
    max_text: int

    @property
    def states(self) -> int:
        """About how many states the bound's grammar has (what a local engine's index grows with)."""
        return self.max_items * self.max_text

    def worst_case_tokens(self) -> int:
        """Tokens that always suffice for an answer within the bound: its most bytes (a text character is at
        most 4 bytes of UTF-8, an escape such as ``\\"`` 2), since no token is shorter than one byte."""
        return ANSWER_OVERHEAD + self.max_items * (ITEM_OVERHEAD + 4 * self.max_text)


def bound_of(units: list[str]) -> Bound:
    """The bound of a call over these sentences (or clauses): see the module docstring."""
    items = sum(part_allowance(unit) for unit in units)
    longest = max((len(unit) for unit in units), default=0)
    return Bound(ladder(items), ladder(longest + TEXT_MARGIN, least=TEXT_MARGIN))


def goal_bound(goal: str) -> Bound:
    """The bound of decomposing ``goal`` in one call."""
    return bound_of([goal[a:b] for a, b in sentences(goal)] or [goal])


@dataclass(frozen=True)
class Piece:
    """A consecutive part of a goal, decomposed in one call, with that call's bound."""

    text: str
    bound: Bound

    def answer_tokens(self, constrained: bool) -> int:
        """The ``max_tokens`` the call needs: under a local grammar (which may force an answer to its bound)
        the bound's worst case; otherwise room for a faithful answer (the text twice over, every item's
        overhead) at three characters a token (English and JSON take 3 to 4). A longer answer is cut, and a
        cut answer is a parse error, never a shorter list."""
        if constrained:
            return self.bound.worst_case_tokens()
        return (ANSWER_OVERHEAD + self.bound.max_items * ITEM_OVERHEAD + 2 * len(self.text)) // 3 + 1


def plan_pieces(goal: str, budget: int | None = None) -> list[Piece]:
    """The calls that decompose ``goal``: one piece (the whole goal) without a ``budget``, else consecutive
    pieces each within ``budget`` states where the text allows (a single word longer than the budget stays
    one piece of its own). The pieces' texts, joined in order, are the goal's sentences."""
    spans = sentences(goal)
    if not spans:
        return [Piece(goal, goal_bound(goal))]
    if budget is None:
        return [Piece(goal.strip(), goal_bound(goal))]
    if budget < 1:
        raise ValueError(f"budget must be at least 1 state, got {budget}")
    units = [unit for a, b in spans for unit in _fitting(goal, a, b, budget)]
    pieces: list[Piece] = []
    current: list[tuple[int, int]] = []
    for unit in units:
        grown = current + [unit]
        if current and bound_of([goal[a:b] for a, b in grown]).states > budget:
            pieces.append(_piece(goal, current))
            grown = [unit]
        current = grown
    pieces.append(_piece(goal, current))
    return pieces


def _piece(goal: str, spans: list[tuple[int, int]]) -> Piece:
    return Piece(goal[spans[0][0] : spans[-1][1]], bound_of([goal[a:b] for a, b in spans]))


def _fitting(text: str, start: int, end: int, budget: int) -> Iterator[tuple[int, int]]:
    """``text[start:end]`` as spans that each fit ``budget`` alone: cut at the clause mark (else the space)
    nearest its middle, recursively; a span with no place to cut is yielded as it is."""
    if bound_of([text[start:end]]).states <= budget:
        yield start, end
        return
    cut = _middle_cut(text, start, end, _CLAUSE_CUT) or _middle_cut(text, start, end, _SPACE)
    if cut is None:
        yield start, end
        return
    left_end, right_start = cut
    yield from _fitting(text, start, left_end, budget)
    yield from _fitting(text, right_start, end, budget)


def _middle_cut(text: str, start: int, end: int, pattern: re.Pattern[str]) -> tuple[int, int] | None:
    """The ``(end of left, start of right)`` of the ``pattern`` match nearest the middle of the span."""
    middle = (start + end) / 2
    best: tuple[int, int] | None = None
    for match in pattern.finditer(text, start, end):
        left, right = match.start(), match.end()
        if left <= start or right >= end:
            continue
        if best is None or abs(left - middle) < abs(best[0] - middle):
            best = (left, right)
    return best
