"""The typed DSPy signature of goal decomposition (the paper's Appendix C, in our words).

The decomposer answers with one flat, ordered list of sub-components, each with its category; every
requirement and preference follows the task objective it belongs to. A flat list keeps the constrained
grammar small (nested lists of bounded strings multiply the states of Outlines' index) and is turned into
the nested goal state by :func:`ugst_dspy.modules.decompose.state_from_items`. The signature's output type has
no bounds: :class:`~ugst_dspy.modules.decompose.DecomposeGoal` gives each call those of its goal
(:mod:`ugst_dspy.modules.goal_pieces`) through :func:`bounded_signature`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import dspy
from pydantic import BaseModel, Field, create_model

CategoryName = Literal["user_profile", "user_policy", "task_objective", "requirement", "preference"]
TEXT_DESCRIPTION = "The sub-component, in the goal's own words."
LIST_DESCRIPTION = "In goal order; each requirement and preference comes right after its task objective."
END_DESCRIPTION = "true, written after the last sub-component, once every part of the goal is listed."


class SubComponentSpec(BaseModel):
    """One sub-component as a decomposer writes it."""

    category: CategoryName
    text: str = Field(description=TEXT_DESCRIPTION)


class Decomposition(BaseModel):
    """A goal's sub-components in goal order, then all_listed."""

    # all_listed is required and comes after the list: an answer cut off anywhere in the list (a model that
    # ran out of max_tokens, whose JSON DSPy's adapter would repair into a shorter list) lacks it and fails to
    # parse, instead of losing sub-components silently. This base type has no bounds; each call gets those
    # of its goal from decomposition_type (the docstring above is what a model reads in the schema).
    sub_components: list[SubComponentSpec] = Field(description=LIST_DESCRIPTION)
    all_listed: Literal[True] = Field(description=END_DESCRIPTION)


@lru_cache(maxsize=256)
def decomposition_type(max_items: int, max_text: int) -> type[Decomposition]:
    """A :class:`Decomposition` of at most ``max_items`` sub-components of at most ``max_text`` characters.

    Its JSON Schema carries the bounds (``maxItems``, ``maxLength``), so constrained decoding stops there,
    and pydantic refuses an answer beyond them (a parse error). One type per bound pair.
    """
    if max_items < 1 or max_text < 1:
        raise ValueError(f"bounds must be at least 1, got {max_items} items of {max_text} characters")
    item = create_model(
        "SubComponentSpec", __base__=SubComponentSpec, __doc__=SubComponentSpec.__doc__,
        text=(str, Field(max_length=max_text, description=TEXT_DESCRIPTION)),
    )
    return create_model(
        "Decomposition", __base__=Decomposition, __doc__=Decomposition.__doc__,
        sub_components=(list[item], Field(max_length=max_items, description=LIST_DESCRIPTION)),  # type: ignore
    )


def bounded_signature(signature: type[dspy.Signature], max_items: int, max_text: int) -> type[dspy.Signature]:
    """``signature`` (its instructions as they are, e.g. optimised) with the output type of these bounds."""
    return signature.with_updated_fields("decomposition", type_=decomposition_type(max_items, max_text))


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
