"""Run configuration: which model plays each role, how it samples, seeds, tracking mode and limits.

One :class:`UGSTConfig` object is passed everywhere (no global state) and recorded in every conversation's
``meta``. It loads from a TOML file and takes command-line overrides; environment variables give defaults
(``UGST_MODEL`` for every role, ``UGST_<ROLE>_MODEL`` for one), flags and files win over them.

```toml
seed = 7
max_turns = 10
tracker_mode = "batched"

[roles.simulator]
model = "vllm:smollm2@http://127.0.0.1:8000/v1"
temperature = 0.7

[roles.tracker]
model = "openai/gpt-4o-mini"
```
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError

ROLES: tuple[str, ...] = ("decomposer", "tracker", "simulator", "agent", "rater")
OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",  # never reach for the Hugging Face hub; every model is local
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # DSPy/LiteLLM would otherwise fetch a price table (5 s timeout)
}


def apply_offline_defaults() -> None:
    """Set the environment defaults that keep model libraries off the network (explicit settings win)."""
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)
EMBEDDED = "embedded"


@dataclass
class RoleConfig:
    """The model behind one role and how it samples."""

    model: str = field(default=EMBEDDED, metadata={"help": "Model spec: embedded, a folder, a .gguf, vllm:MODEL@URL, provider/model."})
    temperature: float = field(default=0.0, metadata={"help": "0 is greedy; above 0 samples with the run's seed."})
    max_tokens: int = field(default=512, metadata={"help": "Most tokens one call may generate."})
    top_p: float | None = field(default=None, metadata={"help": "Nucleus sampling; None leaves the model's default."})


def _default_roles() -> dict[str, RoleConfig]:
    # max_tokens covers the longest answer each role's (bounded) output schema allows
    roles = {role: RoleConfig() for role in ROLES}
    roles["decomposer"].max_tokens = 1024
    roles["simulator"].temperature = 0.7
    roles["agent"].max_tokens = 384
    roles["rater"].max_tokens = 256
    return roles


@dataclass
class UGSTConfig:
    """Everything a run needs to know besides its inputs. Recorded in ``meta.config`` of every conversation."""

    roles: dict[str, RoleConfig] = field(default_factory=_default_roles, metadata={"help": "Per-role model and sampling."})
    seed: int = field(default=0, metadata={"help": "Base seed; every call gets a seed derived from it."})
    max_turns: int = field(default=10, metadata={"help": "Most user-agent turns per conversation."})
    tracker_mode: str = field(default="batched", metadata={"help": "per_component (the paper) or batched."})
    rules: str = field(default="default", metadata={"help": "Rule set of the goal state."})
    adapter: str = field(default="json", metadata={"help": "DSPy adapter of our modules: json or chat."})
    num_retries: int = field(default=3, metadata={"help": "Retries with backoff on server errors and timeouts."})
    cache: bool = field(default=False, metadata={"help": "Use DSPy's response cache."})

    def __post_init__(self) -> None:
        unknown = set(self.roles) - set(ROLES)
        if unknown:
            raise UgstError(f"unknown role {sorted(unknown)[0]!r} (roles: {', '.join(ROLES)})")
        for role in ROLES:
            self.roles.setdefault(role, _default_roles()[role])
        if self.max_turns < 1:
            raise UgstError(f"max_turns must be at least 1, got {self.max_turns}")
        if self.tracker_mode not in ("batched", "per_component"):
            raise UgstError(f"tracker_mode must be batched or per_component, got {self.tracker_mode!r}")
        if self.adapter not in ("json", "chat"):
            raise UgstError(f"adapter must be json or chat, got {self.adapter!r}")

    # -- building --------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> UGSTConfig:
        """Build from a plain mapping (a parsed TOML file); unknown keys are refused by name."""
        top = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in top:
                raise UgstError(f"{source}: unknown key {key!r} (known: {', '.join(sorted(top))})")
        values = {k: v for k, v in data.items() if k != "roles"}
        roles = _default_roles()
        role_keys = {f.name for f in dataclasses.fields(RoleConfig)}
        for role, settings in (data.get("roles") or {}).items():
            if role not in ROLES:
                raise UgstError(f"{source}: unknown role 'roles.{role}' (roles: {', '.join(ROLES)})")
            if not isinstance(settings, Mapping):
                raise UgstError(f"{source}: 'roles.{role}' must be a table")
            for key in settings:
                if key not in role_keys:
                    raise UgstError(f"{source}: unknown key 'roles.{role}.{key}' (known: {', '.join(sorted(role_keys))})")
            roles[role] = dataclasses.replace(roles[role], **settings)
        try:
            return cls(roles=roles, **values)
        except TypeError as err:
            raise UgstError(f"{source}: {err}") from None

    @classmethod
    def load(cls, path: str | Path) -> UGSTConfig:
        """Read a TOML file; errors name the file (and the line for syntax errors)."""
        return cls.from_dict(_read_toml(path), str(path))

    @classmethod
    def resolve(
        cls,
        path: str | Path | None = None,
        models: Mapping[str, str | None] | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> UGSTConfig:
        """Environment defaults, then the file, then flags: ``models`` by role (``"all"`` for every role)
        and any top-level field in ``overrides`` (``None`` values are ignored)."""
        env = os.environ if env is None else env
        data = _read_toml(path) if path else {}
        config = cls.from_dict(data, str(path)) if path else cls()
        in_file = {role for role, settings in (data.get("roles") or {}).items() if "model" in settings}
        models = dict(models or {})
        everyone = models.pop("all", None)
        unknown = set(models) - set(ROLES)
        if unknown:
            raise UgstError(f"unknown role {sorted(unknown)[0]!r} (roles: {', '.join(ROLES)})")
        for role in ROLES:
            from_env = None if role in in_file else env.get(f"UGST_{role.upper()}_MODEL") or env.get("UGST_MODEL")
            chosen = models.get(role) or everyone or from_env
            if chosen:
                config.roles[role].model = chosen
        changes = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(config, **changes) if changes else config

    # -- reading ---------------------------------------------------------------------------------

    def role(self, name: str) -> RoleConfig:
        try:
            return self.roles[name]
        except KeyError:
            raise UgstError(f"unknown role {name!r} (roles: {', '.join(ROLES)})") from None

    def models(self) -> dict[str, str]:
        return {role: self.roles[role].model for role in ROLES}

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["roles"] = {role: dataclasses.asdict(self.roles[role]) for role in ROLES}
        return data


def _read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UgstError(f"{path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise UgstError(f"{path}: {err}") from None
