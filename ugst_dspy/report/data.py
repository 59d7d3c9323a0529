"""The data an HTML report embeds: every conversation once, in a compact JSON form its script expands lazily.

A conversation's sub-components become *rows* (``items``: address, category index, text), keyed by address
and text, in order of first appearance over S_0..S_n. Each state is then a list of status codes, one per
row (an index into ``statuses``; ``-1`` where the state has no such sub-component), and each turn carries
only the judge reasons that changed since the state before it (``r``: row index -> reason). A state that
was not tracked yet is ``null``. This keeps 1,000 conversations of 10 turns and 8 sub-components to a few
megabytes, while every text (turns, sub-components, reasons) is kept whole.

Tool-call arguments and results longer than :data:`MAX_TOOL_CHARS` characters of JSON are cut to a string
preview (and exported so by annotation mode); everything else is carried as read.

A record made with behaviours (non-collaborative users, :mod:`ugst_dspy.behaviours`) adds its run's label
(``bl``: ``impatience+digression``) and behaviour names (``bn``), and each turn a behaviour acted on adds
``bh``: ``[name, shown]`` per behaviour, ``shown`` the rule check of :func:`ugst_dspy.metrics.behaviours.check_turns`
(``null`` for a message it does not check, the user's bare stop message), and ``dec`` whether the agent
declined an unavailable service. The report then lists every name and label once (``behaviours``); a report
without such records has none of these keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.metrics.behaviours import behaviour_names, check_turns, plan_of, turn_behaviours
from ugst_dspy.metrics.diagnostics import DEFAULT_STUCK_TURNS, DETERMINISTIC_CLASSES, STATE_CLASSES, diagnose
from ugst_dspy.metrics.success import group_key
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.state import CATEGORIES, GoalState, Status

STATUSES: tuple[Status, ...] = tuple(Status)
STATUS_CODE: dict[Status, int] = {status: code for code, status in enumerate(STATUSES)}
CATEGORY_INDEX = {category: index for index, category in enumerate(CATEGORIES)}
CATEGORY_NAMES = {
    "user_profile": "user profile",
    "user_policy": "user policy",
    "task_objective": "task objective",
    "requirement": "requirement",
    "preference": "preference",
}
MAX_TOOL_CHARS = 2000
META_LEFT_OUT = ("usage", "config")  # usage is shown apart; the config repeats in every record


def rules_json(rules: RuleSet) -> list[dict[str, Any]]:
    """Per category: key, label, name and the status codes it uses, starts with and counts as success."""
    return [
        {
            "key": category.value,
            "label": category.label,
            "name": CATEGORY_NAMES[category.value],
            "statuses": [STATUS_CODE[s] for s in rules.statuses(category)],
            "initial": STATUS_CODE[rules.initial[category]],
            "success": sorted(STATUS_CODE[s] for s in rules.success[category]),
        }
        for category in CATEGORIES
    ]


def _clip(value: Any) -> Any:
    """A tool argument or result as read, or a string preview when its JSON is too long."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= MAX_TOOL_CHARS:
        return value
    return f"{text[:MAX_TOOL_CHARS]} … [cut by ugst report: {len(text)} characters]"


def _tool_calls(turn: Any) -> list[dict[str, Any]]:
    out = []
    for call in turn.tool_calls:
        entry: dict[str, Any] = {"name": call.name, "arguments": _clip(call.arguments), "result": _clip(call.result)}
        if call.id is not None:
            entry["id"] = call.id
        out.append(entry)
    return out


class _Rows:
    """Rows of one conversation's timeline, keyed by (address, text)."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, str], int] = {}
        self.items: list[list[Any]] = []

    def codes(self, state: GoalState) -> tuple[list[tuple[int, int]], dict[int, str | None]]:
        """``(row, status code)`` pairs of a state (adding new rows) and each row's reason."""
        pairs, reasons = [], {}
        for located in state.items():
            address = str(located.address)
            key = (address, located.text)
            row = self.index.get(key)
            if row is None:
                row = self.index[key] = len(self.items)
                self.items.append([address, CATEGORY_INDEX[located.category], located.text])
            pairs.append((row, STATUS_CODE[located.status]))
            reasons[row] = located.item.reason
        return pairs, reasons


def _encode_states(conversation: Conversation) -> tuple[list[list[Any]], list[Any]]:
    """Rows, then per state S_0..S_n its codes (or ``None``) and its changed reasons."""
    rows = _Rows()
    raw = []
    for state in conversation.states:
        raw.append(None if state is None else rows.codes(state))
    width = len(rows.items)
    encoded: list[Any] = []
    known: dict[int, str | None] = {}
    for entry in raw:
        if entry is None:
            encoded.append((None, {}))
            continue
        pairs, reasons = entry
        codes = [-1] * width
        for row, code in pairs:
            codes[row] = code
        changed = {str(row): reason for row, reason in reasons.items() if known.get(row) != reason}
        known.update(reasons)
        encoded.append((codes, changed))
    return rows.items, encoded


