"""Conversation environments over the benchmark databases: τ-bench retail and airline, MultiWOZ."""

from ugst_dspy.envs.base import ToolEnvironment, db_hash
from ugst_dspy.envs.datafiles import PACKAGED_DATA, data_dir
from ugst_dspy.envs.multiwoz import MultiWOZEnv
from ugst_dspy.envs.registry import ENVIRONMENTS, default_goals_path, environment_class, make_env
from ugst_dspy.envs.tau_airline import AirlineEnv
from ugst_dspy.envs.tau_outcome import TaskOutcome, outcome, replay
from ugst_dspy.envs.tau_retail import RetailEnv

__all__ = [
    "ENVIRONMENTS",
    "PACKAGED_DATA",
    "AirlineEnv",
    "MultiWOZEnv",
    "RetailEnv",
    "TaskOutcome",
    "ToolEnvironment",
    "data_dir",
    "db_hash",
    "default_goals_path",
    "environment_class",
    "make_env",
    "outcome",
    "replay",
]
