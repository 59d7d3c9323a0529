"""The shared τ-bench pieces (files, cached database, argument checks, calculate) and the registry."""

from __future__ import annotations

import json
import weakref

import pytest

from ugst_dspy.envs import registry
from ugst_dspy.envs.multiwoz import MultiWOZEnv
from ugst_dspy.envs.tau_airline import AirlineEnv
from ugst_dspy.envs.tau_common import (
    calculate,
    load_database,
    load_tasks,
    load_tool_schemas,
    tasks_path,
)
from ugst_dspy.envs.tau_outcome import replay
from ugst_dspy.envs.tau_published_airline import PublishedAirlineEnv
from ugst_dspy.envs.tau_published_retail import PublishedRetailEnv
from ugst_dspy.envs.tau_retail import RetailEnv
from ugst_dspy.errors import UgstError

from .conftest import file_hashes


def test_task_files(tau_root):
    sizes = {("retail", "test"): 115, ("retail", "dev"): 20, ("retail", "train"): 500, ("airline", "test"): 50}
    assert {split: len(load_tasks(*split, tau_root)) for split in sizes} == sizes
    first = load_tasks("retail", "test", tau_root)[0]
    assert first["id"] == "retail-test-0" and first["actions"][0]["name"] == "find_user_id_by_name_zip"
    assert tasks_path("airline", "test", tau_root) == tau_root / "tau_bench" / "airline_test.jsonl"
    with pytest.raises(UgstError, match="has no split 'train'"):
        tasks_path("airline", "train", tau_root)
    with pytest.raises(UgstError, match="unknown τ-bench domain 'bank'"):
        load_tasks("bank", "test", tau_root)


def test_missing_data_is_a_one_line_error(tmp_path):
    with pytest.raises(UgstError) as err:
        RetailEnv(tmp_path)
    missing = tmp_path / "tau_bench"
    assert str(err.value) == f"τ-bench data not found: {missing} is missing (pass --data-dir or set UGST_DATA_DIR)"


def test_every_load_is_a_private_copy(tau_root):
    first = load_database("retail", tau_root)
    first["orders"]["#W2378156"]["status"] = "cancelled"
    first["users"].clear()
    again = load_database("retail", tau_root)
    assert again["orders"]["#W2378156"]["status"] == "delivered" and len(again["users"]) == 500
    schemas = load_tool_schemas("airline", tau_root)
    schemas[0]["function"]["name"] = "changed"
    assert load_tool_schemas("airline", tau_root)[0]["function"]["name"] == "book_reservation"


def test_a_finished_environment_is_freed_at_once(tau_root):
    env = RetailEnv(tau_root)
    env.call("get_order_details", {"order_id": "#W2378156"})
    alive = weakref.ref(env)
    del env
    assert alive() is None  # no reference cycle through the tool table


def test_amounts_and_counts_are_stored_alike_whatever_their_json_type(tau_root):
    def bags(total, nonfree):
        env = AirlineEnv(tau_root)
        arguments = {"total_baggages": total, "nonfree_baggages": nonfree, "payment_id": "credit_card_8003957"}
        env.call("update_reservation_baggages", {"reservation_id": "VA5SGQ", **arguments})
        return env

    ints, floats = bags(2, 1), bags(2.0, 1.0)
    assert ints.db["reservations"]["VA5SGQ"]["total_baggages"] == 2 and ints.state_hash() == floats.state_hash()
    assert bags(2.5, 1).state_hash() == AirlineEnv(tau_root).state_hash()  # 2.5 bags: refused by the schema


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("2 + 2", "4.0"),
        ("3131.1 + 4777.75 + 367.38", "8276.23"),
        ("155.33 - 147.05 + 268.77 - 235.13", "41.92"),
        ("164.28", "164.28"),
        ("-(2 - 5) * (1 / 3)", "1.0"),
        ("2 * ((350 - 122) + (499 - 127))", "1200.0"),
    ],
)
def test_calculate(expression, result):
    assert calculate(expression) == result


@pytest.mark.parametrize(
    "expression",
    ["", "abs(-1)", "2 ** 8", "1 // 2", "(1", "1 +", "1.2.3", "().__class__", "9" * 400 + " * " + "9" * 400, "(" * 600],
)
def test_calculate_refuses_anything_but_arithmetic(expression):
    assert calculate(expression).startswith("Error: ")


def test_the_shared_files_are_unchanged_by_every_write_tool(tau_root):
    before = file_hashes(tau_root / "tau_bench")
    writes = {"retail": set(), "airline": set()}
    for domain, env_cls in (("retail", RetailEnv), ("airline", AirlineEnv)):
        for t in load_tasks(domain, "test", tau_root)[:45]:
            env = env_cls(tau_root)
            for action, result in zip(t["actions"], replay(env, t["actions"])):
                if not result.startswith("Error") and not action["name"].startswith(("get_", "find_", "search_")):
                    writes[domain].add(action["name"])
    assert writes["retail"] >= {
        "cancel_pending_order", "exchange_delivered_order_items", "modify_pending_order_address",
        "modify_pending_order_items", "modify_pending_order_payment", "modify_user_address",
        "return_delivered_order_items",
    }
    assert writes["airline"] >= {
        "book_reservation", "cancel_reservation", "send_certificate", "update_reservation_baggages",
        "update_reservation_flights", "update_reservation_passengers",
    }
    assert file_hashes(tau_root / "tau_bench") == before


# -- registry ----------------------------------------------------------------------------------------


def test_registry_makes_fresh_environments(tau_root):
    assert isinstance(registry.ENVIRONMENTS, dict)
    assert registry.ENVIRONMENTS == {"tau-retail": PublishedRetailEnv, "tau-retail-strict": RetailEnv,
                                     "tau-airline": PublishedAirlineEnv, "tau-airline-strict": AirlineEnv,
                                     "multiwoz": MultiWOZEnv}
    assert registry.make_env("tau-airline").published  # τ-bench's own semantics by default
    assert registry.make_env("tau-airline-strict").policy_checks is True
    retail = registry.make_env("tau-retail", tau_root)
    assert isinstance(retail, PublishedRetailEnv) and retail.name == "tau-retail"
    assert registry.make_env("tau-retail-strict").name == "tau-retail-strict"
    retail.call("cancel_pending_order", {"order_id": "#W6779827", "reason": "no longer needed"})
    assert registry.make_env("tau-retail", tau_root).db["orders"]["#W6779827"]["status"] == "pending"
    assert isinstance(registry.make_env("tau-airline"), PublishedAirlineEnv)  # the packaged data


def test_registry_default_goal_files(tau_root):
    assert registry.default_goals_path("tau-retail", tau_root) == tau_root / "tau_bench" / "retail_test.jsonl"
    assert registry.default_goals_path("tau-airline", tau_root) == AirlineEnv.default_goals_path(tau_root)
    first = json.loads(registry.default_goals_path("tau-airline", tau_root).read_text().splitlines()[0])
    assert first["id"] == "airline-test-0"


def test_an_unknown_environment_is_a_one_line_error():
    with pytest.raises(UgstError) as err:
        registry.make_env("tau-bank")
    assert str(err.value) == "unknown environment 'tau-bank' (known: multiwoz, tau-airline, tau-airline-strict, tau-retail, tau-retail-strict)"
    with pytest.raises(UgstError):
        registry.default_goals_path("multiwoz-x")
