"""τ-bench airline as published (``tau-airline``): the upstream tools' answers and database effects exactly.

Written to behave as the airline tools of sierra-research/tau-bench do (see ``tau_bench/SOURCE.md``), so
that outcomes compare with published τ-bench numbers; the policy-minded version is ``tau-airline-strict``
(:class:`ugst_dspy.envs.tau_airline.AirlineEnv`). Every answer is upstream's string: records as
``json.dumps`` writes them (ASCII-escaped), refusals as its ``Error: ...`` texts. What upstream does, and
so what this environment does:

- no policy rule is checked: not the free-bag allowance, not the route, trip type or cabin of a flight
  change, not basic economy, not whether a reservation may be (or already was) cancelled; bags may go down;
- the ``flights`` table is never written: booking, cancelling and changing flights take and give back
  no seats (a booking only needs enough seats on each leg);
- a booking gets the first free id of ``HATHAT``, ``HATHAU``, ``HATHAV`` (a fourth replaces ``HATHAV``),
  ``created_at`` ``2024-05-15T15:00:00``, its legs priced from the table (``price``, ``origin`` and
  ``destination`` added after the agent's fields), and the agent's passengers and payments as given; a gift
  card pays from its balance, a certificate is removed whole; the amounts must add up to the price exactly;
- a flight change keeps a leg the reservation has (same number and date, same cabin asked) at its old price
  and prices the others in the cabin asked; the difference is charged, or credited (a negative amount),
  at once: to a gift card's balance and as one payment entry, unrounded; the reservation's ``cabin`` is not
  changed; a certificate cannot pay a change or bags, a gift card must cover a positive amount;
- bags cost 50 for each non-free bag beyond the reservation's, nothing for fewer; the new counts are
  stored as given; a fee of 0 adds no payment entry;
- cancelling appends one refund per payment entry (the amount negated, entries from earlier changes and
  refunds included) and sets ``status`` to ``cancelled``; it moves no balance;
- ``send_certificate`` adds ``certificate_3221322``, then ``..323``, then ``..324``; a user holding all
  three gets nothing and the answer is ``None``;
- a missing reservation answers ``Error: user not found`` in ``get_reservation_details``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ugst_dspy.envs.tau_published import PublishedTauEnvironment
from ugst_dspy.envs.tau_published_airline_search import AIRPORTS, BOOKABLE, direct_flights, onestop_flights
from ugst_dspy.envs.unavailable import AIRLINE_UNAVAILABLE

#: the ids a booking takes, the first not yet used (the last one is reused)
RESERVATION_IDS = ("HATHAT", "HATHAU", "HATHAV")
#: the ids ``send_certificate`` gives, the first one the user lacks
CERTIFICATE_IDS = ("certificate_3221322", "certificate_3221323", "certificate_3221324")
BOOKED_AT = "2024-05-15T15:00:00"
BAG_FEE = 50
INSURANCE_FEE = 30
PREPAID = ("gift_card", "certificate")


class PublishedAirlineEnv(PublishedTauEnvironment):
    """The airline as τ-bench's tools run it (see the module docstring); ``calculate``, ``think`` and
    ``transfer_to_human_agents`` come from the base."""

    name = "tau-airline"
    domain = "airline"
    unavailable_services = AIRLINE_UNAVAILABLE

    # -- look-ups ------------------------------------------------------------------------------------

    def get_user_details(self, user_id: str) -> str:
        users = self.db["users"]
        return json.dumps(users[user_id]) if user_id in users else "Error: user not found"

    def get_reservation_details(self, reservation_id: str) -> str:
        reservations = self.db["reservations"]
        return json.dumps(reservations[reservation_id]) if reservation_id in reservations else "Error: user not found"

    def list_all_airports(self) -> str:
        return json.dumps(AIRPORTS)

    def search_direct_flight(self, origin: str, destination: str, date: str) -> str:
        return json.dumps(direct_flights(self.db["flights"], origin, destination, date))

    def search_onestop_flight(self, origin: str, destination: str, date: str) -> str:
        return json.dumps(onestop_flights(self.db["flights"], origin, destination, date))

    # -- booking -------------------------------------------------------------------------------------

    def book_reservation(
        self,
        user_id: str,
        origin: str,
        destination: str,
        flight_type: str,
        cabin: str,
        flights: list[dict[str, Any]],
        passengers: list[dict[str, Any]],
        payment_methods: list[dict[str, Any]],
        total_baggages: int,
        nonfree_baggages: int,
        insurance: str,
    ) -> str:
        users = self.db["users"]
        if user_id not in users:
            return "Error: user not found"
        user = users[user_id]
        reservation_id = self._free_reservation_id()
        reservation = {
            "reservation_id": reservation_id,
            "user_id": user_id,
            "origin": origin,
            "destination": destination,
            "flight_type": flight_type,
            "cabin": cabin,
            "flights": copy.deepcopy(flights),
            "passengers": copy.deepcopy(passengers),
            "payment_history": copy.deepcopy(payment_methods),
            "created_at": BOOKED_AT,
            "total_baggages": total_baggages,
            "nonfree_baggages": nonfree_baggages,
            "insurance": insurance,
        }
        price = 0
        for leg in reservation["flights"]:
            problem = self._price_new_leg(leg, cabin, passengers)
            if problem:
                return problem
            price += leg["price"] * len(passengers)
        if insurance == "yes":
            price += INSURANCE_FEE * len(passengers)
        price += BAG_FEE * nonfree_baggages

        methods = user["payment_methods"]
        for payment in payment_methods:
            payment_id, amount = payment["payment_id"], payment["amount"]
            if payment_id not in methods:
                return f"Error: payment method {payment_id} not found"
            if methods[payment_id]["source"] in PREPAID and methods[payment_id]["amount"] < amount:
                return f"Error: not enough balance in payment method {payment_id}"
        paid = sum(payment["amount"] for payment in payment_methods)
        if paid != price:
            return f"Error: payment amount does not add up, total price is {price}, but paid {paid}"

        for payment in payment_methods:
            payment_id, amount = payment["payment_id"], payment["amount"]
            # a certificate named twice is gone by its second turn: that KeyError is upstream's answer too
            if methods[payment_id]["source"] == "gift_card":
                methods[payment_id]["amount"] -= amount
            elif methods[payment_id]["source"] == "certificate":
                del methods[payment_id]
        self.db["reservations"][reservation_id] = reservation
        user["reservations"].append(reservation_id)
        return json.dumps(reservation)

    # -- changes -------------------------------------------------------------------------------------

    def cancel_reservation(self, reservation_id: str) -> str:
        reservations = self.db["reservations"]
        if reservation_id not in reservations:
            return "Error: reservation not found"
        reservation = reservations[reservation_id]
        history = reservation["payment_history"]
        history.extend([{"payment_id": entry["payment_id"], "amount": -entry["amount"]} for entry in history])
        reservation["status"] = "cancelled"
        return json.dumps(reservation)

    def update_reservation_baggages(
        self, reservation_id: str, total_baggages: int, nonfree_baggages: int, payment_id: str
    ) -> str:
        reservations = self.db["reservations"]
        if reservation_id not in reservations:
            return "Error: reservation not found"
        reservation = reservations[reservation_id]
        fee = BAG_FEE * max(0, nonfree_baggages - reservation["nonfree_baggages"])
        methods = self.db["users"][reservation["user_id"]]["payment_methods"]
        problem = _change_payment_problem(methods, payment_id, fee)
        if problem:
            return problem
        reservation["total_baggages"] = total_baggages
        reservation["nonfree_baggages"] = nonfree_baggages
        _charge(reservation, methods[payment_id], payment_id, fee)
        return json.dumps(reservation)

    def update_reservation_flights(
        self, reservation_id: str, cabin: str, flights: list[dict[str, Any]], payment_id: str
    ) -> str:
        reservations = self.db["reservations"]
        if reservation_id not in reservations:
            return "Error: reservation not found"
        reservation = reservations[reservation_id]
        travellers = reservation["passengers"]
        difference = 0
        legs = copy.deepcopy(flights)
        for leg in legs:
            kept = [
                old
                for old in reservation["flights"]
                if old["flight_number"] == leg["flight_number"] and old["date"] == leg["date"]
                and cabin == reservation["cabin"]
            ]
            if kept:
                difference += kept[0]["price"] * len(travellers)
                for key in ("price", "origin", "destination"):
                    leg[key] = kept[0][key]
                continue
            problem = self._price_new_leg(leg, cabin, travellers)
            if problem:
                return problem
            difference += leg["price"] * len(travellers)
        difference -= sum(old["price"] for old in reservation["flights"]) * len(travellers)

        methods = self.db["users"][reservation["user_id"]]["payment_methods"]
        problem = _change_payment_problem(methods, payment_id, difference)
        if problem:
            return problem
        reservation["flights"] = legs  # the cabin stays as it was, and no seats move
        _charge(reservation, methods[payment_id], payment_id, difference)
        return json.dumps(reservation)

    def update_reservation_passengers(self, reservation_id: str, passengers: list[dict[str, Any]]) -> str:
        reservations = self.db["reservations"]
        if reservation_id not in reservations:
            return "Error: reservation not found"
        reservation = reservations[reservation_id]
        if len(passengers) != len(reservation["passengers"]):
            return "Error: number of passengers does not match"
        reservation["passengers"] = copy.deepcopy(passengers)
        return json.dumps(reservation)

    def send_certificate(self, user_id: str, amount: float) -> str | None:
        users = self.db["users"]
        if user_id not in users:
            return "Error: user not found"
        methods = users[user_id]["payment_methods"]
        for payment_id in CERTIFICATE_IDS:
            if payment_id not in methods:
                methods[payment_id] = {"source": "certificate", "amount": amount, "id": payment_id}
                return f"Certificate {payment_id} added to user {user_id} with amount {amount}."
        return None  # upstream's answer when the three ids are taken

    # -- helpers -------------------------------------------------------------------------------------

    def _free_reservation_id(self) -> str:
        taken = self.db["reservations"]
        return next((rid for rid in RESERVATION_IDS[:-1] if rid not in taken), RESERVATION_IDS[-1])

    def _price_new_leg(self, leg: dict[str, Any], cabin: str, passengers: list[Any]) -> str | None:
        """Check a leg not yet in the reservation in upstream's order and fill in its one-seat ``price`` in
        ``cabin``, ``origin`` and ``destination``; the refusal, or ``None``."""
        number = leg["flight_number"]
        if number not in self.db["flights"]:
            return f"Error: flight {number} not found"
        flight = self.db["flights"][number]
        if leg["date"] not in flight["dates"]:
            return f"Error: flight {number} not found on date {leg['date']}"
        day = flight["dates"][leg["date"]]
        if day["status"] != BOOKABLE:
            return f"Error: flight {number} not available on date {leg['date']}"
        if day["available_seats"][cabin] < len(passengers):
            return f"Error: not enough seats on flight {number}"
        leg["price"] = day["prices"][cabin]
        leg["origin"] = flight["origin"]
        leg["destination"] = flight["destination"]
        return None


def _change_payment_problem(methods: dict[str, Any], payment_id: str, cost: Any) -> str | None:
    """Why ``payment_id`` cannot pay ``cost`` for a change (bags, flights), or ``None``."""
    if payment_id not in methods:
        return "Error: payment method not found"
    method = methods[payment_id]
    if method["source"] == "certificate":
        return "Error: certificate cannot be used to update reservation"
    if method["source"] == "gift_card" and method["amount"] < cost:
        return "Error: gift card balance is not enough"
    return None


def _charge(reservation: dict[str, Any], method: dict[str, Any], payment_id: str, cost: Any) -> None:
    """Take ``cost`` (a credit when negative) from a gift card's balance and record it as one payment entry
    (none for 0); other methods only get the entry."""
    if method["source"] == "gift_card":
        method["amount"] -= cost
    if cost != 0:
        reservation["payment_history"].append({"payment_id": payment_id, "amount": cost})
