"""MultiWOZ Challenge goals (the paper's Appendix B): user goals sampled from the MultiWOZ databases, with
their gold decomposition known by construction.

A goal has a generated user profile (a name, a reason for the trip, perhaps a home town, a persona fact, an
emotional state and a phone number, drawn from pools of about 50 each), one or two behaviour policies (from
about 50), and one to three task objectives, each in its own domain. An objective is
sampled from a database entity: some of the entity's attributes become requirements ("The restaurant should
serve italian food."), others soft preferences ("You would prefer a restaurant in the centre."), plus
what to book and what to ask for. Some objectives are *impossible* (constraint values that match no entity:
the user can only be told so, and the right outcome is ATTEMPTED) and some *conditional*, as in the paper's
Appendix B: a condition on the place the user finds ("If the restaurant you find is in the east, change
your mind and look for one serving thai food instead."), which the database decides: either every place
that meets the first choice meets the condition (the user must change their mind and ends with the
target) or none does (the user keeps the first choice, the target).

Every sub-component is one sentence from our templates, and the instruction is those sentences joined, so
the gold goal state's texts occur verbatim in the instruction. ``phrase`` (optional, e.g. an LM call)
rewrites one sentence at a time; the gold state takes the rewritten sentence, so that stays true. A
rewrite that drops a key value (a name, a time, an area) or repeats another sentence is not used.

Generation is deterministic: goal ``i`` of seed ``s`` depends on ``(s, i)`` only, so the first goals of a
larger set are the goals of a smaller one. There are two *splits*, drawn from separate random streams: the
evaluation split (ids ``mwc-SEED-NNNN``) and the training split (``mwc-train-SEED-NNNN``), so a training set
of any seed and size never holds an evaluation goal (see :mod:`ugst_dspy.envs.holdout`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ugst_dspy.envs.multiwoz import find_entities, format_time, load_multiwoz_db, parse_time
from ugst_dspy.errors import UgstError
from ugst_dspy.files.atomic import write_text_atomic
from ugst_dspy.files.decompositions import Decomposition
from ugst_dspy.files.jsonl import dump_line
from ugst_dspy.rules import DEFAULT_RULES
from ugst_dspy.schemas import validate
from ugst_dspy.state import GoalState

Phrase = Callable[[str], str]
SOURCE = "multiwoz-challenge"
SPLITS = ("eval", "train")

# -- what goals are made of (all written for this package) --------------------------------------

FIRST_NAMES = ("Alice", "Ben", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Isabel", "James", "Kavya",
               "Liam", "Maria", "Noah", "Olivia", "Priya", "Quentin", "Rosa", "Samuel", "Tara", "Umar", "Vera",
               "William", "Yusuf", "Zoe")
LAST_NAMES = ("Adams", "Brown", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ivanova", "Jones",
              "Khan", "Lopez", "Murphy", "Nakamura", "Okafor", "Patel", "Rossi", "Schmidt", "Taylor", "Walsh")
HOME_TOWNS = ("Leeds", "Bristol", "Manchester", "York", "Brighton", "Cardiff", "Edinburgh", "Liverpool",
              "Nottingham", "Sheffield", "Exeter", "Dublin")
TRIP_REASONS = (
    "You are visiting Cambridge for a conference.",
    "You are in Cambridge to visit your daughter at the university.",
    "You are planning a weekend break in Cambridge.",
    "You are coming to Cambridge for a job interview.",
    "You are celebrating your wedding anniversary in Cambridge.",
    "You are in Cambridge on a business trip.",
    "You are showing Cambridge to friends from abroad.",
    "You are attending a friend's graduation in Cambridge.",
    "You are a tourist seeing Cambridge for the first time.",
    "You have just moved to Cambridge and are getting to know the city.",
    "You are in Cambridge for a family wedding.",
    "You are visiting Cambridge to look at universities for your son.",
    "You are coming to Cambridge for a medical appointment.",
    "You are in Cambridge for a rowing competition.",
    "You are spending a day off exploring Cambridge.",
    "You are in Cambridge for a week-long training course.",
    "You are visiting an old school friend who lives in Cambridge.",
    "You are planning a surprise birthday trip for your partner.",
    "You are in Cambridge to give a talk at the university.",
    "You are passing through Cambridge on a longer trip around England.",
)
PERSONA_FACTS = (
    "You are a retired history teacher.", "You are a nurse who works night shifts.", "You are a software developer.",
    "You are a university student.", "You are a freelance photographer.", "You are a primary school teacher.",
    "You run a small bakery.", "You are an architect.", "You are a journalist.", "You are a musician in an orchestra.",
    "You are a doctor.", "You work in a bank.", "You are a graduate student in biology.", "You are a chef.",
    "You are an accountant.", "You are a yoga instructor.", "You are a civil engineer.", "You are a librarian.",
    "You are a lawyer.", "You are a retired police officer.", "You are a gardener.", "You are a pharmacist.",
    "You are a keen cyclist.", "You love old churches and museums.", "You are a big fan of theatre.",
    "You collect antique books.", "You enjoy long walks.", "You are learning to paint.", "You are a food blogger.",
    "You are an amateur astronomer.", "You sing in a choir.", "You play chess at a club.", "You are a birdwatcher.",
    "You have never been to England before.", "You grew up near Cambridge.", "You do not drive.",
    "You use a wheelchair.", "You are hard of hearing and prefer written details.", "You are a light sleeper.",
    "You are not used to booking things online.", "You speak English as a second language.",
    "You travel a lot for work.", "You recently retired.", "You like to plan everything ahead.",
    "You are a regular visitor to Cambridge.", "You are a night owl.", "You are an early riser.",
    "You have a bad knee and avoid long walks.", "You are a keen swimmer.", "You are allergic to cats.",
)
EMOTIONAL_STATES = (
    "You are excited about your trip.", "You are a little stressed because your plans changed at the last minute.",
    "You are tired after a long journey.", "You are in a cheerful mood.", "You are anxious about getting lost.",
    "You are frustrated because an earlier booking fell through.", "You are relaxed and in no rush.",
    "You are nervous about tomorrow.", "You are curious about everything in town.",
    "You are impatient today.", "You are grateful for any help you get.", "You are a bit overwhelmed by the choices.",
    "You are happy to be on holiday.", "You are feeling adventurous.",
    "You are annoyed because your train was delayed.", "You are in high spirits after good news.",
    "You are a bit sad because your trip is almost over.", "You are calm and methodical.",
    "You are distracted and may need things repeated.", "You are homesick.",
)
P_TOWN = 0.4
P_PERSONA = 0.6
P_EMOTION = 0.5


@dataclass(frozen=True)
class PolicyOption:
    """A behaviour policy: its sentence, what the goal must have for it to make sense, its exclusive group."""

    text: str
    needs: str | None = None  # "phone" (adds one to the profile) or "booking"
    group: str | None = None  # at most one policy of a group per goal


POLICIES: tuple[PolicyOption, ...] = (
    PolicyOption("You only give your phone number if the assistant asks for it.", needs="phone", group="phone"),
    PolicyOption("You read out your phone number digit by digit when you give it.", needs="phone", group="phone"),
    PolicyOption("You only give your name if the assistant asks for it.", group="name"),
    PolicyOption("You introduce yourself by name in your first message.", group="name"),
    PolicyOption("You are in a hurry and want short answers.", group="pace"),
    PolicyOption("You take your time and like to hear a few options before you choose.", group="pace"),
    PolicyOption("You want to hear at least two options before you decide.", group="pace"),
    PolicyOption("You ask for one thing at a time.", group="order"),
    PolicyOption("You give all your requirements for a place in one message.", group="order"),
    PolicyOption("You start with the most important thing on your list.", group="order"),
    PolicyOption("You always ask the assistant to confirm the details before a booking is made.", needs="booking"),
    PolicyOption("You repeat the booking details back to the assistant to check them.", needs="booking"),
    PolicyOption("You ask for the reference number again if the assistant does not give it.", needs="booking"),
    PolicyOption("You do not accept a suggestion that breaks one of your requirements."),
    PolicyOption("You ask why when the assistant says something is not available."),
    PolicyOption("You politely insist when the assistant does not answer your question."),
    PolicyOption("You end the conversation as soon as you have everything you need.", group="end"),
    PolicyOption("You thank the assistant and say goodbye before you end the conversation.", group="end"),
    PolicyOption("You sum up what was arranged before you say goodbye.", group="end"),
    PolicyOption("You write informally, in short sentences.", group="style"),
    PolicyOption("You write formally and politely.", group="style"),
    PolicyOption("You write in a friendly, chatty way.", group="style"),
    PolicyOption("You write tersely, without greetings.", group="style"),
    PolicyOption("You use British spelling and expressions.", group="dialect"),
    PolicyOption("You never use emojis or exclamation marks.", group="dialect"),
    PolicyOption("You do not share personal details the assistant does not need.", group="privacy"),
    PolicyOption("You mention why you are in Cambridge when it helps the assistant.", group="privacy"),
    PolicyOption("You ask the assistant to spell out names and addresses.", group="detail"),
    PolicyOption("You ask for exact times rather than rough ones.", group="detail"),
    PolicyOption("You ask for prices before you agree to anything.", group="money"),
    PolicyOption("You choose the cheaper option when two are otherwise equal.", group="money"),
    PolicyOption("You do not mind paying more for quality.", group="money"),
    PolicyOption("You correct the assistant straight away when it gets a detail wrong."),
    PolicyOption("You never make up a detail that you were not given."),
    PolicyOption("You say so plainly when you do not know something the assistant asks.", group="unknown"),
    PolicyOption("You ask the assistant to suggest something when you do not know a detail.", group="unknown"),
    PolicyOption("You stay on topic and do not make small talk.", group="talk"),
    PolicyOption("You like to make a little small talk with the assistant.", group="talk"),
    PolicyOption("You ask the assistant to wait while you check something, then carry on.", group="talk"),
    PolicyOption("You keep each message to one or two sentences.", group="length"),
    PolicyOption("You explain your needs in some detail.", group="length"),
    PolicyOption("You ask follow-up questions about what the assistant suggests.", group="curiosity"),
    PolicyOption("You accept the first suitable option the assistant offers.", group="curiosity"),
    PolicyOption("You confirm each part of your plan before moving to the next.", group="flow"),
    PolicyOption("You change the subject back to your plan if the assistant drifts.", group="flow"),
    PolicyOption("You are patient when the assistant makes mistakes.", group="temper"),
    PolicyOption("You show mild irritation when the assistant repeats a question.", group="temper"),
    PolicyOption("You mention your deadline when timing matters.", group="time"),
    PolicyOption("You prefer earlier times when you have a choice.", group="time"),
    PolicyOption("You prefer later times when you have a choice.", group="time"),
)

DOMAIN_WEIGHTS: dict[str, int] = {"restaurant": 30, "hotel": 25, "attraction": 25, "train": 30, "taxi": 12,
                                  "hospital": 3, "police": 3}
OBJECTIVE_COUNT_WEIGHTS: dict[int, int] = {1: 25, 2: 60, 3: 15}
P_IMPOSSIBLE = 0.15
P_CONDITIONAL = 0.2
P_BY_NAME = 0.2

PRICE_WORDS = {"cheap": "cheap", "moderate": "moderately priced", "expensive": "expensive"}
ATTRACTION_TYPES = {
    "architecture": "a building with interesting architecture", "boat": "a boat trip", "cinema": "a cinema",
    "college": "a college", "concerthall": "a concert hall", "entertainment": "an entertainment venue",
    "museum": "a museum", "mutliple sports": "a multiple sports centre", "nightclub": "a nightclub",
    "park": "a park", "swimmingpool": "a swimming pool", "theatre": "a theatre",
}


@dataclass(frozen=True)
class PlaceDomain:
    """Templates of a domain of places (restaurant, hotel, attraction). ``{v}`` is the value, ``{w}`` its
    words (price and attraction type). A conditional objective reads "If the WORD you find CONDITION, change
    your mind and look for CHANGE instead.": ``condition`` phrases an attribute of the found place, ``change``
    the new value ``{f}`` (or its words ``{fw}``) of one requirement."""

    word: str
    objectives: tuple[str, ...]
    require: dict[str, str]
    prefer: dict[str, str]
    condition: dict[str, str]
    change: dict[str, str]
    by_name: str
    requests: dict[str, str]
    name_requests: dict[str, str]
    impossible_slots: tuple[str, ...]
    min_requirements: int
    booking: str | None = None


PLACES: dict[str, PlaceDomain] = {
    "restaurant": PlaceDomain(
        word="restaurant",
        objectives=("You are looking for a restaurant.", "You are looking for a place to dine.",
                    "You want to find a restaurant in Cambridge."),
        require={"area": "The restaurant should be in the {v}.", "food": "The restaurant should serve {v} food.",
                 "pricerange": "The restaurant should be in the {v} price range."},
        prefer={"area": "You would prefer a restaurant in the {v}.",
                "food": "You would prefer a restaurant that serves {v} food.",
                "pricerange": "You would prefer a restaurant that is {w}."},
        condition={"area": "is in the {v}", "food": "serves {v} food", "pricerange": "is {w}"},
        change={"area": "one in the {f}", "food": "one serving {f} food", "pricerange": "one in the {f} price range"},
        by_name="The restaurant you want is called {v}.",
        requests={"phone": "phone number", "postcode": "postcode", "address": "address"},
        name_requests={"area": "area", "food": "food type", "pricerange": "price range"},
        impossible_slots=("area", "food", "pricerange"),
        min_requirements=2,
        booking="Once you find the restaurant, book a table for {people} at {time} on {day} and get the "
                "reference number.",
    ),
    "hotel": PlaceDomain(
        word="hotel",
        objectives=("You are looking for a place to stay.", "You need somewhere to stay in Cambridge."),
        require={"area": "The hotel should be in the {v}.", "pricerange": "The hotel should be in the {v} price range.",
                 "stars": "The hotel should have a star rating of {v}.", "type": "The place to stay should be a {v}.",
                 "parking": "The hotel should include free parking.",
                 "internet": "The hotel should include free wifi."},
        prefer={"area": "You would prefer to stay in the {v}.",
                "pricerange": "You would prefer a place to stay that is {w}.",
                "stars": "You would prefer a place with {v} stars.", "type": "You would prefer to stay in a {v}.",
                "parking": "You would prefer a place with free parking.",
                "internet": "You would prefer a place with free wifi."},
        condition={"area": "is in the {v}", "pricerange": "is {w}", "stars": "has {v} stars", "type": "is a {v}"},
        change={"area": "one in the {f}", "pricerange": "one in the {f} price range", "stars": "one with {f} stars",
                "type": "a {f}"},
        by_name="The hotel you want is called {v}.",
        requests={"phone": "phone number", "postcode": "postcode", "address": "address"},
        name_requests={"area": "area", "pricerange": "price range", "stars": "star rating", "type": "hotel type"},
        impossible_slots=("area", "pricerange", "stars", "type"),
        min_requirements=2,
        booking="Once you find the hotel, book it for {people} for {stay} starting from {day} and get the "
                "reference number.",
    ),
    "attraction": PlaceDomain(
        word="attraction",
        objectives=("You are looking for places to go in town.", "You want to visit an attraction in Cambridge.",
                    "You are looking for something to do in town."),
        require={"area": "The attraction should be in the {v}.", "type": "The attraction should be {w}."},
        prefer={"area": "You would prefer an attraction in the {v}.", "type": "You would prefer to visit {w}.",
                "entrance fee": "You would prefer somewhere that is free to enter."},
        condition={"area": "is in the {v}", "type": "is {w}"},
        change={"area": "one in the {f}", "type": "{fw}"},
        by_name="The attraction you want is called {v}.",
        requests={"phone": "phone number", "postcode": "postcode", "address": "address",
                  "entrance fee": "entrance fee"},
        name_requests={"area": "area", "type": "attraction type"},
        impossible_slots=("area", "type"),
        min_requirements=1,
    ),
}

TRAIN_REQUESTS = {"trainID": "train ID", "duration": "travel time", "price": "price", "leaveAt": "departure time",
                  "arriveBy": "arrival time"}


# -- the generated goal ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedGoal:
    """A generated goal: its instruction, its gold goal state and what it was built from."""

    id: str
    instruction: str
    state: GoalState
    domains: tuple[str, ...]
    objectives: tuple[dict[str, Any], ...]
    user: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    split: str = "eval"

    @property
    def impossible(self) -> list[int]:
        """Indices of the objectives that match no entity (right outcome: ATTEMPTED)."""
        return [i for i, o in enumerate(self.objectives) if o["impossible"]]

    @property
    def conditional(self) -> list[int]:
        """Indices of the objectives with a condition on the place found (``objectives[i]["conditional"]``)."""
        return [i for i, o in enumerate(self.objectives) if o["conditional"] is not None]

    def to_goal_json(self) -> dict[str, Any]:
        """The goal file record: ``id``, ``instruction``, ``domains`` and the construction metadata."""
        return {
            "id": self.id,
            "instruction": self.instruction,
            "domains": list(self.domains),
            "source": SOURCE,
            "seed": self.seed,
            "split": self.split,
            "user": dict(self.user),
            "objectives": [dict(o) for o in self.objectives],
            "impossible_objectives": self.impossible,
            "conditional_objectives": self.conditional,
        }

    def to_gold_json(self) -> dict[str, Any]:
        """The gold decomposition record ``{"goal_id", "instruction", "state"}``."""
        return Decomposition(goal_id=self.id, instruction=self.instruction, state=self.state).to_json()


@dataclass(frozen=True)
class _Sentence:
    role: str  # "profile", "policy", "objective", "requirement", "preference"
    text: str
    keep: tuple[str, ...] = ()  # values a rewrite must keep


@dataclass
class _Objective:
    domain: str
    sentences: list[_Sentence]  # instruction order; the first is the objective itself
    meta: dict[str, Any]
    place: dict[str, Any] | None = None  # the target entity of a place objective that can be reached


# -- small helpers --------------------------------------------------------------------------------


def _listing(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _known(value: Any) -> bool:
    return value is not None and str(value).strip() not in ("", "?")


def _words(domain: str, slot: str, value: str) -> str:
    if slot == "pricerange":
        return PRICE_WORDS.get(value, value)
    if domain == "attraction" and slot == "type":
        return ATTRACTION_TYPES.get(value, f"a {value}")
    return value


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def _pick(rng: random.Random, items: Sequence[str], count: int) -> list[str]:
    """``count`` of ``items`` chosen at random, kept in their original order."""
    chosen = set(rng.sample(list(items), min(count, len(items))))
    return [item for item in items if item in chosen]


def _weighted(rng: random.Random, weights: Mapping[Any, int]) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _party(rng: random.Random) -> int:
    return _weighted(rng, {1: 10, 2: 25, 3: 15, 4: 15, 5: 10, 6: 10, 7: 8, 8: 7})


def _quarter(rng: random.Random, first: str, last: str) -> str:
    start, end = parse_time(first) // 15, parse_time(last) // 15
    return format_time(rng.randint(start, end) * 15)


def _vocabulary(db: Mapping[str, Any], domain: str, slot: str) -> list[str]:
    return sorted({str(e[slot]) for e in db[domain] if _known(e.get(slot))})


def _request_sentence(rng: random.Random, subject: str, names: Mapping[str, str], entity: Mapping[str, Any],
                      minimum: int = 1, maximum: int = 3) -> tuple[_Sentence | None, list[str], dict[str, Any]]:
    available = [attr for attr in names if _known(entity.get(attr))]
    if not available:
        return None, [], {}
    chosen = _pick(rng, available, rng.randint(min(minimum, len(available)), min(maximum, len(available))))
    if not chosen:
        return None, [], {}
    text = f"Make sure you get {subject} {_listing([names[a] for a in chosen])}."
    return _Sentence("requirement", text), chosen, {attr: entity[attr] for attr in chosen}


def _meta(domain: str, sentence: str, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"domain": domain, "text": sentence, "impossible": False, "conditional": None,
                            "expected_outcome": "COMPLETE", "constraints": {}, "preferences": {}, "requests": [],
                            "booking": None, "target": None, "matches": None}
    base.update(values)
    return base


# -- objectives -----------------------------------------------------------------------------------


def _place_objective(rng: random.Random, db: Mapping[str, Any], domain: str, mode: str) -> _Objective | None:
    """A restaurant, hotel or attraction objective; ``mode`` is plain, by_name, impossible or conditional.
    ``None`` when the mode cannot be met with the sampled entity (the caller falls back to plain)."""
    spec = PLACES[domain]
    opening = _Sentence("objective", rng.choice(spec.objectives))
    if mode == "impossible":
        return _impossible_place(rng, db, domain, opening)
    entities = [e for e in db[domain] if _known(e.get("name"))]
    target = rng.choice(entities)
    sentences = [opening]
    constraints: dict[str, str] = {}
    preferences: dict[str, str] = {}
    conditional = None
    if mode == "by_name":
        constraints["name"] = target["name"]
        sentences.append(_Sentence("requirement", spec.by_name.format(v=target["name"]), (target["name"],)))
        names = {**spec.requests, **spec.name_requests}
    else:
        usable = [s for s in spec.require if _known(target.get(s)) and (s not in ("parking", "internet")
                                                                      or target[s] == "yes")]
        count = rng.randint(min(spec.min_requirements, len(usable)), min(spec.min_requirements + 1, len(usable)))
        slots = _pick(rng, usable, count)
        constraints = {s: str(target[s]) for s in slots}
        if mode == "conditional":
            conditional = _conditional(rng, db, domain, constraints, target)
            if conditional is None:
                return None
        for slot in slots:
            value = conditional["primary"] if conditional and conditional["slot"] == slot else constraints[slot]
            keep = () if slot in ("parking", "internet", "type") else (value,)
            sentences.append(_Sentence("requirement", spec.require[slot].format(v=value, w=_words(domain, slot, value)),
                                       keep))
        if conditional:
            sentences.append(_condition_sentence(domain, conditional))
        softer = [s for s in spec.prefer if s not in constraints and _preferable(domain, s, target)]
        for slot in _pick(rng, softer, rng.choice((0, 0, 1, 1, 2))):
            value = str(target[slot])
            preferences[slot] = value
            keep = () if slot in ("parking", "internet", "type", "entrance fee") else (value,)
            sentences.append(_Sentence("preference", spec.prefer[slot].format(v=value, w=_words(domain, slot, value)),
                                       keep))
        names = spec.requests
    booking = None
    if spec.booking is not None and rng.random() < (0.5 if domain == "restaurant" else 0.6):
        booking, sentence = _place_booking(rng, domain, spec.booking)
        sentences.append(sentence)
    request, requested, facts = _request_sentence(rng, f"the {spec.word}'s", names, target,
                                                  minimum=0 if booking else 1)
    if request is not None:
        sentences.append(request)
    matches = len(find_entities(db, domain, constraints))
    meta = _meta(domain, opening.text, conditional=conditional, constraints=constraints, preferences=preferences,
                 requests=requested, booking=booking, matches=matches,
                 target={"name": target["name"], "facts": facts})
    return _Objective(domain, sentences, meta, place=target)


def _preferable(domain: str, slot: str, entity: Mapping[str, Any]) -> bool:
    if slot == "entrance fee":
        return entity.get(slot) == "free"
    if slot in ("parking", "internet"):
        return entity.get(slot) == "yes"
    return _known(entity.get(slot))


def _conditional(rng: random.Random, db: Mapping[str, Any], domain: str, constraints: Mapping[str, str],
                 target: Mapping[str, Any]) -> dict[str, Any] | None:
    """A condition on the place the user finds first, which the database decides (the paper's Appendix B):

    - it *fires* (``fires: True``): every place matching the first-choice requirements (one requirement
      ``slot`` at ``primary``) has the condition's value, so the user must change their mind to ``fallback``,
      the target's value, and end with the target;
    - it *holds* (``fires: False``): no place matching the requirements (the target's, ``primary``) has the
      condition's value, so the user keeps them and ends with the target; ``fallback`` is never needed.

    ``None`` when no such condition exists for these requirements (the caller makes a plain objective)."""
    spec = PLACES[domain]
    slots = [slot for slot in constraints if slot in spec.change]
    rng.shuffle(slots)
    attributes = [attr for attr in spec.condition if attr not in constraints]
    fires = rng.random() < 0.6
    for slot in slots:
        others = [v for v in _vocabulary(db, domain, slot) if v != str(target[slot])]
        rng.shuffle(others)
        for other in others:
            first_choice = {**constraints, slot: other} if fires else dict(constraints)
            found = find_entities(db, domain, first_choice)
            if not found:
                continue
            for attr in rng.sample(attributes, len(attributes)):
                values = {str(entity.get(attr)) for entity in found}
                sayable = [v for v in _vocabulary(db, domain, attr) if v != spec.word]  # never "is a hotel"
                if fires and len(values) == 1 and next(iter(values)) in sayable:
                    return {"slot": slot, "primary": other, "fallback": str(target[slot]), "fires": True,
                            "condition": {"slot": attr, "value": values.pop()}}
                absent = [v for v in sayable if v not in values]
                if not fires and absent:
                    return {"slot": slot, "primary": str(target[slot]), "fallback": other, "fires": False,
                            "condition": {"slot": attr, "value": rng.choice(absent)}}
    return None


def _condition_sentence(domain: str, conditional: Mapping[str, Any]) -> _Sentence:
    """The condition's sentence: "If the restaurant you find is in the east, change your mind and look for one
    serving thai food instead." """
    spec = PLACES[domain]
    attr, value = conditional["condition"]["slot"], conditional["condition"]["value"]
    slot, new = conditional["slot"], conditional["fallback"]
    condition = spec.condition[attr].format(v=value, w=_words(domain, attr, value))
    change = spec.change[slot].format(f=new, fw=_words(domain, slot, new))
    keep = tuple(v for a, v in ((attr, value), (slot, new)) if a not in ("type", "pricerange"))
    return _Sentence("requirement", f"If the {spec.word} you find {condition}, change your mind and look for "
                                    f"{change} instead.", keep)


def _impossible_place(rng: random.Random, db: Mapping[str, Any], domain: str, opening: _Sentence) -> _Objective | None:
    spec = PLACES[domain]
    for _ in range(200):
        count = 2 if len(spec.impossible_slots) <= 2 or rng.random() < 0.7 else 3
        slots = _pick(rng, spec.impossible_slots, count)
        constraints = {s: rng.choice(_vocabulary(db, domain, s)) for s in slots}
        if find_entities(db, domain, constraints):
            continue
        sentences = [opening]
        for slot, value in constraints.items():
            keep = () if slot == "type" else (value,)
            sentences.append(_Sentence("requirement", spec.require[slot].format(v=value, w=_words(domain, slot, value)),
                                       keep))
        requested = _pick(rng, list(spec.requests), rng.randint(1, 2))
        sentences.append(_Sentence("requirement", f"Make sure you get the {spec.word}'s "
                                                  f"{_listing([spec.requests[a] for a in requested])}."))
        meta = _meta(domain, opening.text, impossible=True, expected_outcome="ATTEMPTED", constraints=constraints,
                     requests=requested, matches=0)
        return _Objective(domain, sentences, meta)
    return None


def _place_booking(rng: random.Random, domain: str, template: str) -> tuple[dict[str, Any], _Sentence]:
    people, day = _party(rng), rng.choice(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                           "sunday"))
    if domain == "restaurant":
        time = _quarter(rng, "11:00", "21:45")
        booking: dict[str, Any] = {"people": people, "day": day, "time": time}
        text = template.format(people=_people(people), time=time, day=day)
        return booking, _Sentence("requirement", text, (str(people), time, day))
    stay = _weighted(rng, {1: 20, 2: 30, 3: 25, 4: 15, 5: 10})
    booking = {"people": people, "day": day, "stay": stay}
    text = template.format(people=_people(people), stay="1 night" if stay == 1 else f"{stay} nights", day=day)
    return booking, _Sentence("requirement", text, (str(people), str(stay), day))


def _train_objective(rng: random.Random, db: Mapping[str, Any], mode: str) -> _Objective:
    opening = _Sentence("objective", rng.choice(("You are looking for a train.", "You need to take a train.")))
    if mode == "impossible":
        stations = [s for s in _vocabulary(db, "train", "departure") if s != "cambridge"]
        departure, destination = rng.sample(stations, 2)
        constraints = {"departure": departure, "destination": destination,
                       "day": rng.choice(_vocabulary(db, "train", "day")), "leaveAt": _quarter(rng, "06:00", "20:00")}
        sentences = [opening, *_train_requirements(constraints)]
        requested = _pick(rng, list(TRAIN_REQUESTS), rng.randint(1, 2))
        sentences.append(_Sentence("requirement", f"Make sure you get the "
                                                  f"{_listing([TRAIN_REQUESTS[a] for a in requested])} of the train."))
        meta = _meta("train", opening.text, impossible=True, expected_outcome="ATTEMPTED", constraints=constraints,
                     requests=requested, matches=len(find_entities(db, "train", constraints)))
        return _Objective("train", sentences, meta)
    runs = [e for e in db["train"] if parse_time("05:00") <= parse_time(e["leaveAt"]) <= parse_time("22:00")
            and parse_time(e["arriveBy"]) <= parse_time("23:30")]
    target = rng.choice(runs)
    constraints = {"departure": target["departure"], "destination": target["destination"], "day": target["day"]}
    if rng.random() < 0.6:
        constraints["leaveAt"] = format_time(parse_time(target["leaveAt"]) // 15 * 15)
    else:
        constraints["arriveBy"] = format_time(-(-parse_time(target["arriveBy"]) // 15) * 15)
    sentences = [opening, *_train_requirements(constraints)]
    preferences: dict[str, str] = {}
    if rng.random() < 0.3:
        leave = parse_time(target["leaveAt"])
        part = "morning" if leave < parse_time("12:00") else "afternoon" if leave < parse_time("17:00") else "evening"
        preferences["part of day"] = part
        sentences.append(_Sentence("preference", f"You would prefer to travel in the {part}.", (part,)))
    booking = None
    if rng.random() < 0.6:
        people = _party(rng)
        booking = {"people": people}
        tickets = "one ticket" if people == 1 else f"{people} tickets"
        sentences.append(_Sentence("requirement", f"Once you find the train, book {tickets} and get the reference "
                                                  "number.", (tickets.split()[0],)))
    request, requested, facts = _request_sentence(rng, "the", TRAIN_REQUESTS, target, minimum=0 if booking else 1)
    if request is not None:
        request = _Sentence("requirement", request.text[:-1] + " of the train.")
        sentences.append(request)
    keys = ("trainID", "day", "departure", "destination", "leaveAt", "arriveBy")
    meta = _meta("train", opening.text, constraints=constraints, preferences=preferences, requests=requested,
                 booking=booking, matches=len(find_entities(db, "train", constraints)),
                 target={**{k: target[k] for k in keys}, "facts": facts})
    return _Objective("train", sentences, meta)


def _train_requirements(constraints: Mapping[str, str]) -> list[_Sentence]:
    out = [_Sentence("requirement", f"The train should depart from {constraints['departure']}.",
                     (constraints["departure"],)),
           _Sentence("requirement", f"The train should go to {constraints['destination']}.",
                     (constraints["destination"],)),
           _Sentence("requirement", f"The train should leave on {constraints['day']}.", (constraints["day"],))]
    if "leaveAt" in constraints:
        out.append(_Sentence("requirement", f"The train should leave after {constraints['leaveAt']}.",
                             (constraints["leaveAt"],)))
    if "arriveBy" in constraints:
        out.append(_Sentence("requirement", f"The train should arrive by {constraints['arriveBy']}.",
                             (constraints["arriveBy"],)))
    return out


def _hospital_objective(rng: random.Random, db: Mapping[str, Any]) -> _Objective:
    counts: dict[str, int] = {}
    for entity in db["hospital"]:
        counts[entity["department"]] = counts.get(entity["department"], 0) + 1
    target = rng.choice([e for e in db["hospital"] if counts[e["department"]] == 1 and _known(e.get("phone"))])
    department = target["department"]
    opening = _Sentence("objective", rng.choice(("You are looking for the local hospital.",
                                                 "You need to contact the hospital.")))
    sentences = [opening,
                 _Sentence("requirement", f"The hospital should have the {department} department.", (department,)),
                 _Sentence("requirement", "Make sure you get the phone number of the department.")]
    meta = _meta("hospital", opening.text, constraints={"department": department}, requests=["phone"],
                 matches=len(find_entities(db, "hospital", {"department": department})),
                 target={"department": department, "facts": {"phone": target["phone"]}})
    return _Objective("hospital", sentences, meta)


def _police_objective(rng: random.Random, db: Mapping[str, Any]) -> _Objective:
    target = db["police"][0]
    opening = _Sentence("objective", rng.choice(("You were robbed and are looking for help from the police.",
                                                 "You lost your wallet and want to report it to the police.",
                                                 "You were in a car accident and need to contact the police.")))
    request, requested, facts = _request_sentence(rng, "the police station's",
                                                  {"phone": "phone number", "address": "address"}, target, maximum=2)
    assert request is not None
    meta = _meta("police", opening.text, requests=requested, matches=len(db["police"]),
                 target={"name": target["name"], "facts": facts})
    return _Objective("police", [opening, request], meta)


def _taxi_objective(rng: random.Random, db: Mapping[str, Any], others: Sequence[_Objective]) -> _Objective:
    """A taxi between two places of the goal (named by their domain), or to or from named places."""
    reachable = [o for o in others if o.place is not None and o.domain in PLACES]
    ends: list[tuple[str, str]] = []  # (words in the sentence, place name for the booking)
    for objective in rng.sample(reachable, min(2, len(reachable))):
        assert objective.place is not None
        ends.append((f"the {PLACES[objective.domain].word}", objective.place["name"]))
    while len(ends) < 2:
        domain = rng.choice(("attraction", "restaurant", "hotel"))
        name = rng.choice(db[domain])["name"]
        if name not in [n for _, n in ends]:
            ends.append((name, name))
    rng.shuffle(ends)
    booked = [o.place["name"] for o in reachable if o.domain == "restaurant" and o.place and o.meta["booking"]]
    if booked and booked[0] in (ends[0][1], ends[1][1]) and rng.random() < 0.8:
        ends.sort(key=lambda end: end[1] == booked[0])  # to the table, in time for it
    (from_words, start), (to_words, end) = ends
    opening = _Sentence("objective", rng.choice(("You want to book a taxi.", "You need a taxi.")))
    sentences = [opening,
                 _Sentence("requirement", f"The taxi should pick you up from {from_words}.", (from_words,)),
                 _Sentence("requirement", f"The taxi should take you to {to_words}.", (to_words,))]
    constraints: dict[str, str] = {"departure": start, "destination": end}
    dinner = next((o for o in reachable if o.domain == "restaurant" and o.place and o.place["name"] == end
                   and o.meta["booking"]), None)
    if dinner is not None:
        constraints["arriveBy"] = dinner.meta["booking"]["time"]
        sentences.append(_Sentence("requirement", "The taxi should arrive at the restaurant by the booked time."))
    elif rng.random() < 0.5:
        constraints["leaveAt"] = _quarter(rng, "08:00", "22:00")
        sentences.append(_Sentence("requirement", f"The taxi should leave after {constraints['leaveAt']}.",
                                   (constraints["leaveAt"],)))
    else:
        constraints["arriveBy"] = _quarter(rng, "08:00", "22:00")
        sentences.append(_Sentence("requirement", f"The taxi should arrive by {constraints['arriveBy']}.",
                                   (constraints["arriveBy"],)))
    requested = rng.choice((["car_type", "phone"], ["car_type", "phone"], ["phone"], ["car_type"]))
    words = {"car_type": "car type", "phone": "contact number"}
    sentences.append(_Sentence("requirement", f"Make sure you get the {_listing([words[r] for r in requested])} "
                                              "of the taxi."))
    meta = _meta("taxi", opening.text, constraints=constraints, requests=requested, booking=dict(constraints),
                 target=dict(constraints))
    return _Objective("taxi", sentences, meta)


# -- goals ----------------------------------------------------------------------------------------


def _objectives(rng: random.Random, db: Mapping[str, Any]) -> list[_Objective]:
    count = _weighted(rng, OBJECTIVE_COUNT_WEIGHTS)
    pool = dict(DOMAIN_WEIGHTS)
    domains: list[str] = []
    while len(domains) < count:
        domain = _weighted(rng, pool)
        domains.append(domain)
        del pool[domain]
    domains.sort(key=lambda d: d == "taxi")  # the taxi goes last: it may join the places before it
    out: list[_Objective] = []
    impossible = conditional = False
    for domain in domains:
        if domain == "taxi":
            out.append(_taxi_objective(rng, db, out))
            continue
        if domain == "hospital":
            out.append(_hospital_objective(rng, db))
            continue
        if domain == "police":
            out.append(_police_objective(rng, db))
            continue
        roll = rng.random()
        mode = "plain"
        if not impossible and roll < P_IMPOSSIBLE:
            mode = "impossible"
        elif domain in PLACES and not conditional and roll < P_IMPOSSIBLE + P_CONDITIONAL:
            mode = "conditional"
        elif domain in PLACES and roll > 1 - P_BY_NAME:
            mode = "by_name"
        if domain == "train":
            objective: _Objective | None = _train_objective(rng, db, mode if mode == "impossible" else "plain")
        else:
            objective = _place_objective(rng, db, domain, mode) or _place_objective(rng, db, domain, "plain")
        assert objective is not None
        impossible |= objective.meta["impossible"]
        conditional |= objective.meta["conditional"] is not None
        out.append(objective)
    return out


def _profile(rng: random.Random, needs_phone: bool) -> tuple[list[_Sentence], dict[str, Any]]:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    user: dict[str, Any] = {"name": name, "town": None, "phone": None}
    sentences = [_Sentence("profile", f"Your name is {name}.", (name,))]
    if rng.random() < P_TOWN:
        user["town"] = rng.choice(HOME_TOWNS)
        sentences.append(_Sentence("profile", f"You live in {user['town']}.", (user["town"],)))
    sentences.append(_Sentence("profile", rng.choice(TRIP_REASONS)))
    if rng.random() < P_PERSONA:
        sentences.append(_Sentence("profile", rng.choice(PERSONA_FACTS)))
    if rng.random() < P_EMOTION:
        sentences.append(_Sentence("profile", rng.choice(EMOTIONAL_STATES)))
    if needs_phone or rng.random() < 0.25:
        user["phone"] = "07" + "".join(str(rng.randint(0, 9)) for _ in range(9))
        sentences.append(_Sentence("profile", f"Your phone number is {user['phone']}.", (user["phone"],)))
    return sentences, user


def _policies(rng: random.Random, has_booking: bool) -> list[PolicyOption]:
    options = [p for p in POLICIES if p.needs != "booking" or has_booking]
    wanted = 1 if rng.random() < 0.5 else 2
    chosen: list[PolicyOption] = []
    for option in rng.sample(options, len(options)):
        if len(chosen) == wanted:
            break
        if option.group is None or option.group not in {c.group for c in chosen}:
            chosen.append(option)
    return sorted(chosen, key=POLICIES.index)


def _phrased(sentences: Iterable[_Sentence], phrase: Phrase | None) -> dict[int, str]:
    """The final text of each sentence (by ``id``): the template, or its rewrite when that is usable."""
    out: dict[int, str] = {}
    seen: set[str] = set()
    for sentence in sentences:
        text = sentence.text
        if phrase is not None:
            candidate = " ".join(str(phrase(text) or "").split())
            if candidate and candidate not in seen and all(k.lower() in candidate.lower() for k in sentence.keep):
                text = candidate
        seen.add(text)
        out[id(sentence)] = text
    return out


def _split_checked(split: str) -> str:
    if split not in SPLITS:
        raise UgstError(f"unknown MultiWOZ goal split {split!r} (use {' or '.join(SPLITS)})")
    return split


def generate_goal(index: int, seed: int, db: Mapping[str, Any], phrase: Phrase | None = None,
                  split: str = "eval") -> GeneratedGoal:
    """Goal ``index`` of seed ``seed`` in ``split`` (depends on nothing else, so goal sets of one seed and
    split share prefixes)."""
    stream = f"{SOURCE}:{seed}:{index}" if _split_checked(split) == "eval" else f"{SOURCE}:{split}:{seed}:{index}"
    rng = random.Random(stream)
    objectives = _objectives(rng, db)
    has_booking = any(o.meta["booking"] for o in objectives)
    policies = _policies(rng, has_booking)
    profile, user = _profile(rng, any(p.needs == "phone" for p in policies))
    policy = [_Sentence("policy", p.text) for p in policies]
    blocks = [profile, policy, *[o.sentences for o in objectives]]
    texts = _phrased((s for block in blocks for s in block), phrase)
    instruction = "\n".join(" ".join(texts[id(s)] for s in block) for block in blocks if block)
    state = DEFAULT_RULES.new_state(
        user_profile=[texts[id(s)] for s in profile],
        user_policy=[texts[id(s)] for s in policy],
        task_objectives=[
            {"text": texts[id(o.sentences[0])],
             "requirements": [texts[id(s)] for s in o.sentences if s.role == "requirement"],
             "preferences": [texts[id(s)] for s in o.sentences if s.role == "preference"]}
            for o in objectives
        ],
    )
    metas = tuple({**o.meta, "text": texts[id(o.sentences[0])]} for o in objectives)
    return GeneratedGoal(
        id=f"mwc-{seed}-{index:04d}" if split == "eval" else f"mwc-{split}-{seed}-{index:04d}",
        instruction=instruction,
        state=state,
        domains=tuple(dict.fromkeys(o.domain for o in objectives)),
        objectives=metas,
        user=user,
        seed=seed,
        split=split,
    )


def generate_multiwoz_goals(n: int, seed: int, data_dir: str | Path | None = None,
                            phrase: Phrase | None = None, split: str = "eval") -> list[GeneratedGoal]:
    """``n`` MultiWOZ Challenge goals for ``seed`` and ``split`` (``eval`` or ``train``), deterministic, each
    with its gold goal state.

    ``data_dir`` is where the MultiWOZ databases are (see :func:`ugst_dspy.envs.multiwoz.multiwoz_db_dir`);
    ``phrase`` optionally rewrites each template sentence (no LM is called without it).
    """
    if n < 0:
        raise UgstError(f"the number of goals must not be negative, got {n}")
    _split_checked(split)
    db = load_multiwoz_db(data_dir)
    return [generate_goal(i, seed, db, phrase, split) for i in range(n)]


def _generated(record: dict[str, Any]) -> str | None:
    return None if record.get("source") == SOURCE else f"not a generated goal (its source is not {SOURCE!r})"


def write_generated_goals(goals: Sequence[GeneratedGoal], goals_path: str | Path, gold_path: str | Path) -> None:
    """Write the goal file and the gold decomposition file (JSON Lines, every record validated; existing
    files are replaced whole, each through a temporary file, so a failure leaves no half-written file)."""
    from ugst_dspy.files.appender import refuse_foreign

    goals_path, gold_path = Path(goals_path), Path(gold_path)
    if goals_path.resolve() == gold_path.resolve():
        raise UgstError(f"the goal file and the gold file must differ (both {goals_path})")
    refuse_foreign(goals_path, "goal", _generated)  # replaced whole: only a file of the same kind
    refuse_foreign(gold_path, "decomposition")
    for path, kind, records in (
        (goals_path, "goal", [g.to_goal_json() for g in goals]),
        (gold_path, "decomposition", [g.to_gold_json() for g in goals]),
    ):
        for record in records:
            validate(kind, record)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, "".join(dump_line(record) for record in records))
