"""Every airline tool on the real database: a happy path checked against flights/reservations/users.json,
and each refused precondition (an ``"Error: ..."`` string, nothing changed)."""

from __future__ import annotations

import json

import pytest

from .conftest import ok, refused

MIA = "mia_li_3668"  # gold member: certificate_4856383 (100), certificate_7504069 (250), credit_card_4421486
MIA_TRIP = [{"flight_number": "HAT136", "date": "2024-05-20"}, {"flight_number": "HAT039", "date": "2024-05-20"}]
MIA_PASSENGER = [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}]
MIA_PAYMENT = [{"payment_id": "certificate_7504069", "amount": 250}, {"payment_id": "credit_card_4421486", "amount": 5}]
RAJ_TRIP = "VA5SGQ"  # raj_brown_5782 (regular), economy round trip DTW-LGA, 1 passenger
RAJ_CARD = "credit_card_8003957"
RAJ_GIFT = "gift_card_6468981"  # holds 279
DAIKI_BASIC = "XEHM4B"  # daiki_muller_1116, basic economy LAS-ATL round trip, 2 passengers, booked 2024-05-01
DAIKI_CARD = "credit_card_2408938"


def legs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"flight_number": number, "date": date} for number, date in pairs]


def booking(**changes) -> dict:
    """airline-test-0's gold booking (JFK-ATL-SEA economy, 255 = 250 certificate + 5 card), with changes."""
    arguments = {
        "user_id": MIA, "origin": "JFK", "destination": "SEA", "flight_type": "one_way", "cabin": "economy",
        "flights": MIA_TRIP, "passengers": MIA_PASSENGER, "payment_methods": MIA_PAYMENT,
        "total_baggages": 3, "nonfree_baggages": 0, "insurance": "no",
    }
    return {**arguments, **changes}


def seats(db: dict, number: str, date: str, cabin: str) -> int:
    return db["flights"][number]["dates"][date]["available_seats"][cabin]


# -- the environment ---------------------------------------------------------------------------------


def test_schemas_are_the_file_verbatim(airline, tau_root):
    schemas = json.loads((tau_root / "tau_bench" / "tools" / "airline.json").read_text())
    assert airline.schemas == schemas
    assert sorted(airline.functions) == sorted(airline.tool_names) and len(airline.tool_names) == 14
    assert airline.policy.startswith("# Airline Agent Policy")
    assert "transfer_to_human_agents" in airline.terminal_tools


def test_think_calculate_and_transfer(airline):
    before = airline.state_hash()
    assert airline.call("think", {"thought": "Gold members get 3 free economy bags."}) == ""
    assert airline.call("calculate", {"expression": "(168 + 114) * 2"}) == "564.0"
    assert airline.call("calculate", {"expression": "import os"}).startswith("Error: ")
    assert airline.call("transfer_to_human_agents", {"summary": "cancel a flown trip"}) == "Transfer successful"
    assert airline.done and airline.state_hash() == before


# -- look-ups ----------------------------------------------------------------------------------------


def test_get_user_and_reservation_details(airline, raw):
    assert ok(airline, "get_user_details", user_id=MIA) == raw["airline"]["users"][MIA]
    assert ok(airline, "get_reservation_details", reservation_id=RAJ_TRIP) == raw["airline"]["reservations"][RAJ_TRIP]
    assert refused(airline, "get_user_details", user_id="mia_li_0000") == "Error: user not found"
    assert refused(airline, "get_reservation_details", reservation_id="ZZZZZZ") == "Error: reservation not found"


def test_list_all_airports(airline, raw):
    airports = ok(airline, "list_all_airports")
    served = {f[end] for f in raw["airline"]["flights"].values() for end in ("origin", "destination")}
    assert set(airports) == served and airports["JFK"] == "New York" and airports["SEA"] == "Seattle"


