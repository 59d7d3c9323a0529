"""The typed DSPy signature of goal decomposition (the paper's Appendix C, in our words).

The decomposer answers with one flat, ordered list of sub-components, each with its category; every
requirement and preference follows the task objective it belongs to. A flat list keeps the constrained
grammar small (nested lists of bounded strings multiply the states of Outlines' index) and is turned into
the nested goal state by :func:`ugst_dspy.modules.decompose.state_from_items`.
"""

from __future__ import annotations

from typing import Literal

import dspy
from pydantic import BaseModel, Field

MAX_SUB_COMPONENTS = 14
MAX_TEXT = 160

CategoryName = Literal["user_profile", "user_policy", "task_objective", "requirement", "preference"]


class SubComponentSpec(BaseModel):
    """One sub-component as a decomposer writes it."""

    category: CategoryName
    text: str = Field(max_length=MAX_TEXT, description="The sub-component, in the goal's own words.")


class Decomposition(BaseModel):
    """A goal's sub-components in goal order."""

    sub_components: list[SubComponentSpec] = Field(
        max_length=MAX_SUB_COMPONENTS,
        description="In goal order; each requirement and preference comes right after its task objective.",
    )


class DecomposeGoalSignature(dspy.Signature):
    """You are an expert annotator of user goals for conversational agents. Divide the user goal into
    sub-components, each a short, self-contained piece of text, in five categories:

    - user_profile: who the user is: persona, identity, background, context (e.g. "You are Yusuf Rossi in
      19122.", "You have a gold membership.").
    - user_policy: constraints and guidelines the user follows throughout the conversation: how they behave,
      what they will or will not say or share (e.g. "You are detail-oriented.", "You do not reveal your
      birthday unless asked.").
    - task_objective: a task the user wants to accomplish (e.g. "Exchange the keyboard from order
      #W2378156."). Right after each task objective, list
      - its requirements: conditions and constraints the outcome must satisfy (e.g. "The new keyboard must
        have clicky switches."), and
      - its preferences: what the user would prefer when there is a choice (e.g. "You prefer RGB backlight;
        if none is available, no backlight.").

    Keep the goal's own wording as closely as possible. Split a sentence when its parts belong to different
    categories. Leave nothing of the goal out and add nothing that is not in it. A category may be empty."""

    goal: str = dspy.InputField(desc="The user goal, as given to the user simulator.")
    decomposition: Decomposition = dspy.OutputField()
