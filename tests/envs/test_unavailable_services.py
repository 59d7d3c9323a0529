"""What each environment cannot provide (``unavailable_services``) and the outcome it reports itself
(``task_outcome``).

Every environment declares at least four unavailable services, well formed; each τ-bench service's claim is
checked against the environment where a tool can show it: the strict tools refuse the request, or no tool
(name or argument) could do it at all. The τ-bench ``task_outcome`` is :func:`tau_outcome.outcome` exactly.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ugst_dspy.envs.base import ToolEnvironment
from ugst_dspy.envs.multiwoz import MultiWOZEnv
from ugst_dspy.envs.registry import ENVIRONMENTS
from ugst_dspy.envs.services import UnavailableService
from ugst_dspy.envs.tau_airline import AirlineEnv
from ugst_dspy.envs.tau_common import load_tasks
from ugst_dspy.envs.tau_outcome import outcome, replay
from ugst_dspy.envs.tau_published_airline import PublishedAirlineEnv
from ugst_dspy.envs.tau_published_retail import PublishedRetailEnv
from ugst_dspy.envs.tau_retail import RetailEnv

from .conftest import ok, refused

#: services no tool could provide, and the words a tool or argument doing it would be named with
NO_TOOL_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "retail": {
        "price_match": ("price", "discount", "coupon"),
        "place_new_order": ("place_", "create", "new_order", "buy", "purchase"),
        "gift_wrap": ("wrap", "gift_message"),
        "express_shipping": ("shipping", "express_", "expedite", "speed", "delivery"),
    },
    "airline": {
        "seat_selection": ("seat",),
        "pay_with_miles": ("mile", "points", "loyalty"),
    },
    "multiwoz": {
        "attraction_tickets": ("ticket", "book_attraction"),
        "car_rental": ("car", "rent", "hire"),
        "flight_booking": ("flight", "plane", "airport"),
        "hospital_appointment": ("appointment", "book_hospital", "doctor"),
        "food_delivery": ("deliver", "takeaway", "order"),
        "tour_guide": ("tour", "guide"),
    },
}
#: services a strict tool refuses (each checked by a test below)
REFUSED_BY_TOOL: dict[str, set[str]] = {
    "retail": {"cancel_delivered_order", "redirect_shipped_order", "refund_to_other_method"},
    "airline": {"change_basic_economy_flights", "remove_checked_bags", "change_passenger_count",
                "add_insurance_after_booking"},
}
#: services only the policy text rules out (a tool could do it, the policy says when not to)
POLICY_ONLY: dict[str, set[str]] = {"airline": {"compensation_without_disruption"}}
DOMAINS: dict[type[ToolEnvironment], str] = {
    PublishedRetailEnv: "retail", RetailEnv: "retail", PublishedAirlineEnv: "airline", AirlineEnv: "airline",
    MultiWOZEnv: "multiwoz",
}


def vocabulary(env: ToolEnvironment) -> list[str]:
    """Every tool name and argument name of ``env``, lower case."""
    words = []
    for schema in env.schemas:
        function = schema["function"]
        words.append(function["name"].lower())
        words.extend(key.lower() for key in function.get("parameters", {}).get("properties", {}))
    return words


@pytest.fixture(scope="module")
def envs(tau_root) -> dict[str, ToolEnvironment]:
    """One environment of every registered kind (module scope: nothing below writes to them)."""
    return {name: cls(tau_root) for name, cls in ENVIRONMENTS.items()}


# -- the declarations -------------------------------------------------------------------------------


def test_the_base_declares_nothing():
    assert ToolEnvironment.unavailable_services == () and ToolEnvironment.outcome_key is None


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_every_environment_declares_well_formed_services(name):
    services = ENVIRONMENTS[name].unavailable_services
    assert len(services) >= 4 and all(isinstance(s, UnavailableService) for s in services)
    ids = [s.id for s in services]
    assert len(set(ids)) == len(ids) and all(i and i == i.strip().lower() and " " not in i for i in ids)
    keywords = [k for s in services for k in s.keywords]
    assert len(set(keywords)) == len(keywords), "a keyword names one service only"
    for service in services:
        assert service.request.strip() and service.reason.strip(), service.id
        assert not service.request[0].isupper() and not service.request.endswith("."), service.id
        assert 2 <= len(service.keywords) <= 5, service.id
        assert all(k and k == k.strip().lower() for k in service.keywords), service.id
        assert UnavailableService.from_json(json.loads(json.dumps(service.to_json()))) == service


def test_published_and_strict_environments_share_their_domain_services():
    assert PublishedRetailEnv.unavailable_services is RetailEnv.unavailable_services
    assert PublishedAirlineEnv.unavailable_services is AirlineEnv.unavailable_services
    assert {s.id for s in RetailEnv.unavailable_services}.isdisjoint(s.id for s in AirlineEnv.unavailable_services)


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_every_service_claim_is_checked_here(name):
    domain = DOMAINS[ENVIRONMENTS[name]]
    checked = set(NO_TOOL_WORDS.get(domain, {})) | REFUSED_BY_TOOL.get(domain, set()) | POLICY_ONLY.get(domain, set())
    assert {s.id for s in ENVIRONMENTS[name].unavailable_services} == checked


# -- no tool can do it --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_no_tool_provides_what_no_tool_can(name, envs):
    words = vocabulary(envs[name])
    for service, names in NO_TOOL_WORDS[DOMAINS[ENVIRONMENTS[name]]].items():
        offending = [w for w in words for n in names if n in w]
        assert offending == [], f"{name} {service}: {offending}"


def test_multiwoz_books_only_restaurants_hotels_trains_and_taxis(envs):
    booking = {n for n in envs["multiwoz"].tool_names if n.startswith("book_")}
    assert booking == {"book_restaurant", "book_hotel", "book_train", "book_taxi"}


@pytest.mark.parametrize("name", ["tau-airline", "tau-airline-strict"])
def test_no_airline_profile_holds_miles(name, envs):
    users = envs[name].db["users"].values()
    assert {m["source"] for u in users for m in u["payment_methods"].values()} == {
        "credit_card", "gift_card", "certificate"}
    assert not [key for u in users for key in u if "mile" in key or "point" in key]


@pytest.mark.parametrize("name", ["tau-airline", "tau-airline-strict"])
def test_only_a_new_booking_takes_insurance(name, envs):
    takes = [n for n in envs[name].tool_names
             if "insurance" in envs[name].schema(n)["function"].get("parameters", {}).get("properties", {})]
    assert takes == ["book_reservation"]


def test_the_airline_policy_limits_compensation_to_disruptions(envs):
    policy = " ".join(envs["tau-airline"].policy.split())
    assert "complains about cancelled flights" in policy and "complains about delayed flights" in policy
    assert "Do not compensate" in policy


# -- the strict tools refuse it -----------------------------------------------------------------------


def orders_with_status(env: RetailEnv, status: str) -> list[dict[str, Any]]:
    return sorted((o for o in env.db["orders"].values() if o["status"] == status), key=lambda o: o["order_id"])


@pytest.mark.parametrize("status", ["delivered", "processed"])
def test_strict_retail_cancels_no_order_past_pending(retail, status):
    order = orders_with_status(retail, status)[0]
    assert "pending" in refused(retail, "cancel_pending_order", order_id=order["order_id"], reason="no longer needed")


@pytest.mark.parametrize("status", ["delivered", "processed"])
def test_strict_retail_redirects_no_order_past_pending(retail, status):
    order = orders_with_status(retail, status)[0]
    address = {"address1": "1 Main St", "address2": "", "city": "Austin", "state": "TX", "country": "USA",
               "zip": "78701"}
    assert "pending" in refused(retail, "modify_pending_order_address", order_id=order["order_id"], **address)


def test_strict_retail_refunds_a_return_only_to_the_original_method_or_a_gift_card(retail):
    def other_method(order: dict[str, Any]) -> str | None:
        paid = {t["payment_method_id"] for t in order["payment_history"]}
        methods = retail.db["users"][order["user_id"]]["payment_methods"].values()
        return next((m["id"] for m in sorted(methods, key=lambda m: m["id"])
                     if m["source"] != "gift_card" and m["id"] not in paid), None)

    order = next(o for o in orders_with_status(retail, "delivered") if other_method(o))
    item = order["items"][0]["item_id"]
    message = refused(retail, "return_delivered_order_items", order_id=order["order_id"], item_ids=[item],
                      payment_method_id=other_method(order))
    assert "original payment method" in message
    original = order["payment_history"][0]["payment_method_id"]
    assert ok(retail, "return_delivered_order_items", order_id=order["order_id"], item_ids=[item],
              payment_method_id=original)["status"] == "return requested"


def reservations(env: AirlineEnv, **fields: Any) -> list[dict[str, Any]]:
    """Open reservations with these field values, by id."""
    found = [r for r in env.db["reservations"].values()
             if r.get("status") != "cancelled" and all(r.get(k) == v for k, v in fields.items())]
    return sorted(found, key=lambda r: r["reservation_id"])


def change_payment(env: AirlineEnv, reservation: dict[str, Any]) -> str:
    """A credit card or gift card of the reservation's user: what a change may be paid with."""
    methods = env.db["users"][reservation["user_id"]]["payment_methods"].values()
    return sorted(m["id"] for m in methods if m["source"] in ("credit_card", "gift_card"))[0]


