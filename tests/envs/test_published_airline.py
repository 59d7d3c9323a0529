"""``tau-airline`` beyond the gold actions: each tool answers as τ-bench's published airline tools do (the exact
string) and leaves the database as they do, quirks included (no seats ever move, ``HATHAT`` ids, credits at
once, no policy checks). The gold actions themselves are checked against upstream's recorded answers in
test_upstream_replay.py."""

from __future__ import annotations

import copy
import json

import pytest

from ugst_dspy.envs.registry import make_env

from .conftest import snapshot

MIA = "mia_li_3668"  # gold: certificate_4856383 (100), certificate_7504069 (250), credit_card_4421486
MIA_TRIP = [{"flight_number": "HAT136", "date": "2024-05-20"}, {"flight_number": "HAT039", "date": "2024-05-20"}]
MIA_PASSENGER = [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}]
MEI = "mei_hernandez_8984"  # gift_card_5309492 (98), credit_card_2140654
RAJ = "raj_brown_5782"
RAJ_TRIP = "VA5SGQ"  # economy DTW-PHX-LGA 05-17, LGA-PHX-DTW 05-19/20: 163 + 184 + 174 + 135, 1 passenger
RAJ_CARD = "credit_card_8003957"
RAJ_GIFT = "gift_card_6468981"  # holds 279
DAIKI_BASIC = "XEHM4B"  # basic economy HAT005 05-20 (65), HAT178 05-30 (83), 2 passengers, paid 296
DAIKI_CARD = "credit_card_2408938"
AIRPORTS = (
    '{"SFO": "San Francisco", "JFK": "New York", "LAX": "Los Angeles", "ORD": "Chicago", "DFW": "Dallas", '
    '"DEN": "Denver", "SEA": "Seattle", "ATL": "Atlanta", "MIA": "Miami", "BOS": "Boston", "PHX": "Phoenix", '
    '"IAH": "Houston", "LAS": "Las Vegas", "MCO": "Orlando", "EWR": "Newark", "CLT": "Charlotte", '
    '"MSP": "Minneapolis", "DTW": "Detroit", "PHL": "Philadelphia", "LGA": "LaGuardia"}'
)
HIT_KEYS = ["flight_number", "origin", "destination", "scheduled_departure_time_est", "scheduled_arrival_time_est",
            "status", "available_seats", "prices"]  # fmt: skip


@pytest.fixture
def env():
    return make_env("tau-airline")


@pytest.fixture
def original():
    return make_env("tau-airline").db


def legs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"flight_number": number, "date": date} for number, date in pairs]


def pay(*payments: tuple[str, float]) -> list[dict]:
    return [{"payment_id": method, "amount": amount} for method, amount in payments]


def booking(**changes) -> dict:
    """airline-test-0's gold booking (JFK-ATL-SEA economy, 152 + 103 = 250 certificate + 5 card), with changes."""
    arguments = {
        "user_id": MIA, "origin": "JFK", "destination": "SEA", "flight_type": "one_way", "cabin": "economy",
        "flights": MIA_TRIP, "passengers": MIA_PASSENGER,
        "payment_methods": pay(("certificate_7504069", 250), ("credit_card_4421486", 5)),
        "total_baggages": 3, "nonfree_baggages": 0, "insurance": "no",
    }  # fmt: skip
    return {**arguments, **changes}


def unchanged(env, name: str, **arguments) -> str:
    """Call a tool that must leave the database as it was; its answer."""
    before = snapshot(env)
    result = env.call(name, arguments)
    assert snapshot(env) == before
    return result


def record(env, reservation_id: str) -> str:
    """The stored reservation as upstream dumps it: what a write answers."""
    return json.dumps(env.db["reservations"][reservation_id])


def methods(env, user_id: str) -> dict:
    return env.db["users"][user_id]["payment_methods"]


# -- the environment and look-ups --------------------------------------------------------------------


def test_the_tools_are_upstreams_fourteen(env):
    assert env.name == "tau-airline" and env.domain == "airline" and env.published
    assert sorted(env.functions) == sorted(env.tool_names) and len(env.tool_names) == 14


