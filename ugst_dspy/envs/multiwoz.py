"""MultiWOZ as a tool environment: a Cambridge travel information desk over the MultiWOZ databases.

The tools are ours (MultiWOZ itself has no tool API): one search tool per domain (``find_restaurant``,
``find_hotel``, ``find_attraction``, ``find_train``, ``find_hospital``, ``find_police``) and four booking
tools (``book_restaurant``, ``book_hotel``, ``book_train``, ``book_taxi``). Searches return
``{"count": N, "results": [...]}`` as JSON, at most :data:`MAX_RESULTS` entities; bookings return JSON with
an 8-character reference (and a car type and phone for a taxi) and are appended to ``env.db["bookings"]``,
so an outcome can be checked after the conversation. Refusals are ``"Error: ..."`` strings.

Matching is forgiving about form and strict about facts: case, punctuation, "the", spaces ("guest house" =
"guesthouse") and a few synonyms ("center" = "centre", "moderately priced" = "moderate", "free" parking =
"yes") are normalised; ``dontcare``/``any``/empty means no constraint; train ``leaveAt`` means "leaves at or
after" and ``arriveBy`` "arrives at or before", compared as HH:MM times. :func:`find_entities` is the same
matching as a plain function, used by the goal generator to prove that an objective is impossible.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ugst_dspy.envs import datafiles
from ugst_dspy.envs.base import ToolEnvironment
from ugst_dspy.envs.datafiles import data_dir
from ugst_dspy.envs.unavailable import MULTIWOZ_UNAVAILABLE
from ugst_dspy.errors import UgstError

DB_DOMAINS: tuple[str, ...] = ("attraction", "hospital", "hotel", "police", "restaurant", "taxi", "train")
"""The database files, ``db/<domain>_db.json``."""

SEARCH_SLOTS: dict[str, tuple[str, ...]] = {
    "restaurant": ("area", "food", "pricerange", "name"),
    "hotel": ("area", "pricerange", "stars", "type", "parking", "internet", "name"),
    "attraction": ("area", "type", "name"),
    "train": ("departure", "destination", "day", "leaveAt", "arriveBy"),
    "hospital": ("department",),
    "police": ("name",),
}
"""The constraint arguments of each search tool (the database field each one matches)."""

WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_RESULTS = 10
MAX_PEOPLE = 20
MAX_STAY = 14
REFERENCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

MULTIWOZ_POLICY = """\
You are the information desk of a travel service in Cambridge, UK. You help visitors find restaurants, \
hotels and guesthouses, attractions, trains, taxis, a hospital department and the police station, and you \
make bookings for them with your tools.

- Search before you answer: every name, address, phone number, price, train time and train ID you give \
must come from a search result. Never invent a place, a train or a reference number.
- Search before you book, and book only what a search returned.
- Ask for what a search or a booking needs (area, price range, day, time, number of people, nights) when \
the user has not said it; do not guess it.
- When several results match, offer a few and let the user choose. When none matches, say so plainly and \
offer to change one constraint; do not pretend an alternative fits the original request.
- Before any booking, repeat its details (place or train, day, time, people, nights) and wait for the \
user's clear yes.
- After a booking, give the reference number; for a taxi also the car type and the contact number.
- Answer what was asked, briefly and politely. One booking per tool call."""
"""The agent's policy (written for this package; MultiWOZ has no policy document)."""

_NO_CONSTRAINT = {"", "dontcare", "dont care", "do not care", "any", "anything", "none", "no preference", "either"}
_SYNONYMS = {
    "area": {"center": "centre", "city centre": "centre", "city center": "centre", "central": "centre",
             "town centre": "centre"},
    "pricerange": {"moderately priced": "moderate", "moderately": "moderate", "mid range": "moderate",
                   "midrange": "moderate", "inexpensive": "cheap", "budget": "cheap", "pricey": "expensive",
                   "upscale": "expensive", "high end": "expensive"},
    "type": {"multiplesports": "mutliplesports", "pool": "swimmingpool", "concert": "concerthall",
             "guest": "guesthouse", "bedandbreakfast": "guesthouse", "bandb": "guesthouse"},
}
_YES = {"yes", "y", "true", "free", "1", "included", "available"}
_NO = {"no", "n", "false", "0", "not included"}
_TIME = re.compile(r"^(\d{1,2})(?:[:.h]?(\d{2}))?\s*(am|pm)?$")