def test_strict_airline_keeps_basic_economy_flights(airline):
    reservation = next(r for r in reservations(airline, cabin="basic_economy", flight_type="one_way")
                       if len(r["flights"]) == 1)
    leg = reservation["flights"][0]
    other = next(number for number, flight in sorted(airline.db["flights"].items())
                 if (flight["origin"], flight["destination"]) == (leg["origin"], leg["destination"])
                 and number != leg["flight_number"] and leg["date"] in flight["dates"])
    message = refused(airline, "update_reservation_flights", reservation_id=reservation["reservation_id"],
                      cabin="basic_economy", flights=[{"flight_number": other, "date": leg["date"]}],
                      payment_id=change_payment(airline, reservation))
    assert "basic economy" in message


def test_strict_airline_adds_bags_but_never_removes_them(airline):
    reservation = next(r for r in reservations(airline) if r["total_baggages"] >= 1 and r["nonfree_baggages"] == 0)
    message = refused(airline, "update_reservation_baggages", reservation_id=reservation["reservation_id"],
                      total_baggages=reservation["total_baggages"] - 1, nonfree_baggages=0,
                      payment_id=change_payment(airline, reservation))
    assert "not removed" in message


def test_strict_airline_keeps_the_number_of_passengers(airline):
    reservation = reservations(airline)[0]
    passengers = [*reservation["passengers"], {"first_name": "Ada", "last_name": "Lovelace", "dob": "1990-12-10"}]
    message = refused(airline, "update_reservation_passengers", reservation_id=reservation["reservation_id"],
                      passengers=passengers)
    assert "number of passengers" in message