def test_look_ups_answer_the_records_as_upstream_dumps_them(env, original):
    assert unchanged(env, "get_user_details", user_id=MIA) == json.dumps(original["users"][MIA])
    assert unchanged(env, "get_reservation_details", reservation_id=RAJ_TRIP) == json.dumps(
        original["reservations"][RAJ_TRIP])
    assert unchanged(env, "get_user_details", user_id="mia_li_0000") == "Error: user not found"
    # upstream's wording for a missing reservation too
    assert unchanged(env, "get_reservation_details", reservation_id="ZZZZZZ") == "Error: user not found"
    assert unchanged(env, "list_all_airports") == AIRPORTS


def test_search_direct_flight(env, original):
    result = unchanged(env, "search_direct_flight", origin="JFK", destination="ATL", date="2024-05-20")
    flights = original["flights"]
    expected = []
    for number in ("HAT057", "HAT136", "HAT218", "HAT268"):  # table order
        hit = {key: value for key, value in flights[number].items() if key != "dates"}
        expected.append({**hit, **flights[number]["dates"]["2024-05-20"]})
    found = json.loads(result)
    assert [f["flight_number"] for f in found] == [f["flight_number"] for f in expected]
    assert result == json.dumps(expected) and list(found[0]) == HIT_KEYS  # no "date" field
    # 05-15: two landed, two delayed (only "available" dates are listed); then not in the calendar, nonsense
    for date in ("2024-05-15", "2024-06-20", "5/20"):
        assert unchanged(env, "search_direct_flight", origin="JFK", destination="ATL", date=date) == "[]"
    assert unchanged(env, "search_direct_flight", origin="XXX", destination="ATL", date="2024-05-20") == "[]"


def test_search_onestop_flight_pairs_by_scheduled_times_as_text(env, original):
    result = unchanged(env, "search_onestop_flight", origin="LGA", destination="DTW", date="2024-05-19")
    pairs = json.loads(result)
    assert [(a["flight_number"], a["date"], b["flight_number"], b["date"]) for a, b in pairs] == [
        ("HAT002", "2024-05-19", "HAT073", "2024-05-20"),  # "01:30:00+1" <= "06:00:00"
        ("HAT002", "2024-05-19", "HAT106", "2024-05-20"),
        ("HAT002", "2024-05-19", "HAT265", "2024-05-20"),
        ("HAT065", "2024-05-19", "HAT167", "2024-05-19"),
        ("HAT114", "2024-05-19", "HAT073", "2024-05-20"),
        ("HAT114", "2024-05-19", "HAT106", "2024-05-20"),
        ("HAT114", "2024-05-19", "HAT265", "2024-05-20"),
        ("HAT211", "2024-05-19", "HAT167", "2024-05-19"),
        ("HAT245", "2024-05-19", "HAT073", "2024-05-19"),  # arrives 04:30: HAT106 (04:00) is too early
        ("HAT245", "2024-05-19", "HAT265", "2024-05-19"),
    ]
    assert list(pairs[0][0]) == [*HIT_KEYS, "date"] and list(pairs[0][1]) == [*HIT_KEYS, "date"]
    # after an overnight leg the second leg is dated the next day but shows the searched day's seats and prices
    flights = original["flights"]
    second = pairs[0][1]
    assert second["prices"] == flights["HAT073"]["dates"]["2024-05-19"]["prices"]
    assert second["prices"] != flights["HAT073"]["dates"]["2024-05-20"]["prices"]
    first = {key: value for key, value in flights["HAT002"].items() if key != "dates"}
    assert pairs[0][0] == {**first, **flights["HAT002"]["dates"]["2024-05-19"], "date": "2024-05-19"}


