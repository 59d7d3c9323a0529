"""Scripted models for the optimisation tests: a simulator, a tracker and a proposer/reflection LM.

Use as ``scripted:scripted_optimize:respond`` (with ``tests/optimize`` on ``PYTHONPATH``). The world is
rigged so that optimisers have something to find: a message that mentions clicky switches completes the
tasks and expresses the preferences (reward 1), anything else leaves them open. The simulator mentions
clicky switches on turn 2, or on every turn once its instruction does; the proposer always proposes an
instruction that does.
"""

from __future__ import annotations

from typing import Any

from ugst_dspy.engines.scripted import ScriptedCall
from ugst_dspy.transcript import latest_user_message, read_transcript

GOOD = "I'd like the keyboard with clicky switches, please."
BLAND = "Hello, I need some help with an order."
PROPOSAL = "Say plainly that you want the keyboard with clicky switches."


def track(call: ScriptedCall) -> dict[str, Any]:
    said = latest_user_message(call.field("conversation") or "")
    verdicts = []
    for line in (call.field("open_sub_components") or "").splitlines():
        key, category, now, _, text = [part.strip() for part in line.split("|", 4)]
        status = now.removeprefix("now ")
        if category in ("user_profile", "user_policy"):
            status = "MISALIGNED" if "rude" in said else "ALIGNED"
        elif "clicky" in said:
            status = "ALIGNED" if category == "preference" else "COMPLETE"
        why = "mentions clicky switches" if "clicky" in said else "does not mention clicky switches"
        verdicts.append({"id": key, "reason": f"the user {why}", "status": status})
    return {"verdicts": verdicts}


def judge(call: ScriptedCall) -> dict[str, Any]:
    """The per-component tracker: ``track``'s verdict for the one sub-component it is asked about."""
    said = latest_user_message(call.field("conversation") or "")
    allowed = ((call.schema or {}).get("properties", {}).get("status") or {}).get("enum", [])
    status = call.field("current_status") or allowed[0]
    if "COMPLETE" in allowed and "clicky" in said:
        status = "COMPLETE"
    elif "MISALIGNED" in allowed:  # profile, policy or preference: as ``track`` judges them
        status = "ALIGNED" if "clicky" in said or status == "ALIGNED" else "MISALIGNED"
        status = "MISALIGNED" if "rude" in said else status
    return {"reason": "scripted", "status": status}


def simulate(call: ScriptedCall) -> dict[str, Any]:
    turn = 1 + sum(1 for speaker, _ in read_transcript(call.field("conversation") or "") if speaker == "You")
    good = "clicky" in call.system or turn == 2
    reasoning = {name: f"scripted {name}" for name in ("progress", "remaining", "alignment")
                 if name in (call.schema or {}).get("properties", {})}  # the reasoning simulator's fields
    return {**reasoning, "reply": GOOD if good else BLAND, "stop": False}


def propose(call: ScriptedCall) -> dict[str, Any] | str:
    """Any other call (MIPROv2's proposer, GEPA's reflection): every text field gets the proposal."""
    if call.schema is None:
        return f"```\n{PROPOSAL}\n```"
    filler = {"string": PROPOSAL, "boolean": False, "integer": 1, "number": 1.0, "array": [], "object": {}}
    return {name: filler.get(spec.get("type", "string"), PROPOSAL)
            for name, spec in call.schema.get("properties", {}).items()}


def respond(call: ScriptedCall) -> dict[str, Any] | str:
    fields = set((call.schema or {}).get("properties", {}))
    if "verdicts" in fields:
        return track(call)
    if "status" in fields:
        return judge(call)
    if "reply" in fields:
        return simulate(call)
    return propose(call)