def test_search_direct_flight(airline, raw):
    found = ok(airline, "search_direct_flight", origin="JFK", destination="ATL", date="2024-05-20")
    flights = raw["airline"]["flights"]
    expected = {
        number for number, f in flights.items()
        if f["origin"] == "JFK" and f["destination"] == "ATL" and f["dates"]["2024-05-20"]["status"] == "available"
    }
    assert {f["flight_number"] for f in found} == expected and "HAT136" in expected
    hat136 = next(f for f in found if f["flight_number"] == "HAT136")
    day = flights["HAT136"]["dates"]["2024-05-20"]
    assert hat136["prices"] == day["prices"] and hat136["available_seats"] == day["available_seats"]
    assert hat136["date"] == "2024-05-20" and "dates" not in hat136
    # on a past date every flight has landed (or was cancelled): nothing can be booked
    assert ok(airline, "search_direct_flight", origin="JFK", destination="ATL", date="2024-05-01") == []


def test_search_onestop_flight(airline, raw):
    pairs = ok(airline, "search_onestop_flight", origin="JFK", destination="SEA", date="2024-05-20")
    assert ["HAT136", "HAT039"] in [[a["flight_number"], b["flight_number"]] for a, b in pairs]
    flights = raw["airline"]["flights"]
    for first, second in pairs:
        assert first["origin"] == "JFK" and first["destination"] == second["origin"] and second["destination"] == "SEA"
        assert flights[first["flight_number"]]["dates"][first["date"]]["status"] == "available"
        assert flights[second["flight_number"]]["dates"][second["date"]]["status"] == "available"
        if first["scheduled_arrival_time_est"].endswith("+1"):
            assert second["date"] == "2024-05-21"
        else:
            assert second["date"] == "2024-05-20"
            assert second["scheduled_departure_time_est"] > first["scheduled_arrival_time_est"]
    assert ok(airline, "search_onestop_flight", origin="JFK", destination="SEA", date="2024-06-20") == []


# -- book --------------------------------------------------------------------------------------------


def test_book_reservation(airline, raw):
    reservation = ok(airline, "book_reservation", **booking())
    rid = reservation["reservation_id"]
    assert airline.db["reservations"][rid] == reservation and rid not in raw["airline"]["reservations"]
    assert [(f["flight_number"], f["origin"], f["destination"], f["price"]) for f in reservation["flights"]] == [
        ("HAT136", "JFK", "ATL", 152), ("HAT039", "ATL", "SEA", 103)]
    assert reservation["payment_history"] == MIA_PAYMENT
    assert reservation["created_at"] == "2024-05-15T15:00:00" and reservation["passengers"] == MIA_PASSENGER
    user = airline.db["users"][MIA]
    assert user["reservations"] == raw["airline"]["users"][MIA]["reservations"] + [rid]
    assert "certificate_7504069" not in user["payment_methods"]  # used up, its remainder is not refundable
    for number, left in [("HAT136", 14), ("HAT039", 10)]:
        assert seats(raw["airline"], number, "2024-05-20", "economy") == left
        assert seats(airline.db, number, "2024-05-20", "economy") == left - 1


def test_the_same_booking_gets_the_same_id_in_every_environment(airline, tau_root):
    from ugst_dspy.envs.tau_airline import AirlineEnv

    first = ok(airline, "book_reservation", **booking())["reservation_id"]
    assert ok(AirlineEnv(tau_root), "book_reservation", **booking())["reservation_id"] == first


def test_book_reservation_with_a_gift_card_takes_its_balance(airline):
    # mei_hernandez_8984 (gold): gift_card_5309492 holds 98; basic economy JFK-ATL-SEA costs 52 + 52
    payment = [{"payment_id": "gift_card_5309492", "amount": 98.0}, {"payment_id": "credit_card_2140654", "amount": 6}]
    arguments = booking(user_id="mei_hernandez_8984", cabin="basic_economy", total_baggages=2, payment_methods=payment)
    reservation = ok(airline, "book_reservation", **arguments)
    assert airline.db["users"]["mei_hernandez_8984"]["payment_methods"]["gift_card_5309492"]["amount"] == 0
    assert reservation["payment_history"][0] == {"payment_id": "gift_card_5309492", "amount": 98}  # 98.0 stored as 98