def test_search_onestop_flight_next_day_is_written_unpadded_in_may(env):
    # on 05-30 an overnight leg would connect on 2024-05-31, a date no flight has
    late = json.loads(unchanged(env, "search_onestop_flight", origin="LGA", destination="DTW", date="2024-05-30"))
    assert env.db["flights"]["HAT002"]["dates"]["2024-05-30"]["status"] == "available"
    assert late and all(a["flight_number"] not in ("HAT002", "HAT114") for a, _ in late)
    # from the 5th upstream looks for "2024-05-6": make HAT002 bookable on the 5th and give HAT073 such a date
    day = copy.deepcopy(env.db["flights"]["HAT002"]["dates"]["2024-05-20"])
    env.db["flights"]["HAT002"]["dates"]["2024-05-05"] = day
    assert env.call("search_onestop_flight", {"origin": "LGA", "destination": "PHX", "date": "2024-05-05"}) == "[]"
    assert env.call("search_onestop_flight", {"origin": "LGA", "destination": "DTW", "date": "2024-05-05"}) == "[]"
    env.db["flights"]["HAT073"]["dates"]["2024-05-6"] = {"status": "available"}
    env.db["flights"]["HAT073"]["dates"]["2024-05-05"] = {"status": "landed"}
    pairs = json.loads(env.call("search_onestop_flight", {"origin": "LGA", "destination": "DTW", "date": "2024-05-05"}))
    assert [(a["flight_number"], b["flight_number"], b["date"], b["status"]) for a, b in pairs] == [
        ("HAT002", "HAT073", "2024-05-6", "landed")]


# -- booking -----------------------------------------------------------------------------------------


def test_book_reservation_as_upstream(env, original):
    result = env.call("book_reservation", booking())
    stored = env.db["reservations"]["HATHAT"]
    assert result == json.dumps(stored)
    assert list(stored) == ["reservation_id", "user_id", "origin", "destination", "flight_type", "cabin", "flights",
                            "passengers", "payment_history", "created_at", "total_baggages", "nonfree_baggages",
                            "insurance"]  # fmt: skip
    assert stored["flights"] == [
        {"flight_number": "HAT136", "date": "2024-05-20", "price": 152, "origin": "JFK", "destination": "ATL"},
        {"flight_number": "HAT039", "date": "2024-05-20", "price": 103, "origin": "ATL", "destination": "SEA"},
    ]
    assert [list(leg) for leg in stored["flights"]] == [["flight_number", "date", "price", "origin", "destination"]] * 2
    assert stored["created_at"] == "2024-05-15T15:00:00" and stored["payment_history"] == booking()["payment_methods"]
    assert "certificate_7504069" not in methods(env, MIA)  # a certificate is used up whole
    assert methods(env, MIA)["credit_card_4421486"] == original["users"][MIA]["payment_methods"]["credit_card_4421486"]
    assert env.db["users"][MIA]["reservations"] == [*original["users"][MIA]["reservations"], "HATHAT"]
    assert env.db["flights"] == original["flights"]  # no seat is taken


def test_reservation_ids_hathat_hathau_then_hathav_again(env):
    free = pay(("credit_card_4421486", 0))
    cheap = booking(flights=[], payment_methods=free)
    assert [json.loads(env.call("book_reservation", cheap))["reservation_id"] for _ in range(4)] == [
        "HATHAT", "HATHAU", "HATHAV", "HATHAV"]
    assert env.db["users"][MIA]["reservations"][-4:] == ["HATHAT", "HATHAU", "HATHAV", "HATHAV"]


def test_book_reservation_checks_no_policy(env, original):
    # two certificates, six passengers, a wrong route and trip type, bags beyond the allowance, a total of 0
    arguments = booking(origin="LAX", flight_type="round_trip", cabin="basic_economy", passengers=MIA_PASSENGER * 6,
                        total_baggages=9, nonfree_baggages=1,
                        payment_methods=pay(("certificate_7504069", 250), ("certificate_4856383", 99),
                                            ("credit_card_4421486", 325)))  # 6 * (52 + 52) + 50
    result = env.call("book_reservation", arguments)
    assert result == record(env, "HATHAT")
    assert not {"certificate_7504069", "certificate_4856383"} & set(methods(env, MIA))  # 1 left on one: gone
    assert env.db["flights"] == original["flights"]
    empty = env.call("book_reservation", booking(flights=[], payment_methods=[], passengers=[]))
    assert empty == record(env, "HATHAU") and json.loads(empty)["payment_history"] == []


def test_a_gift_card_named_twice_may_go_below_zero(env):
    # basic economy 52 + 52: each part fits the 98 on the card, both together do not
    arguments = booking(user_id=MEI, cabin="basic_economy",
                        payment_methods=pay(("gift_card_5309492", 60), ("gift_card_5309492", 44)))
    assert env.call("book_reservation", arguments) == record(env, "HATHAT")
    assert methods(env, MEI)["gift_card_5309492"]["amount"] == -6


