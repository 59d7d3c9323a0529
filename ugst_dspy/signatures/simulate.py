"""Typed DSPy signatures of the user simulators (the paper's Appendix A.2 and Eqs. 1-2, in our words).

Inputs run from stable to changing (goal, conversation, then the state or reminder, then the turn budget).
The turn budget states the length limit once, as the paper's simulator prompt does ("at most N turns; plan
accordingly"); a simulator built with ``countdown=True`` is told instead which turn it is writing and how many
are left (an option, off for the paper's configurations: a countdown is extra help the paper's baseline
does not get; see docs/ugst.md).
Every simulator answers with its reply and a structured ``stop`` flag instead of a magic word. The
instructions tell the simulator that the conversation's quoted text is only what was said, never
instructions (see :mod:`ugst_dspy.transcript`).
"""

from __future__ import annotations

import dspy

from ugst_dspy.transcript import USER_QUOTING

SIMULATOR_INSTRUCTIONS = (
    "You play a user who contacts a customer-service agent to accomplish the goal below. Work toward every "
    "part of the goal with a natural flow, one step at a time, and reveal information gradually, when it "
    "becomes relevant or the agent asks for it. Never invent information that the goal does not give you: if "
    "the agent asks for something you were not told, say that you do not have it or do not know. Speak in "
    "your own words, never copying the goal text, and keep the personality and constraints the goal assigns "
    "you throughout. The conversation has a maximum length, given with the inputs: plan so that everything is "
    "done within it. Once every part of the goal is achieved (or cannot be) and the agent has answered your "
    "last request, end the conversation with a short, separate final message and set stop to true; never set "
    "stop in a message that still asks for something."
    + USER_QUOTING
)
STATE_INSTRUCTIONS = (
    " You are also shown your goal state: each part of your goal with its status so far (INCOMPLETE, ATTEMPTED "
    "or COMPLETE for tasks and their requirements, ALIGNED or MISALIGNED for your profile, policy and "
    "preferences). Use it to see what is done and what is left, to stay consistent with your profile and "
    "policy, and to state preferences you have not expressed yet."
)
REASONING_INSTRUCTIONS = (
    " Before you reply, think in three short parts: progress (which parts of the goal are done, attempted or "
    "still open), remaining (what is left and how to finish it within the turns you have), and alignment (how "
    "to stay true to your profile, policy and preferences in this reply). Then write the reply."
)


def _budget() -> dspy.InputField:
    return dspy.InputField(desc="The length limit of the conversation (or which turn this is and how many are left).")


def _reply() -> dspy.OutputField:
    return dspy.OutputField(desc="Your next message to the agent.")


def _stop() -> dspy.OutputField:
    return dspy.OutputField(desc="True only when this message ends the conversation.")


def _state() -> dspy.InputField:
    return dspy.InputField(desc="Your goal state before this message: each part of your goal and its status.")


class _SimulatorBase(dspy.Signature):
    goal: str = dspy.InputField(desc="Your goal: who you are, what you want and how you behave.")
    conversation: str = dspy.InputField(
        desc="The conversation so far, every message quoted with '>'; the agent's latest message is last."
    )


class _ReasoningBase(_SimulatorBase):
    progress: str = dspy.OutputField(desc="Which parts of the goal are done, attempted or still open.")
    remaining: str = dspy.OutputField(desc="What is left and how to finish it within the remaining turns.")
    alignment: str = dspy.OutputField(desc="How this reply stays true to your profile, policy and preferences.")


class PromptSimulatorSignature(_SimulatorBase):
    __doc__ = SIMULATOR_INSTRUCTIONS
    turn_budget: str = _budget()
    reply: str = _reply()
    stop: bool = _stop()


class GoalReminderSignature(_SimulatorBase):
    __doc__ = SIMULATOR_INSTRUCTIONS + " Your goal is restated right before you reply: keep to it."
    goal_reminder: str = dspy.InputField(desc="Your goal again, to keep in mind for this reply.")
    turn_budget: str = _budget()
    reply: str = _reply()
    stop: bool = _stop()


class StateSteeredSignature(_SimulatorBase):
    __doc__ = SIMULATOR_INSTRUCTIONS + STATE_INSTRUCTIONS
    goal_state: str = _state()
    turn_budget: str = _budget()
    reply: str = _reply()
    stop: bool = _stop()


class ReasoningSignature(_ReasoningBase):
    __doc__ = SIMULATOR_INSTRUCTIONS + REASONING_INSTRUCTIONS
    turn_budget: str = _budget()
    reply: str = _reply()
    stop: bool = _stop()


class SteeredReasoningSignature(_ReasoningBase):
    # The SFT teacher: reasoning written with the goal state in view (the student will not see it).
    __doc__ = SIMULATOR_INSTRUCTIONS + STATE_INSTRUCTIONS + REASONING_INSTRUCTIONS
    goal_state: str = _state()
    turn_budget: str = _budget()
    reply: str = _reply()
    stop: bool = _stop()
