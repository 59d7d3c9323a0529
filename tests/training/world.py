"""Scripted models for the training tests: a judge whose verdicts vary with the reply, and a teacher world.

``judge`` plays the batched tracker: the verdict of every open sub-component follows bits of a checksum of
the latest user message, so random completions of a random model get different rewards (GRPO needs the
spread) and the same message always gets the same verdicts. ``respond`` is ``scripted_world`` (every role
of a τ-retail conversation) with the reasoning fields the reasoning simulators ask for.
"""

from __future__ import annotations

import zlib
from typing import Any

from ugst_dspy.engines.scripted import ScriptedCall

import scripted_world

VERDICTS = {
    "user_profile": ("ALIGNED", "MISALIGNED"),
    "user_policy": ("ALIGNED", "MISALIGNED"),
    "task_objective": ("COMPLETE", "INCOMPLETE"),
    "requirement": ("ATTEMPTED", "INCOMPLETE"),
    "preference": ("ALIGNED", "MISALIGNED"),
}


def latest_user_message(conversation: str) -> str:
    return conversation.rsplit("User:", 1)[-1].split("\nAgent", 1)[0].strip()


def judge(call: ScriptedCall) -> dict[str, Any]:
    bits = zlib.crc32(latest_user_message(call.field("conversation") or "").encode())
    verdicts = []
    for line in (call.field("open_sub_components") or "").splitlines():
        key, category = [part.strip() for part in line.split("|")][:2]
        shift = list(VERDICTS).index(category)
        status = VERDICTS[category][(bits >> shift) & 1]
        if status not in line.split("|")[3]:  # keep to what the rules allow next
            status = line.split("|")[2].split()[-1]
        verdicts.append({"id": key, "reason": "scripted", "status": status})
    return {"verdicts": verdicts}


def respond(call: ScriptedCall) -> dict[str, Any]:
    answer = scripted_world.respond(call)
    fields = set((call.schema or {}).get("properties", {}))
    if "progress" in fields:
        turn = call.field("turn_budget") or ""
        answer = {"progress": f"So far: {turn[:40]}", "remaining": "Exchange the keyboard.",
                  "alignment": "Stay polite and give my zip code.", **answer}
    return answer