def test_a_certificate_named_twice_is_spent_and_nothing_is_booked(env, original):
    arguments = booking(payment_methods=pay(("certificate_7504069", 127.5), ("certificate_7504069", 127.5)))
    assert env.call("book_reservation", arguments) == "Error: 'certificate_7504069'"
    assert "certificate_7504069" not in methods(env, MIA)
    assert env.db["reservations"] == original["reservations"]
    assert env.db["users"][MIA]["reservations"] == original["users"][MIA]["reservations"]


@pytest.mark.parametrize(
    ("changes", "answer"),
    [
        ({"user_id": "nobody_1"}, "Error: user not found"),
        ({"flights": legs(("HAT999", "2024-05-20"))}, "Error: flight HAT999 not found"),
        ({"flights": legs(("HAT136", "2024-06-01"))}, "Error: flight HAT136 not found on date 2024-06-01"),
        ({"flights": legs(("HAT136", "2024-05-20"), ("HAT001", "2024-05-01"))},
         "Error: flight HAT001 not available on date 2024-05-01"),
        ({"cabin": "business", "passengers": MIA_PASSENGER * 3}, "Error: not enough seats on flight HAT136"),
        ({"cabin": "first"}, "Error: 'first'"),
        ({"payment_methods": pay(("gift_card_0000000", 255))}, "Error: payment method gift_card_0000000 not found"),
        ({"payment_methods": pay(("certificate_4856383", 255))},
         "Error: not enough balance in payment method certificate_4856383"),
        ({"payment_methods": pay(("certificate_7504069", 250), ("credit_card_4421486", 4))},
         "Error: payment amount does not add up, total price is 255, but paid 254"),
        ({"insurance": "yes", "nonfree_baggages": 1},
         "Error: payment amount does not add up, total price is 335, but paid 255"),
        ({"flights": [{"flight_number": "HAT136"}]}, "Error: 'date'"),
        ({"nonfree_baggages": "1"}, "Error: unsupported operand type(s) for +=: 'int' and 'str'"),
    ],
)
def test_book_reservation_refusals(env, changes, answer):
    assert unchanged(env, "book_reservation", **booking(**changes)) == answer


def test_book_reservation_bad_arguments(env):
    arguments = booking()
    del arguments["insurance"]
    assert unchanged(env, "book_reservation", **arguments) == (
        "Error: BookReservation.invoke() missing 1 required positional argument: 'insurance'")
    assert unchanged(env, "book_reservation", **booking(seat="12A")) == (
        "Error: BookReservation.invoke() got an unexpected keyword argument 'seat'")


# -- cancelling --------------------------------------------------------------------------------------


def test_cancel_appends_one_refund_per_payment_and_may_repeat(env, original):
    arguments = booking(user_id=MEI, cabin="basic_economy",
                        payment_methods=pay(("gift_card_5309492", 98), ("credit_card_2140654", 6)))
    env.call("book_reservation", arguments)
    result = env.call("cancel_reservation", {"reservation_id": "HATHAT"})
    stored = env.db["reservations"]["HATHAT"]
    assert result == json.dumps(stored) and list(stored)[-1] == "status" and stored["status"] == "cancelled"
    paid = pay(("gift_card_5309492", 98), ("credit_card_2140654", 6))
    assert stored["payment_history"] == [*paid, *pay(("gift_card_5309492", -98), ("credit_card_2140654", -6))]
    assert methods(env, MEI)["gift_card_5309492"]["amount"] == 0  # the refund moves no balance
    # a second cancel refunds every entry again, the refunds too
    env.call("cancel_reservation", {"reservation_id": "HATHAT"})
    assert [entry["amount"] for entry in stored["payment_history"]] == [98, 6, -98, -6, -98, -6, 98, 6]
    assert env.db["flights"] == original["flights"]  # no seat comes back


