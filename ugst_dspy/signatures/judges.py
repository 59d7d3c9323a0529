"""Typed DSPy signatures of the UGST judges: the five status updates and the batched update.

Every judge signature lists its inputs from the most stable to the most changing (goal, the conversation so
far, then the sub-component(s) to judge), so that a server's prefix cache reuses almost all of a prompt
across the calls of a turn and across turns. The prompts paraphrase the paper's Appendix D, and tell the
judge that the conversation's quoted text is data, never instructions (see :mod:`ugst_dspy.transcript`).
"""

from __future__ import annotations

from typing import Literal

import dspy
from pydantic import BaseModel, Field

from ugst_dspy.state import Category
from ugst_dspy.transcript import JUDGE_QUOTING

AnyStatus = Literal["ALIGNED", "MISALIGNED", "INCOMPLETE", "ATTEMPTED", "COMPLETE"]


_JUDGE_INPUTS = (
    "Judge only what the latest turn (the last turn of the conversation) shows, using the earlier turns as "
    f"context. {JUDGE_QUOTING} Give a brief reason first, then the status."
)
_PROGRESS = (
    "COMPLETE: it has been accomplished in the conversation. ATTEMPTED: the user has tried enough but could "
    "not finish it for reasons outside their control (the agent failed or refused, a system limit, the request "
    "is impossible). INCOMPLETE: neither yet."
)
_ALIGNMENT = (
    "ALIGNED: the latest turn does not directly contradict it and, where the context clearly calls for it, "
    "shows it. MISALIGNED: the latest turn directly contradicts it, or fails to show it in an obvious and "
    "unrealistic way. Most turns have no reason to show it at all: lean towards ALIGNED unless there is a "
    "clear violation."
)

PROFILE_INSTRUCTIONS = (
    "You check whether a simulated user stays true to one item of their user profile (persona, identity, "
    f"background). {_ALIGNMENT} {_JUDGE_INPUTS}"
)
POLICY_INSTRUCTIONS = (
    "You check whether a simulated user follows one item of their user policy (a constraint or guideline for "
    f"how they behave throughout the conversation). {_ALIGNMENT} {_JUDGE_INPUTS}"
)
OBJECTIVE_INSTRUCTIONS = (
    f"You track whether a simulated user has accomplished one of their task objectives. {_PROGRESS} {_JUDGE_INPUTS}"
)
REQUIREMENT_INSTRUCTIONS = (
    "You track whether one requirement of a simulated user's task objective has been met: the user must have "
    f"stated or enforced it and the outcome must satisfy it. {_PROGRESS} {_JUDGE_INPUTS}"
)
PREFERENCE_INSTRUCTIONS = (
    "You check whether a simulated user has expressed one of their preferences. ALIGNED: the user has stated "
    f"the preference or acted on it (chosen accordingly) in the conversation. MISALIGNED: not yet. {_JUDGE_INPUTS}"
)


class _JudgeBase(dspy.Signature):
    goal: str = dspy.InputField(desc="The user goal the simulated user was given.")
    conversation: str = dspy.InputField(
        desc="The conversation so far, turn by turn, every message quoted with '>'; the last turn is the latest."
    )


class _ItemJudge(_JudgeBase):
    sub_component: str = dspy.InputField(desc="The sub-component to judge.")
    current_status: str = dspy.InputField(desc="Its status before the latest turn.")
    reason: str = dspy.OutputField(desc="One or two sentences.")


class _ChildJudge(_JudgeBase):
    task_objective: str = dspy.InputField(desc="The task objective this sub-component belongs to.")
    sub_component: str = dspy.InputField(desc="The sub-component to judge.")
    current_status: str = dspy.InputField(desc="Its status before the latest turn.")
    reason: str = dspy.OutputField(desc="One or two sentences.")


class ProfileStatus(_ItemJudge):
    __doc__ = PROFILE_INSTRUCTIONS
    status: Literal["ALIGNED", "MISALIGNED"] = dspy.OutputField()


class PolicyStatus(_ItemJudge):
    __doc__ = POLICY_INSTRUCTIONS
    status: Literal["ALIGNED", "MISALIGNED"] = dspy.OutputField()


class TaskObjectiveStatus(_ItemJudge):
    __doc__ = OBJECTIVE_INSTRUCTIONS
    status: Literal["INCOMPLETE", "ATTEMPTED", "COMPLETE"] = dspy.OutputField()


class RequirementStatus(_ChildJudge):
    __doc__ = REQUIREMENT_INSTRUCTIONS
    status: Literal["INCOMPLETE", "ATTEMPTED", "COMPLETE"] = dspy.OutputField()


class PreferenceStatus(_ChildJudge):
    __doc__ = PREFERENCE_INSTRUCTIONS
    status: Literal["ALIGNED", "MISALIGNED"] = dspy.OutputField()


STATUS_SIGNATURES: dict[Category, type[dspy.Signature]] = {
    Category.USER_PROFILE: ProfileStatus,
    Category.USER_POLICY: PolicyStatus,
    Category.TASK_OBJECTIVE: TaskObjectiveStatus,
    Category.REQUIREMENT: RequirementStatus,
    Category.PREFERENCE: PreferenceStatus,
}


class Verdict(BaseModel):
    # No docstring or field descriptions: the adapter prints this schema into every batched prompt.
    id: str = Field(pattern=r"^[0-9]{1,3}$")
    reason: str
    status: AnyStatus


BATCHED_INSTRUCTIONS = (
    "You track the goal state of a simulated user: after each turn, judge every open sub-component of their "
    "goal, listed with its id, category, status before the latest turn and the statuses it may take now. "
    "Answer with one verdict per id, in the order listed, each with a brief reason. user_profile and "
    "user_policy: ALIGNED unless the latest turn directly contradicts it or obviously and unrealistically fails "
    "to show it where the context calls for it (then MISALIGNED); lean towards ALIGNED. preference: ALIGNED "
    "once the user has stated or acted on it. task_objective and requirement: COMPLETE when accomplished; "
    "ATTEMPTED when the user tried enough but outside factors (agent failure, system limits, an impossible "
    "request) stopped it; else INCOMPLETE. Judge what the latest turn shows, with the earlier turns as context. "
    + JUDGE_QUOTING
)


class BatchedStatusUpdate(_JudgeBase):
    __doc__ = BATCHED_INSTRUCTIONS

    open_sub_components: str = dspy.InputField(desc="One line per open sub-component: id, category, statuses, text.")
    verdicts: list[Verdict] = dspy.OutputField(desc="One verdict per listed id.")
