"""Scripted models for the training tests: a judge whose verdicts vary with the reply, and a teacher world.

``judge`` plays the batched tracker (the library's ``checksum_judge``): the verdict of every open
sub-component follows bits of a checksum of the latest user message, so random completions of a random
model get different rewards (GRPO needs the spread) and the same message always gets the same verdicts.
``respond`` is ``scripted_world`` (every role of a τ-retail conversation) with the reasoning fields the
reasoning simulators ask for.
"""

from __future__ import annotations

from typing import Any

from ugst_dspy.engines.scripted import ScriptedCall, checksum_judge

import scripted_world

judge = checksum_judge  # the spec scripted:training.world:judge names it here


def respond(call: ScriptedCall) -> dict[str, Any]:
    answer = scripted_world.respond(call)
    fields = set((call.schema or {}).get("properties", {}))
    if "progress" in fields:
        turn = call.field("turn_budget") or ""
        answer = {"progress": f"So far: {turn[:40]}", "remaining": "Exchange the keyboard.",
                  "alignment": "Stay polite and give my zip code.", **answer}
    return answer