def test_cancel_checks_no_policy(env, original):
    # NQNU5R has flown, H9ZU1C was booked long ago without insurance: upstream cancels both
    for reservation_id in ("NQNU5R", "H9ZU1C"):
        before = original["reservations"][reservation_id]
        result = env.call("cancel_reservation", {"reservation_id": reservation_id})
        refunds = [{"payment_id": e["payment_id"], "amount": -e["amount"]} for e in before["payment_history"]]
        assert result == record(env, reservation_id)
        assert env.db["reservations"][reservation_id] == {
            **before, "payment_history": before["payment_history"] + refunds, "status": "cancelled"}
    assert env.db["users"] == original["users"] and env.db["flights"] == original["flights"]
    assert unchanged(env, "cancel_reservation", reservation_id="ZZZZZZ") == "Error: reservation not found"
    assert unchanged(env, "cancel_reservation") == (
        "Error: CancelReservation.invoke() missing 1 required positional argument: 'reservation_id'")


# -- baggage -----------------------------------------------------------------------------------------


def bags(env, total, nonfree, payment=RAJ_CARD, reservation=RAJ_TRIP) -> str:
    return env.call("update_reservation_baggages", {"reservation_id": reservation, "total_baggages": total,
                                                    "nonfree_baggages": nonfree, "payment_id": payment})


def test_more_bags_cost_50_each_beyond_the_reservations(env, original):
    assert bags(env, 3, 2) == record(env, RAJ_TRIP)  # no allowance check: Raj is a regular member
    stored = env.db["reservations"][RAJ_TRIP]
    assert (stored["total_baggages"], stored["nonfree_baggages"]) == (3, 2)
    assert stored["payment_history"] == [*original["reservations"][RAJ_TRIP]["payment_history"], *pay((RAJ_CARD, 100))]
    assert bags(env, 4, 3, RAJ_GIFT) == record(env, RAJ_TRIP)
    assert methods(env, RAJ)[RAJ_GIFT]["amount"] == 229 and stored["payment_history"][-1] == pay((RAJ_GIFT, 50))[0]


def test_fewer_or_free_bags_cost_nothing_and_add_no_payment(env, original):
    bags(env, 2, 2)
    history = copy.deepcopy(env.db["reservations"][RAJ_TRIP]["payment_history"])
    assert bags(env, 0, 0, RAJ_GIFT) == record(env, RAJ_TRIP)  # bags may be removed
    assert bags(env, 5, 0, RAJ_GIFT) == record(env, RAJ_TRIP)  # free bags: any number
    assert bags(env, 1, 4, RAJ_CARD) == record(env, RAJ_TRIP)  # more non-free than total: stored as given
    stored = env.db["reservations"][RAJ_TRIP]
    assert (stored["total_baggages"], stored["nonfree_baggages"]) == (1, 4)
    assert stored["payment_history"] == [*history, *pay((RAJ_CARD, 200))]
    assert methods(env, RAJ)[RAJ_GIFT] == original["users"][RAJ]["payment_methods"][RAJ_GIFT]


def test_baggage_refusals(env):
    before = snapshot(env)
    assert bags(env, 7, 6, RAJ_GIFT) == "Error: gift card balance is not enough"  # 300 > 279
    assert bags(env, 1, 0, "credit_card_4421486") == "Error: payment method not found"
    assert bags(env, 1, 0, reservation="ZZZZZZ") == "Error: reservation not found"
    # a certificate cannot pay, even for nothing
    assert bags(env, 2, 0, "certificate_4856383", "NO6JO3") == (
        "Error: certificate cannot be used to update reservation")
    assert bags(env, 1, "two") == "Error: unsupported operand type(s) for -: 'str' and 'int'"
    assert env.call("update_reservation_baggages", {"reservation_id": RAJ_TRIP, "total_baggages": 1}) == (
        "Error: UpdateReservationBaggages.invoke() missing 2 required positional arguments: 'nonfree_baggages' "
        "and 'payment_id'")
    assert snapshot(env) == before


# -- passengers --------------------------------------------------------------------------------------


def test_update_reservation_passengers(env):
    new = [{"first_name": "José", "last_name": "Brown"}]  # stored as given: no dob check
    result = env.call("update_reservation_passengers", {"reservation_id": RAJ_TRIP, "passengers": new})
    assert result == record(env, RAJ_TRIP) and '"Jos\\u00e9"' in result  # ASCII-escaped, as json.dumps does
    assert env.db["reservations"][RAJ_TRIP]["passengers"] == new
    assert unchanged(env, "update_reservation_passengers", reservation_id=RAJ_TRIP, passengers=new * 2) == (
        "Error: number of passengers does not match")
    assert unchanged(env, "update_reservation_passengers", reservation_id=RAJ_TRIP, passengers=[]) == (
        "Error: number of passengers does not match")
    assert unchanged(env, "update_reservation_passengers", reservation_id="ZZZZZZ", passengers=new) == (
        "Error: reservation not found")


