"""The MultiWOZ tools against the database facts, and every refused precondition."""

from __future__ import annotations

import json
import re

import pytest

from ugst_dspy.envs.base import ToolEnvironment
from ugst_dspy.envs.multiwoz import (
    MAX_RESULTS,
    MULTIWOZ_POLICY,
    MULTIWOZ_TOOLS,
    MultiWOZEnv,
    find_entities,
    load_multiwoz_db,
    multiwoz_db_dir,
    parse_time,
)
from ugst_dspy.errors import UgstError

from .conftest import DB_DIR, file_digests

REFERENCE = re.compile(r"^[A-Z0-9]{8}$")


def found(result: str) -> dict:
    assert not result.startswith("Error"), result
    return json.loads(result)


def names(result: str) -> list[str]:
    return [e["name"] for e in found(result)["results"]]


def refused(result: str, *words: str) -> None:
    assert result.startswith("Error: "), result
    for word in words:
        assert word in result, result


# -- the interface --------------------------------------------------------------------------------


def test_tools_are_function_schemas_with_a_registered_function(env):
    assert isinstance(env, ToolEnvironment) and env.name == "multiwoz"
    assert env.tool_names == ["find_restaurant", "find_hotel", "find_attraction", "find_train", "find_hospital",
                              "find_police", "book_restaurant", "book_hotel", "book_train", "book_taxi"]
    for schema in MULTIWOZ_TOOLS:
        assert schema["type"] == "function"
        function = schema["function"]
        assert function["description"] and function["parameters"]["type"] == "object"
        assert set(function["parameters"]["required"]) <= set(function["parameters"]["properties"])
        assert callable(env.functions[function["name"]])
    assert env.schema("book_taxi")["function"]["parameters"]["required"] == ["departure", "destination"]
    assert "never invent" in MULTIWOZ_POLICY.lower() and "search before you book" in MULTIWOZ_POLICY.lower()
    assert env.policy == MULTIWOZ_POLICY and env.bookings == [] and env.db["bookings"] == []


def test_the_data_folder_may_be_given_three_ways(data_dir):
    assert multiwoz_db_dir(data_dir) == DB_DIR
    assert multiwoz_db_dir(data_dir / "multiwoz") == DB_DIR
    assert multiwoz_db_dir(DB_DIR) == DB_DIR
    assert MultiWOZEnv.default_goals_path(data_dir) == data_dir / "multiwoz" / "goals_test.jsonl"
    with pytest.raises(UgstError, match="MultiWOZ databases not found"):
        multiwoz_db_dir(data_dir / "tau_bench" if (data_dir / "tau_bench").is_dir() else data_dir.parent)


def test_unknown_tools_and_arguments_are_error_strings(env):
    refused(env.call("find_pub", {}), "unknown tool")
    refused(env.call("find_restaurant", {"colour": "red"}), "bad arguments", "colour")
    refused(env.call("book_restaurant", {"name": "ask restaurant"}), "missing argument", "people", "day", "time")


# -- searches -------------------------------------------------------------------------------------


def test_find_restaurant_matches_the_database(env, raw):
    expected = [e["name"] for e in raw["restaurant"]
                if (e["area"], e["food"], e["pricerange"]) == ("centre", "italian", "cheap")]
    assert sorted(expected) == ["ask restaurant", "pizza hut city centre", "zizzi cambridge"]
    assert names(env.find_restaurant(area="centre", food="italian", pricerange="cheap")) == expected
    # case, synonyms and "dontcare" are normalised
    spelled = {"area": "Center", "food": "ITALIAN", "pricerange": "inexpensive"}
    assert names(env.call("find_restaurant", spelled)) == expected
    any_price = found(env.find_restaurant(area="centre", food="italian", pricerange="dontcare"))
    assert any_price["count"] == sum(1 for e in raw["restaurant"] if (e["area"], e["food"]) == ("centre", "italian"))
    pizza = found(env.find_restaurant(name="Pizza Hut City Centre"))["results"]
    assert [(p["name"], p["phone"], p["postcode"]) for p in pizza] == [
        ("pizza hut city centre", "01223323737", "cb21ab")]
    assert "location" not in pizza[0]
    assert found(env.find_restaurant(name="pizza hut"))["count"] == 3  # part of a name
    assert found(env.find_restaurant(food="modern european", area="centre"))["count"] == sum(
        1 for e in raw["restaurant"] if (e["food"], e["area"]) == ("modern european", "centre"))