def pay(*payments: tuple[str, float]) -> dict:
    return {"payment_methods": [{"payment_id": method, "amount": amount} for method, amount in payments]}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"user_id": "nobody_1"}, "user not found"),
        ({"passengers": MIA_PASSENGER * 6}, "1 to 5 passengers"),
        ({"flights": []}, "no flights given"),
        ({"flights": legs(("HAT001", "2024-05-01"))}, "cannot be booked (status 'landed')"),
        ({"flights": legs(("HAT999", "2024-05-20"))}, "flight HAT999 not found"),
        ({"cabin": "business", "passengers": MIA_PASSENGER * 3}, "has 2 business seats left"),
        ({"origin": "LGA"}, "leaves from JFK, not LGA"),
        ({"flights": MIA_TRIP[:1]}, "end at ATL, not SEA"),
        ({"flight_type": "round_trip"}, "a round trip"),
        ({"total_baggages": 4}, "only 3 of the 4 bags are free"),
        ({"nonfree_baggages": 4}, "between 0 and total_baggages"),
        (pay(("certificate_7504069", 250), ("credit_card_4421486", 4)), "add up to 254 but the total price is 255"),
        (pay(("certificate_7504069", 155), ("certificate_4856383", 100)), "at most 1 certificate"),
        (pay(("certificate_4856383", 255)), "holds only 100"),
        (pay(("gift_card_0000000", 255)), "not in the user's profile"),
        (pay(("credit_card_4421486", 200), ("credit_card_4421486", 55)), "listed twice"),
        ({"insurance": "maybe"}, "insurance"),
    ],
)
def test_book_reservation_refusals(airline, changes, message):
    assert message in refused(airline, "book_reservation", **booking(**changes))


# -- cancel ------------------------------------------------------------------------------------------


def test_cancel_reservation_within_24_hours(airline, raw):
    # JEPRZB: economy, no insurance, booked 2024-05-14 23:57, paid 198 with gift_card_6115345
    before = raw["airline"]["reservations"]["JEPRZB"]
    reservation = ok(airline, "cancel_reservation", reservation_id="JEPRZB")
    assert reservation["status"] == "cancelled"
    refund = {"payment_id": "gift_card_6115345", "amount": -198}
    assert reservation["payment_history"] == before["payment_history"] + [refund]
    methods = airline.db["users"]["anya_brown_2655"]["payment_methods"]
    assert methods == raw["airline"]["users"]["anya_brown_2655"]["payment_methods"]  # the refund takes 5-7 days
    left = seats(raw["airline"], "HAT208", "2024-05-19", "economy")
    assert seats(airline.db, "HAT208", "2024-05-19", "economy") == left + 1
    assert "is cancelled" in refused(airline, "cancel_reservation", reservation_id="JEPRZB")


@pytest.mark.parametrize("reservation_id", ["521ARH", "CDXEBS", "4WQ150"])
def test_cancel_reservation_other_grounds(airline, reservation_id):
    # an airline-cancelled flight, travel insurance, business class
    assert ok(airline, "cancel_reservation", reservation_id=reservation_id)["status"] == "cancelled"


def test_cancel_refusals(airline):
    assert "more than 24 hours ago" in refused(airline, "cancel_reservation", reservation_id="H9ZU1C")
    assert "already been flown" in refused(airline, "cancel_reservation", reservation_id="NQNU5R")
    assert refused(airline, "cancel_reservation", reservation_id="ZZZZZZ") == "Error: reservation not found"


def test_without_policy_checks_the_agent_is_trusted(tau_root):
    from ugst_dspy.envs.tau_airline import AirlineEnv

    lenient = AirlineEnv(tau_root, policy_checks=False)
    assert ok(lenient, "cancel_reservation", reservation_id="H9ZU1C")["status"] == "cancelled"
    assert ok(lenient, "cancel_reservation", reservation_id="NQNU5R")["status"] == "cancelled"
    later = legs(("HAT005", "2024-05-22"), ("HAT178", "2024-05-30"))
    ok(lenient, "update_reservation_flights", reservation_id=DAIKI_BASIC, cabin="basic_economy", flights=later,
       payment_id=DAIKI_CARD)


# -- baggage -----------------------------------------------------------------------------------------


