"""The flight catalogue of ``tau-airline`` as τ-bench publishes it: the airport list and the two flight searches.

Written from the behaviour of upstream's ``list_all_airports``, ``search_direct_flight`` and
``search_onestop_flight`` (sierra-research/tau-bench), quirks kept, so an agent sees what it sees there:

- the airport list has 20 airports in upstream's order and names (``DFW`` is ``Dallas``, ``LGA`` is
  ``LaGuardia``), whatever the flights table holds;
- a search lists only flight dates whose status is ``available``; a hit is the flight's fields (its
  ``dates`` left out) followed by the fields of that date's record; a direct hit has no ``date`` field;
- a one-stop hit is ``[first leg, second leg]``, each ending in a ``date`` field; any flight out of the
  origin pairs with any flight from its destination to the searched destination (the two may be the same
  airport pair reversed) when the first leg's scheduled arrival, compared as text, is not later than the
  second's scheduled departure: zero layover is fine, and an overnight arrival ``"01:30:00+1"`` connects
  with any departure after 01:30 (on the day the next point says);
- after an overnight first leg (arrival ending in ``+1``) the second leg flies on "the next day", which
  upstream writes as ``2024-05-`` followed by the searched day plus one, unpadded: from ``2024-05-05`` it
  is ``2024-05-6``, a date no flight has, so such pairs are never found before the 9th; from the 9th on it
  is a real date, yet that leg's seats and prices (and status fields) are those of the searched day.
"""

from __future__ import annotations

from typing import Any

#: upstream's airport list, in its order
AIRPORTS: dict[str, str] = {
    "SFO": "San Francisco", "JFK": "New York", "LAX": "Los Angeles", "ORD": "Chicago", "DFW": "Dallas",
    "DEN": "Denver", "SEA": "Seattle", "ATL": "Atlanta", "MIA": "Miami", "BOS": "Boston", "PHX": "Phoenix",
    "IAH": "Houston", "LAS": "Las Vegas", "MCO": "Orlando", "EWR": "Newark", "CLT": "Charlotte",
    "MSP": "Minneapolis", "DTW": "Detroit", "PHL": "Philadelphia", "LGA": "LaGuardia",
}  # fmt: skip
BOOKABLE = "available"
OVERNIGHT = "+1"


def flight_on(flight: dict[str, Any], day: dict[str, Any]) -> dict[str, Any]:
    """A search hit: the flight's own fields without its calendar, then the fields of one date's record."""
    hit = {key: value for key, value in flight.items() if key != "dates"}
    hit.update(day)
    return hit


def connection_date(first_leg: dict[str, Any], date: str) -> str:
    """The date upstream gives the second leg of a connection: ``date``, or after an overnight first leg
    ``2024-05-<day + 1>`` (month fixed, day unpadded)."""
    if OVERNIGHT in first_leg["scheduled_arrival_time_est"]:
        return f"2024-05-{int(date[-2:]) + 1}"
    return date


def direct_flights(flights: dict[str, Any], origin: str, destination: str, date: str) -> list[dict[str, Any]]:
    """The flights from ``origin`` to ``destination`` bookable on ``date``, in table order."""
    hits = []
    for flight in flights.values():
        if flight["origin"] != origin or flight["destination"] != destination:
            continue
        calendar = flight["dates"]
        if date in calendar and calendar[date]["status"] == BOOKABLE:
            hits.append(flight_on(flight, calendar[date]))
    return hits


def onestop_flights(flights: dict[str, Any], origin: str, destination: str, date: str) -> list[list[dict[str, Any]]]:
    """The connections from ``origin`` to ``destination`` through one airport, in table order of the first
    leg, then of the second (see the module docstring for the pairing rule and the dates)."""
    pairs = []
    for first in flights.values():
        if first["origin"] != origin:
            continue
        for second in flights.values():
            if second["destination"] != destination or first["destination"] != second["origin"]:
                continue
            onward = connection_date(first, date)
            if first["scheduled_arrival_time_est"] > second["scheduled_departure_time_est"]:
                continue
            if date not in first["dates"] or onward not in second["dates"]:
                continue
            if first["dates"][date]["status"] != BOOKABLE or second["dates"][onward]["status"] != BOOKABLE:
                continue
            out = flight_on(first, first["dates"][date])
            out["date"] = date
            back = flight_on(second, second["dates"][date])
            back["date"] = onward
            pairs.append([out, back])
    return pairs
