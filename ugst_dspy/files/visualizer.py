"""Export to the paper's goal-state visualizer: ``{user_prompt, conversation, user_goal_states}`` per conversation.

The authors' viewer (a React page) reads one JSON object: the goal (``user_prompt``), the messages
(``conversation``: ``{"role": "user" | "assistant", "content": ...}``) and the goal states
(``user_goal_states``): the initial state S_0 first, then **one state per message**, since the viewer pairs
message ``k`` with state ``k + 1`` (and warns when there are not ``len(conversation) + 1`` of them). Both
messages of turn ``i`` carry S_i, the state the tracker gave after that turn; a turn the agent did not answer
(the user's stop message) is one message. A state is a nested dict from sub-component to status, as the viewer
renders it::

    {"user_profile": {"You are Yusuf Rossi in 19122.": "ALIGNED"},
     "user_policy": {...},
     "task_objectives": {"Exchange the keyboard.": {"status": "COMPLETE",
                                                    "requirements": {"Clicky switches.": "COMPLETE"},
                                                    "preferences": {"RGB backlight.": "ALIGNED"}}}}

Two sub-components with the same text in one place get `` (2)``, `` (3)`` ... after the second and later, so
no status is lost to a repeated key. Untracked turns have no state to show: such a record is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.errors import UgstError
from ugst_dspy.state import GoalState, SubComponent


def _keyed(items: Iterable[SubComponent], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, n = item.text, 1
        while key in out:
            n += 1
            key = f"{item.text} ({n})"
        out[key] = value(item)
    return out


def nested_state(state: GoalState) -> dict[str, Any]:
    """The viewer's form of a goal state (see the module docstring)."""
    return {
        "user_profile": _keyed(state.user_profile, lambda item: item.status.value),
        "user_policy": _keyed(state.user_policy, lambda item: item.status.value),
        "task_objectives": _keyed(state.task_objectives, lambda objective: {
            "status": objective.status.value,
            "requirements": _keyed(objective.requirements, lambda item: item.status.value),
            "preferences": _keyed(objective.preferences, lambda item: item.status.value),
        }),
    }


def to_visualizer(conversation: Conversation) -> dict[str, Any]:
    """The viewer's JSON of a tracked conversation; an untracked one is a one-line error."""
    if not conversation.tracked:
        raise UgstError(f"conversation {conversation.key!r} is not tracked: the visualizer shows goal states "
                        "(run `ugst track` first)")
    messages: list[dict[str, str]] = []
    tracked = [state for state in conversation.states if state is not None]  # every one, as it is tracked
    states: list[dict[str, Any]] = [nested_state(tracked[0])]
    for turn, after in zip(conversation.turns, tracked[1:]):
        shown = nested_state(after)
        messages.append({"role": "user", "content": turn.user})
        states.append(shown)
        if turn.agent.strip() or turn.tool_calls:
            messages.append({"role": "assistant", "content": turn.agent})
            states.append(shown)
    return {"user_prompt": conversation.instruction, "conversation": messages, "user_goal_states": states}