def test_find_restaurant_with_no_match_and_the_cap(env, raw):
    assert found(env.find_restaurant(area="east", food="korean")) == {"count": 0, "results": []}
    everything = found(env.find_restaurant())
    assert everything["count"] == len(raw["restaurant"]) and len(everything["results"]) == MAX_RESULTS


def test_find_hotel_matches_the_database(env, raw):
    expected = [e["name"] for e in raw["hotel"] if (e["area"], e["type"], e["parking"], e["stars"]) ==
                ("east", "guesthouse", "yes", "4")]
    assert len(expected) == 5
    result = env.call("find_hotel", {"area": "east", "type": "guest house", "parking": "free", "stars": "4 stars"})
    assert names(result) == expected
    assert names(env.find_hotel(name="the Cambridge Belfry")) == ["the cambridge belfry"]
    assert found(env.find_hotel(internet="no"))["count"] == 1
    assert found(env.find_hotel(pricerange="expensive", area="north"))["count"] == 0


def test_find_attraction_matches_the_database(env, raw):
    museums = [e["name"] for e in raw["attraction"] if e["type"] == "museum" and e["area"] == "centre"]
    assert names(env.find_attraction(area="centre", type="museum")) == museums[:MAX_RESULTS]
    assert found(env.find_attraction(area="centre", type="museum"))["count"] == len(museums)
    # the database spells the type "mutliple sports"; users do not
    assert names(env.find_attraction(type="multiple sports")) == ["the cherry hinton village centre"]
    assert names(env.find_attraction(type="swimming pool")) == names(env.find_attraction(type="swimmingpool"))
    fitz = found(env.find_attraction(name="fitzwilliam"))["results"]
    assert [(e["name"], e["entrance fee"]) for e in fitz] == [("the fitzwilliam museum", "free")]


def test_find_train_compares_times(env, raw):
    result = found(env.find_train(departure="cambridge", destination="london kings cross", day="monday",
                                  leaveAt="17:00"))
    expected = [e for e in raw["train"] if (e["departure"], e["destination"], e["day"]) ==
                ("cambridge", "london kings cross", "monday") and e["leaveAt"] >= "17:00"]
    assert result["count"] == len(expected) == 4
    assert [t["leaveAt"] for t in result["results"]] == ["17:00", "19:00", "21:00", "23:00"]
    assert result["results"][0]["trainID"] == "TR7786" and result["results"][0]["price"] == "23.60 pounds"
    # other spellings of the same question
    same = found(env.call("find_train", {"departure": "Cambridge", "destination": "kings cross", "day": "Mon",
                                         "leaveAt": "5pm"}))
    assert same == result
    arrive = found(env.find_train(departure="stansted airport", destination="cambridge", day="friday",
                                  arriveBy="10:00"))
    arrivals = [t["arriveBy"] for t in arrive["results"]]
    assert arrivals and all(a <= "10:00" for a in arrivals) and arrivals == sorted(arrivals, reverse=True)
    assert found(env.find_train(departure="ely", destination="norwich"))["count"] == 0
    assert found(env.find_train())["count"] == len(raw["train"])


def test_find_hospital_and_police(env, raw):
    cardiology = found(env.find_hospital(department="cardiology"))["results"]
    assert ("cardiology", "01223256233") in [(e["department"], e["phone"]) for e in cardiology]
    assert found(env.find_hospital())["count"] == len(raw["hospital"])
    police = found(env.call("find_police", {}))
    assert police["count"] == 1 and police["results"][0]["phone"] == "01223358966"
    assert police["results"][0]["address"] == "Parkside, Cambridge"


