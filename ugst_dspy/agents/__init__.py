"""Agents under test: a DSPy tool-calling agent, any OpenAI-compatible endpoint, a person at the terminal."""

from ugst_dspy.agents.base import Agent, AgentReply, run_tool, tool_catalogue
from ugst_dspy.agents.dspy_agent import DSPyToolAgent
from ugst_dspy.agents.endpoint import EndpointAgent
from ugst_dspy.agents.human import HumanAgent

__all__ = ["Agent", "AgentReply", "DSPyToolAgent", "EndpointAgent", "HumanAgent", "run_tool", "tool_catalogue"]
