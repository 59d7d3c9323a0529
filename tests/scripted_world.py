"""A scripted model that plays every role of a τ-bench retail conversation, for tests without a model.

Use it as the model spec ``scripted:scripted_world:respond`` (with ``tests/`` on ``PYTHONPATH``). It tells
the roles apart by the output fields the adapter asks for; it plays both trackers (batched: ``verdicts``;
per-component: ``status``). ``SCRIPTED_DELAY`` (seconds) slows each call,
so that a test can kill a run in the middle.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ugst_dspy.engines.scripted import ScriptedCall
from ugst_dspy.transcript import read_transcript

USER_LINES = [
    "Hi, I'm Yusuf Rossi and my zip code is 19122. I want to exchange items from order #W2378156.",
    "The mechanical keyboard, for one with clicky switches please.",
    "Great, that's all I needed. Thanks!",
]


def _turn_number(call: ScriptedCall) -> int:
    """The user message the simulator is writing: one more than its messages so far (the ``You:`` blocks of
    the conversation it is shown; the turn budget states only the limit unless the countdown is on)."""
    said = read_transcript(call.field("conversation") or "")
    return 1 + sum(1 for speaker, _ in said if speaker == "You")


def decompose(call: ScriptedCall) -> dict[str, Any]:
    return {"decomposition": {"sub_components": [
        {"category": "user_profile", "text": "You are Yusuf Rossi in 19122."},
        {"category": "task_objective", "text": "Exchange the mechanical keyboard in order #W2378156."},
        {"category": "requirement", "text": "The new keyboard has clicky switches."},
        {"category": "user_policy", "text": "You are detail-oriented."},
    ], "all_listed": True}}


def simulate(call: ScriptedCall) -> dict[str, Any]:
    turn = _turn_number(call)
    line = USER_LINES[min(turn, len(USER_LINES)) - 1]
    return {"reply": line, "stop": turn >= len(USER_LINES)}


def agent(call: ScriptedCall) -> dict[str, Any]:
    results = call.field("tool_results") or ""
    latest = (call.field("conversation") or "").splitlines()[-1]
    if "19122" in latest and "find_user_id_by_name_zip" not in results:
        arguments = {"first_name": "Yusuf", "last_name": "Rossi", "zip": "19122"}
        return {"action": "call_tool", "tool_name": "find_user_id_by_name_zip",
                "tool_arguments": json.dumps(arguments), "message": ""}
    if "19122" in latest and "get_order_details" not in results:
        return {"action": "call_tool", "tool_name": "get_order_details",
                "tool_arguments": json.dumps({"order_id": "#W2378156"}), "message": ""}
    if "clicky" in latest:
        return {"action": "respond", "tool_name": "think", "tool_arguments": "{}",
                "message": "I have exchanged the keyboard for a clicky one."}
    return {"action": "respond", "tool_name": "think", "tool_arguments": "{}", "message": "How can I help further?"}


def track(call: ScriptedCall) -> dict[str, Any]:
    conversation = call.field("conversation") or ""
    verdicts = []
    for line in (call.field("open_sub_components") or "").splitlines():
        key, category, _, _, text = [part.strip() for part in line.split("|")]
        if category in ("user_profile", "user_policy"):
            status = "ALIGNED"
        elif "exchanged the keyboard" in conversation:
            status = "COMPLETE"
        else:
            status = "INCOMPLETE"
        verdicts.append({"id": key, "reason": f"scripted verdict on {text[:20]}", "status": status})
    return {"verdicts": verdicts}


def judge(call: ScriptedCall) -> dict[str, Any]:
    """The per-component tracker (the paper's, evaluation's default): ``track``'s verdict, one item a call."""
    allowed = ((call.schema or {}).get("properties", {}).get("status") or {}).get("enum", [])
    if "COMPLETE" in allowed:  # a task objective or requirement
        status = "COMPLETE" if "exchanged the keyboard" in (call.field("conversation") or "") else "INCOMPLETE"
    else:  # profile and policy stay ALIGNED (and a preference is expressed)
        status = "ALIGNED"
    return {"reason": f"scripted verdict on {(call.field('sub_component') or '')[:20]}", "status": status}


def respond(call: ScriptedCall) -> dict[str, Any]:
    delay = float(os.environ.get("SCRIPTED_DELAY", "0"))
    if delay:
        time.sleep(delay)
    fields = set((call.schema or {}).get("properties", {}))
    if "decomposition" in fields:
        return decompose(call)
    if "verdicts" in fields:
        return track(call)
    if "status" in fields:
        return judge(call)
    if "action" in fields:
        return agent(call)
    if "reply" in fields:
        return simulate(call)
    raise AssertionError(f"scripted world: unexpected call with fields {sorted(fields)}")
