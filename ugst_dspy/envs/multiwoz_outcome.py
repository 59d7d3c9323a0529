"""The booking outcome of a MultiWOZ conversation: were the bookings the goal asks for made, right?

It is read from the goal record and the bookings the tools made (``env.db["bookings"]``, each
``{"reference", "domain", ...}`` as :class:`ugst_dspy.envs.multiwoz.MultiWOZEnv` records it: a restaurant's
``name``, ``people``, ``day``, ``time``; a hotel's ``name``, ``people``, ``day``, ``stay``; a train's
``trainID``, ``day``, ``people`` ...; a taxi's ``departure``, ``destination``, ``leaveAt``/``arriveBy``).
Only the tools' bookings count: what the agent says is not read. The rules:

- **Objectives.** A MultiWOZ test goal (``{"goal": {domain: {"info", "book", "reqt", "fail_info",
  "fail_book"}}}``) has one objective per domain that is filled in; a generated goal (``source``
  ``multiwoz-challenge``, :mod:`ugst_dspy.envs.multiwoz_goals`) lists them in ``objectives``. An objective
  asks for a booking when it has a ``book`` (test goal) or a ``booking`` (generated goal), or is a taxi with
  something to book (a taxi objective is a booking: its ``info`` is the ride).
- **Impossible objectives** are counted apart (``impossible``): a generated objective marked ``impossible``;
  a test-goal restaurant, hotel, attraction or train objective whose ``info`` (and ``fail_info``, when
  given) no database entity meets. One expects no booking, so it is never in ``bookings_expected``; a
  booking in its domain (each objective has a domain of its own) is a substitute the user did not ask for,
  counted in ``impossible_booked``.
- **The place.** A restaurant or hotel booking must name an entity that meets the objective's constraints,
  matched as the search tools match (:func:`ugst_dspy.envs.multiwoz.find_entities`); a train booking must
  be a run (train ID and day) that meets them. Test goal: ``info``, or ``fail_info`` when given (the user's
  first choice, which MultiWOZ meant to find nothing but this database may hold). Generated goal:
  ``constraints`` (a conditional objective's are those after the change of mind; soft preferences are not
  required).
- **The details.** ``people``, ``day``, ``time`` and ``stay``, those the goal gives (a train: ``people``),
  equal the booking's; a test goal's ``book`` flags ``invalid`` and ``pre_invalid`` are not details. A
  test goal's ``fail_book`` is the first attempt, which MultiWOZ meant to fail and this environment never
  refuses: ``book`` with ``fail_book``'s values counts too.
- **A taxi.** The ``departure`` and ``destination`` the goal gives must be the booking's (compared
  normalised, spaces ignored; the booked text may add to the name, as "pizza hut fen ditton, cambridge");
  a ``leaveAt`` it gives must be booked at or after it, an ``arriveBy`` at or before it (the searches'
  meaning of the two). A goal time past midnight written as ``24:30`` is ``00:30`` (the taxi tool books
  times of day). A test goal's taxi often names no places (they are the goal's other places): then only
  its times are checked.
- **Reward.** 1.0 when every expected booking was made (some booking of its domain meets it) and no
  impossible objective got a booking, else 0.0. Other bookings are not held against it (no tool cancels,
  so a wrong booking followed by the right one is the best an agent can do). A goal with no objective
  that asks for a booking has no outcome: ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ugst_dspy.envs.multiwoz import find_entities, is_unconstrained, normalise, parse_day, parse_time

DOMAINS: tuple[str, ...] = ("restaurant", "hotel", "attraction", "train", "taxi", "hospital", "police")
"""The domains of a test goal's objectives, in the order they are read."""
SEARCHED: tuple[str, ...] = ("restaurant", "hotel", "attraction", "train")
"""The domains whose test-goal objective is impossible when no entity meets it."""
DETAIL_SLOTS: tuple[str, ...] = ("people", "day", "time", "stay")
"""The booking details compared; other keys of a ``book`` are flags."""
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Objective:
    """What one objective of a goal expects of the bookings."""

    domain: str
    #: whether the objective asks for a booking
    books: bool
    #: whether no entity can meet it (it expects no booking)
    impossible: bool = False
    #: constraint sets, one of which the booked place or train must meet (``{}``: any)
    places: tuple[Mapping[str, Any], ...] = ({},)
    #: booking details, one set of which the booking must have (a taxi: its ride)
    details: tuple[Mapping[str, Any], ...] = ({},)


# -- the goal's objectives -----------------------------------------------------------------------


def goal_objectives(goal: Mapping[str, Any], db: Mapping[str, Any]) -> list[Objective]:
    """The objectives of a generated goal (``objectives``) or a MultiWOZ test goal (``goal``); none for a
    record of neither kind. ``db`` decides which test-goal objectives are impossible."""
    if isinstance(goal.get("objectives"), list | tuple):
        return [_generated(objective) for objective in goal["objectives"] if isinstance(objective, Mapping)]
    spec = goal.get("goal")
    if isinstance(spec, Mapping):
        return [_dialogue(domain, spec[domain], db) for domain in DOMAINS
                if isinstance(spec.get(domain), Mapping) and spec[domain]]
    return []


def _generated(objective: Mapping[str, Any]) -> Objective:
    """A generated objective (``_meta`` of :mod:`ugst_dspy.envs.multiwoz_goals`): its ``booking`` (a taxi's is
    the ride) and ``constraints``."""
    domain, booking = str(objective.get("domain", "")), objective.get("booking")
    details = dict(booking) if isinstance(booking, Mapping) else {}
    if domain != "taxi":
        details = _details(details)
    return Objective(domain=domain, books=booking is not None, impossible=bool(objective.get("impossible")),
                     places=(dict(objective.get("constraints") or {}),), details=(details,))