def _reasoning_text(reasoning: Any) -> str:
    """A turn's simulator reasoning as text: a string as it is, the reasoning simulators' parts one a line."""
    if isinstance(reasoning, dict):
        return "\n".join(f"{key}: {value}" for key, value in reasoning.items() if str(value or "").strip())
    return reasoning if isinstance(reasoning, str) else ""


def behaviour_label(conversation: Conversation) -> str | None:
    """The run's behaviour label (``meta.behaviour``, else the plan's names joined by ``+``, ``none`` for a plan
    without any); ``None`` for a record made without behaviours."""
    label = conversation.meta.behaviour
    if label:
        return label
    if plan_of(conversation) is None:
        return None
    return "+".join(behaviour_names(conversation)) or "none"


def _behaviour_turns(conversation: Conversation) -> dict[int, dict[str, Any]]:
    """Per turn index (0-based) a behaviour acted on: ``bh`` (``[name, shown]``) and ``dec`` when checked."""
    checks = {check.number: check for check in check_turns(conversation)}
    out: dict[int, dict[str, Any]] = {}
    for index, turn in enumerate(conversation.turns):
        acted = turn_behaviours(turn)
        if not acted:
            continue
        check = checks.get(index + 1)
        entry: dict[str, Any] = {"bh": [[name, check.shown.get(name) if check else None] for name in acted]}
        if check is not None and check.declined is not None:
            entry["dec"] = check.declined
        out[index] = entry
    return out


def conversation_json(
    conversation: Conversation, group: int, stuck_turns: int | None = DEFAULT_STUCK_TURNS
) -> dict[str, Any]:
    """One conversation in the report's compact form (see the module docstring); ``stuck_turns`` as in
    :func:`ugst_dspy.metrics.diagnostics.diagnose` (``None``: no misprioritisation check)."""
    items, states = _encode_states(conversation)
    label = behaviour_label(conversation)
    acted = _behaviour_turns(conversation) if label is not None else {}
    turns = []
    for index, (turn, (codes, reasons)) in enumerate(zip(conversation.turns, states[1:])):
        entry: dict[str, Any] = {"u": turn.user, "a": turn.agent, "tc": _tool_calls(turn), "s": codes}
        entry.update(acted.get(index, {}))
        if reasons:
            entry["r"] = reasons
        if turn.illegal_updates:
            entry["ill"] = turn.illegal_updates
        why = _reasoning_text(turn.reasoning)
        if why:
            entry["why"] = why  # the reasoning teacher's, also for its stop message
        turns.append(entry)
    recorded = conversation.meta.to_json()
    meta = {key: value for key, value in recorded.items() if key not in META_LEFT_OUT}
    if isinstance(meta.get("rules"), dict):
        meta["rules"] = meta["rules"].get("name")
    usage = recorded.get("usage")
    out: dict[str, Any] = {
        "k": conversation.key,
        "g": conversation.goal_id,
        "ins": conversation.instruction,
        "grp": group,
        "end": conversation.ended_by,
        "dx": diagnose(conversation, stuck_turns=stuck_turns),
        "items": items,
        "s0": states[0][0],
        "t": turns,
        "meta": meta,
        "use": usage if isinstance(usage, dict) else {},
    }
    if states[0][1]:
        out["r0"] = states[0][1]
    if conversation.id is not None:
        out["id"] = conversation.id
    if label is not None:
        out["bl"] = label
        out["bn"] = behaviour_names(conversation)
    return out


def behaviours_index(encoded: Sequence[dict[str, Any]]) -> dict[str, list[str]] | None:
    """Every behaviour name (of the runs' plans) and run label of the encoded conversations, in order of first
    appearance (``none`` for the records made without behaviours); ``None`` when no conversation has them."""
    if not any("bl" in c for c in encoded):
        return None
    names: dict[str, None] = {}
    labels: dict[str, None] = {}
    for c in encoded:
        labels[c.get("bl", "none")] = None
        names.update(dict.fromkeys(c.get("bn", ())))
    return {"names": list(names), "labels": list(labels)}


def report_data(
    conversations: Sequence[Conversation],
    group_by: str | None = None,
    rules: RuleSet = DEFAULT_RULES,
    *,
    title: str = "",
    annotate: bool = False,
    stuck_turns: int | None = DEFAULT_STUCK_TURNS,
) -> dict[str, Any]:
    """Everything the report's script needs, as one JSON-ready dict."""
    key = group_key(group_by)
    groups: dict[str, int] = {}
    encoded = []
    for conversation in conversations:
        group = groups.setdefault(key(conversation), len(groups))
        encoded.append(conversation_json(conversation, group, stuck_turns))
    out: dict[str, Any] = {
        "version": 1,
        "title": title,
        "annotate": annotate,
        "rules": rules.name,
        "group_by": group_by,
        "statuses": [status.value for status in STATUSES],
        "categories": rules_json(rules),
        "groups": list(groups),
        "diagnostics": list(DETERMINISTIC_CLASSES if stuck_turns is None else STATE_CLASSES),
        "conversations": encoded,
    }
    behaviours = behaviours_index(encoded)
    if behaviours is not None:
        out["behaviours"] = behaviours
    return out


def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` left raw."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def data_key(text: str) -> str:
    """A short fingerprint of the embedded data (names the annotations saved in the browser)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
