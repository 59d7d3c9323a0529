"""A scripted rater for tests: ``scripted:quality.scripted_rater:respond`` (with ``tests/`` on the path).

It answers each rating signature from the transcript it is shown: a conversation whose user says "robot"
gets naturalness 2, else 5; one whose user says "actually no" gets coherence 2 and a contradiction, else 4;
a user who offers "How can I help" is confused; a conversation whose user says "garble" gets an answer that
is not valid JSON for naturalness (so that criterion stays unrated).
"""

from __future__ import annotations

from typing import Any

from ugst_dspy.engines.scripted import ScriptedCall
from ugst_dspy.transcript import read_transcript


def user_lines(call: ScriptedCall) -> str:
    messages = read_transcript(call.field("conversation") or "")
    return "\n".join(said for speaker, said in messages if speaker == "User")


def respond(call: ScriptedCall) -> str | dict[str, Any]:
    said = user_lines(call)
    if "how natural" in call.system:
        if "garble" in said:
            return "not json at all"
        return {"reason": "Scripted.", "score": 2 if "robot" in said else 5}
    if "how coherent" in call.system:
        return {"reason": "Scripted.", "score": 2 if "actually no" in said else 4}
    return {"reason": "Scripted.", "confusion": "How can I help" in said, "contradiction": "actually no" in said}
