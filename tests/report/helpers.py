"""Conversations for the report tests: the example file, seeded synthetic ones and one full of markup."""

from __future__ import annotations

import random
from pathlib import Path

from ugst_dspy import DEFAULT_RULES, Conversation, StatusUpdate, apply_updates
from ugst_dspy.files.conversations import read_conversations

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "conversations.jsonl"
EVIL = '</script><script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> & &amp; \u2028 "q" \'s\''


def examples() -> list[Conversation]:
    return read_conversations(EXAMPLE)


def synthetic(count: int, turns: int = 6, seed: int = 0, prefix: str = "syn") -> list[Conversation]:
    """Tracked conversations with legal status changes and a reason on each change."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        state = DEFAULT_RULES.new_state(
            [f"Profile {n}."], [f"Policy {n}."],
            [{"text": f"Objective {n}.{k}.", "requirements": [f"Requirement {n}.{k}."],
              "preferences": [f"Preference {n}.{k}."]} for k in range(2)],
        )
        initial, records = state, []
        for t in range(rng.randint(1, turns)):
            updates = []
            for located in state.items():
                moves = [s for s in DEFAULT_RULES.allowed_next(located.category, located.status) if s != located.status]
                if moves and rng.random() < 0.3:
                    why = f"reason {n}/{t}/{located.address}"
                    updates.append(StatusUpdate(str(located.address), rng.choice(moves).value, why))
            state = apply_updates(state, updates).state
            calls = [{"name": "lookup", "arguments": {"q": t}, "result": {"ok": True}}] if rng.random() < 0.5 else []
            records.append({"user": f"user {n}/{t}", "agent": f"agent {n}/{t}", "tool_calls": calls,
                            "state": state.to_json()})
        simulator = rng.choice(["prompt", "state-steered"])
        out.append(Conversation.from_json({
            "id": f"{prefix}-{n}", "goal_id": f"goal-{n}", "instruction": f"Instruction {n}.",
            "initial_state": initial.to_json(), "turns": records,
            "ended_by": rng.choice(["user_stop", "max_turns", "agent_stop"]),
            "meta": {"simulator": simulator, "usage": {"tracker": {"calls": 2, "prompt_tokens": 10,
                                                                   "completion_tokens": None, "seconds": 0.5}}},
        }))
    return out


def evil() -> Conversation:
    """A conversation whose every text is markup, to check nothing of it is ever interpreted."""
    state = DEFAULT_RULES.new_state([EVIL], [], [{"text": EVIL, "requirements": [EVIL]}])
    after = apply_updates(state, [StatusUpdate("task_objectives[0]", "COMPLETE", EVIL)]).state
    return Conversation.from_json({
        "id": "evil" + EVIL, "goal_id": EVIL, "instruction": EVIL, "initial_state": state.to_json(),
        "turns": [{"user": EVIL, "agent": EVIL, "state": after.to_json(),
                   "tool_calls": [{"name": EVIL, "arguments": {EVIL: EVIL}, "result": EVIL}]}],
        "ended_by": "user_stop", "meta": {"simulator": EVIL, "models": {EVIL: EVIL}},
    })


#: the behaviour runs of :func:`behaved`, one per conversation in turn (``()``: a run without behaviours)
RUNS = (("impatience",), ("impatience", "digression"), ("unavailable_service",), ())


def behaved(count: int, seed: int = 5, prefix: str = "beh") -> list[Conversation]:
    """Synthetic conversations made with behaviours (each at rate 1), cycling through
    :data:`RUNS`: the message of an odd turn shows each behaviour that acted on it, that of an even turn does
    not; the agent declines an unavailable service. One task outcome each (failed on every third)."""
    from ugst_dspy.behaviours import BehaviourSpec, make_plan
    from ugst_dspy.envs.services import UnavailableService

    service = UnavailableService("price_match", "match a lower price you saw elsewhere", "no price matching",
                                 ("price match", "lower price"))
    out = []
    for n, conversation in enumerate(synthetic(count, seed=seed, prefix=prefix)):
        record = conversation.to_json()
        names = RUNS[n % len(RUNS)]
        record["meta"]["tau_bench"] = {"reward": 0.0 if n % 3 == 0 else 1.0}
        if not names:
            out.append(Conversation.from_json(record))
            continue
        plan = make_plan([BehaviourSpec(name, 1.0) for name in names], record["goal_id"],
                         max_turns=len(record["turns"]), services=[service]).to_json()
        record["meta"]["behaviours"] = plan
        record["meta"]["behaviour"] = "+".join(names)
        for k, turn in enumerate(record["turns"]):
            number = k + 1
            acted = [name for name in names if number in plan["schedule"][name]]
            turn["behaviours"] = acted
            words = [f"user {n}/{k}"]
            if number % 2:
                words += [_showing(name, number, plan) for name in acted]
            turn["user"] = " ".join(words)
            if "unavailable_service" in acted:
                turn["agent"] = "Sorry, we cannot price match."
        out.append(Conversation.from_json(record))
    return out


def _showing(name: str, number: int, plan: dict) -> str:
    """A sentence the rule check of ``name`` finds (see :func:`ugst_dspy.metrics.behaviours.shows`)."""
    if name == "digression":
        return f"By the way, the {plan['drawn']['digression']['tangents'][str(number)]['keywords'][0]}."
    return {"impatience": "Please hurry up.", "unavailable_service": "Can you price match it?"}[name]
