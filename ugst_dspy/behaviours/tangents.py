"""The pool a digressing user draws its tangents from: everyday small talk with no bearing on any task.

Each tangent has the words a message about it is likely to contain, for the behaviour check
(:mod:`ugst_dspy.metrics.behaviours`). Extend :data:`TANGENTS` to widen the pool; a run records the tangents
it drew, so the check never depends on the pool of the package that reads the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Tangent:
    """A topic to drift into (``topic`` completes "talk about ...") and its tell-tale words."""

    topic: str
    keywords: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "keywords": list(self.keywords)}


TANGENTS: tuple[Tangent, ...] = (
    Tangent("the terrible weather this week", ("weather", "rain", "snow", "storm", "cold", "sunny", "forecast")),
    Tangent("your dog, who has been chewing everything", ("dog", "puppy", "chew", "pet", "walk")),
    Tangent("your cat knocking things off the table", ("cat", "kitten", "pet", "knock")),
    Tangent("last night's football match", ("football", "match", "game", "goal", "team", "score")),
    Tangent("a cooking experiment that went wrong", ("cook", "recipe", "kitchen", "burn", "dinner", "oven")),
    Tangent("your neighbour's noisy renovation", ("neighbour", "neighbor", "noise", "noisy", "renovation", "drill")),
    Tangent("a TV series you are binge-watching", ("series", "show", "episode", "season", "watching", "tv")),
    Tangent("your recent holiday at the seaside", ("holiday", "vacation", "beach", "seaside", "trip", "sea")),
    Tangent("your garden and the tomatoes that will not ripen", ("garden", "tomato", "plant", "grow")),
    Tangent("a book you just finished reading", ("book", "novel", "read", "author", "chapter")),
    Tangent("the traffic on your way to work", ("traffic", "commute", "jam", "road", "bus")),
    Tangent("your child's school play", ("school", "play", "kid", "child", "daughter", "son")),
    Tangent("a marathon you are training for", ("marathon", "running", "run", "training", "race", "miles")),
    Tangent("the price of coffee these days", ("coffee", "café", "cafe", "latte", "price")),
    Tangent("a concert you went to at the weekend", ("concert", "band", "music", "song", "gig")),
    Tangent("your phone's battery that never lasts", ("battery", "phone", "charge", "charger")),
    Tangent("a birthday party you are planning", ("birthday", "party", "cake", "guests", "celebrate")),
    Tangent("your new hobby of painting", ("paint", "painting", "canvas", "art", "hobby")),
    Tangent("an old friend you bumped into yesterday", ("friend", "bumped", "yesterday", "catch up", "years")),
    Tangent("how tired you are after a long week", ("tired", "week", "sleep", "exhausted", "long day")),
)
