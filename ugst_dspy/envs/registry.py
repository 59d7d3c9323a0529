"""The environments by name: ``make_env("tau-retail")``. Add one by adding its class to :data:`ENVIRONMENTS`.

An environment class takes ``data_dir`` (the benchmark data folder, see :func:`ugst_dspy.envs.datafiles.data_dir`)
as its first argument and has a ``default_goals_path(data_dir)`` class method naming its default goal file.
"""

from __future__ import annotations

from pathlib import Path

from ugst_dspy.envs.base import ToolEnvironment
from ugst_dspy.envs.multiwoz import MultiWOZEnv
from ugst_dspy.envs.tau_airline import AirlineEnv
from ugst_dspy.envs.tau_published_airline import PublishedAirlineEnv
from ugst_dspy.envs.tau_published_retail import PublishedRetailEnv
from ugst_dspy.envs.tau_retail import RetailEnv
from ugst_dspy.errors import UgstError


ENVIRONMENTS: dict[str, type[ToolEnvironment]] = {
    "tau-retail": PublishedRetailEnv,
    "tau-retail-strict": RetailEnv,
    "tau-airline": PublishedAirlineEnv,
    "tau-airline-strict": AirlineEnv,
    "multiwoz": MultiWOZEnv,
}
"""``tau-retail`` and ``tau-airline`` behave exactly as τ-bench's published tools (outcomes compare with
published numbers); the ``-strict`` variants check what the policy says where upstream does not (see
docs/tau_bench.md)."""


def environment_class(name: str) -> type[ToolEnvironment]:
    """The class registered under ``name``; an unknown name is a one-line :class:`UgstError`."""
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise UgstError(f"unknown environment {name!r} (known: {', '.join(sorted(ENVIRONMENTS))})") from None


def make_env(name: str, data_dir: str | Path | None = None) -> ToolEnvironment:
    """A fresh environment (its own database copy) for one conversation."""
    return environment_class(name)(data_dir)


def default_goals_path(name: str, data_dir: str | Path | None = None) -> Path:
    """The goal file a run of environment ``name`` uses by default (τ-bench: the test split)."""
    return environment_class(name).default_goals_path(data_dir)


def training_goals_path(name: str, data_dir: str | Path | None = None) -> Path:
    """The goal file teacher runs of environment ``name`` use by default (τ-retail: the train split); an
    environment with no training goals is a one-line error (see :mod:`ugst_dspy.envs.holdout`)."""
    return environment_class(name).training_goals_path(data_dir)
