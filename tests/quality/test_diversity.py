"""MTLD and HD-D: our tokenisation equals the library's default, the library agrees with hand computation on
tiny texts, and the per-group aggregation concatenates the user tokens in input order."""

from __future__ import annotations

import pytest

from ugst_dspy.metrics.diversity import diversity_table, hdd, mtld, tokenize, user_tokens

from .helpers import chat

lexicalrichness = pytest.importorskip("lexicalrichness", reason="the [quality] extra is not installed")

# The example of lexicalrichness's README, with the MTLD it documents for threshold 0.72.
README_TEXT = """Measure of textual lexical diversity, computed as the mean length of sequential words in
a text that maintains a minimum threshold TTR score.
Iterates over words until TTR scores falls below a threshold, then increase factor
counter by 1 and start over. McCarthy and Jarvis (2010, pg. 385) recommends a factor
threshold in the range of [0.660, 0.750].
(McCarthy 2005, McCarthy and Jarvis 2010)"""


def test_tokenize_reproduces_the_library_default():
    from lexicalrichness.lexicalrichness import tokenize as library_tokenize

    samples = [
        "Hello, World! I'm Yusuf-Rossi — order #W2378156; e-mail: a_b@c.com (3.5 stars) don’t naïve ÉCOLE 2nd",
        "", "  --  ", "x–y—z", README_TEXT,
    ]
    for text in samples:
        assert tokenize(text) == library_tokenize(text)
    assert tokenize("I'm OK-ish, order #W12 (2 items)") == ["i", "m", "okish", "order", "w", "items"]


def test_mtld_by_hand():
    # forward a b a | c: the 3rd token makes TTR 2/3 <= 0.72 (one factor), "c" leaves TTR 1 (partial 0): 4/1.
    # backward c a b a: TTR 3/4 at the end, partial (1 - 0.75) / 0.28: 4 / 0.892857... = 4.48. Mean 4.24.
    assert mtld(["a", "b", "a", "c"]) == pytest.approx(4.24)
    assert mtld(["a", "b", "c"]) == pytest.approx(3.0)  # all different: MTLD = length
    assert mtld([]) is None
    assert mtld(tokenize(README_TEXT)) == pytest.approx(46.79226361031519)  # the README's value


def test_hdd_by_hand():
    # 43 tokens: "a" twice, 41 types once. Once-seen type: P(absent from 42 of 43 draws) = 1/43, so it adds
    # (1 - 1/43) / 42 = 1/43; "a" cannot be missed (41 other tokens < 42 draws), so it adds 1/42.
    tokens = ["a", "a", *(f"w{i}" for i in range(41))]
    assert hdd(tokens) == pytest.approx(41 / 43 + 1 / 42)
    assert hdd(tokens[:41]) is None  # fewer than 42 tokens
    assert hdd(["x"] * 42) == pytest.approx(1 / 42)


def test_groups_concatenate_user_tokens_in_order():
    conversations = [
        chat("c1", ["Hello there, friend!", "I'm fine"], sim="X"),
        chat("c3", [], sim="Y"),
        chat("c2", ["hello again"], sim="X"),
    ]
    assert user_tokens(conversations) == ["hello", "there", "friend", "i", "m", "fine", "hello", "again"]
    x, y = diversity_table(conversations, group_by="sim")
    assert (x.group, x.conversations, x.utterances, x.tokens, x.types) == ("X", 2, 3, 8, 7)
    # both passes: 7 new types in 8 tokens, TTR 7/8 never reaches 0.72; one partial factor (1 - 7/8) / 0.28
    assert x.mtld == pytest.approx(8 / ((1 - 7 / 8) / 0.28))
    assert x.hdd is None
    assert (y.group, y.conversations, y.utterances, y.tokens, y.mtld, y.hdd) == ("Y", 1, 0, 0, None, None)
    # the same as the library on the joined text, with its own default tokenisation
    joined = " ".join(["Hello there, friend!", "I'm fine", "hello again"])
    assert x.mtld == pytest.approx(lexicalrichness.LexicalRichness(joined).mtld(threshold=0.72))
    (everything,) = diversity_table(conversations)
    assert everything.group == "all" and everything.tokens == 8