def test_update_reservation_baggages(airline, raw):
    # raj_brown_5782 is a regular member: one free bag for his one economy passenger
    reservation = ok(airline, "update_reservation_baggages", reservation_id=RAJ_TRIP, total_baggages=3,
                     nonfree_baggages=2, payment_id=RAJ_CARD)
    assert (reservation["total_baggages"], reservation["nonfree_baggages"]) == (3, 2)
    paid = raw["airline"]["reservations"][RAJ_TRIP]["payment_history"]
    assert reservation["payment_history"] == paid + [{"payment_id": RAJ_CARD, "amount": 100}]
    message = refused(airline, "update_reservation_baggages", reservation_id=RAJ_TRIP, total_baggages=2,
                      nonfree_baggages=2, payment_id=RAJ_CARD)
    assert "added but not removed" in message


def test_update_reservation_baggages_with_a_gift_card(airline):
    ok(airline, "update_reservation_baggages", reservation_id=RAJ_TRIP, total_baggages=2, nonfree_baggages=1,
       payment_id=RAJ_GIFT)
    assert airline.db["users"]["raj_brown_5782"]["payment_methods"][RAJ_GIFT]["amount"] == 279 - 50


def test_update_reservation_baggages_refusals(airline):
    def bags(total, nonfree, payment=RAJ_CARD, reservation=RAJ_TRIP):
        return refused(airline, "update_reservation_baggages", reservation_id=reservation, total_baggages=total,
                       nonfree_baggages=nonfree, payment_id=payment)

    assert "only 1 of the 3 bags are free" in bags(3, 1)
    assert "between 0 and total_baggages" in bags(1, 2)
    assert "holds only 279" in bags(7, 6, RAJ_GIFT)
    assert "not in the user's profile" in bags(1, 0, "credit_card_4421486")
    assert "total_baggages" in bags("two", 0)
    assert "not found" in bags(1, 0, reservation="ZZZZZZ")
    # mia_li_3668's certificates cannot pay for changes
    assert "gift card or a credit card" in bags(5, 5, "certificate_4856383", "NO6JO3")


# -- flights -----------------------------------------------------------------------------------------


def test_update_reservation_flights_changes_cabin_of_basic_economy(airline, raw):
    # airline-test-34: basic economy may change cabin (not flights); 2 passengers pay the difference
    same = legs(("HAT005", "2024-05-20"), ("HAT178", "2024-05-30"))
    reservation = ok(airline, "update_reservation_flights", reservation_id=DAIKI_BASIC, cabin="economy",
                     flights=same, payment_id=DAIKI_CARD)
    days = [raw["airline"]["flights"][f["flight_number"]]["dates"][f["date"]] for f in same]
    economy = [day["prices"]["economy"] for day in days]
    assert reservation["cabin"] == "economy" and [f["price"] for f in reservation["flights"]] == economy
    assert reservation["payment_history"][-1] == {"payment_id": DAIKI_CARD, "amount": (sum(economy) - 65 - 83) * 2}
    for f, day in zip(same, days):
        assert seats(airline.db, f["flight_number"], f["date"], "economy") == day["available_seats"]["economy"] - 2
        basic = day["available_seats"]["basic_economy"]
        assert seats(airline.db, f["flight_number"], f["date"], "basic_economy") == basic + 2


def test_update_reservation_flights_keeps_the_price_of_kept_segments(airline, raw):
    old = raw["airline"]["reservations"][RAJ_TRIP]["flights"]  # DTW-PHX-LGA on 05-17, LGA-PHX-DTW 05-19/20
    pairs = ok(airline, "search_onestop_flight", origin="DTW", destination="LGA", date="2024-05-17")
    first, second = next(p for p in pairs if not {p[0]["flight_number"], p[1]["flight_number"]} & {"HAT035", "HAT066"})
    new = legs(*[(f["flight_number"], f["date"]) for f in (first, second, *old[2:])])
    reservation = ok(airline, "update_reservation_flights", reservation_id=RAJ_TRIP, cabin="economy", flights=new,
                     payment_id=RAJ_CARD)
    prices = [f["price"] for f in reservation["flights"]]
    assert prices == [first["prices"]["economy"], second["prices"]["economy"], old[2]["price"], old[3]["price"]]
    difference = sum(prices) - sum(f["price"] for f in old)
    assert reservation["payment_history"][-1] == {"payment_id": RAJ_CARD, "amount": difference}