@pytest.mark.parametrize(
    ("tool", "arguments", "words"),
    [
        ("find_train", {"day": "funday"}, ("day must be a weekday",)),
        ("find_train", {"leaveAt": "evening"}, ("leaveAt must be a time",)),
        ("find_train", {"arriveBy": "25:10"}, ("arriveBy must be a time",)),
        ("find_hotel", {"stars": "five"}, ("stars",)),
        ("find_hotel", {"stars": "7"}, ("stars",)),
        ("find_hotel", {"parking": "maybe"}, ("parking must be yes or no",)),
    ],
)
def test_searches_refuse_malformed_values(env, tool, arguments, words):
    refused(env.call(tool, arguments), *words)
    refused(getattr(env, tool)(**arguments), *words)  # also when called directly


# -- bookings -------------------------------------------------------------------------------------


def test_book_restaurant(env):
    booking = found(env.call("book_restaurant", {"name": "Pizza Hut City Centre", "people": 4, "day": "Thursday",
                                                 "time": "6:30pm"}))
    assert booking["booked"] is True and REFERENCE.match(booking["reference"])
    assert env.bookings == [{"reference": booking["reference"], "domain": "restaurant",
                             "name": "pizza hut city centre", "people": 4, "day": "thursday", "time": "18:30"}]
    assert env.db["bookings"] is env.bookings


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"name": "the golden dragon palace"}, ("no restaurant named",)),
        ({"name": "pizza hut"}, ("matches several", "pizza hut cherry hinton")),
        ({"name": "  "}, ("name must not be empty",)),
        ({"people": 0}, ("people must be between 1 and 20",)),
        ({"people": 21}, ("people must be between 1 and 20",)),
        ({"people": "two"}, ("people must be a whole number",)),
        ({"people": True}, ("people must be a whole number",)),
        ({"day": "someday"}, ("day must be a weekday",)),
        ({"time": "24:30"}, ("time must be a time",)),
        ({"time": "dinner"}, ("time must be a time",)),
    ],
)
def test_book_restaurant_refusals(env, arguments, words):
    call = {"name": "ask restaurant", "people": 2, "day": "friday", "time": "19:00", **arguments}
    refused(env.call("book_restaurant", call), *words)
    assert env.bookings == []


def test_book_hotel(env, raw):
    booking = found(env.call("book_hotel", {"name": "cambridge belfry", "people": "2", "day": "fri", "stay": 3}))
    assert REFERENCE.match(booking["reference"])
    assert env.bookings[0] == {"reference": booking["reference"], "domain": "hotel", "name": "the cambridge belfry",
                               "people": 2, "day": "friday", "stay": 3}
    for arguments, words in [({"stay": 0}, ("stay must be between 1 and 14",)), ({"stay": 15}, ("stay",)),
                             ({"stay": 2.5}, ("stay must be a whole number",)), ({"name": "hilton"}, ("no hotel",)),
                             ({"day": "tomorrow"}, ("day",))]:
        refused(env.book_hotel(**{"name": "avalon", "people": 1, "day": "monday", "stay": 1, **arguments}), *words)
    closed = {**raw, "hotel": [{**h, "takesbookings": "no"} if h["name"] == "avalon" else h for h in raw["hotel"]]}
    refused(MultiWOZEnv(db=closed).book_hotel(name="avalon", people=1, day="monday", stay=1), "does not take bookings")
    assert len(env.bookings) == 1


