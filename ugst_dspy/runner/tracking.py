"""Track conversations that already exist: decompose their goal if needed, then judge every turn."""

from __future__ import annotations

import time
from typing import Any

import dspy

from ugst_dspy.config import UGSTConfig
from ugst_dspy.conversation import Conversation
from ugst_dspy.engines.spec import ModelPool, configure_adapter
from ugst_dspy.programs.evaluator import UGSTEvaluator
from ugst_dspy.rules import get_rules
from ugst_dspy.run_meta import RunMeta, Tracking
from ugst_dspy.runner.meta import merge_usage, run_meta, tracking_settings
from ugst_dspy.usage import UsageRecorder

TRACKING_ROLES = ("decomposer", "tracker")


class ConversationTracker:
    """Fills in S_0..S_n of conversation records with the UGST evaluator, recording usage and models.

    ``retrack`` decides whether an existing initial state is decomposed again (default: kept).
    """

    def __init__(self, config: UGSTConfig, pool: ModelPool | None = None, retrack: bool = False) -> None:
        self.config = config
        self.pool = pool or ModelPool(config)
        self.retrack = retrack
        self.evaluator = UGSTEvaluator(mode=config.tracker_mode, rules=get_rules(config.rules))
        self._bound = False

    def bind(self) -> None:
        """Give the decomposer and tracker their role's LM (parses specs, loads nothing yet)."""
        if not self._bound:
            self.evaluator.decomposer.set_lm(self.pool.lm("decomposer"))
            self.evaluator.tracker.set_lm(self.pool.lm("tracker"))
            self._bound = True

    def settings(self) -> dict[str, Any]:
        """What a rerun into the same output must match (see :func:`tracking_settings`)."""
        return tracking_settings(RunMeta(tracking=Tracking(mode=self.config.tracker_mode, config=self.config.to_json())))

    def __call__(self, conversation: Conversation) -> dict[str, Any]:
        self.bind()
        usage = UsageRecorder()
        started = time.perf_counter()
        source = conversation if not self.retrack else conversation.model_copy(update={"initial_state": None})
        from ugst_dspy.engines.affinity import conversation_affinity

        # every judge call of one conversation goes to one server of the tracker's several (its prefix cache)
        with conversation_affinity(conversation.key), dspy.context(adapter=configure_adapter(self.config)):
            if source.initial_state is None:
                with usage.role("decomposer"):
                    start = self.evaluator.decomposer(goal=source.instruction).state
                source = source.model_copy(update={"initial_state": start})
            with usage.role("tracker"):
                tracked = self.evaluator.track_conversation(source)
        illegal = sum(len(turn.illegal_updates or []) for turn in tracked.turns)
        recorded = tracked.meta.to_json()
        described = run_meta(self.config, TRACKING_ROLES)
        meta = tracked.meta.with_values(
            models={**(recorded.get("models") or {}), **described.pop("models")},
            tracking={
                "mode": self.config.tracker_mode,
                "illegal_updates": illegal,
                "seconds": round(time.perf_counter() - started, 3),
                **described,
            },
            usage=merge_usage(recorded.get("usage"), usage.to_json()),
        )
        return tracked.model_copy(update={"meta": meta}).to_json()