def _dialogue(domain: str, spec: Mapping[str, Any], db: Mapping[str, Any]) -> Objective:
    """A test-goal objective: ``info`` (or ``fail_info``) for the place, ``book`` (or it with ``fail_book``'s
    values) for the details; a taxi's ``info`` is its ride."""
    info = dict(spec.get("info") or {})
    if domain == "taxi":
        return Objective(domain=domain, books=bool(info), details=(info,))
    places = (info, dict(spec["fail_info"])) if spec.get("fail_info") else (info,)
    impossible = domain in SEARCHED and not any(_entities(db, domain, constraints) for constraints in places)
    book = spec.get("book")
    details = (_details(book),) if isinstance(book, Mapping) else ({},)
    if isinstance(book, Mapping) and spec.get("fail_book"):
        details += ({**details[0], **_details(spec["fail_book"])},)
    return Objective(domain=domain, books=isinstance(book, Mapping) and bool(book), impossible=impossible,
                     places=places, details=details)


def _details(book: Mapping[str, Any]) -> dict[str, Any]:
    return {slot: book[slot] for slot in DETAIL_SLOTS if slot in book}


def _entities(db: Mapping[str, Any], domain: str, constraints: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The entities meeting ``constraints``; constraints the search cannot read match nothing."""
    try:
        return find_entities(db, domain, constraints)
    except ValueError:
        return []


# -- one booking against one objective ----------------------------------------------------------


def booking_meets(objective: Objective, booking: Mapping[str, Any], db: Mapping[str, Any]) -> bool:
    """Whether ``booking`` is what ``objective`` asks for: its domain, a place (or train) meeting the
    constraints and the details asked (a taxi: the ride)."""
    if booking.get("domain") != objective.domain:
        return False
    if objective.domain == "taxi":
        return any(_ride_meets(ride, booking) for ride in objective.details)
    return _place_meets(objective, booking, db) and any(_details_meet(d, booking) for d in objective.details)


def _place_meets(objective: Objective, booking: Mapping[str, Any], db: Mapping[str, Any]) -> bool:
    for constraints in objective.places:
        found = _entities(db, objective.domain, constraints)
        if objective.domain == "train":
            if any((e["trainID"], e["day"]) == (booking.get("trainID"), booking.get("day")) for e in found):
                return True
        elif normalise(booking.get("name", "")) in {normalise(e.get("name", "")) for e in found}:
            return True
    return False


def _details_meet(details: Mapping[str, Any], booking: Mapping[str, Any]) -> bool:
    return all(_same(slot, wanted, booking.get(slot)) for slot, wanted in details.items())


def _same(slot: str, wanted: Any, booked: Any) -> bool:
    """Whether a booked detail is the one asked for (a number, a weekday or a time, in any form the tools
    accept); a detail the goal leaves open always is."""
    if is_unconstrained(wanted):
        return True
    if booked is None:
        return False
    try:
        if slot == "day":
            return parse_day(wanted) == parse_day(booked)
        if slot == "time":
            return parse_time(wanted) == parse_time(booked)
        return int(str(wanted).strip()) == int(str(booked).strip())
    except ValueError:
        return False


def _ride_meets(ride: Mapping[str, Any], booking: Mapping[str, Any]) -> bool:
    for slot in ("departure", "destination"):
        if not is_unconstrained(ride.get(slot)) and not _same_place(ride[slot], booking.get(slot)):
            return False
    for slot, later in (("leaveAt", True), ("arriveBy", False)):
        if is_unconstrained(ride.get(slot)):
            continue
        if booking.get(slot) is None:
            return False
        try:
            wanted, booked = parse_time(ride[slot]) % DAY_MINUTES, parse_time(booking[slot])
        except ValueError:
            return False
        if (booked < wanted) if later else (booked > wanted):
            return False
    return True


def _same_place(wanted: Any, booked: Any) -> bool:
    """The booked pick-up or drop-off names the goal's place: equal, or containing it, spaces ignored."""
    want, have = normalise(wanted).replace(" ", ""), normalise(booked or "").replace(" ", "")
    return bool(want) and want in have


# -- the outcome ----------------------------------------------------------------------------------


def booking_outcome(
    goal: Mapping[str, Any], db: Mapping[str, Any], bookings: Sequence[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The booking outcome of a conversation (the rules are in the module docstring) as JSON: ``reward``
    1.0 or 0.0, ``bookings_expected``, ``bookings_matched``, ``matched`` (one flag per expected booking, in
    objective order), ``impossible`` (objectives no entity meets) and ``impossible_booked`` (those of them
    that got a booking anyway); ``None`` when the goal asks for no booking."""
    objectives = goal_objectives(goal, db)
    if not any(objective.books for objective in objectives):
        return None
    expected = [o for o in objectives if o.books and not o.impossible]
    matched = [any(booking_meets(o, booking, db) for booking in bookings) for o in expected]
    impossible = [o for o in objectives if o.impossible]
    booked_anyway = sum(any(b.get("domain") == o.domain for b in bookings) for o in impossible)
    return {
        "reward": 1.0 if all(matched) and not booked_anyway else 0.0,
        "bookings_expected": len(expected),
        "bookings_matched": sum(matched),
        "matched": matched,
        "impossible": len(impossible),
        "impossible_booked": booked_anyway,
    }
