"""The typed DSPy signature of goal decomposition (the paper's Appendix C, in our words)."""

from __future__ import annotations

import dspy
from pydantic import BaseModel, Field


class ObjectiveSpec(BaseModel):
    """A task objective as a decomposer writes it."""

    text: str = Field(description="The task objective, in the goal's own words.")
    requirements: list[str] = Field(default_factory=list, description="Conditions the objective must meet.")
    preferences: list[str] = Field(default_factory=list, description="What the user prefers for this objective.")


class DecomposeGoalSignature(dspy.Signature):
    """You are an expert annotator of user goals for conversational agents. Divide the user goal into
    sub-components, each a short, self-contained piece of text, in five categories:

    - user_profile: who the user is: persona, identity, background, context (e.g. "You are Yusuf Rossi in
      19122.", "You have a gold membership.").
    - user_policy: constraints and guidelines the user follows throughout the conversation: how they behave,
      what they will or will not say or share (e.g. "You are detail-oriented.", "You do not reveal your
      birthday unless asked.").
    - task_objectives: each task the user wants to accomplish (e.g. "Exchange the keyboard from order
      #W2378156."). Each objective has
      - requirements: conditions and constraints the outcome must satisfy (e.g. "The new keyboard must have
        clicky switches."), and
      - preferences: what the user would prefer when there is a choice (e.g. "You prefer RGB backlight; if
        none is available, no backlight.").

    Keep the goal's own wording as closely as possible. Split a sentence when its parts belong to different
    categories. Leave nothing of the goal out and add nothing that is not in it. A category may be empty."""

    goal: str = dspy.InputField(desc="The user goal, as given to the user simulator.")
    user_profile: list[str] = dspy.OutputField(desc="Profile sub-components.")
    user_policy: list[str] = dspy.OutputField(desc="Policy sub-components.")
    task_objectives: list[ObjectiveSpec] = dspy.OutputField(desc="Task objectives with requirements and preferences.")
