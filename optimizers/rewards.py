"""TRL GRPO reward functions: one per UGST category, over one cached tracker call per completion.

SPEC section 2: ``R(u_i) = sum_j alpha_j * I_j(u_i)``. GRPO gets the five indicators ``I_j`` as five reward
functions (named after the categories, so TRL logs ``rewards/<category>/mean`` for each) and the alphas as
``reward_weights``, so the weighted sum TRL computes is exactly ``ugst_reward(...).total``.

Each completion is parsed with the student layout (:func:`~ugst_dspy.optimizers.layout.parse_completion`)
and its reply scored by :class:`~ugst_dspy.modules.scoring.ResponseScorer` with the goal, the state before the reply
(``state``, JSON) and the conversation so far (``turns``, JSON) from the dataset's columns. The first of the
five functions to see a batch scores every row (in ``workers`` threads); the other four read the cache, so
the tracker runs once per (prompt, completion). A completion that does not follow the layout scores 0 in
every category (``on_malformed="zero"``), or has its whole text scored as the reply
(``on_malformed="score_text"``).

    rewards = UGSTRewardFunctions(scorer)
    GRPOTrainer(..., reward_funcs=rewards.functions, args=GRPOConfig(reward_weights=rewards.weights, ...))
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from ugst_dspy.conversation import Turn
from ugst_dspy.optimizers.layout import completion_text, parse_completion
from ugst_dspy.reward import RewardBreakdown
from ugst_dspy.modules.scoring import ResponseScorer, ScoredResponse
from ugst_dspy.state import CATEGORIES, Category, GoalState

OnMalformed = Literal["zero", "score_text"]
RewardFunction = Callable[..., list[float]]
_MALFORMED = "\0malformed"  # the cache key of a completion that breaks the layout (no real reply has a NUL)


@dataclass(frozen=True)
class RolloutScore:
    """The score of one completion: its reply, and the tracker's reward (``None`` when malformed)."""

    reply: str | None
    scored: ScoredResponse | None

    @property
    def indicators(self) -> dict[Category, int]:
        if self.scored is None:
            return dict.fromkeys(CATEGORIES, 0)
        return dict(self.scored.reward.indicators)

    @property
    def reward(self) -> RewardBreakdown | None:
        return None if self.scored is None else self.scored.reward

    @property
    def total(self) -> float:
        """``ugst_reward(...).total`` of the reply; 0 for a malformed completion."""
        return 0.0 if self.scored is None else self.scored.reward.total