# -- flight changes ----------------------------------------------------------------------------------


def change(env, flights, cabin="economy", payment=RAJ_CARD, reservation=RAJ_TRIP) -> str:
    return env.call("update_reservation_flights", {"reservation_id": reservation, "cabin": cabin,
                                                   "flights": flights, "payment_id": payment})


RAJ_LEGS = (("HAT035", "2024-05-17"), ("HAT066", "2024-05-17"), ("HAT002", "2024-05-19"), ("HAT106", "2024-05-20"))


def test_basic_economy_flights_change_and_a_cheaper_trip_is_credited_at_once(env, original):
    later = legs(("HAT005", "2024-05-22"), ("HAT178", "2024-05-30"))
    result = change(env, later, "basic_economy", DAIKI_CARD, DAIKI_BASIC)
    stored = env.db["reservations"][DAIKI_BASIC]
    assert result == json.dumps(stored)
    assert stored["flights"] == [  # HAT178 on 05-30 is kept at its old price
        {"flight_number": "HAT005", "date": "2024-05-22", "price": 64, "origin": "LAS", "destination": "ATL"},
        {"flight_number": "HAT178", "date": "2024-05-30", "price": 83, "origin": "ATL", "destination": "LAS"},
    ]
    assert stored["payment_history"][-1] == {"payment_id": DAIKI_CARD, "amount": -2}  # (64 + 83 - 65 - 83) * 2
    assert env.db["flights"] == original["flights"]


def test_a_new_cabin_reprices_every_leg_but_is_not_stored(env, original):
    same = legs(("HAT005", "2024-05-20"), ("HAT178", "2024-05-30"))
    assert change(env, same, "economy", DAIKI_CARD, DAIKI_BASIC) == record(env, DAIKI_BASIC)
    stored = env.db["reservations"][DAIKI_BASIC]
    assert stored["cabin"] == "basic_economy" and [f["price"] for f in stored["flights"]] == [166, 126]
    assert stored["payment_history"][-1] == {"payment_id": DAIKI_CARD, "amount": (166 + 126) * 2 - 296}
    assert env.db["flights"] == original["flights"]


def test_a_credit_goes_onto_a_gift_card_at_once(env):
    cheaper = legs(("HAT035", "2024-05-18"), *RAJ_LEGS[1:])  # 153 instead of 163; the route is not checked
    assert change(env, cheaper, payment=RAJ_GIFT) == record(env, RAJ_TRIP)
    assert methods(env, RAJ)[RAJ_GIFT]["amount"] == 289
    assert env.db["reservations"][RAJ_TRIP]["payment_history"][-1] == {"payment_id": RAJ_GIFT, "amount": -10}
    # the same trip again: no difference, no payment entry
    history = copy.deepcopy(env.db["reservations"][RAJ_TRIP]["payment_history"])
    assert change(env, cheaper, payment=RAJ_GIFT) == record(env, RAJ_TRIP)
    assert env.db["reservations"][RAJ_TRIP]["payment_history"] == history


def test_no_flights_credit_the_whole_fare(env):
    assert change(env, []) == record(env, RAJ_TRIP)
    stored = env.db["reservations"][RAJ_TRIP]
    assert stored["flights"] == [] and stored["payment_history"][-1] == {"payment_id": RAJ_CARD, "amount": -656}