# -- the databases -------------------------------------------------------------------------------


def multiwoz_db_dir(explicit: str | Path | None = None) -> Path:
    """The folder holding ``restaurant_db.json`` and the other databases.

    ``explicit`` may be the data folder (holding ``multiwoz/``), the ``multiwoz`` folder or its ``db``
    folder; without it, :func:`ugst_dspy.envs.datafiles.data_dir` decides.
    """
    root = data_dir(explicit)
    for candidate in (root / "multiwoz" / "db", root / "db", root):
        if datafiles.exists(candidate / "restaurant_db.json"):
            return candidate
    raise UgstError(f"MultiWOZ databases not found under {root} (expected multiwoz/db/<domain>_db.json)")


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> dict[str, Any]:
    return {domain: datafiles.read_json(Path(folder) / f"{domain}_db.json") for domain in DB_DOMAINS}


def load_multiwoz_db(explicit: str | Path | None = None) -> dict[str, Any]:
    """The seven databases by domain, read once per folder and shared: treat the result as read-only
    (an environment works on its own deep copy)."""
    return _load(str(multiwoz_db_dir(explicit).resolve()))


# -- normalisation and matching ------------------------------------------------------------------


def normalise(text: Any) -> str:
    """Lower case, ``&`` -> ``and``, punctuation dropped, spaces collapsed, a leading "the" removed."""
    return _normalised(str(text))


@functools.lru_cache(maxsize=16384)
def _normalised(text: str) -> str:
    value = text.lower().replace("&", " and ").replace("-", " ")
    value = re.sub(r"[^\w\s:]", "", value)
    value = " ".join(value.split())
    return value[4:] if value.startswith("the ") else value


def _compact(text: Any) -> str:
    return normalise(text).replace(" ", "")


def is_unconstrained(value: Any) -> bool:
    """Whether a constraint value means "no constraint" (None, empty, dontcare, any, ...)."""
    return value is None or normalise(value).replace("'", "") in _NO_CONSTRAINT


def parse_time(value: Any, *, field: str = "time", latest_hour: int = 24) -> int:
    """Minutes after midnight of ``HH:MM`` (also ``H:MM``, ``HHMM``, ``5pm``, ``9.30am``); ``ValueError``
    otherwise. MultiWOZ train times run past midnight as ``24:10``, hence ``latest_hour`` 24."""
    minutes = _clock(str(value).strip().lower(), latest_hour)
    if minutes is None:
        raise ValueError(f"{field} must be a time as HH:MM, got {value!r}")
    return minutes


@functools.lru_cache(maxsize=8192)
def _clock(text: str, latest_hour: int) -> int | None:
    match = _TIME.match(text)
    if match is None:
        return None
    hours, minutes, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half is not None:
        if not 1 <= hours <= 12:
            return None
        hours = hours % 12 + (12 if half == "pm" else 0)
    if hours > latest_hour or minutes > 59:
        return None
    return hours * 60 + minutes


def format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_day(value: Any) -> str:
    """A weekday name (full or its first three letters, any case); ``ValueError`` otherwise."""
    text = normalise(value)
    for day in WEEKDAYS:
        if text in (day, day[:3]):
            return day
    raise ValueError(f"day must be a weekday (monday ... sunday), got {value!r}")


def _canonical(slot: str, value: Any) -> str:
    """A constraint value in the database's form (raises ``ValueError`` on a value that cannot be one)."""
    if slot == "day":
        return parse_day(value)
    if slot in ("parking", "internet"):
        text = normalise(value)
        if text in _YES:
            return "yes"
        if text in _NO:
            return "no"
        raise ValueError(f"{slot} must be yes or no, got {value!r}")
    if slot == "stars":
        digits = re.findall(r"\d+", str(value))
        if len(digits) != 1 or int(digits[0]) > 5:
            raise ValueError(f"stars must be a number from 0 to 5, got {value!r}")
        return str(int(digits[0]))
    text = normalise(value)
    if slot in ("area", "pricerange"):
        return _SYNONYMS[slot].get(text, text)
    if slot in ("type", "food"):
        compact = text.replace(" ", "")
        return _SYNONYMS["type"].get(compact, compact)
    return text


