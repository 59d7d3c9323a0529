"""Plain-text rendering of a goal state, for prompts (the steered simulator, judges) and terminals."""

from __future__ import annotations

from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.state import GoalState, Located, SubComponent

_STATUS_WIDTH = 12


def _line(indent: str, label: str, item: SubComponent, address: str | None, reasons: bool) -> str:
    status = f"[{item.status.value}]".ljust(_STATUS_WIDTH)
    head = f"{indent}{label}{status} {item.text}"
    if address is not None:
        head = f"{head}  ({address})"
    if reasons and item.reason:
        head = f"{head}\n{' ' * (len(indent) + len(label))}    reason: {item.reason}"
    return head


def render_state(
    state: GoalState,
    *,
    addresses: bool = False,
    reasons: bool = False,
    rules: RuleSet = DEFAULT_RULES,
) -> str:
    """A readable outline of the state: each section with its sub-components and their statuses.

    ``addresses`` adds each sub-component's address (what a judge must name), ``reasons`` the judge's
    reason under each item. The last line sums up progress.
    """
    lines: list[str] = []
    for title, top in (("User profile", "user_profile"), ("User policy", "user_policy")):
        items = getattr(state, top)
        lines.append(f"{title}:" if items else f"{title}: (none)")
        for i, item in enumerate(items):
            lines.append(_line("  - ", "", item, f"{top}[{i}]" if addresses else None, reasons))
    lines.append("Task objectives:" if state.task_objectives else "Task objectives: (none)")
    for i, objective in enumerate(state.task_objectives):
        where = f"task_objectives[{i}]"
        lines.append(_line(f"  {i + 1}. ", "", objective, where if addresses else None, reasons))
        for sub, label in (("requirements", "requirement "), ("preferences", "preference  ")):
            for j, item in enumerate(getattr(objective, sub)):
                lines.append(_line("       ", label, item, f"{where}.{sub}[{j}]" if addresses else None, reasons))
    lines.append(progress_line(list(state.items()), rules))
    return "\n".join(lines)


def progress_line(items: list[Located], rules: RuleSet = DEFAULT_RULES) -> str:
    """``Progress: 3 of 7 sub-components successful.``"""
    done = sum(rules.is_success(located.category, located.status) for located in items)
    return f"Progress: {done} of {len(items)} sub-components successful."
