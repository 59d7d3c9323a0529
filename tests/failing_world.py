"""The scripted world of ``scripted_world``, with a model that fails on purpose (for failure accounting).

Spec: ``scripted:failing_world:respond``. ``FAIL_GOAL_WITH=TEXT`` makes the simulator's call fail with a
``ConnectionError`` (as a closed endpoint would) on turn ``FAIL_TURN`` (default 2) of every goal whose
instruction contains ``TEXT``; without it, this is ``scripted_world`` as it is.
"""

from __future__ import annotations

import os
from typing import Any

import scripted_world
from ugst_dspy.engines.scripted import ScriptedCall


def respond(call: ScriptedCall) -> dict[str, Any]:
    marker = os.environ.get("FAIL_GOAL_WITH")
    fields = set((call.schema or {}).get("properties", {}))
    if marker and "reply" in fields and marker in (call.field("goal") or ""):
        turn = scripted_world._turn_number(call)
        if turn == int(os.environ.get("FAIL_TURN", "2")):
            raise ConnectionError(f"simulator endpoint closed (turn {turn})")
    return scripted_world.respond(call)
