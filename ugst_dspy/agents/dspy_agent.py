"""A tool-calling agent as a DSPy module: the domain policy as instructions, one typed step at a time.

Each step decides to call a tool (its name constrained to the environment's tools, its arguments as a JSON
object) or to answer the user. Tool results, errors included, are fed back into the next step; at most
``max_steps`` tool calls are made per turn, after which the agent must answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import dspy

from ugst_dspy.agents.base import AgentReply, Environment, run_tool, tool_catalogue
from ugst_dspy.conversation import ToolCall, Turn
from ugst_dspy.transcript import tool_line

AGENT_GUIDANCE = (
    "You are a customer-service agent. Follow the policy below exactly. Use the tools to look things up and "
    "to act; never invent information the tools or the user did not give you. Decide one step at a time: "
    "either call one tool (action call_tool, with tool_name and tool_arguments as a JSON object), or answer "
    "the user (action respond, with message).\n\nPolicy:\n"
)


class AgentStep(dspy.Signature):
    """Decide the agent's next step."""

    tools: str = dspy.InputField(desc="The tools you can call, one per line; * marks required arguments.")
    conversation: str = dspy.InputField(desc="The conversation so far; the user's latest message is last.")
    tool_results: str = dspy.InputField(desc="Tool calls you already made in this turn, with their results.")
    action: Literal["call_tool", "respond"] = dspy.OutputField()
    tool_name: str = dspy.OutputField(desc="With call_tool: the tool to call.")
    tool_arguments: str = dspy.OutputField(desc='With call_tool: its arguments as a JSON object, e.g. {"order_id": "#W1"}.')
    message: str = dspy.OutputField(desc="With respond: your message to the user.")


def agent_view(turns: Sequence[Turn], user_message: str) -> str:
    lines = []
    for turn in turns:
        lines += [f"User: {turn.user}", *(f"(tool) {tool_line(c)}" for c in turn.tool_calls), f"Agent: {turn.agent}"]
    lines.append(f"User: {user_message}")
    return "\n".join(lines)


class DSPyToolAgent(dspy.Module):
    """The agent under test when none is given: a DSPy module over the environment's tools and policy."""

    name = "dspy-tool-agent"

    def __init__(self, max_steps: int = 5) -> None:
        super().__init__()
        self.max_steps = max_steps
        self.step = dspy.Predict(AgentStep)

    def signature_for(self, env: Environment) -> type[dspy.Signature]:
        names = tuple(schema.get("function", schema)["name"] for schema in env.schemas)
        return self.step.signature.with_instructions(AGENT_GUIDANCE + env.policy).with_updated_fields(
            "tool_name", type_=Literal[names]  # type: ignore[valid-type]
        )

    def respond(self, turns: Sequence[Turn], user_message: str, env: Environment) -> AgentReply:
        return self(turns=turns, user_message=user_message, env=env).reply

    def forward(self, turns: Sequence[Turn], user_message: str, env: Environment) -> dspy.Prediction:
        signature = self.signature_for(env)
        answer_only = signature.with_updated_fields("action", type_=Literal["respond"])
        inputs: dict[str, Any] = {"tools": tool_catalogue(env.schemas), "conversation": agent_view(turns, user_message)}
        calls: list[ToolCall] = []
        for step in range(self.max_steps + 1):
            last = step == self.max_steps
            results = "\n".join(tool_line(call) for call in calls) or "(none yet)"
            decision = self.step(signature=answer_only if last else signature, tool_results=results, **inputs)
            if decision.action != "call_tool" or last:
                return dspy.Prediction(reply=AgentReply(str(decision.message or "").strip(), calls))
            calls.append(run_tool(env, str(decision.tool_name), decision.tool_arguments, f"call_{step + 1}"))
            if env.done:
                return dspy.Prediction(reply=AgentReply(str(decision.message or "").strip(), calls, stop=True))
        raise AssertionError("unreachable")  # pragma: no cover
