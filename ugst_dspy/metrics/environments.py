"""Which environment the conversations of a table ran in: ``meta.env`` of each record.

τ-bench comes in two semantics (see docs/tau_bench.md): ``tau-retail`` and ``tau-airline`` are the tools as
published (their outcomes compare with published τ-bench numbers), ``tau-retail-strict`` and
``tau-airline-strict`` check what the policy says where upstream does not. A table says which it pools, so
two numbers are never compared across semantics without it showing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ugst_dspy.conversation import Conversation

UNKNOWN = "unknown"
DESCRIPTIONS: dict[str, str] = {
    "tau-retail": "τ-bench's published tools",
    "tau-airline": "τ-bench's published tools",
    "tau-retail-strict": "checks the policy where τ-bench's tools do not; not comparable with published numbers",
    "tau-airline-strict": "checks the policy where τ-bench's tools do not; not comparable with published numbers",
    "multiwoz": "MultiWOZ databases",
}


def environment(conversation: Conversation) -> str:
    return conversation.meta.env or UNKNOWN


def environments(conversations: Iterable[Conversation]) -> Counter[str]:
    """How many conversations ran in each environment."""
    return Counter(environment(conversation) for conversation in conversations)


def environment_line(counts: Counter[str]) -> str:
    """``Environment: tau-retail (τ-bench's published tools), 3 conversations``; every one when mixed."""
    if not counts:
        return "Environment: none (no conversation)"
    parts = [f"{name} ({DESCRIPTIONS.get(name, 'not a known environment')}), {n} conversation{'s' * (n != 1)}"
             for name, n in counts.most_common()]
    return ("Environment: " if len(parts) == 1 else "Environments (mixed): ") + "; ".join(parts)
