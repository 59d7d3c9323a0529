"""``PhraseSentence``: an LM rewords one templated goal sentence in natural language, keeping its facts.

Used by MultiWOZ Challenge goal generation (``ugst goals multiwoz --phrase-model``); the generator keeps
a rewording only when it still holds every key value of the template (names, times, areas, numbers).
"""

from __future__ import annotations

import dspy


class PhraseSentenceSignature(dspy.Signature):
    """Reword one sentence of a user goal so it reads naturally, in the second person ("You ..."). Keep every
    fact exactly: names, places, days, times, numbers, prices and requested details; add nothing and drop
    nothing. Answer with the one reworded sentence."""

    sentence: str = dspy.InputField(desc="A templated sentence of a user goal.")
    reworded: str = dspy.OutputField(desc="The same sentence, reworded naturally.")


class PhraseSentence(dspy.Module):
    """``phrase(text) -> str``: callable directly as the ``phrase`` hook of goal generation."""

    def __init__(self) -> None:
        super().__init__()
        self.rephrase = dspy.Predict(PhraseSentenceSignature)

    def forward(self, sentence: str) -> dspy.Prediction:
        return self.rephrase(sentence=sentence)

    def phrase(self, sentence: str) -> str:
        """The reworded sentence, or the original when the model fails to answer."""
        try:
            return str(self(sentence=sentence).reworded or sentence)
        except Exception:  # a failed call keeps the template sentence
            return sentence
