"""What every written record says about how it was made (``meta``): models per role, config, version."""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from typing import Any

from ugst_dspy._version import __version__
from ugst_dspy.config import UGSTConfig
from ugst_dspy.rules import get_rules
from ugst_dspy.run_meta import RunMeta, Tracking


def run_meta(config: UGSTConfig, roles: Iterable[str]) -> dict[str, Any]:
    """Models of the roles used, the whole config, the rule set and the package version."""
    return {
        "models": {role: config.role(role).model for role in roles},
        "seed": config.seed,
        "rules": get_rules(config.rules).to_json(),
        "config": config.to_json(),
        "ugst_version": __version__,
        "python": platform.python_version(),
    }


def merge_usage(old: dict[str, Any] | None, new: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``meta.usage`` with the roles in ``new`` replaced (re-tracking replaces the tracker's usage)."""
    merged = dict(old or {})
    merged.update(new)
    return merged


ROLE_SETTINGS = ("model", "temperature", "max_tokens", "top_p")
RUN_SETTINGS = ("seed", "max_turns", "tracker_mode", "steering_tracker_mode", "rules", "adapter")


def result_settings(config: Any, roles: Iterable[str], keys: Iterable[str] = RUN_SETTINGS) -> dict[str, Any]:
    """What changes a result in a recorded ``meta.config`` (the given roles' models and sampling, seed, turn
    limit, tracker modes, rule set, adapter), not how it is run (retries, timeouts, cache, workers)."""
    config = config if isinstance(config, dict) else {}
    recorded_roles = config.get("roles") if isinstance(config.get("roles"), dict) else {}
    picked: dict[str, Any] = {key: config.get(key) for key in keys}
    picked["roles"] = {
        role: {key: (recorded_roles.get(role) or {}).get(key) for key in ROLE_SETTINGS} for role in roles
    }
    return picked


def simulation_settings(meta: RunMeta) -> dict[str, Any]:
    """The settings a simulated conversation was made with (from its ``meta``): reruns must match them."""
    picked = {key: getattr(meta, key) for key in ("env", "simulator", "simulator_options", "program", "agent", "tracked")}
    picked["config"] = result_settings(meta.config, ("decomposer", "tracker", "simulator", "agent"))
    return picked


def tracking_settings(meta: RunMeta) -> dict[str, Any]:
    """The settings a tracked conversation was tracked with (``meta.tracking``)."""
    tracking = meta.tracking or Tracking()
    config = result_settings(tracking.config, ("decomposer", "tracker"), ("seed", "tracker_mode", "rules", "adapter"))
    return {"mode": tracking.mode, "config": config}


def decomposition_settings(meta: RunMeta) -> dict[str, Any]:
    """The settings a decomposition was made with (its ``meta``)."""
    return {"config": result_settings(meta.config, ("decomposer",), ("seed", "rules", "adapter"))}


def recorded_meta(record: Mapping[str, Any]) -> RunMeta:
    """The ``meta`` of a record read from a file (already validated), typed."""
    meta = record.get("meta")
    return RunMeta.model_validate(meta if isinstance(meta, Mapping) else {})
