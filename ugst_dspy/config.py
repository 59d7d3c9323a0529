"""Run configuration: which model plays each role, how it samples, seeds, tracking mode and limits.

One :class:`UGSTConfig` object is passed everywhere (no global state) and recorded in every conversation's
``meta``. It loads from a TOML file and takes command-line overrides; environment variables give defaults
(``UGST_MODEL`` for every role, ``UGST_<ROLE>_MODEL`` for one), flags and files win over them.

```toml
seed = 7
max_turns = 10
tracker_mode = "per_component"      # evaluation: the states every table reads (the paper's tracker)
steering_tracker_mode = "batched"   # steering and rewards: the state a simulator sees, GRPO/optimize rewards

[roles.simulator]
model = "vllm:smollm2@http://127.0.0.1:8000/v1"
temperature = 0.7

behaviours = ["impatience", { name = "digression", rate = 0.3, intensity = "mild" }]  # docs/behaviours.md

[roles.tracker]
model = "openai/gpt-4o-mini"
timeout = 60      # seconds a request may wait on the server (sending, each read); then it fails
retries = 1       # retries with exponential backoff (timeouts, 5xx, broken connections); default num_retries
```
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from ugst_dspy.config_checks import Checks, check_fields
from ugst_dspy.errors import UgstError

ROLES: tuple[str, ...] = ("decomposer", "tracker", "simulator", "agent", "rater")
TrackerMode = Literal["per_component", "batched"]
TRACKER_MODES: tuple[str, ...] = get_args(TrackerMode)
"""The tracker modes: the paper's per-component judge, or one batched call for every open sub-component."""
OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",  # never reach for the Hugging Face hub; every model is local
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # DSPy/LiteLLM would otherwise fetch a price table (5 s timeout)
}


def apply_offline_defaults() -> None:
    """Set the environment defaults that keep model libraries off the network (explicit settings win)."""
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)
EMBEDDED = "embedded"


def _rule_set_names() -> tuple[str, ...]:
    from ugst_dspy.rules import RULE_SETS

    return tuple(sorted(RULE_SETS))


# Ranges and choices of the settings; every field's type comes from its annotation (see config_checks).
ROLE_CHECKS: Checks = {
    "temperature": (lambda v: 0 <= v <= 2, "a number from 0 to 2"),
    "max_tokens": (lambda v: v >= 1, "at least 1"),
    "top_p": (lambda v: 0 < v <= 1, "a number above 0 and at most 1"),
}
TOP_CHECKS: Checks = {
    "max_turns": (lambda v: v >= 1, "at least 1"),
    "tracker_mode": (lambda v: v in TRACKER_MODES, "batched or per_component"),
    "steering_tracker_mode": (lambda v: v in TRACKER_MODES, "batched or per_component"),
    "rules": (lambda v: v in _rule_set_names(), lambda: "one of " + ", ".join(_rule_set_names())),
    "adapter": (lambda v: v in ("json", "chat"), "json or chat"),
    "num_retries": (lambda v: v >= 0, "at least 0"),
    "gguf_engine": (lambda v: v in ("auto", "llamacpp", "transformers"), "auto, llamacpp or transformers"),
}


