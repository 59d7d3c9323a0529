"""How the agent fared, beside how the user did: task success, turns, tool errors, and who failed whom.

For a user side under pressure (non-collaborative behaviours) the question is how much each behaviour hurts
the agent, and the answer must not blame the agent for a user that never asked. So every conversation with a
task outcome (``meta.tau_bench`` or ``meta.multiwoz_booking``: reward 1.0 or 0.0, see
``ToolEnvironment.task_outcome``) that failed is put in one of two classes by its final goal state:

- **agent failed**: every task objective of the user's goal is successful (COMPLETE or ATTEMPTED): the user
  delivered the goal and the task still failed;
- **goal not delivered**: some task objective is still INCOMPLETE: the user left part of the goal unasked (a
  behaviour that makes the user abandon the goal shows here and as a lower UGST success, not as an agent
  failure). An untracked record cannot tell, and counts as neither.

Turns are user-agent turns (the user's stop message is no turn); tool errors are tool results that start with
``Error`` or ``Unknown action`` (τ-bench's answer to an unknown tool).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.metrics.success import Rate, group_key
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.state import Category

def task_reward(conversation: Conversation) -> float | None:
    """The environment's task reward recorded in ``meta`` (:attr:`Conversation.outcome`), else ``None``."""
    outcome = conversation.outcome
    reward = outcome.get("reward") if outcome is not None else None
    return float(reward) if isinstance(reward, (int, float)) and not isinstance(reward, bool) else None


def goal_delivered(conversation: Conversation, rules: RuleSet = DEFAULT_RULES) -> bool | None:
    """Whether every task objective of the final state is successful; ``None`` when untracked or no objective."""
    state = conversation.final_state
    if state is None:
        return None
    objectives = state.of(Category.TASK_OBJECTIVE)
    if not objectives:
        return None
    return all(rules.is_success(item.category, item.status) for item in objectives)


def user_turns(conversation: Conversation) -> int:
    """User-agent turns (the user's unanswered stop message is not one)."""
    return len(conversation.turns) - (conversation.stop_turn is not None)


def tool_errors(conversation: Conversation) -> int:
    """Tool results of the whole conversation that are errors."""
    return sum(1 for turn in conversation.turns for call in turn.tool_calls
               if isinstance(call.result, str) and call.result.startswith(("Error", "Unknown action")))


@dataclass
class OutcomeRow:
    """The agent-side figures of one group of conversations."""

    group: str
    conversations: int = 0
    success: Rate = field(default_factory=lambda: Rate(0, 0))
    agent_failed: int = 0
    not_delivered: int = 0
    turns: int = 0
    tool_errors: int = 0
    ended_by: dict[str, int] = field(default_factory=dict)

    def add(self, conversation: Conversation, rules: RuleSet = DEFAULT_RULES) -> None:
        self.conversations += 1
        self.turns += user_turns(conversation)
        self.tool_errors += tool_errors(conversation)
        self.ended_by[conversation.ended_by] = self.ended_by.get(conversation.ended_by, 0) + 1
        reward = task_reward(conversation)
        if reward is None:
            return
        self.success = self.success + Rate(int(reward >= 1.0), 1)
        if reward < 1.0:
            delivered = goal_delivered(conversation, rules)
            self.agent_failed += delivered is True
            self.not_delivered += delivered is False

    @property
    def mean_turns(self) -> float | None:
        return self.turns / self.conversations if self.conversations else None

    @property
    def errors_per_conversation(self) -> float | None:
        return self.tool_errors / self.conversations if self.conversations else None

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group, "conversations": self.conversations, "task_success": self.success.to_json(),
            "agent_failed": self.agent_failed, "goal_not_delivered": self.not_delivered,
            "mean_turns": self.mean_turns, "tool_errors": self.tool_errors,
            "tool_errors_per_conversation": self.errors_per_conversation, "ended_by": dict(self.ended_by),
        }


def outcome_table(conversations: Iterable[Conversation], group_by: str | None = None,
                  rules: RuleSet = DEFAULT_RULES, key: Callable[[Conversation], str] | None = None) -> list[OutcomeRow]:
    """One row per group, in order of first appearance."""
    key = key or group_key(group_by)
    rows: dict[str, OutcomeRow] = {}
    for conversation in conversations:
        name = key(conversation)
        rows.setdefault(name, OutcomeRow(name)).add(conversation, rules)
    return list(rows.values())
