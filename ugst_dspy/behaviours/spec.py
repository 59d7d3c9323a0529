"""How a run asks for a behaviour: its name, how often it acts and how strongly (``BehaviourSpec``).

On the command line a spec is ``NAME`` or ``NAME:key=value,key=value`` (``impatience:rate=0.3,intensity=strong``);
in a TOML file a string of that form or a table (``{name = "digression", rate = 0.5}``); in Python a
:class:`BehaviourSpec` or either of those. ``rate`` is the chance that the behaviour acts on a user message
(``None``: the behaviour's own default), ``intensity`` one of :data:`INTENSITIES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ugst_dspy.errors import UgstError

INTENSITIES: tuple[str, ...] = ("mild", "moderate", "strong")
DEFAULT_INTENSITY = "moderate"


@dataclass(frozen=True)
class BehaviourSpec:
    """One behaviour asked for: ``name`` (see :data:`~ugst_dspy.behaviours.catalog.BEHAVIOURS`), ``rate`` (chance
    per user message, 0-1; ``None`` for the behaviour's default) and ``intensity`` (mild, moderate, strong)."""

    name: str
    rate: float | None = None
    intensity: str = DEFAULT_INTENSITY

    def __post_init__(self) -> None:
        from ugst_dspy.behaviours.catalog import get_behaviour

        get_behaviour(self.name)  # an unknown name is one line
        rate = self.rate
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1):
            raise UgstError(f"behaviour {self.name!r}: rate must be a number above 0 and at most 1, got {rate!r}")
        if self.intensity not in INTENSITIES:
            raise UgstError(f"behaviour {self.name!r}: intensity must be one of {', '.join(INTENSITIES)}, "
                            f"got {self.intensity!r}")

    @property
    def effective_rate(self) -> float:
        """``rate``, or the behaviour's default when unset."""
        from ugst_dspy.behaviours.catalog import get_behaviour

        return float(self.rate) if self.rate is not None else get_behaviour(self.name).default_rate

    def resolved(self) -> BehaviourSpec:
        """The same spec with its rate stated (the behaviour's default filled in): what a plan records."""
        return BehaviourSpec(self.name, self.effective_rate, self.intensity)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "rate": self.effective_rate, "intensity": self.intensity}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BehaviourSpec:
        unknown = set(data) - {"name", "rate", "intensity"}
        if unknown:
            raise UgstError(f"behaviour {data.get('name')!r}: unknown key {sorted(unknown)[0]!r} "
                            "(known: name, rate, intensity)")
        if not isinstance(data.get("name"), str):
            raise UgstError(f"a behaviour needs a name (a string), got {data.get('name')!r}")
        return cls(name=data["name"], rate=data.get("rate"), intensity=data.get("intensity", DEFAULT_INTENSITY))

    @classmethod
    def parse(cls, text: str) -> BehaviourSpec:
        """``NAME`` or ``NAME:rate=R,intensity=I`` (the command line's form)."""
        name, _, rest = text.strip().partition(":")
        values: dict[str, Any] = {"name": name.strip()}
        for part in filter(None, (p.strip() for p in rest.split(","))):
            key, sep, value = part.partition("=")
            if not sep:
                raise UgstError(f"behaviour {text!r}: expected key=value after ':', got {part!r}")
            key = key.strip()
            if key == "rate":
                try:
                    values["rate"] = float(value)
                except ValueError:
                    raise UgstError(f"behaviour {text!r}: rate must be a number, got {value!r}") from None
            else:
                values[key] = value.strip()
        return cls.from_json(values)



def as_specs(items: Iterable[BehaviourSpec | str | Mapping[str, Any]] | None) -> tuple[BehaviourSpec, ...]:
    """Specs from any mix of :class:`BehaviourSpec`, command-line strings and mappings; a behaviour named twice
    is refused (one line)."""
    specs: list[BehaviourSpec] = []
    for item in items or ():
        if isinstance(item, BehaviourSpec):
            spec = item
        elif isinstance(item, str):
            spec = BehaviourSpec.parse(item)
        elif isinstance(item, Mapping):
            spec = BehaviourSpec.from_json(item)
        else:
            raise UgstError(f"a behaviour is a name, NAME:key=value,... or a table, got {item!r}")
        if any(s.name == spec.name for s in specs):
            raise UgstError(f"behaviour {spec.name!r} is given twice")
        specs.append(spec)
    return tuple(specs)