@dataclass
class RoleConfig:
    """The model behind one role and how it samples."""

    model: str = field(default=EMBEDDED, metadata={"help": "Model spec: embedded, a folder, a .gguf, vllm:MODEL@URL, provider/model."})
    temperature: float = field(default=0.0, metadata={"help": "0 is greedy; above 0 samples with the run's seed."})
    max_tokens: int = field(default=512, metadata={"help": "Most tokens one call may generate."})
    top_p: float | None = field(default=None, metadata={"help": "Nucleus sampling; None leaves the model's default."})
    timeout: float = field(default=300.0, metadata={
        "help": "Seconds a request may wait on the server (sending, and for each read of the answer); then it fails."})
    retries: int | None = field(default=None, metadata={
        "help": "Retries of a failed request (timeout, 5xx, broken connection) with backoff; None: num_retries."})


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
    tracker_mode: TrackerMode = field(default="per_component", metadata={
        "help": "Tracker of evaluation, the states every table reads (ugst track, the UGST evaluator, the states "
                "ugst simulate records): per_component (the paper's, default) or batched."})
    steering_tracker_mode: TrackerMode = field(default="batched", metadata={
        "help": "Tracker of steering and rewards (the state a state-steered simulator sees during ugst "
                "simulate, the UGST rewards of ugst optimize and ugst grpo): batched (default) or per_component."})
    rules: str = field(default="default", metadata={"help": "Rule set of the goal state."})
    adapter: str = field(default="json", metadata={"help": "DSPy adapter of our modules: json or chat."})
    num_retries: int = field(default=3, metadata={"help": "Retries with backoff on server errors and timeouts."})
    cache: bool = field(default=False, metadata={"help": "Use DSPy's response cache."})
    behaviours: list[Any] = field(default_factory=list, metadata={
        "help": "Non-collaborative behaviours of the simulator (docs/behaviours.md): names, NAME:rate=R,intensity=I "
                "strings or {name, rate, intensity} tables; empty for a collaborative user."})
    gguf_engine: str = field(default="auto", metadata={
        "help": "Engine of GGUF models (the embedded ones included): auto (llama.cpp when llama-cpp-python is "
                "installed, else transformers), llamacpp or transformers."})

    def __post_init__(self) -> None:
        unknown = set(self.roles) - set(ROLES)
        if unknown:
            raise UgstError(f"unknown role {sorted(unknown)[0]!r} (roles: {', '.join(ROLES)})")
        for role in ROLES:
            self.roles.setdefault(role, _default_roles()[role])
            if not isinstance(self.roles[role], RoleConfig):
                raise UgstError(f"roles.{role} must be a RoleConfig, got {self.roles[role]!r}")
            check_fields(RoleConfig, vars(self.roles[role]), ROLE_CHECKS, f"roles.{role}.")
            _check_request_limits(role, self.roles[role])
        check_fields(UGSTConfig, {k: v for k, v in vars(self).items() if k != "roles"}, TOP_CHECKS)
        self.behaviour_specs()  # an unknown behaviour or a bad rate is one line, here

    def behaviour_specs(self) -> tuple[Any, ...]:
        """``behaviours`` as :class:`~ugst_dspy.behaviours.BehaviourSpec` objects."""
        from ugst_dspy.behaviours.spec import as_specs

        if not isinstance(self.behaviours, (list, tuple)):
            raise UgstError(f"behaviours must be a list, got {self.behaviours!r}")
        return as_specs(self.behaviours)

    # -- building --------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> UGSTConfig:
        """Build from a plain mapping (a parsed TOML file); unknown keys are refused by name, and every
        value is checked by type and range (see :data:`ROLE_CHECKS`, :data:`TOP_CHECKS`)."""
        top = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in top:
                raise UgstError(f"{source}: unknown key {key!r} (known: {', '.join(sorted(top))})")
        values = {k: v for k, v in data.items() if k != "roles"}
        roles = _default_roles()
        role_keys = {f.name for f in dataclasses.fields(RoleConfig)}
        tables = data.get("roles", {})
        if not isinstance(tables, Mapping):
            raise UgstError(f"{source}: roles must be a table of [roles.ROLE] tables, got {tables!r}")
        for role, settings in tables.items():
            if role not in ROLES:
                raise UgstError(f"{source}: unknown role 'roles.{role}' (roles: {', '.join(ROLES)})")
            if not isinstance(settings, Mapping):
                raise UgstError(f"{source}: 'roles.{role}' must be a table, got {settings!r}")
            for key in settings:
                if key not in role_keys:
                    raise UgstError(f"{source}: unknown key 'roles.{role}.{key}' (known: {', '.join(sorted(role_keys))})")
            with _naming(source):
                check_fields(RoleConfig, settings, ROLE_CHECKS, f"roles.{role}.")
            roles[role] = dataclasses.replace(roles[role], **settings)
        with _naming(source):
            check_fields(cls, values, TOP_CHECKS)
            try:
                return cls(roles=roles, **values)
            except TypeError as err:
                raise UgstError(str(err)) from None

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

    def retries(self, name: str) -> int:
        """How many times a failed request of role ``name`` is retried (its own ``retries``, else num_retries)."""
        own = self.role(name).retries
        return self.num_retries if own is None else own

    def models(self) -> dict[str, str]:
        return {role: self.roles[role].model for role in ROLES}

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["roles"] = {role: dataclasses.asdict(self.roles[role]) for role in ROLES}
        data["behaviours"] = [spec.to_json() for spec in self.behaviour_specs()]
        return data


def _check_request_limits(role: str, settings: RoleConfig) -> None:
    """A role's request timeout is a positive finite number of seconds, its retries None or a count >= 0."""
    timeout = settings.timeout
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise UgstError(f"roles.{role}.timeout must be a number of seconds above 0, got {timeout!r}")
    retries = settings.retries
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        raise UgstError(f"roles.{role}.retries must be a whole number >= 0 (or unset), got {retries!r}")


@contextmanager
def _naming(source: str) -> Iterator[None]:
    """Meanwhile, a :class:`UgstError` gets ``source: `` in front (the file the bad value came from)."""
    try:
        yield
    except UgstError as err:
        raise UgstError(f"{source}: {err}") from None


def _read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    from ugst_dspy.files.jsonl import decode_text

    try:
        return tomllib.loads(decode_text(path.read_bytes(), path, "a config file is UTF-8 TOML"))
    except OSError as err:
        raise UgstError(f"{path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise UgstError(f"{path}: {err}") from None