def test_update_reservation_flights_refusals(airline):
    def change(flights, cabin="economy", payment=RAJ_CARD, reservation=RAJ_TRIP):
        return refused(airline, "update_reservation_flights", reservation_id=reservation, cabin=cabin,
                       flights=flights, payment_id=payment)

    later = legs(("HAT005", "2024-05-22"), ("HAT178", "2024-05-30"))
    assert "basic economy" in change(later, "basic_economy", DAIKI_CARD, DAIKI_BASIC)
    # airline-test-19's gold change to JFK: the destination cannot change
    to_jfk = legs(("HAT169", "2024-05-17"), ("HAT033", "2024-05-19"))
    assert "keeps origin, destination and trip type" in change(to_jfk)
    current = legs(
        ("HAT035", "2024-05-17"), ("HAT066", "2024-05-17"), ("HAT002", "2024-05-19"), ("HAT106", "2024-05-20")
    )
    assert "status 'landed'" in change(legs(("HAT035", "2024-05-01")) + current[1:])
    assert "business seats left" in change(current, "business")  # HAT106 has no business seat left
    assert "not in the user's profile" in change(current, payment="credit_card_4421486")
    assert "no flights given" in change([])
    # GXWCPN (ethan_martin_2396, economy): business costs 683 more; his gift card holds 71
    ethan = legs(
        ("HAT065", "2024-05-27"), ("HAT064", "2024-05-27"), ("HAT260", "2024-05-28"), ("HAT087", "2024-05-28")
    )
    assert "holds only 71" in change(ethan, "business", "gift_card_5853954", "GXWCPN")
    assert "gift card or a credit card" in change(ethan, "business", "certificate_5449394", "GXWCPN")


def test_a_flown_segment_cannot_be_changed(airline):
    # NQNU5R (business, MCO-PHX-SEA on 05-13/14): both segments have landed
    message = refused(airline, "update_reservation_flights", reservation_id="NQNU5R", cabin="business",
                      flights=legs(("HAT214", "2024-05-20")), payment_id="credit_card_4959530")
    assert "already been flown" in message


# -- passengers and certificates ---------------------------------------------------------------------


def test_update_reservation_passengers(airline, raw):
    new = [{"first_name": "Rajesh", "last_name": "Brown", "dob": "1967-03-12"}]
    reservation = ok(airline, "update_reservation_passengers", reservation_id=RAJ_TRIP, passengers=new)
    assert reservation["passengers"] == new
    assert reservation["flights"] == raw["airline"]["reservations"][RAJ_TRIP]["flights"]
    message = refused(airline, "update_reservation_passengers", reservation_id=RAJ_TRIP, passengers=new * 2)
    assert "cannot change (it is 1)" in message
    no_dob = [{"first_name": "Raj", "last_name": "Brown"}]
    assert "dob" in refused(airline, "update_reservation_passengers", reservation_id=RAJ_TRIP, passengers=no_dob)


def test_send_certificate(airline, raw, tau_root):
    from ugst_dspy.envs.tau_airline import AirlineEnv

    message = airline.call("send_certificate", {"user_id": "raj_brown_5782", "amount": 150})
    methods = airline.db["users"]["raj_brown_5782"]["payment_methods"]
    (new_id,) = set(methods) - set(raw["airline"]["users"]["raj_brown_5782"]["payment_methods"])
    assert new_id.startswith("certificate_")
    assert methods[new_id] == {"source": "certificate", "amount": 150, "id": new_id}
    assert message == f"Certificate {new_id} added to user raj_brown_5782 with amount 150."
    assert AirlineEnv(tau_root).call("send_certificate", {"user_id": "raj_brown_5782", "amount": 150.0}) == message
    assert refused(airline, "send_certificate", user_id="nobody_1", amount=100) == "Error: user not found"
    assert "positive" in refused(airline, "send_certificate", user_id="raj_brown_5782", amount=0)
