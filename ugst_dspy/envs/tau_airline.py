"""τ-bench airline: users, reservations and flights, and the 14 tools of ``tools/airline.json``.

The policy's clock is fixed at :data:`NOW` (2024-05-15 15:00 EST). A flight date is bookable only while its
status is ``available``; booking takes seats from it, cancelling or changing flights gives them back.
Money moves through the reservation's ``payment_history`` (``{"payment_id", "amount"}``, refunds negative).
A payment takes from a gift card's ``amount`` at once and uses up a travel certificate whole (its remainder
is not refundable); a refund reaches its method in 5 to 7 business days, so it moves no balance now.

Some rules the policy says "the API does not check" are checked here when ``policy_checks`` is true (the
default): the flights of a basic-economy reservation cannot be changed; a flight change keeps origin,
destination and trip type; a flown trip cannot be cancelled; and a cancellation needs one of the policy's
grounds: booked within the last 24 hours, a flight cancelled by the airline, business class, or travel
insurance (whose health-or-weather condition only the agent can confirm). With ``policy_checks=False`` the
tools trust the agent on these, as the policy says the τ-bench API does; five gold actions of the airline
test tasks break one of these rules, and replay without error only then.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from datetime import date as Date
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ugst_dspy.envs.tau_common import TauEnvironment, as_json, count, money
from ugst_dspy.envs.unavailable import AIRLINE_UNAVAILABLE

NOW = datetime(2024, 5, 15, 15, 0, 0)
MAX_PASSENGERS = 5
BAG_PRICE = 50
INSURANCE_PRICE = 30
#: free checked bags per passenger, by membership and cabin
FREE_BAGS = {
    "regular": {"basic_economy": 0, "economy": 1, "business": 2},
    "silver": {"basic_economy": 1, "economy": 2, "business": 3},
    "gold": {"basic_economy": 2, "economy": 3, "business": 3},
}
#: at most this many payment methods of each kind in one booking
PAYMENT_LIMITS = {"certificate": 1, "credit_card": 1, "gift_card": 3}
FLOWN = ("flying", "landed")
AIRPORTS = {
    "ATL": "Atlanta", "BOS": "Boston", "CLT": "Charlotte", "DEN": "Denver", "DFW": "Dallas-Fort Worth",
    "DTW": "Detroit", "EWR": "Newark", "IAH": "Houston", "JFK": "New York", "LAS": "Las Vegas",
    "LAX": "Los Angeles", "LGA": "New York", "MCO": "Orlando", "MIA": "Miami", "MSP": "Minneapolis",
    "ORD": "Chicago", "PHL": "Philadelphia", "PHX": "Phoenix", "SEA": "Seattle", "SFO": "San Francisco",
}  # fmt: skip


class AirlineEnv(TauEnvironment):
    """The airline: look-ups return records as JSON, writes check the policy's preconditions."""

    name = "tau-airline-strict"
    domain = "airline"
    unavailable_services = AIRLINE_UNAVAILABLE

    def __init__(self, data_dir: str | Path | None = None, policy_checks: bool = True) -> None:
        super().__init__(data_dir)
        self.policy_checks = policy_checks

    # -- look-ups ------------------------------------------------------------------------------------

    def get_user_details(self, user_id: str) -> str:
        user = self.db["users"].get(user_id)
        return as_json(user) if user is not None else "Error: user not found"

    def get_reservation_details(self, reservation_id: str) -> str:
        reservation = self.db["reservations"].get(reservation_id)
        return as_json(reservation) if reservation is not None else "Error: reservation not found"

    def list_all_airports(self) -> str:
        """``{IATA code: city}`` for every airport the airline flies to."""
        return as_json(AIRPORTS)

    def search_direct_flight(self, origin: str, destination: str, date: str) -> str:
        """Bookable direct flights on a date, with their seats left and prices per cabin."""
        return as_json(self._bookable(origin, date, destination))

    def search_onestop_flight(self, origin: str, destination: str, date: str) -> str:
        """Bookable pairs of flights through one airport: the second leaves after the first lands (the next
        day when the first lands after midnight)."""
        pairs = []
        for first in self._bookable(origin, date):
            if first["destination"] in (origin, destination):
                continue
            overnight = first["scheduled_arrival_time_est"].endswith("+1")
            second_date = _next_day(date) if overnight else date
            landing = first["scheduled_arrival_time_est"].removesuffix("+1")
            for second in self._bookable(first["destination"], second_date, destination):
                if second["scheduled_departure_time_est"] > landing:
                    pairs.append([first, second])
        return as_json(pairs)

    # -- writes --------------------------------------------------------------------------------------

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
        """Book flights for up to five passengers, paid with methods from the user's profile."""
        user = self.db["users"].get(user_id)
        if user is None:
            return "Error: user not found"
        if not 1 <= len(passengers) <= MAX_PASSENGERS:
            return f"Error: a reservation has 1 to {MAX_PASSENGERS} passengers"
        if not flights:
            return "Error: no flights given"
        legs, error = self._new_legs(flights, cabin, len(passengers))
        if error:
            return error
        error = _route_problem(legs, origin, destination, flight_type)
        if error:
            return error
        total_baggages, nonfree_baggages = count(total_baggages), count(nonfree_baggages)
        free = FREE_BAGS[user["membership"]][cabin] * len(passengers)
        if not 0 <= nonfree_baggages <= total_baggages:
            return "Error: nonfree_baggages must be between 0 and total_baggages"
        if nonfree_baggages < total_baggages - free:
            return f"Error: only {free} of the {total_baggages} bags are free; {total_baggages - free} must be paid"
        price = sum(leg["price"] for leg in legs) * len(passengers) + BAG_PRICE * nonfree_baggages
        price += INSURANCE_PRICE * len(passengers) if insurance == "yes" else 0
        error = self._payments_problem(user, payment_methods, money(price))
        if error:
            return error
        reservation_id = self._new_reservation_id(user_id)
        reservation = {
            "reservation_id": reservation_id,
            "user_id": user_id,
            "origin": origin,
            "destination": destination,
            "flight_type": flight_type,
            "cabin": cabin,
            "flights": legs,
            "passengers": [_passenger(p) for p in passengers],
            "payment_history": [],
            "created_at": NOW.isoformat(),
            "total_baggages": total_baggages,
            "nonfree_baggages": nonfree_baggages,
            "insurance": insurance,
        }
        for payment in payment_methods:
            self._pay(reservation, user, payment["payment_id"], payment["amount"])
        self._take_seats(legs, cabin, len(passengers))
        self.db["reservations"][reservation_id] = reservation
        user["reservations"].append(reservation_id)
        return as_json(reservation)

    def cancel_reservation(self, reservation_id: str) -> str:
        """Cancel a whole, not yet flown reservation; everything paid is refunded to where it came from."""
        reservation, error = self._open_reservation(reservation_id)
        if error:
            return error
        statuses = [self._status(leg) for leg in reservation["flights"]]
        if self.policy_checks and any(status in FLOWN for status in statuses):
            return "Error: a segment of this reservation has already been flown; it cannot be cancelled"
        if self.policy_checks and not _may_cancel(reservation, statuses):
            return (
                "Error: this reservation cannot be cancelled: it was booked more than 24 hours ago, no flight"
                " was cancelled by the airline, and it is neither business class nor insured"
            )
        user = self.db["users"].get(reservation["user_id"], {})
        paid: Counter[str] = Counter()
        for payment in reservation["payment_history"]:
            paid[payment["payment_id"]] += payment["amount"]
        for payment_id, amount in paid.items():
            if money(amount) > 0:
                self._pay(reservation, user, payment_id, -amount)
        self._release_seats(reservation["flights"], reservation["cabin"], len(reservation["passengers"]))
        reservation["status"] = "cancelled"
        return as_json(reservation)

    def update_reservation_baggages(
        self, reservation_id: str, total_baggages: int, nonfree_baggages: int, payment_id: str
    ) -> str:
        """Add checked bags (never remove them); each new non-free bag costs 50 dollars."""
        reservation, error = self._open_reservation(reservation_id)
        if error:
            return error
        total_baggages, nonfree_baggages = count(total_baggages), count(nonfree_baggages)
        if total_baggages < reservation["total_baggages"] or nonfree_baggages < reservation["nonfree_baggages"]:
            return "Error: checked bags can be added but not removed"
        if not 0 <= nonfree_baggages <= total_baggages:
            return "Error: nonfree_baggages must be between 0 and total_baggages"
        user = self.db["users"][reservation["user_id"]]
        free = FREE_BAGS[user["membership"]][reservation["cabin"]] * len(reservation["passengers"])
        if nonfree_baggages < total_baggages - free:
            return f"Error: only {free} of the {total_baggages} bags are free; {total_baggages - free} must be paid"
        cost = BAG_PRICE * (nonfree_baggages - reservation["nonfree_baggages"])
        error = self._change_payment_problem(user, payment_id, cost)
        if error:
            return error
        reservation["total_baggages"], reservation["nonfree_baggages"] = total_baggages, nonfree_baggages
        if cost:
            self._pay(reservation, user, payment_id, cost)
        return as_json(reservation)

    def update_reservation_flights(
        self, reservation_id: str, cabin: str, flights: list[dict[str, Any]], payment_id: str
    ) -> str:
        """Replace the reservation's flights and/or cabin (the whole new itinerary is given); the fare
        difference is paid or refunded with one gift card or credit card. Kept segments keep their price
        unless the cabin changes."""
        reservation, error = self._open_reservation(reservation_id)
        if error:
            return error
        if not flights:
            return "Error: no flights given"
        passengers = len(reservation["passengers"])
        old_legs = reservation["flights"]
        kept = {(leg["flight_number"], leg["date"]): leg for leg in old_legs}
        wanted = [(f["flight_number"], f["date"]) for f in flights]
        cabin_changes = cabin != reservation["cabin"]
        if self.policy_checks and reservation["cabin"] == "basic_economy" and set(wanted) != set(kept):
            return "Error: the flights of a basic economy reservation cannot be changed (only its cabin)"
        for key, leg in kept.items():
            if key not in wanted and self._status(leg) in FLOWN:
                return f"Error: flight {key[0]} on {key[1]} has already been flown and cannot be changed"
        new_requests = [f for f in flights if (f["flight_number"], f["date"]) not in kept or cabin_changes]
        new_legs, error = self._new_legs(new_requests, cabin, passengers)
        if error:
            return error
        priced = {(leg["flight_number"], leg["date"]): leg for leg in new_legs}
        legs = [priced.get(key) or dict(kept[key]) for key in wanted]
        if self.policy_checks:
            error = _route_problem(legs, reservation["origin"], reservation["destination"], reservation["flight_type"])
            if error:
                return error.replace("Error: ", "Error: a flight change keeps origin, destination and trip type: ")
        difference = (sum(leg["price"] for leg in legs) - sum(leg["price"] for leg in old_legs)) * passengers
        user = self.db["users"][reservation["user_id"]]
        error = self._change_payment_problem(user, payment_id, difference)
        if error:
            return error
        self._release_seats(old_legs, reservation["cabin"], passengers)
        self._take_seats(legs, cabin, passengers)
        reservation["flights"], reservation["cabin"] = legs, cabin
        if money(difference):
            self._pay(reservation, user, payment_id, difference)
        return as_json(reservation)

    def update_reservation_passengers(self, reservation_id: str, passengers: list[dict[str, Any]]) -> str:
        """Replace the passengers' details; their number cannot change."""
        reservation, error = self._open_reservation(reservation_id)
        if error:
            return error
        if len(passengers) != len(reservation["passengers"]):
            return f"Error: the number of passengers cannot change (it is {len(reservation['passengers'])})"
        reservation["passengers"] = [_passenger(p) for p in passengers]
        return as_json(reservation)

    def send_certificate(self, user_id: str, amount: float) -> str:
        """Add a travel certificate worth ``amount`` to the user's payment methods."""
        user = self.db["users"].get(user_id)
        if user is None:
            return "Error: user not found"
        if amount <= 0:
            return "Error: the certificate amount must be positive"
        methods = user["payment_methods"]
        seed = f"{user_id}:{len(methods)}:{money(amount)}"
        certificate_id = _new_id(seed, methods, "certificate_", 7, "0123456789")
        methods[certificate_id] = {"source": "certificate", "amount": money(amount), "id": certificate_id}
        return f"Certificate {certificate_id} added to user {user_id} with amount {money(amount)}."

    # -- flights and seats ---------------------------------------------------------------------------

    def _bookable(self, origin: str, date: str, destination: str | None = None) -> list[dict[str, Any]]:
        """Flights from ``origin`` (to ``destination``) whose ``date`` is available, as search results."""
        found = []
        for flight in self.db["flights"].values():
            if flight["origin"] != origin or (destination is not None and flight["destination"] != destination):
                continue
            day = flight["dates"].get(date)
            if day is not None and day["status"] == "available":
                listing = {key: value for key, value in flight.items() if key != "dates"}
                found.append({**listing, "date": date, **day})
        return found

    def _status(self, leg: dict[str, Any]) -> str:
        flight = self.db["flights"].get(leg["flight_number"], {})
        return flight.get("dates", {}).get(leg["date"], {}).get("status", "unknown")

    def _new_legs(
        self, flights: list[dict[str, Any]], cabin: str, passengers: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Reservation segments at today's price for bookable flights with seats for everyone, else an error."""
        legs: list[dict[str, Any]] = []
        needed = Counter((f["flight_number"], f["date"]) for f in flights)
        for request in flights:
            number, date = request["flight_number"], request["date"]
            flight = self.db["flights"].get(number)
            if flight is None:
                return [], f"Error: flight {number} not found"
            day = flight["dates"].get(date)
            if day is None:
                return [], f"Error: flight {number} does not fly on {date}"
            if day["status"] != "available":
                return [], f"Error: flight {number} on {date} cannot be booked (status {day['status']!r})"
            if day["available_seats"][cabin] < passengers * needed[(number, date)]:
                return [], f"Error: flight {number} on {date} has {day['available_seats'][cabin]} {cabin} seats left"
            legs.append(
                {"origin": flight["origin"], "destination": flight["destination"], "flight_number": number,
                 "date": date, "price": day["prices"][cabin]}
            )  # fmt: skip
        return legs, None

    def _seats(self, legs: list[dict[str, Any]], cabin: str, change: int) -> None:
        for leg in legs:
            day = self.db["flights"].get(leg["flight_number"], {}).get("dates", {}).get(leg["date"], {})
            if day.get("status") == "available":
                day["available_seats"][cabin] += change

    def _take_seats(self, legs: list[dict[str, Any]], cabin: str, passengers: int) -> None:
        self._seats(legs, cabin, -passengers)

    def _release_seats(self, legs: list[dict[str, Any]], cabin: str, passengers: int) -> None:
        self._seats(legs, cabin, passengers)

    # -- reservations and money ----------------------------------------------------------------------

    def _open_reservation(self, reservation_id: str) -> tuple[dict[str, Any], str | None]:
        reservation = self.db["reservations"].get(reservation_id)
        if reservation is None:
            return {}, "Error: reservation not found"
        if reservation.get("status") == "cancelled":
            return {}, f"Error: reservation {reservation_id} is cancelled"
        return reservation, None

    def _new_reservation_id(self, user_id: str) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return _new_id(f"{user_id}:{len(self.db['reservations'])}", self.db["reservations"], "", 6, alphabet)

    def _payments_problem(self, user: dict[str, Any], payments: list[dict[str, Any]], price: float) -> str | None:
        """Why a booking's payments are refused: unknown or repeated methods, too many of a kind, a balance
        that does not cover its share, or a sum other than the price."""
        ids = [payment["payment_id"] for payment in payments]
        if len(set(ids)) != len(ids):
            return "Error: a payment method is listed twice"
        kinds: Counter[str] = Counter()
        for payment in payments:
            method = user["payment_methods"].get(payment["payment_id"])
            if method is None:
                return f"Error: payment method {payment['payment_id']} is not in the user's profile"
            if payment["amount"] < 0:
                return "Error: payment amounts cannot be negative"
            kinds[method["source"]] += 1
            if method["source"] in ("gift_card", "certificate") and payment["amount"] > method["amount"]:
                return f"Error: {method['source'].replace('_', ' ')} {method['id']} holds only {method['amount']}"
        for kind, limit in PAYMENT_LIMITS.items():
            if kinds[kind] > limit:
                return f"Error: a reservation can use at most {limit} {kind.replace('_', ' ')}(s)"
        paid = money(sum(payment["amount"] for payment in payments))
        if paid != price:
            return f"Error: the payments add up to {paid} but the total price is {price}"
        return None

    @staticmethod
    def _change_payment_problem(user: dict[str, Any], payment_id: str, cost: float) -> str | None:
        """Why a change cannot be paid (or refunded) with ``payment_id``: one gift card or credit card."""
        method = user["payment_methods"].get(payment_id)
        if method is None:
            return f"Error: payment method {payment_id} is not in the user's profile"
        if method["source"] not in ("gift_card", "credit_card"):
            return "Error: changes are paid or refunded with a gift card or a credit card"
        if method["source"] == "gift_card" and cost > method["amount"]:
            return f"Error: gift card {payment_id} holds only {method['amount']}"
        return None

    @staticmethod
    def _pay(reservation: dict[str, Any], user: dict[str, Any], payment_id: str, amount: float) -> None:
        """Record a payment, or (negative) a refund. A payment takes from a gift card's balance and uses up a
        certificate; a refund reaches its method in 5 to 7 business days, so it moves no balance now."""
        reservation["payment_history"].append({"payment_id": payment_id, "amount": money(amount)})
        method = user.get("payment_methods", {}).get(payment_id)
        if method is None or amount <= 0:
            return
        if method["source"] == "gift_card":
            method["amount"] = money(method["amount"] - amount)
        elif method["source"] == "certificate":
            del user["payment_methods"][payment_id]


def _next_day(date: str) -> str:
    try:
        return (Date.fromisoformat(date) + timedelta(days=1)).isoformat()
    except ValueError:
        return date


def _passenger(passenger: dict[str, Any]) -> dict[str, str]:
    return {"first_name": passenger["first_name"], "last_name": passenger["last_name"], "dob": passenger["dob"]}


def _new_id(seed: str, taken: Any, prefix: str, length: int, alphabet: str) -> str:
    """A deterministic fresh id: the same database state gives the same id, so a replay reproduces it."""
    for attempt in range(1000):
        digest = int(hashlib.sha256(f"{seed}:{attempt}".encode()).hexdigest(), 16)
        body = ""
        for _ in range(length):
            digest, index = divmod(digest, len(alphabet))
            body += alphabet[index]
        if prefix + body not in taken:
            return prefix + body
    raise ValueError("no free id")  # unreachable in practice


def _route_problem(legs: list[dict[str, Any]], origin: str, destination: str, flight_type: str) -> str | None:
    """Why the segments do not make the trip: they must connect, start at ``origin``, reach ``destination``
    and (round trip) come back to ``origin``."""
    if legs[0]["origin"] != origin:
        return f"Error: the first flight leaves from {legs[0]['origin']}, not {origin}"
    for before, after in itertools.pairwise(legs):
        if before["destination"] != after["origin"]:
            return f"Error: flight {after['flight_number']} does not leave from {before['destination']}"
    stops = [leg["destination"] for leg in legs]
    if flight_type == "one_way" and stops[-1] != destination:
        return f"Error: the flights end at {stops[-1]}, not {destination}"
    if flight_type == "round_trip" and (stops[-1] != origin or destination not in stops):
        return f"Error: a round trip goes from {origin} to {destination} and back"
    return None


def _may_cancel(reservation: dict[str, Any], statuses: list[str]) -> bool:
    """The policy's checkable cancellation grounds: booked within 24 hours, a flight cancelled by the
    airline, business class, or travel insurance (whose health/weather condition the agent confirms)."""
    booked = datetime.fromisoformat(reservation["created_at"])
    return (
        NOW - booked <= timedelta(hours=24)
        or "cancelled" in statuses
        or reservation["cabin"] == "business"
        or reservation["insurance"] == "yes"
    )