def test_no_airline_change_tool_adds_insurance(airline):
    reservation = reservations(airline, insurance="no")[0]
    refused(airline, "update_reservation_baggages", reservation_id=reservation["reservation_id"],
            total_baggages=reservation["total_baggages"], nonfree_baggages=reservation["nonfree_baggages"],
            payment_id=change_payment(airline, reservation), insurance="yes")


# -- the outcome an environment reports itself --------------------------------------------------------


def test_outcome_keys():
    assert {name: cls.outcome_key for name, cls in ENVIRONMENTS.items()} == {
        "tau-retail": "tau_bench", "tau-retail-strict": "tau_bench", "tau-airline": "tau_bench",
        "tau-airline-strict": "tau_bench", "multiwoz": "multiwoz_booking",
    }


@pytest.mark.parametrize(("name", "task_id"), [
    ("tau-retail", "retail-test-0"), ("tau-retail-strict", "retail-test-16"),
    ("tau-airline", "airline-test-2"), ("tau-airline-strict", "airline-test-0"),
])
def test_the_tau_outcome_is_the_tau_bench_check_exactly(name, task_id, tau_root):
    domain = task_id.split("-")[0]
    task = next(t for t in load_tasks(domain, "test", tau_root) if t["id"] == task_id)
    env = ENVIRONMENTS[name](tau_root)
    replay(env, task["actions"])
    messages = [f"Done: {', '.join(task['outputs'])}." if task.get("outputs") else "Done."]
    reported = env.task_outcome(task, messages)
    assert json.dumps(reported) == json.dumps(outcome(type(env), task, env, messages).to_json())
    assert reported["reward"] == 1.0
    assert env.task_outcome(task, [])["reward"] == (0.0 if task.get("outputs") else 1.0)


def test_a_goal_without_gold_actions_has_no_tau_outcome(retail):
    assert retail.task_outcome({"id": "g", "instruction": "Return my boots."}, ["Done."]) is None