@pytest.mark.parametrize(
    ("flights", "cabin", "payment", "answer"),
    [
        (legs(("HAT999", "2024-05-17"), *RAJ_LEGS[1:]), "economy", RAJ_CARD, "Error: flight HAT999 not found"),
        (legs(("HAT035", "2024-06-17")), "economy", RAJ_CARD, "Error: flight HAT035 not found on date 2024-06-17"),
        (legs(("HAT035", "2024-05-01")), "economy", RAJ_CARD, "Error: flight HAT035 not available on date 2024-05-01"),
        (legs(*RAJ_LEGS), "business", RAJ_CARD, "Error: not enough seats on flight HAT106"),  # 0 business seats
        (legs(*RAJ_LEGS), "first", RAJ_CARD, "Error: 'first'"),
        (legs(*RAJ_LEGS), "economy", "credit_card_4421486", "Error: payment method not found"),
        (legs(("HAT999", "2024-05-17")), "economy", "credit_card_4421486", "Error: flight HAT999 not found"),
        (legs(("HAT035", "2024-05-18")), "economy", "nothing", "Error: payment method not found"),
        ([{"flight_number": "HAT035"}], "economy", RAJ_CARD, "Error: 'date'"),
    ],
)
def test_flight_change_refusals(env, flights, cabin, payment, answer):
    before = snapshot(env)
    assert change(env, flights, cabin, payment) == answer
    assert snapshot(env) == before


def test_flight_change_payment_refusals(env):
    # GXWCPN (ethan_martin_2396, economy): business costs more than the 71 on his gift card
    ethan = legs(("HAT065", "2024-05-27"), ("HAT064", "2024-05-27"), ("HAT260", "2024-05-28"), ("HAT087", "2024-05-28"))
    before = snapshot(env)
    assert change(env, ethan, "business", "gift_card_5853954", "GXWCPN") == "Error: gift card balance is not enough"
    assert change(env, ethan, "economy", "certificate_5449394", "GXWCPN") == (
        "Error: certificate cannot be used to update reservation")
    assert change(env, ethan, reservation="ZZZZZZ") == "Error: reservation not found"
    assert env.call("update_reservation_flights", {"reservation_id": RAJ_TRIP, "cabin": "economy"}) == (
        "Error: UpdateReservationFlights.invoke() missing 2 required positional arguments: 'flights' and 'payment_id'")
    assert snapshot(env) == before


# -- certificates, unknown tools, the shared tools ---------------------------------------------------


def test_send_certificate_gives_three_fixed_ids_then_none(env, original):
    answers = [env.call("send_certificate", {"user_id": RAJ, "amount": amount}) for amount in (150, 0, 99.5)]
    assert answers == [
        "Certificate certificate_3221322 added to user raj_brown_5782 with amount 150.",
        "Certificate certificate_3221323 added to user raj_brown_5782 with amount 0.",
        "Certificate certificate_3221324 added to user raj_brown_5782 with amount 99.5.",
    ]
    assert methods(env, RAJ) == {
        **original["users"][RAJ]["payment_methods"],
        "certificate_3221322": {"source": "certificate", "amount": 150, "id": "certificate_3221322"},
        "certificate_3221323": {"source": "certificate", "amount": 0, "id": "certificate_3221323"},
        "certificate_3221324": {"source": "certificate", "amount": 99.5, "id": "certificate_3221324"},
    }
    before = snapshot(env)
    assert env.call("send_certificate", {"user_id": RAJ, "amount": 10}) == "None"  # upstream answers None
    assert unchanged(env, "send_certificate", user_id="nobody_1", amount=100) == "Error: user not found"
    assert snapshot(env) == before
    assert env.call("send_certificate", {"user_id": MIA, "amount": 5}) == (
        "Certificate certificate_3221322 added to user mia_li_3668 with amount 5.")
    assert methods(env, MIA)["certificate_3221322"]["amount"] == 5  # every user starts from the first id


def test_unknown_tools_and_bad_arguments(env):
    assert unchanged(env, "book_flight", user_id=MIA) == "Unknown action book_flight"
    assert unchanged(env, "list_all_airports", city="Boston") == (
        "Error: ListAllAirports.invoke() got an unexpected keyword argument 'city'")
    assert unchanged(env, "search_direct_flight", origin="JFK", destination="ATL") == (
        "Error: SearchDirectFlight.invoke() missing 1 required positional argument: 'date'")
    assert unchanged(env, "get_user_details", user_id=["mia_li_3668"]) == "Error: unhashable type: 'list'"
    assert unchanged(env, "send_certificate", user_id=MIA) == (
        "Error: SendCertificate.invoke() missing 1 required positional argument: 'amount'")


def test_transfer_ends_the_conversation(env):
    assert not env.done
    assert unchanged(env, "transfer_to_human_agents", summary="wants a refund") == "Transfer successful"
    assert env.done