def _entity_value(slot: str, entity: Mapping[str, Any]) -> str:
    raw = entity.get(slot)
    if raw is None:
        return ""
    return _compact(raw) if slot in ("type", "food") else normalise(raw)


def _matches(slot: str, wanted: str, entity: Mapping[str, Any]) -> bool:
    if slot == "leaveAt":
        return parse_time(entity["leaveAt"]) >= int(wanted)
    if slot == "arriveBy":
        return parse_time(entity["arriveBy"]) <= int(wanted)
    have = _entity_value(slot, entity)
    if slot in ("departure", "destination", "department"):
        return have == wanted or (len(wanted) >= 3 and wanted in have)
    return have == wanted


def find_entities(db: Mapping[str, Any], domain: str, constraints: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every entity of ``domain`` that meets ``constraints`` (slot -> value), in database order, uncapped.

    Unconstrained values are skipped. A ``name`` matches exactly (after :func:`normalise`) or, when no
    entity has that exact name, as a part of the name. Raises ``ValueError`` on an unknown slot or a value
    that cannot be one (a malformed day or time).
    """
    known = SEARCH_SLOTS.get(domain)
    if known is None:
        raise ValueError(f"no search in domain {domain!r}")
    wanted: dict[str, str] = {}
    for slot, value in constraints.items():
        if slot not in known:
            raise ValueError(f"{domain} has no field {slot!r} to search by (use {', '.join(known)})")
        if is_unconstrained(value):
            continue
        if slot in ("leaveAt", "arriveBy"):
            wanted[slot] = str(parse_time(value, field=slot))
        else:
            wanted[slot] = _canonical(slot, value)
    name = wanted.pop("name", None)
    found = [e for e in db[domain] if all(_matches(slot, value, e) for slot, value in wanted.items())]
    if name is not None:
        exact = [e for e in found if normalise(e.get("name", "")) == name]
        found = exact or [e for e in found if name in normalise(e.get("name", ""))]
    if domain == "train":
        found.sort(key=lambda e: (parse_time(e["leaveAt"]), e["trainID"]))
        if "arriveBy" in wanted and "leaveAt" not in wanted:
            found.reverse()  # the trains arriving last before the deadline first
    return found


def _public(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entity.items() if key != "location"}


def _people(value: Any) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        raise ValueError(f"people must be a whole number, got {value!r}")
    number = int(value)
    if not 1 <= number <= MAX_PEOPLE:
        raise ValueError(f"people must be between 1 and {MAX_PEOPLE}, got {number}")
    return number


def _stay(value: Any) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        raise ValueError(f"stay must be a whole number of nights, got {value!r}")
    number = int(value)
    if not 1 <= number <= MAX_STAY:
        raise ValueError(f"stay must be between 1 and {MAX_STAY} nights, got {number}")
    return number


def _text(value: Any, field: str) -> str:
    if value is None or not str(value).strip():
        raise ValueError(f"{field} must not be empty")
    return str(value).strip()


# -- tool schemas --------------------------------------------------------------------------------

_STRING = {"type": "string"}
_DAY = {"type": "string", "enum": list(WEEKDAYS), "description": "Day of the week, lower case."}
_DONTCARE = ' Leave out, or use "dontcare", when the user has no constraint.'


def _tool(name: str, description: str, properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": list(required)},
        },
    }


def _field(description: str) -> dict[str, Any]:
    return {**_STRING, "description": description + _DONTCARE}


_AREA = _field("Area of town: centre, north, south, east or west.")
_PRICE = _field("Price range: cheap, moderate or expensive.")
_FOUND = (" Returns JSON {\"count\": total matches, \"results\": at most 10 entities}; an empty list means "
          "nothing in the database matches.")

MULTIWOZ_TOOLS: list[dict[str, Any]] = [
    _tool("find_restaurant", "Search Cambridge restaurants." + _FOUND, {
        "area": _AREA, "food": _field("Kind of food, e.g. italian, chinese, modern european."),
        "pricerange": _PRICE, "name": _field("Restaurant name (or part of it)."),
    }),
    _tool("find_hotel", "Search Cambridge hotels and guesthouses." + _FOUND, {
        "area": _AREA, "pricerange": _PRICE, "stars": _field("Star rating, 0 to 5."),
        "type": _field("hotel or guesthouse."), "parking": _field("yes for free parking."),
        "internet": _field("yes for free wifi."), "name": _field("Hotel name (or part of it)."),
    }),
    _tool("find_attraction", "Search Cambridge attractions." + _FOUND, {
        "area": _AREA,
        "type": _field("Kind of attraction, e.g. museum, college, park, theatre, nightclub, architecture, boat, "
                       "cinema, concerthall, swimmingpool, entertainment, multiple sports."),
        "name": _field("Attraction name (or part of it)."),
    }),
    _tool("find_train", "Search trains to and from Cambridge, earliest first (latest arrivals first when only "
          "arriveBy is given)." + _FOUND, {
        "departure": _field("Station the train leaves from, e.g. cambridge, london kings cross."),
        "destination": _field("Station the train goes to."),
        "day": {**_DAY, "description": "Day of travel." + _DONTCARE},
        "leaveAt": _field("Earliest departure time, HH:MM (24 hours)."),
        "arriveBy": _field("Latest arrival time, HH:MM (24 hours)."),
    }),
    _tool("find_hospital", "Search the departments of Addenbrookes Hospital (phone numbers)." + _FOUND, {
        "department": _field("Department, e.g. cardiology, paediatric clinic."),
    }),
    _tool("find_police", "The Cambridge police station (address and phone)." + _FOUND, {
        "name": _field("Station name."),
    }),
    _tool("book_restaurant", "Book a table at a restaurant found by find_restaurant. Returns JSON with the "
          "reference number.", {
        "name": {**_STRING, "description": "Restaurant name, as the search returned it."},
        "people": {"type": "integer", "minimum": 1, "maximum": MAX_PEOPLE, "description": "Number of people."},
        "day": _DAY,
        "time": {**_STRING, "description": "Time of the table, HH:MM (24 hours)."},
    }, ("name", "people", "day", "time")),
    _tool("book_hotel", "Book rooms at a hotel found by find_hotel. Returns JSON with the reference number.", {
        "name": {**_STRING, "description": "Hotel name, as the search returned it."},
        "people": {"type": "integer", "minimum": 1, "maximum": MAX_PEOPLE, "description": "Number of people."},
        "day": {**_DAY, "description": "Day of arrival."},
        "stay": {"type": "integer", "minimum": 1, "maximum": MAX_STAY, "description": "Number of nights."},
    }, ("name", "people", "day", "stay")),
    _tool("book_train", "Book tickets on a train found by find_train. Returns JSON with the reference number "
          "and the total price. A train ID can run on several days: give the day (and departure) then.", {
        "train_id": {**_STRING, "description": "Train ID, e.g. TR7075."},
        "people": {"type": "integer", "minimum": 1, "maximum": MAX_PEOPLE, "description": "Number of tickets."},
        "day": {**_DAY, "description": "Day of the train, when the ID is not enough."},
        "departure": {**_STRING, "description": "Departure station, when the ID and day are not enough."},
        "destination": {**_STRING, "description": "Destination station, when the rest is not enough."},
    }, ("train_id", "people")),
    _tool("book_taxi", "Book a taxi between two places. Give leaveAt, arriveBy or both. Returns JSON with the "
          "reference number, the car type and the driver's contact number.", {
        "departure": {**_STRING, "description": "Pick-up place."},
        "destination": {**_STRING, "description": "Drop-off place."},
        "leaveAt": {**_STRING, "description": "Pick-up time, HH:MM (24 hours)."},
        "arriveBy": {**_STRING, "description": "Time to arrive by, HH:MM (24 hours)."},
    }, ("departure", "destination")),
]
"""The tools as OpenAI function schemas."""


def _refusing(method: Any) -> Any:
    """Turn a ``ValueError`` raised by a tool into its ``"Error: ..."`` string."""

    @functools.wraps(method)
    def tool(self: MultiWOZEnv, *args: Any, **kwargs: Any) -> str:
        try:
            return method(self, *args, **kwargs)
        except ValueError as err:
            return f"Error: {err}"

    return tool


class MultiWOZEnv(ToolEnvironment):
    """The Cambridge information desk over a private copy of the MultiWOZ databases.

    ``seed`` fixes the booking references (and taxi cars): the n-th booking of two environments with the
    same seed gets the same reference. ``db`` replaces the files (a dict of domain -> entities).
    """

    name = "multiwoz"
    unavailable_services = MULTIWOZ_UNAVAILABLE
    outcome_key = "multiwoz_booking"

    def __init__(
        self, data_dir: str | Path | None = None, *, seed: int = 0, db: Mapping[str, Any] | None = None
    ) -> None:
        source = dict(db) if db is not None else load_multiwoz_db(data_dir)
        super().__init__({**source, "bookings": []}, MULTIWOZ_POLICY, MULTIWOZ_TOOLS)
        self.seed = seed
        self._issued = 0
        for schema in MULTIWOZ_TOOLS:
            name = schema["function"]["name"]
            self.register(getattr(self, name), name)

    @classmethod
    def default_goals_path(cls, data_dir: str | Path | None = None) -> Path:
        """The MultiWOZ test-split goals (``multiwoz/goals_test.jsonl``; their ``message`` is the instruction);
        a one-line error when absent."""
        path = multiwoz_db_dir(data_dir).parent / "goals_test.jsonl"
        datafiles.stored_path(path)
        return path

    @classmethod
    def check_goal(cls, goal: Mapping[str, Any], data_dir: str | Path | None = None) -> str | None:
        """Refuses τ-bench tasks (a ``user_id``, ``actions`` or a τ-bench ``domain``) and domains MultiWOZ
        does not have (see :mod:`ugst_dspy.envs.goal_checks`)."""
        from ugst_dspy.envs.goal_checks import multiwoz_goal_problem

        return multiwoz_goal_problem(goal)

    def task_outcome(self, goal: Mapping[str, Any], agent_messages: list[str]) -> dict[str, Any] | None:
        """The booking outcome: were the bookings the goal asks for made, with the right place and details
        (see :mod:`ugst_dspy.envs.multiwoz_outcome`)? ``None`` for a goal that asks for no booking. The
        agent's messages are not read: a booking counts only when a tool made it."""
        from ugst_dspy.envs.multiwoz_outcome import booking_outcome

        return booking_outcome(goal, self.db, self.bookings)

    # -- searches --------------------------------------------------------------------------------

    def _find(self, domain: str, constraints: dict[str, Any]) -> str:
        found = find_entities(self.db, domain, constraints)
        return json.dumps({"count": len(found), "results": [_public(e) for e in found[:MAX_RESULTS]]},
                          ensure_ascii=False)

    @_refusing
    def find_restaurant(self, area: str | None = None, food: str | None = None, pricerange: str | None = None,
                        name: str | None = None) -> str:
        return self._find("restaurant", {"area": area, "food": food, "pricerange": pricerange, "name": name})

    @_refusing
    def find_hotel(self, area: str | None = None, pricerange: str | None = None, stars: str | None = None,
                   type: str | None = None, parking: str | None = None, internet: str | None = None,  # noqa: A002
                   name: str | None = None) -> str:
        return self._find("hotel", {"area": area, "pricerange": pricerange, "stars": stars, "type": type,
                                    "parking": parking, "internet": internet, "name": name})

    @_refusing
    def find_attraction(self, area: str | None = None, type: str | None = None,  # noqa: A002
                        name: str | None = None) -> str:
        return self._find("attraction", {"area": area, "type": type, "name": name})

    @_refusing
    def find_train(self, departure: str | None = None, destination: str | None = None, day: str | None = None,
                   leaveAt: str | None = None, arriveBy: str | None = None) -> str:  # noqa: N803
        return self._find("train", {"departure": departure, "destination": destination, "day": day,
                                    "leaveAt": leaveAt, "arriveBy": arriveBy})

    @_refusing
    def find_hospital(self, department: str | None = None) -> str:
        return self._find("hospital", {"department": department})

    @_refusing
    def find_police(self, name: str | None = None) -> str:
        return self._find("police", {"name": name})

    # -- bookings --------------------------------------------------------------------------------

    @property
    def bookings(self) -> list[dict[str, Any]]:
        """The bookings made so far, oldest first (the same list as ``db["bookings"]``)."""
        return self.db["bookings"]

    def _digest(self) -> bytes:
        self._issued += 1
        return hashlib.sha256(f"multiwoz:{self.seed}:{self._issued}".encode()).digest()

    def _book(self, record: dict[str, Any], digest: bytes) -> str:
        reference = "".join(REFERENCE_ALPHABET[b % len(REFERENCE_ALPHABET)] for b in digest[:8])
        booking = {"reference": reference, **record}
        self.bookings.append(booking)
        return json.dumps({"booked": True, **booking}, ensure_ascii=False)

    def _place(self, domain: str, name: Any) -> dict[str, Any]:
        wanted = _text(name, "name")
        found = find_entities(self.db, domain, {"name": wanted})
        if not found:
            raise ValueError(f"no {domain} named {wanted!r}; search with find_{domain} first")
        if len(found) > 1:
            names = ", ".join(e["name"] for e in found[:5])
            raise ValueError(f"{wanted!r} matches several {domain}s ({names}); give the full name")
        return found[0]

    @_refusing
    def book_restaurant(self, name: str, people: int, day: str, time: str) -> str:
        place = self._place("restaurant", name)
        record = {"domain": "restaurant", "name": place["name"], "people": _people(people), "day": parse_day(day),
                  "time": format_time(parse_time(time, latest_hour=23))}
        return self._book(record, self._digest())

    @_refusing
    def book_hotel(self, name: str, people: int, day: str, stay: int) -> str:
        place = self._place("hotel", name)
        if normalise(place.get("takesbookings", "yes")) != "yes":
            raise ValueError(f"{place['name']} does not take bookings")
        record = {"domain": "hotel", "name": place["name"], "people": _people(people), "day": parse_day(day),
                  "stay": _stay(stay)}
        return self._book(record, self._digest())

    @_refusing
    def book_train(self, train_id: str, people: int, day: str | None = None, departure: str | None = None,
                   destination: str | None = None) -> str:
        wanted = _text(train_id, "train_id").upper().replace(" ", "")
        runs = [e for e in self.db["train"] if e["trainID"].upper() == wanted]
        if not runs:
            raise ValueError(f"no train {train_id!r}; search with find_train first")
        if not is_unconstrained(day):
            on = parse_day(day)
            runs = [e for e in runs if e["day"] == on]
        for slot, value in (("departure", departure), ("destination", destination)):
            if not is_unconstrained(value):
                runs = [e for e in runs if _matches(slot, normalise(value), e)]
        if not runs:
            raise ValueError(f"train {wanted} does not run on that day or route")
        if len(runs) > 1:
            options = "; ".join(f"{e['day']} {e['departure']} -> {e['destination']} at {e['leaveAt']}" for e in runs)
            raise ValueError(f"train {wanted} runs more than once ({options}); give the day, departure and destination")
        train, count = runs[0], _people(people)
        unit = float(str(train["price"]).split()[0])
        record = {"domain": "train", "trainID": train["trainID"], "day": train["day"],
                  "departure": train["departure"], "destination": train["destination"],
                  "leaveAt": train["leaveAt"], "arriveBy": train["arriveBy"], "people": count,
                  "total_price": f"{unit * count:.2f} GBP"}
        return self._book(record, self._digest())

    @_refusing
    def book_taxi(self, departure: str, destination: str, leaveAt: str | None = None,  # noqa: N803
                  arriveBy: str | None = None) -> str:  # noqa: N803
        start, end = _text(departure, "departure"), _text(destination, "destination")
        if normalise(start) == normalise(end):
            raise ValueError("departure and destination must be different places")
        if is_unconstrained(leaveAt) and is_unconstrained(arriveBy):
            raise ValueError("give leaveAt or arriveBy (HH:MM) for a taxi")
        record: dict[str, Any] = {"domain": "taxi", "departure": start, "destination": end}
        if not is_unconstrained(leaveAt):
            record["leaveAt"] = format_time(parse_time(leaveAt, field="leaveAt", latest_hour=23))
        if not is_unconstrained(arriveBy):
            record["arriveBy"] = format_time(parse_time(arriveBy, field="arriveBy", latest_hour=23))
        if "leaveAt" in record and "arriveBy" in record and record["leaveAt"] >= record["arriveBy"]:
            raise ValueError("leaveAt must be before arriveBy")
        digest = self._digest()
        taxi = self.db["taxi"][0] if isinstance(self.db["taxi"], list) else self.db["taxi"]
        colours, types = taxi["taxi_colors"], taxi["taxi_types"]
        record["car_type"] = f"{colours[digest[8] % len(colours)]} {types[digest[9] % len(types)]}"
        record["phone"] = "07" + "".join(str(b % 10) for b in digest[10:18])  # taxi_phone: ^[0-9]{10}$
        return self._book(record, digest)
