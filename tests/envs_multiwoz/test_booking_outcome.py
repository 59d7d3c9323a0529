"""The MultiWOZ booking outcome (:mod:`ugst_dspy.envs.multiwoz_outcome`): the right bookings made with the
environment's tools score 1.0, a wrong day, party, place or ride 0.0, a goal without a booking has no
outcome, and an impossible objective is counted apart and expects no booking. Both goal kinds: the MultiWOZ
test goals and generated goals."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ugst_dspy.envs.multiwoz import MultiWOZEnv, find_entities, load_multiwoz_db
from ugst_dspy.envs.multiwoz_outcome import booking_outcome

GOALS_TEST = Path(__file__).resolve().parents[2] / "ugst_dspy" / "data" / "multiwoz" / "goals_test.jsonl"


@pytest.fixture(scope="module")
def test_goals() -> dict[str, dict[str, Any]]:
    """The MultiWOZ test goals by id, as the goal file holds them."""
    records = [json.loads(line) for line in GOALS_TEST.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {record["id"]: record for record in records}


def booked(result: str) -> dict[str, Any]:
    assert not result.startswith("Error"), result
    return json.loads(result)


def book_place(env: MultiWOZEnv, domain: str, constraints: Mapping[str, Any], details: Mapping[str, Any],
               **changes: Any) -> dict[str, Any]:
    """Book the first restaurant or hotel meeting ``constraints`` with ``details`` (``changes`` override them)."""
    place = find_entities(env.db, domain, constraints)[0]
    wanted = {**details, **changes}
    arguments = {"name": place["name"], "people": int(wanted["people"]), "day": wanted["day"]}
    arguments.update({"time": wanted["time"]} if domain == "restaurant" else {"stay": int(wanted["stay"])})
    return booked(env.call(f"book_{domain}", arguments))


def book_train(env: MultiWOZEnv, constraints: Mapping[str, Any], people: Any) -> dict[str, Any]:
    """Book the first train run meeting ``constraints`` for ``people``."""
    run = find_entities(env.db, "train", constraints)[0]
    return booked(env.call("book_train", {"train_id": run["trainID"], "people": int(people), "day": run["day"],
                                          "departure": run["departure"], "destination": run["destination"]}))


def outcome(env: MultiWOZEnv, goal: Mapping[str, Any]) -> dict[str, Any] | None:
    result = env.task_outcome(goal, ["Your booking is confirmed."])
    assert result == booking_outcome(goal, env.db, env.bookings)
    json.dumps(result)  # JSON as it is
    return result


# -- MultiWOZ test goals ----------------------------------------------------------------------------


def test_the_environment_reports_its_booking_outcome_under_its_key(env):
    assert type(env).outcome_key == "multiwoz_booking"


def test_the_right_restaurant_and_train_bookings_score_one(env, test_goals):
    goal = test_goals["PMUL4626"]  # curry prince for 6 on tuesday at 14:00; a train to london for 6
    spec = goal["goal"]
    assert outcome(env, goal) == {"reward": 0.0, "bookings_expected": 2, "bookings_matched": 0,
                                  "matched": [False, False], "impossible": 0, "impossible_booked": 0}
    book_place(env, "restaurant", spec["restaurant"]["info"], spec["restaurant"]["book"])
    assert outcome(env, goal)["matched"] == [True, False]
    book_train(env, spec["train"]["info"], spec["train"]["book"]["people"])
    assert outcome(env, goal) == {"reward": 1.0, "bookings_expected": 2, "bookings_matched": 2,
                                  "matched": [True, True], "impossible": 0, "impossible_booked": 0}


@pytest.mark.parametrize("change", [{"day": "wednesday"}, {"people": 5}, {"time": "14:15"}])
def test_a_wrong_booking_detail_scores_zero(data_dir, test_goals, change):
    env = MultiWOZEnv(data_dir)
    goal = test_goals["PMUL4626"]
    spec = goal["goal"]
    book_place(env, "restaurant", spec["restaurant"]["info"], spec["restaurant"]["book"], **change)
    book_train(env, spec["train"]["info"], spec["train"]["book"]["people"])
    result = outcome(env, goal)
    assert result["reward"] == 0.0 and result["matched"] == [False, True]


def test_a_place_that_breaks_the_constraints_scores_zero(env, test_goals):
    goal = test_goals["MUL1598"]  # an expensive chinese restaurant in the north
    spec = goal["goal"]
    book_place(env, "restaurant", {"food": "italian", "area": "centre"}, spec["restaurant"]["book"])
    assert outcome(env, goal)["matched"] == [False, False]
    book_train(env, {**spec["train"]["info"], "day": "wednesday"}, 1)  # the right route, the wrong day
    assert outcome(env, goal)["matched"] == [False, False]
    book_place(env, "restaurant", spec["restaurant"]["info"], spec["restaurant"]["book"])
    book_train(env, spec["train"]["info"], 1)
    assert outcome(env, goal)["reward"] == 1.0  # the earlier wrong bookings are not held against it


def test_a_goal_without_a_booking_has_no_outcome(env, test_goals):
    goal = test_goals["PMUL4648"]  # an attraction and a restaurant, nothing to book
    assert outcome(env, goal) is None
    book_place(env, "restaurant", goal["goal"]["restaurant"]["info"], {"people": 2, "day": "monday", "time": "19:00"})
    assert outcome(env, goal) is None
    assert outcome(env, {"id": "x", "instruction": "Find me a museum."}) is None


def test_the_first_attempt_a_goal_meant_to_fail_counts_too(data_dir, test_goals):
    goal = test_goals["MUL1066"]  # warkworth house for 2 nights, "if the booking fails how about 3"
    spec = goal["goal"]["hotel"]
    assert spec["book"]["stay"] == "2" and spec["fail_book"] == {"stay": "3"}
    for stay, matched in ((3, True), (2, True), (4, False)):
        env = MultiWOZEnv(data_dir)
        book_place(env, "hotel", spec["info"], spec["book"], stay=stay)
        booked(env.call("book_taxi", {"departure": "warkworth house", "destination": "cambridge station",
                                      "leaveAt": "02:45"}))
        assert outcome(env, goal)["matched"] == [matched, True], stay


def test_a_first_choice_place_the_database_holds_counts_too(data_dir, test_goals):
    goal = next(g for g in test_goals.values() if g["goal"]["restaurant"].get("book")
                and g["goal"]["restaurant"].get("fail_info") and not g["goal"]["taxi"] and not g["goal"]["hotel"]
                and not g["goal"]["train"].get("book")
                and find_entities(load_multiwoz_db(data_dir), "restaurant", g["goal"]["restaurant"]["fail_info"]))
    spec = goal["goal"]["restaurant"]
    for constraints in (spec["info"], spec["fail_info"]):
        env = MultiWOZEnv(data_dir)
        book_place(env, "restaurant", constraints, spec["book"])
        assert outcome(env, goal)["reward"] == 1.0, constraints


def test_a_taxi_must_take_the_goal_places_at_the_goal_times(data_dir, test_goals):
    goal = test_goals["SNG0073"]  # saint john's college to pizza hut fen ditton, leaving after 17:15
    rides = [
        ({"departure": "Saint John's College", "destination": "Pizza Hut Fen Ditton", "leaveAt": "17:15"}, 1.0),
        ({"departure": "saint johns college", "destination": "pizza hut fen ditton, Cambridge", "leaveAt": "17:30"},
         1.0),
        ({"departure": "saint john's college", "destination": "pizza hut fen ditton", "leaveAt": "17:00"}, 0.0),
        ({"departure": "saint john's college", "destination": "pizza hut city centre", "leaveAt": "17:15"}, 0.0),
        ({"departure": "saint john's college", "destination": "pizza hut fen ditton", "arriveBy": "17:45"}, 0.0),
    ]
    for ride, reward in rides:
        env = MultiWOZEnv(data_dir)
        booked(env.call("book_taxi", ride))
        assert outcome(env, goal)["reward"] == reward, ride


def test_a_taxi_time_past_midnight_is_the_next_morning(env, test_goals):
    goal = test_goals["MUL1139"]  # a hotel, and a taxi leaving after 24:30
    spec = goal["goal"]["hotel"]
    book_place(env, "hotel", spec["info"], spec["book"])
    booked(env.call("book_taxi", {"departure": "the hotel", "destination": "the station", "leaveAt": "00:30"}))
    assert outcome(env, goal)["reward"] == 1.0


def test_a_test_goal_no_entity_meets_is_impossible(env, test_goals):
    goal = test_goals["PMUL3907"]  # "meze bar restaurant": no restaurant has that name
    assert find_entities(env.db, "restaurant", goal["goal"]["restaurant"]["info"]) == []
    assert outcome(env, goal) == {"reward": 1.0, "bookings_expected": 0, "bookings_matched": 0, "matched": [],
                                  "impossible": 1, "impossible_booked": 0}
    book_place(env, "restaurant", {"name": "meze bar"}, goal["goal"]["restaurant"]["book"])
    assert outcome(env, goal)["reward"] == 0.0 and outcome(env, goal)["impossible_booked"] == 1


# -- generated goals --------------------------------------------------------------------------------


def book_objective(env: MultiWOZEnv, objective: Mapping[str, Any]) -> None:
    """Make the booking a generated objective asks for, with its target."""
    domain, booking, target = objective["domain"], objective["booking"], objective["target"]
    if domain == "taxi":
        booked(env.call("book_taxi", dict(booking)))
    elif domain == "train":
        booked(env.call("book_train", {"train_id": target["trainID"], "people": booking["people"], "day": target["day"],
                                       "departure": target["departure"], "destination": target["destination"]}))
    else:
        book_place(env, domain, {"name": target["name"]}, booking)


def test_every_generated_goal_scores_one_with_its_bookings_made(data_dir, goals):
    scored = 0
    for goal in goals:
        record = goal.to_goal_json()
        env = MultiWOZEnv(data_dir)
        wanted = [o for o in record["objectives"] if o["booking"] is not None]
        if not wanted:
            assert outcome(env, record) is None, goal.id
            continue
        assert outcome(env, record)["reward"] == 0.0, goal.id
        for objective in wanted:
            book_objective(env, objective)
        result = outcome(env, record)
        assert result["reward"] == 1.0 and result["bookings_expected"] == len(wanted), (goal.id, result)
        assert result["impossible"] == len(goal.impossible)
        scored += 1
    assert scored >= 40


def test_a_generated_booking_with_a_wrong_detail_scores_zero(data_dir, goals):
    record = next(g.to_goal_json() for g in goals
                  if any(o["domain"] == "restaurant" and o["booking"] for o in g.objectives))
    objective = next(o for o in record["objectives"] if o["domain"] == "restaurant" and o["booking"])
    env = MultiWOZEnv(data_dir)
    wrong_day = "monday" if objective["booking"]["day"] != "monday" else "tuesday"
    book_place(env, "restaurant", {"name": objective["target"]["name"]}, objective["booking"], day=wrong_day)
    result = outcome(env, record)
    assert result["reward"] == 0.0 and result["bookings_matched"] == 0


def test_a_conditional_first_choice_is_not_the_booking_asked_for(data_dir, goals):
    record = next(g.to_goal_json() for g in goals
                  if any(o["conditional"] and o["conditional"]["fires"] and o["booking"] for o in g.objectives))
    objective = next(o for o in record["objectives"] if o["conditional"] and o["booking"])
    conditional = objective["conditional"]
    first_choice = {**objective["constraints"], conditional["slot"]: conditional["primary"]}
    env = MultiWOZEnv(data_dir)
    book_place(env, objective["domain"], first_choice, objective["booking"])
    assert outcome(env, record)["bookings_matched"] == 0
    book_objective(env, objective)
    assert outcome(env, record)["matched"][0] is True


def test_an_impossible_generated_objective_expects_no_booking(data_dir, goals):
    goal = next(g for g in goals if g.impossible and any(o["booking"] for o in g.objectives)
                and g.objectives[g.impossible[0]]["domain"] in ("restaurant", "hotel"))
    record = goal.to_goal_json()
    impossible = record["objectives"][goal.impossible[0]]
    env = MultiWOZEnv(data_dir)
    for objective in record["objectives"]:
        if objective["booking"] is not None:
            book_objective(env, objective)
    result = outcome(env, record)
    assert result["reward"] == 1.0 and result["impossible"] == 1 and result["impossible_booked"] == 0
    assert result["bookings_expected"] == sum(o["booking"] is not None for o in record["objectives"])
    details = {"people": 2, "day": "friday", "time": "19:00", "stay": 1}
    book_place(env, impossible["domain"], {}, details)  # a substitute the user did not ask for
    result = outcome(env, record)
    assert result["reward"] == 0.0 and result["impossible_booked"] == 1 and all(result["matched"])
