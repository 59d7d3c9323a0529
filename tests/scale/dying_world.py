"""The scripted world of ``scripted_world``, whose worker process dies on purpose in the middle of a conversation.

Spec: ``scripted:scale.dying_world:respond`` (``tests/`` on ``PYTHONPATH``). ``DYING_WORLD`` names a folder;
its ``plan.json`` maps a piece of goal instruction to how many times the process that runs such a goal dies
(``SIGKILL`` to itself) when the simulator writes its turn-2 message. Each death leaves a marker file there,
so the count holds across worker processes; without a plan, this is ``scripted_world`` as it is.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import scripted_world
from ugst_dspy.engines.scripted import ScriptedCall


def respond(call: ScriptedCall) -> dict[str, Any]:
    folder = Path(os.environ.get("DYING_WORLD", "/nonexistent"))
    plan = json.loads((folder / "plan.json").read_text()) if (folder / "plan.json").is_file() else {}
    fields = set((call.schema or {}).get("properties", {}))
    goal = call.field("goal") or ""
    if "reply" in fields and scripted_world._turn_number(call) == 2:
        for number, (text, times) in enumerate(sorted(plan.items())):
            if text not in goal:
                continue
            for death in range(times):
                try:
                    os.close(os.open(folder / f"died-{number}-{death}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    continue
                os.kill(os.getpid(), signal.SIGKILL)
    return scripted_world.respond(call)