def test_book_train(env):
    refused(env.book_train(train_id="TR7409", people=2), "runs more than once", "monday", "saturday")
    booking = found(env.call("book_train", {"train_id": "tr7409", "people": 2, "day": "monday"}))
    assert {k: booking[k] for k in ("trainID", "day", "departure", "destination", "leaveAt", "people",
                                    "total_price")} == {
        "trainID": "TR7409", "day": "monday", "departure": "cambridge", "destination": "london kings cross",
        "leaveAt": "09:00", "people": 2, "total_price": "47.20 GBP"}
    assert found(env.book_train(train_id="TR7075", people=1))["total_price"] == "23.60 GBP"  # 23.60 pounds each
    refused(env.book_train(train_id="TR0000", people=1), "no train")
    refused(env.book_train(train_id="TR7075", people=1, day="sunday"), "does not run")
    refused(env.book_train(train_id="TR7075", people=0), "people")
    refused(env.call("book_train", {"people": 1}), "missing argument", "train_id")
    assert [b["trainID"] for b in env.bookings] == ["TR7409", "TR7075"]


def test_book_taxi(env, raw):
    booking = found(env.call("book_taxi", {"departure": "pizza hut city centre", "destination": "the cambridge belfry",
                                           "arriveBy": "18:15"}))
    colour, make = booking["car_type"].split()
    taxi = raw["taxi"][0] if isinstance(raw["taxi"], list) else raw["taxi"]
    assert colour in taxi["taxi_colors"] and make in taxi["taxi_types"]
    assert re.match(taxi["taxi_phone"][0], booking["phone"]) and REFERENCE.match(booking["reference"])
    assert env.bookings[-1]["arriveBy"] == "18:15" and "leaveAt" not in env.bookings[-1]
    for arguments, words in [
        ({"destination": "Pizza Hut City Centre"}, ("must be different",)),
        ({"leaveAt": None, "arriveBy": None}, ("give leaveAt or arriveBy",)),
        ({"leaveAt": "soon"}, ("leaveAt must be a time",)),
        ({"leaveAt": "19:00", "arriveBy": "18:00"}, ("leaveAt must be before arriveBy",)),
        ({"departure": ""}, ("departure must not be empty",)),
    ]:
        call = {"departure": "pizza hut city centre", "destination": "ask restaurant", "leaveAt": "17:00", **arguments}
        refused(env.book_taxi(**call), *words)
    assert len(env.bookings) == 1


def test_references_are_deterministic_per_seed_and_refusals_use_none(data_dir):
    def references(seed: int, fail_first: bool = False) -> list[str]:
        env = MultiWOZEnv(data_dir, seed=seed)
        if fail_first:
            refused(env.book_restaurant(name="nowhere", people=1, day="monday", time="12:00"))
        out = [found(env.book_restaurant(name="ask restaurant", people=2, day="monday", time="12:00"))["reference"]
               for _ in range(20)]
        out.append(found(env.book_taxi(departure="a", destination="b", leaveAt="10:00"))["reference"])
        return out

    first = references(5)
    assert first == references(5) == references(5, fail_first=True)
    assert len(set(first)) == len(first) and all(REFERENCE.match(r) for r in first)
    assert references(6) != first


# -- the shared files -----------------------------------------------------------------------------


def test_each_env_has_its_own_copy_and_the_files_never_change(data_dir, raw, digests_before):
    first, second = MultiWOZEnv(data_dir), MultiWOZEnv(data_dir)
    first.db["restaurant"].clear()
    first.db["hotel"][0]["name"] = "changed"
    found(first.book_train(train_id="TR7075", people=3))
    assert second.db["restaurant"] == raw["restaurant"] and second.db["hotel"] == raw["hotel"]
    assert second.bookings == [] and load_multiwoz_db(data_dir)["hotel"] == raw["hotel"]
    assert names(second.find_restaurant(name="ask restaurant")) == ["ask restaurant"]
    assert file_digests() == digests_before


def test_find_entities_is_the_tools_matching(data_dir):
    db = load_multiwoz_db(data_dir)
    assert [e["name"] for e in find_entities(db, "restaurant", {"area": "centre", "food": "italian",
                                                                 "pricerange": "cheap"})] == [
        "pizza hut city centre", "ask restaurant", "zizzi cambridge"]
    with pytest.raises(ValueError, match="no field 'food'"):
        find_entities(db, "hotel", {"food": "thai"})
    assert parse_time("24:10") == 24 * 60 + 10 and parse_time("9.30am") == 570
