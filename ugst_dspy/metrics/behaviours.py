"""Does a user message carry the behaviour it was asked for? Cheap rules over the record, and their rates.

A record made with behaviours holds the plan (``meta.behaviours``: the specs, the messages each behaviour acts
on, what it drew) and, per turn, the behaviours that acted (``turn.behaviours``). Each check reads only that
and the user's text, so it needs no model and runs on any record:

- ``unavailable_service``: the message names the drawn service (one of its keywords);
- ``digression``: the message talks about the tangent drawn for it (one of its keywords);
- ``impatience``: the message has a marker of impatience (:data:`IMPATIENCE`: hurry, quickly, taking too
  long, still waiting ...);
- ``incomplete_utterance``: the message is a fragment: at most :data:`FRAGMENT_WORDS` words and at most one
  informative slot (an id or number, an e-mail, a capitalised name inside the sentence).

Rules are lexical: a paraphrase they do not know counts as not shown, so the rates are lower bounds of what
a careful reader would say. The same checks on messages where the behaviour did *not* act give the base rate
(how often a collaborative message passes the check), printed beside it. For the unavailable service, the
agent's answer to the request is checked too: ``declined`` when it has a refusal marker (:data:`REFUSAL`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ugst_dspy.conversation import Conversation, Turn
from ugst_dspy.metrics.success import Rate, group_key
from ugst_dspy.stop import split_stop

FRAGMENT_WORDS = 12
IMPATIENCE = re.compile(
    r"\b(hurry|quick(ly)?|fast(er)?|asap|right now|immediately|impatient|taking (so|too) long|too long|"
    r"how long|still waiting|been waiting|keep(s)? waiting|waiting forever|come on|speed (it |this |things )?up|"
    r"get on with|don'?t have all day|in a rush|in a hurry|ridiculous|seriously|already|frustrat\w*|annoy\w*|"
    r"wasting (my )?time|any day now)\b",
    re.IGNORECASE,
)
REFUSAL = re.compile(
    r"\b(can ?not|can'?t|unable|not able|unfortunately|sorry|not possible|isn'?t possible|no way|"
    r"don'?t (offer|provide|support|have)|do not (offer|provide|support|have)|not (available|offered|supported|"
    r"something (i|we) can))\b",
    re.IGNORECASE,
)
_SLOT = re.compile(r"#?\b[A-Za-z]*\d[\w-]*|\b[\w.+-]+@[\w-]+\.[\w.]+")
_WORD = re.compile(r"[\w'#@.+-]+")


def turn_behaviours(turn: Turn) -> list[str] | None:
    """The behaviours that acted on ``turn`` (``None`` for a turn of a record made without behaviours)."""
    return list(turn.behaviours) if turn.behaviours is not None else None


def plan_of(conversation: Conversation) -> Mapping[str, Any] | None:
    """``meta.behaviours`` of a record made with behaviours, else ``None``."""
    plan = conversation.meta.behaviours
    return plan if plan is not None and isinstance(plan.get("specs"), list) else None


def behaviour_names(conversation: Conversation) -> list[str]:
    plan = plan_of(conversation)
    if plan is None:
        return []
    return [str(spec.get("name")) for spec in plan["specs"] if isinstance(spec, Mapping)]


def _has_keyword(text: str, keywords: Iterable[str]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(k.lower())}", lowered) for k in keywords if k)


def is_fragment(text: str) -> bool:
    """At most :data:`FRAGMENT_WORDS` words and at most one informative slot (id, number, e-mail, name)."""
    words = _WORD.findall(text)
    if not words or len(words) > FRAGMENT_WORDS:
        return False
    slots = len(_SLOT.findall(text))
    names = sum(1 for k, w in enumerate(words)
                if k and w[:1].isupper() and not any(c.isdigit() for c in w) and w.lower() not in ("i", "i'm", "i'd"))
    return slots + names <= 1


def _drawn(plan: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    drawn = plan.get("drawn")
    value = drawn.get(name) if isinstance(drawn, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def shows(name: str, text: str, number: int, plan: Mapping[str, Any]) -> bool:
    """Whether user message ``number`` (1-based) with ``text`` carries behaviour ``name`` (rules above)."""
    if name == "impatience":
        return IMPATIENCE.search(text) is not None
    if name == "incomplete_utterance":
        return is_fragment(text)
    if name == "unavailable_service":
        service = _drawn(plan, name).get("service")
        return isinstance(service, Mapping) and _has_keyword(text, service.get("keywords") or ())
    if name == "digression":
        tangents = _drawn(plan, name).get("tangents")
        if not isinstance(tangents, Mapping):
            return False
        # a message it did not act on is checked against every tangent drawn (the base rate)
        wanted = [tangents[str(number)]] if str(number) in tangents else list(tangents.values())
        return any(_has_keyword(text, (t or {}).get("keywords") or ()) for t in wanted if isinstance(t, Mapping))
    return False


@dataclass
class TurnCheck:
    """The check of one user message: the behaviours that acted, and for every behaviour of the run whether
    the message shows it (``shown``); ``declined`` whether the agent declined an unavailable service."""

    number: int
    acted: list[str]
    shown: dict[str, bool]
    declined: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {"turn": self.number, "acted": self.acted, "shown": self.shown, "declined": self.declined}


def check_turns(conversation: Conversation) -> list[TurnCheck]:
    """One check per user message of a record made with behaviours (none for another record); the user's stop
    message (``Terminate.`` alone) is left out."""
    plan = plan_of(conversation)
    if plan is None:
        return []
    names = behaviour_names(conversation)
    checks = []
    for index, turn in enumerate(conversation.turns):
        text, _ = split_stop(turn.user)
        acted = turn_behaviours(turn) or []
        if not text.strip():
            continue
        number = index + 1
        shown = {name: shows(name, text, number, plan) for name in names}
        declined = None
        if "unavailable_service" in acted and (turn.agent.strip() or turn.tool_calls):
            declined = REFUSAL.search(turn.agent) is not None
        checks.append(TurnCheck(number, acted, shown, declined))
    return checks


@dataclass
class BehaviourRow:
    """Per behaviour of one group: messages it acted on and how many show it; the base rate on the others;
    the agent's declines of an unavailable service."""

    group: str
    conversations: int = 0
    shown: dict[str, Rate] = field(default_factory=dict)
    base: dict[str, Rate] = field(default_factory=dict)
    declined: Rate = field(default_factory=lambda: Rate(0, 0))

    def add(self, checks: Iterable[TurnCheck]) -> None:
        self.conversations += 1
        for check in checks:
            for name, ok in check.shown.items():
                side = self.shown if name in check.acted else self.base
                side[name] = side.get(name, Rate(0, 0)) + Rate(int(ok), 1)
            if check.declined is not None:
                self.declined = self.declined + Rate(int(check.declined), 1)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys([*self.shown, *self.base]))

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "conversations": self.conversations,
            "behaviours": {name: {"shown": self.shown.get(name, Rate(0, 0)).to_json(),
                                  "base": self.base.get(name, Rate(0, 0)).to_json()} for name in self.names},
            "declined": self.declined.to_json(),
        }


def behaviour_table(conversations: Iterable[Conversation], group_by: str | None = None,
                    key: Callable[[Conversation], str] | None = None) -> list[BehaviourRow]:
    """One row per group that holds records made with behaviours (records without them are left out)."""
    key = key or group_key(group_by)
    rows: dict[str, BehaviourRow] = {}
    for conversation in conversations:
        if plan_of(conversation) is None:
            continue
        name = key(conversation)
        rows.setdefault(name, BehaviourRow(name)).add(check_turns(conversation))
    return list(rows.values())
