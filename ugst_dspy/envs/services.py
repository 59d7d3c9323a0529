"""What an environment cannot do: the services a non-collaborative user may ask for (see docs/behaviours.md).

Each environment declares its unavailable services (``ToolEnvironment.unavailable_services``): things its policy
or its tools refuse, so a request for one is realistic and its right outcome is known: the agent declines
(and, where the policy says so, offers what it can do instead). The ``unavailable_service`` behaviour draws one
per goal; the behaviour check finds the request in a user message by its ``keywords``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UnavailableService:
    """A service the agent of an environment cannot provide."""

    #: a short stable name, e.g. ``price_match``
    id: str
    #: what the user asks for, in the user's words, completing "ask the agent to ...": ``match a lower price
    #: you saw for the item at another store``
    request: str
    #: why the agent cannot (the policy rule or the missing tool): information for people and judges
    reason: str
    #: lower-case words or phrases one of which a message asking for it contains (the behaviour check)
    keywords: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "request": self.request, "reason": self.reason, "keywords": list(self.keywords)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UnavailableService:
        return cls(id=str(data["id"]), request=str(data["request"]), reason=str(data.get("reason", "")),
                   keywords=tuple(str(k) for k in data.get("keywords", ())))