class UGSTRewardFunctions:
    """The five per-category GRPO reward functions of one :class:`ResponseScorer` (see the module doc).

    ``adapter`` is the DSPy adapter the tracker runs with (JSONAdapter by default); ``workers`` threads
    score the rows of a batch at once (useful with a served tracker). ``cache_size`` bounds the cache.
    """

    def __init__(
        self,
        scorer: ResponseScorer,
        *,
        on_malformed: OnMalformed = "zero",
        workers: int = 1,
        adapter: Any = None,
        cache_size: int = 4096,
    ) -> None:
        if on_malformed not in ("zero", "score_text"):
            from ugst_dspy.errors import UgstError

            raise UgstError(f"unknown on_malformed {on_malformed!r} (use zero or score_text)")
        self.scorer = scorer
        self.on_malformed = on_malformed
        self.workers = max(1, workers)
        self.adapter = adapter
        self.cache_size = cache_size
        self.tracker_calls = 0
        self.malformed = 0
        self._cache: OrderedDict[tuple[str, str, str, str], RolloutScore] = OrderedDict()
        self._lock = threading.Lock()
        self.functions: list[RewardFunction] = [self._function(category) for category in CATEGORIES]

    def describe(self) -> dict[str, Any]:
        """What the run record says of these rewards."""
        return {**self.scorer.config.to_json(), "functions": self.names, "tracker_mode": self.scorer.tracker.mode,
                "on_malformed": self.on_malformed, "tracker_calls": self.tracker_calls, "malformed": self.malformed}

    @property
    def weights(self) -> list[float]:
        """``reward_weights`` for GRPOConfig: the alphas, in the order of :attr:`functions`."""
        return [float(self.scorer.config.weights[category]) for category in CATEGORIES]

    @property
    def names(self) -> list[str]:
        return [category.value for category in CATEGORIES]

    # -- scoring ---------------------------------------------------------------------------------

    def score(
        self, completion: Any, goal: str, state: str | Mapping[str, Any], turns: str | Sequence[Any]
    ) -> RolloutScore:
        """The (cached) score of one completion given the row's goal, state and turns columns."""
        key = self._key(completion, goal, state, turns)
        _, state_text, turns_text, reply_key = key
        reply = None if reply_key == _MALFORMED else reply_key
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        if reply is None:
            result = RolloutScore(reply=None, scored=None)
            with self._lock:
                self.malformed += 1
        else:
            scored = self._track(goal, GoalState.from_json(json.loads(state_text)), _turns(turns_text), reply)
            result = RolloutScore(reply=reply, scored=scored)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return result

    def _key(self, completion: Any, goal: str, state: Any, turns: Any) -> tuple[str, str, str, str]:
        state_text = state if isinstance(state, str) else json.dumps(state, sort_keys=True)
        turns_text = turns if isinstance(turns, str) else json.dumps(list(turns), sort_keys=True)
        reply = self.reply_of(completion)
        return (goal, state_text, turns_text, reply if reply is not None else _MALFORMED)

    def reply_of(self, completion: Any) -> str | None:
        """The reply a completion carries; ``None`` when it breaks the layout (and is not scored)."""
        text = completion_text(completion)
        parsed = parse_completion(text, strict=True)
        if parsed is not None:
            return parsed.reply
        return text.strip() if self.on_malformed == "score_text" else None

    def score_batch(self, completions: Sequence[Any], goal: Sequence[str], state: Sequence[Any],
                    turns: Sequence[Any]) -> list[RolloutScore]:
        """Score every row (in ``workers`` threads when more than one)."""
        rows = list(zip(completions, goal, state, turns, strict=True))
        if self.workers > 1 and len(rows) > 1:
            # score each distinct row once, in parallel; the row-by-row pass below then reads the cache
            distinct = list({self._key(*row): row for row in rows}.values())
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                list(pool.map(lambda row: self.score(*row), distinct))
        return [self.score(*row) for row in rows]

    def _track(self, goal: str, state: GoalState, turns: list[Turn], reply: str) -> ScoredResponse:
        import dspy

        with self._lock:
            self.tracker_calls += 1
        with dspy.context(adapter=self.adapter or dspy.JSONAdapter()):
            return self.scorer.score(goal, state, turns, reply)

    # -- the TRL functions -----------------------------------------------------------------------

    def _function(self, category: Category) -> RewardFunction:
        first = category == CATEGORIES[0]

        def reward(prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Sequence[Any] = (),
                   *, goal: Sequence[str], state: Sequence[Any], turns: Sequence[Any], **kwargs: Any) -> list[float]:
            scores = self.score_batch(completions, goal, state, turns)
            if first:
                self._log(scores, kwargs)
            return [float(score.indicators[category]) for score in scores]

        reward.__name__ = reward.__qualname__ = category.value
        reward.__doc__ = f"I_{category.value}: the UGST indicator of the {category.value} category (0 or 1)."
        return reward

    def _log(self, scores: list[RolloutScore], kwargs: Mapping[str, Any]) -> None:
        """Add the UGST total to TRL's completion table and the malformed share to its metrics."""
        log_extra, log_metric = kwargs.get("log_extra"), kwargs.get("log_metric")
        if callable(log_extra):
            log_extra("ugst_total", [score.total for score in scores])
        if callable(log_metric) and scores:
            log_metric("ugst/malformed", sum(score.scored is None for score in scores) / len(scores))


def _turns(text: str) -> list[Turn]:
    return [Turn.model_validate(item) for item in json.loads(text)]


def ugst_reward_functions(scorer: ResponseScorer, **options: Any) -> tuple[list[RewardFunction], list[float]]:
    """``(reward_funcs, reward_weights)`` for a GRPOTrainer and a GRPOConfig."""
    rewards = UGSTRewardFunctions(scorer, **options)
    return rewards.functions, rewards.weights
