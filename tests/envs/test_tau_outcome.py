"""The outcome check and the gold actions: every gold action of the retail and airline test tasks replays,
the gold replay scores 1.0, a conversation that changed nothing (or something else) scores 0.0."""

from __future__ import annotations

import functools

import pytest

from ugst_dspy.envs.tau_airline import AirlineEnv
from ugst_dspy.envs.tau_common import load_tasks
from ugst_dspy.envs.tau_outcome import TaskOutcome, outcome, output_found, replay
from ugst_dspy.envs.tau_retail import RetailEnv

ENVS = {"retail": RetailEnv, "airline": AirlineEnv}
LOOKUPS = {
    "find_user_id_by_email", "find_user_id_by_name_zip", "get_order_details", "get_product_details",
    "get_user_details", "get_reservation_details",
}  # fmt: skip
#: gold write actions the tools refuse, and why: the task itself expects the refusal, or (airline, with the
#: default ``policy_checks``) the gold action breaks a policy rule the upstream tools did not check
REFUSED_GOLD_WRITES = {
    "retail-test-12": "return to PayPal, the order was paid by credit card (the user then asks for a human)",
    "retail-test-13": "return to PayPal, the order was paid by credit card (the user then asks for a human)",
    "retail-test-64": "exchange of a pending order (the gold then modifies it instead)",
    "retail-test-106": "the gift card (17) does not cover the exchange's price difference (21.10)",
    "airline-test-10": "economy, no insurance, booked 14 days ago: the policy does not allow the cancellation",
    "airline-test-19": "the flight change moves the destination from LGA to JFK",
    "airline-test-26": "the reservation's flights have already landed",
    "airline-test-27": "the reservation's flights have already landed",
    "airline-test-34": "economy (after the upgrade), no insurance, booked 14 days ago: cancellation not allowed",
}


@functools.cache
def tasks(domain: str) -> list[dict]:
    return load_tasks(domain, "test")


def task(task_id: str) -> dict:
    domain = task_id.split("-")[0]
    return next(t for t in tasks(domain) if t["id"] == task_id)


def has_writes(t: dict) -> bool:
    return any(a["name"] not in LOOKUPS | {"calculate", "think", "transfer_to_human_agents"} for a in t["actions"])


@pytest.mark.parametrize("domain", ["retail", "airline"])
def test_every_gold_action_replays(domain, tau_root):
    """Look-ups may fail (the gold probes wrong ids on purpose); writes succeed except the listed ones."""
    unexpected, refused_tasks = [], set()
    for t in tasks(domain):
        results = replay(ENVS[domain](tau_root), t["actions"])
        for index, (action, result) in enumerate(zip(t["actions"], results)):
            if not result.startswith("Error"):
                continue
            if action["name"] in LOOKUPS and result.endswith("not found"):
                continue
            if t["id"] in REFUSED_GOLD_WRITES:
                refused_tasks.add(t["id"])
                continue
            unexpected.append(f"{t['id']} #{index} {action['name']}: {result}")
    assert unexpected == []
    assert refused_tasks == {k for k in REFUSED_GOLD_WRITES if k.startswith(domain)}
    assert len(tasks(domain)) == {"retail": 115, "airline": 50}[domain]


def test_without_policy_checks_every_airline_gold_action_replays(tau_root):
    for task_id in [k for k in REFUSED_GOLD_WRITES if k.startswith("airline")]:
        results = replay(AirlineEnv(tau_root, policy_checks=False), task(task_id)["actions"])
        assert not [r for r in results if r.startswith("Error")], task_id


SAMPLE = [
    "retail-test-0", "retail-test-16", "retail-test-29", "retail-test-40", "retail-test-64", "retail-test-104",
    "airline-test-0", "airline-test-2", "airline-test-9", "airline-test-10", "airline-test-34",
]  # fmt: skip


@pytest.mark.parametrize("task_id", SAMPLE)
def test_the_gold_replay_scores_one_and_doing_nothing_scores_zero(task_id, tau_root):
    t = task(task_id)
    env_cls = ENVS[t["domain"]]
    env = env_cls(tau_root)
    replay(env, t["actions"])
    said = [f"Here you go: {', '.join(t['outputs'])}."]
    result = outcome(env_cls, t, env, said)
    assert result == TaskOutcome(1.0, True, [True] * len(t["outputs"]), result.gold_errors)
    assert bool(result.gold_errors) == (task_id in REFUSED_GOLD_WRITES)
    assert has_writes(t)
    untouched = outcome(env_cls, t, env_cls(tau_root).state_hash(), said)
    assert (untouched.reward, untouched.db_match) == (0.0, False)


def test_a_task_without_writes_scores_one_when_nothing_changed(tau_root):
    t = task("retail-test-24")  # only asks which materials are available: outputs, no actions
    assert t["actions"] == [] and t["outputs"] == ["polyester", "cotton"]
    env = RetailEnv(tau_root)
    assert outcome(RetailEnv, t, env, ["We have Polyester and Cotton shirts."]).reward == 1.0
    missing = outcome(RetailEnv, t, env, ["We have polyester shirts."])
    assert (missing.reward, missing.db_match, missing.outputs_found) == (0.0, True, [True, False])


def test_a_different_change_scores_zero(tau_root):
    t = task("retail-test-34")  # a new shipping address for one order; the agent must also say 1093.34
    *lookups, change = t["actions"]
    assert change["name"] == "modify_pending_order_address"
    env = RetailEnv(tau_root)
    replay(env, t["actions"])
    assert outcome(RetailEnv, t, env, ["The total is $1,093.34."]).reward == 1.0
    other = RetailEnv(tau_root)
    replay(other, [*lookups, {"name": change["name"], "kwargs": {**change["kwargs"], "zip": "00000"}}])
    result = outcome(RetailEnv, t, other.state_hash(), ["The total is $1,093.34."])
    assert result.to_json() == {"reward": 0.0, "db_match": False, "outputs_found": [True], "gold_errors": []}


def test_outcome_with_a_lenient_factory(tau_root):
    t = task("airline-test-10")
    lenient = functools.partial(AirlineEnv, policy_checks=False)
    env = lenient(tau_root)
    replay(env, t["actions"])
    assert outcome(lenient, t, env, []).reward == 1.0
    assert outcome(AirlineEnv, t, env, []).reward == 0.0  # the strict gold replay refuses the cancellation


def test_output_matching_ignores_case_and_commas():
    assert output_found("1093.34", ["Your refund is $1,093.34."])
    assert output_found("Mastercard", ["paid with your MASTERCARD ending 1020"])
    assert output_found("943 Maple Drive", ["ship to 943 maple drive, suite 356"])
    assert not output_found("1093.34", ["Your refund is $1,093.35."])
    assert not output_found("1,093.34", ["Your refund is $1,093.34."])  # upstream drops only the message's commas
    assert not output_found("camera", [])


def test_replay_accepts_arguments_for_kwargs(tau_root):
    env = RetailEnv(tau_root)
    actions = [
        {"name": "find_user_id_by_email", "arguments": {"email": "yusuf.rossi7301@example.com"}},
        {"name": "calculate", "kwargs": {"expression": "1 + 1"}},
    ]
    assert replay(env, actions) == ["yusuf_rossi_9620", "2.0"]
