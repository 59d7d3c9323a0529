"""Typed DSPy signatures of the conversation rater: naturalness, coherence and the LM failure classes.

The criteria follow the paper's Appendix F (naturalness and coherence, each 1 to 5) and its Table 1 (the
failure classes that need reading the text: confusion and contradiction), in our own words. Only the
simulated user's side is rated; the agent's messages are context, and the conversation's quoted text is
data, never instructions (see :mod:`ugst_dspy.transcript`). Every signature asks for a brief reason
first and the verdict last, and types the verdict: a score is ``Literal[1, 2, 3, 4, 5]``, which
``dspy.JSONAdapter`` sends as ``{"type": "integer", "enum": [1, 2, 3, 4, 5]}`` (constrained decoding can
produce nothing else, and DSPy refuses anything else when parsing); a class is a ``bool``.
"""

from __future__ import annotations

from typing import Literal

import dspy

from ugst_dspy.metrics.quality import RUBRICS
from ugst_dspy.transcript import JUDGE_QUOTING

Score = Literal[1, 2, 3, 4, 5]
SCORES: tuple[int, ...] = (1, 2, 3, 4, 5)

_SCOPE = (
    "You read a conversation between a simulated user (the messages under 'User:') and a customer-service "
    "agent (the messages under 'Agent:'), together with the goal the simulated user was given. Rate only the "
    "simulated user's messages; the agent's messages are context, and whether the agent did well does not "
    f"matter. {JUDGE_QUOTING}"
)
_ANSWER = "Give a brief reason first (one or two sentences), then the score."

def _considering(criterion: str) -> str:
    """The aspects of ``criterion`` (:data:`RUBRICS`), one ``- aspect: what it checks`` line each."""
    parts = RUBRICS[criterion]
    lines = [f"- {aspect}{' ' if what.startswith('of ') else ': '}{what}" for aspect, what in parts]
    return "considering:\n" + ";\n".join(lines) + ".\n"


NATURALNESS_INSTRUCTIONS = (
    f"{_SCOPE} Rate how natural the user's messages are, from 1 to 5, {_considering('naturalness')}"
    "5: reads like a real user throughout. 4: natural, with small slips. 3: understandable but noticeably "
    "artificial or off in places. 2: often unnatural, stilted or out of context. 1: not a plausible user "
    f"(garbled, robotic, or answering as someone else). {_ANSWER}"
)
COHERENCE_INSTRUCTIONS = (
    f"{_SCOPE} Rate how coherent the user's behaviour is across the whole conversation, from 1 to 5, "
    f"{_considering('coherence')}"
    "5: fully coherent and goal-directed. 4: coherent, with minor detours. 3: some inconsistency or drift, or "
    "an agent's question left unanswered. 2: frequent contradictions, aimless turns or ignored questions. 1: "
    f"incoherent or working against the goal. {_ANSWER}"
)
FAILURE_INSTRUCTIONS = (
    f"{_SCOPE} Decide whether the user shows two failures anywhere in the conversation:\n"
    "- confusion: the user is confused about their role (speaks as the agent or an assistant, offers help, "
    "answers their own questions) or about their goal (asks for things the goal does not contain, "
    "misunderstands what they want);\n"
    "- contradiction: the user contradicts their goal (states facts, choices or requests that conflict with "
    "it) or their own earlier statements.\n"
    "Answer true only for a clear case. Give a brief reason first (one or two sentences), then both answers."
)


class _RatingInputs(dspy.Signature):
    goal: str = dspy.InputField(desc="The user goal the simulated user was given.")
    conversation: str = dspy.InputField(desc="The whole conversation, turn by turn, every message quoted with '>'.")


class NaturalnessRating(_RatingInputs):
    __doc__ = NATURALNESS_INSTRUCTIONS
    reason: str = dspy.OutputField(desc="One or two sentences.")
    score: Score = dspy.OutputField(desc="1 (not a plausible user) to 5 (a real user).")


class CoherenceRating(_RatingInputs):
    __doc__ = COHERENCE_INSTRUCTIONS
    reason: str = dspy.OutputField(desc="One or two sentences.")
    score: Score = dspy.OutputField(desc="1 (incoherent) to 5 (fully coherent).")


class FailureCheck(_RatingInputs):
    __doc__ = FAILURE_INSTRUCTIONS
    reason: str = dspy.OutputField(desc="One or two sentences.")
    confusion: bool = dspy.OutputField(desc="The user is confused about their role or their goal.")
    contradiction: bool = dspy.OutputField(desc="The user contradicts their goal or earlier statements.")


RATING_SIGNATURES: dict[str, type[dspy.Signature]] = {
    "naturalness": NaturalnessRating,
    "coherence": CoherenceRating,
}
