"""Write the fixed tracking-cost fixture: 20 τ-bench retail conversations built from the tasks' gold actions.

Each conversation is deterministic: the user says the goal's sentences one per turn (in the first person),
and the agent runs the task's gold actions one per turn on a real copy of the database, so tool calls and
results are real. The initial state is a rule-based decomposition of the goal's sentences (profile: the
first sentence; policy: behaviour sentences; preferences: "if"/"prefer" sentences; requirements:
constraint sentences; otherwise task objectives). It is a cost fixture: realistic lengths and structure,
not a gold standard of quality.

    python -m bench.make_tracking_fixture          # rewrites bench/fixtures/tracking_conversations.jsonl
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ugst_dspy import Conversation, ToolCall, Turn
from ugst_dspy.envs import make_env
from ugst_dspy.files.goals import read_goals
from ugst_dspy.rules import DEFAULT_RULES

OUT = Path(__file__).resolve().parent / "fixtures" / "tracking_conversations.jsonl"
POLICY_WORDS = ("detail-oriented", "polite", "reactive", "private", "do not want to reveal", "impatient",
                "in a hurry", "will not", "you do not", "confirm", "cautious", "busy", "rude", "shy", "dependent")
PREFERENCE_WORDS = ("prefer", "if ", "otherwise", "rather", "ideally")
REQUIREMENT_WORDS = ("must", "want it to", "should", "only", "same", "new address", "payment", "refund")

_PERSON = [(r"\bYou are\b", "I am"), (r"\byou are\b", "I am"), (r"\bYou're\b", "I'm"), (r"\bYour\b", "My"),
           (r"\byour\b", "my"), (r"\bYou\b", "I"), (r"\byou\b", "me"), (r"\byourself\b", "myself")]


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [p.strip() for p in parts if len(p.strip()) > 3]


def first_person(sentence: str) -> str:
    for pattern, replacement in _PERSON:
        sentence = re.sub(pattern, replacement, sentence)
    return sentence


def decompose(instruction: str):
    said = sentences(instruction)
    profile, policy, objectives = [said[0]], [], []
    for sentence in said[1:]:
        lower = sentence.lower()
        if any(word in lower for word in POLICY_WORDS):
            policy.append(sentence)
        elif objectives and any(lower.startswith(w) or f" {w}" in lower for w in PREFERENCE_WORDS):
            objectives[-1]["preferences"].append(sentence)
        elif objectives and any(word in lower for word in REQUIREMENT_WORDS):
            objectives[-1]["requirements"].append(sentence)
        else:
            objectives.append({"text": sentence, "requirements": [], "preferences": []})
    return DEFAULT_RULES.new_state(profile, policy, objectives)


def build(goal) -> Conversation:
    env = make_env("tau-retail")
    lines = [first_person(s) for s in sentences(goal.instruction)]
    actions = goal.fields.get("actions", [])
    turns = []
    for i in range(min(max(len(lines), len(actions)), 8)):
        user = lines[i] if i < len(lines) else "Is that all done now?"
        calls = []
        if i < len(actions):
            action = actions[i]
            calls.append(ToolCall(id=f"call_{i}", name=action["name"], arguments=action["kwargs"],
                                  result=env.call(action["name"], action["kwargs"])))
            agent = f"I ran {action['name'].replace('_', ' ')} for you; here is what I found."
        else:
            agent = "Is there anything else I can help you with?"
        turns.append(Turn(user=user, agent=agent, tool_calls=calls))
    turns.append(Turn(user="Thank you, that is everything.", agent=""))
    return Conversation(id=goal.id, goal_id=goal.id, instruction=goal.instruction, initial_state=decompose(goal.instruction),
                        turns=turns, ended_by="user_stop", meta={"source": "bench fixture from gold actions"})


def main() -> None:
    from ugst_dspy.envs.datafiles import data_dir

    goals = [g for g in read_goals(data_dir() / "tau_bench" / "retail_test.jsonl") if len(g.fields["actions"]) >= 2]
    picked = goals[::4][:20]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as handle:
        for goal in picked:
            handle.write(json.dumps(build(goal).to_json(), ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(picked)} conversations")


if __name__ == "__main__":
    main()
