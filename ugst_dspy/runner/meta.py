"""What every written record says about how it was made (``meta``): models per role, config, version."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from typing import Any

from ugst_dspy._version import __version__
from ugst_dspy.config import UGSTConfig
from ugst_dspy.rules import get_rules


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
