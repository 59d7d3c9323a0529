"""τ-bench as published: the dispatch of upstream's ``Env.step``, shared by the as-published environments.

``tau-retail`` and ``tau-airline`` reproduce the upstream tools (sierra-research/tau-bench at the commit named
in ``tau_bench/SOURCE.md``) exactly, quirks included, so outcomes and trajectories compare with published
τ-bench numbers; ``tau-retail-strict`` and ``tau-airline-strict`` keep the behaviour the policy asks for (see
docs/tau_bench.md). What upstream's step does, and so what :meth:`PublishedTauEnvironment.call` does:

- a tool that is not in the domain answers ``Unknown action NAME``;
- arguments are passed as given, never checked against the schema first;
- any exception a tool raises becomes its answer, ``Error: MESSAGE`` (so a missing argument reads as
  Python words it: ``Error: ... missing 1 required positional argument: 'reason'``);
- ``transfer_to_human_agents`` ends the conversation, even when the call fails;
- an answer that is not a string (upstream's ``send_certificate`` can answer ``None``) is passed on as its
  text, ``"None"``: every answer is a string here.

The tools both domains share are upstream's too (:mod:`ugst_dspy.envs.tau_published_tools`): ``calculate``
accepts what upstream's ``eval`` accepts, computed without ``eval``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ugst_dspy.envs.base import ToolFunction
from ugst_dspy.envs.tau_common import TauEnvironment
from ugst_dspy.envs.tau_published_tools import calculate, think, transfer_to_human_agents


def upstream_class(tool: str) -> str:
    """The name of upstream's class for a tool: ``cancel_pending_order`` -> ``CancelPendingOrder``."""
    return "".join(part[:1].upper() + part[1:] for part in tool.split("_"))


def upstream_type_error(tool: str, err: TypeError) -> str:
    """A bad-arguments error worded as upstream's ``Tool.invoke`` raises it (``CancelPendingOrder.invoke()
    missing 1 required positional argument: 'reason'``); other type errors as they are."""
    return re.sub(rf"^[\w.]*\b{re.escape(tool)}\(\)", f"{upstream_class(tool)}.invoke()", str(err))


class PublishedTauEnvironment(TauEnvironment):
    """A τ-bench domain whose tools answer as upstream's do (subclasses register the tools)."""

    published = True
    shared_tools: ClassVar[dict[str, ToolFunction]] = {  # upstream's, in place of the strict ones
        "calculate": calculate, "think": think, "transfer_to_human_agents": transfer_to_human_agents,
    }

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Run a tool as upstream's ``Env.step`` runs it (see the module docstring)."""
        arguments = dict(arguments or {})
        self.calls.append({"name": name, "arguments": arguments})
        function = self.functions.get(name)
        if function is None:
            return f"Unknown action {name}"
        try:
            result = function(**arguments)
        except TypeError as err:
            result = f"Error: {upstream_type_error(name, err)}"
        except Exception as err:  # noqa: BLE001 - upstream's step: every exception is the tool's answer
            result = f"Error: {err}"
        if name in self.terminal_tools:
            self.done = True  # upstream ends the episode on this action, whatever it answered
        # upstream's send_certificate answers None when its three certificate ids are taken: the one answer
        # that is not a string, passed on as the text "None"
        return result if isinstance(result, str) else str(result)
