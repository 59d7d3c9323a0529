"""``DecomposeGoal``: a user goal -> a goal state with every status at its initial value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import dspy

from ugst_dspy.modules.goal_pieces import Piece, local_grammar_budget, plan_pieces
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.signatures.decompose import DecomposeGoalSignature, bounded_signature
from ugst_dspy.state import GoalState

Budget = int | None | Literal["auto"]


def state_from_items(items: Iterable[Any], rules: RuleSet = DEFAULT_RULES) -> GoalState:
    """Build the initial goal state from a decomposer's ordered ``(category, text)`` items.

    Requirements and preferences attach to the task objective before them; one that comes before any
    objective is kept as a task objective of its own rather than dropped. Empty texts are dropped.
    """
    profile: list[str] = []
    policy: list[str] = []
    objectives: list[dict[str, Any]] = []
    for item in items:
        category = str(getattr(item, "category", None) or item["category"])
        text = " ".join(str(getattr(item, "text", None) or item["text"]).split())
        if not text:
            continue
        if category == "user_profile":
            profile.append(text)
        elif category == "user_policy":
            policy.append(text)
        elif category == "task_objective" or not objectives:
            objectives.append({"text": text, "requirements": [], "preferences": []})
        else:
            objectives[-1]["requirements" if category == "requirement" else "preferences"].append(text)
    return rules.new_state(profile, policy, objectives)


class DecomposeGoal(dspy.Module):
    """Decompose a user goal into profile, policy and task objectives with requirements and preferences.

    ``forward(goal=...)`` returns a prediction whose ``state`` is the initial goal state S_0 and whose
    ``pieces`` is the number of calls it took. Every call's output type is bounded by the text it
    decomposes (:mod:`ugst_dspy.modules.goal_pieces`): as many sub-components and as long texts as that
    text may hold, with headroom, so no part of any goal is cut; an answer beyond the bound, or cut off, is
    a parse error. ``grammar_budget`` is the most ``items x characters`` states one call's grammar may
    have: a goal whose bound exceeds it is decomposed in consecutive pieces, merged in order. ``"auto"``
    (default): on a local Outlines engine (whose index grows with the bound and the vocabulary)
    :func:`~ugst_dspy.modules.goal_pieces.local_grammar_budget` of its tokenizer (2,048 states with
    SmolLM2's; the tokenizer is loaded for it), else none (one call for the whole goal); ``None``: always
    one call.
    Each call's ``max_tokens`` is raised to what its bound needs (the role's setting is a floor).
    """

    def __init__(self, rules: RuleSet = DEFAULT_RULES, grammar_budget: Budget = "auto") -> None:
        super().__init__()
        if grammar_budget != "auto" and grammar_budget is not None and (
            not isinstance(grammar_budget, int) or grammar_budget < 1
        ):
            raise ValueError(f"grammar_budget must be 'auto', None or at least 1, got {grammar_budget!r}")
        self.rules = rules
        self.grammar_budget = grammar_budget
        self.decompose = dspy.Predict(DecomposeGoalSignature)

    def plan(self, goal: str, lm: Any = None) -> list[Piece]:
        """The calls :meth:`forward` makes for ``goal`` with ``lm`` (default: this module's, else DSPy's)."""
        return plan_pieces(goal, self._budget(lm if lm is not None else self._lm()))

    def forward(self, goal: str) -> dspy.Prediction:
        lm = self._lm()
        constrained = _outlines_engine(lm) is not None
        floor = int((getattr(lm, "kwargs", None) or {}).get("max_tokens") or 0)
        pieces = plan_pieces(goal, self._budget(lm))
        items: list[Any] = []
        for piece in pieces:
            bound = piece.bound
            prediction = self.decompose(
                goal=piece.text,
                signature=bounded_signature(self.decompose.signature, bound.max_items, bound.max_text),
                config={"max_tokens": max(floor, piece.answer_tokens(constrained))},
            )
            items.extend(prediction.decomposition.sub_components)
        return dspy.Prediction(state=state_from_items(items, self.rules), pieces=len(pieces))

    def _lm(self) -> Any:
        return self.decompose.lm or dspy.settings.lm

    def _budget(self, lm: Any) -> int | None:
        if self.grammar_budget != "auto":
            return self.grammar_budget
        engine = _outlines_engine(lm)
        return None if engine is None else local_grammar_budget(len(engine.hf_tokenizer))


def _outlines_engine(lm: Any) -> Any:
    """The local transformers engine ``lm`` runs on (its Outlines index grows with the bound), else ``None``."""
    from ugst_dspy.engines.local import TransformersEngine

    engine = getattr(lm, "engine", None)
    return engine if isinstance(engine, TransformersEngine) else None
