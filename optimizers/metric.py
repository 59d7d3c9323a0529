"""The DSPy metric of prompt optimisation: the composite UGST reward of the predicted user message.

One function serves every DSPy optimiser. Called as ``metric(example, pred, trace=None)`` (Evaluate,
BootstrapFewShot, MIPROv2) it returns the reward of ``pred.reply`` normalised to [0, 1] (the weighted
total divided by the sum of the weights). Called in GEPA's five-argument form with a ``pred_name``, it
returns ``dspy.Prediction(score=..., feedback=...)``, the feedback naming the categories whose indicator
is 0 and the judge's reasons.

The reward is SPEC section 2's, computed once by :class:`ugst_dspy.modules.scoring.ResponseScorer` (the tracker
judges the candidate as the next user message, then :func:`ugst_dspy.reward.ugst_reward` scores the
change). It has no term for the stop flag, so a stop while a task objective is still open costs nothing
here; the feedback says so in words, the score does not change.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import dspy

from ugst_dspy.errors import UgstError
from ugst_dspy.reward import RewardConfig
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.modules.scoring import ResponseScorer, ScoredResponse
from ugst_dspy.state import CATEGORIES, Category, Status
from ugst_dspy.transcript import user_view

UGSTMetric = Callable[..., "float | dspy.Prediction"]
FAILED_WHY = {
    Category.USER_PROFILE: "the message goes against the user's profile",
    Category.USER_POLICY: "the message goes against the user's policy",
    Category.TASK_OBJECTIVE: "no task objective moved forward and not all are done",
    Category.REQUIREMENT: "no requirement moved forward and not all are met",
    Category.PREFERENCE: "not every preference has been expressed yet",
}
FAILED_WHY_SUCCESS_MODE = {  # the ``success`` indicator mode gives no credit for moving forward
    Category.TASK_OBJECTIVE: "not every task objective is done yet",
    Category.REQUIREMENT: "not every requirement is met yet",
}


def normalised(scored: ScoredResponse) -> float:
    """The reward total divided by the sum of the weights: 1.0 when every indicator is 1."""
    weights = sum(scored.reward.config.weights[c] for c in CATEGORIES)
    if weights <= 0:
        raise UgstError("the reward weights sum to 0: nothing to normalise by")
    return scored.reward.total / weights


def reply_of(pred: Any) -> str:
    """The predicted user message (an empty string when the prediction has none)."""
    return str(getattr(pred, "reply", None) or "")


def score_example(scorer: ResponseScorer, example: Any, reply: str) -> ScoredResponse:
    """The scored response ``reply`` as the next user message of the prefix ``example``."""
    return scorer.score(example.goal, example.state, list(example.turns), reply)


def feedback_text(scored: ScoredResponse, rules: RuleSet = DEFAULT_RULES, stopped: bool = False) -> str:
    """What a reflection LM reads: the score, each failed category with its open items and the judge's
    reasons, refused judge outputs, and whether the user stopped with work left."""
    reward = scored.reward
    score = normalised(scored)
    met = len(CATEGORIES) - len(reward.failed)
    lines = [f"UGST reward {score:.2f} of 1 ({met} of {len(CATEGORIES)} goal categories met)."]
    if not reward.failed:
        lines.append("Every category is met: the message keeps to the profile and policy, moves the tasks "
                     "forward (or they are done) and every preference has been expressed.")
    else:
        lines.append("Failed: " + ", ".join(c.value for c in reward.failed) + ".")
    why = FAILED_WHY | (FAILED_WHY_SUCCESS_MODE if reward.config.mode == "success" else {})
    for category in reward.failed:
        lines.append(f"- {category.value}: {why[category]}.")
        for located in scored.state.of(category):
            if rules.is_success(category, located.status):
                continue
            reason = f" Judge: {located.item.reason}" if located.item.reason else ""
            lines.append(f"  * [{located.status.value}] {located.text}{reason}")
    if scored.illegal:
        lines.append(f"The judge gave {scored.illegal} unusable or rule-breaking verdict(s) on this message.")
    if stopped:
        left = [o.text for o in scored.state.task_objectives if o.status == Status.INCOMPLETE]
        if left:
            lines.append(f"The user ended the conversation with {len(left)} task objective(s) still INCOMPLETE.")
    return "\n".join(lines)


def with_termination(before: Any, scored: ScoredResponse, rules: RuleSet, weight: float, *, stop: bool,
                     reply: str) -> float:
    """The reply's reward with the termination indicator beside the categories, normalised: the multi-turn
    reward (:func:`ugst_dspy.reward.trajectory_reward`) of this one turn, with each category's value its
    indicator (``final_share`` 0), so with ``weight`` 0 it is :func:`normalised` exactly. A stop in a message
    that still says something, or with a task objective INCOMPLETE, costs ``weight``."""
    from ugst_dspy.reward import TrajectoryConfig, trajectory_reward

    config = TrajectoryConfig(scored.reward.config, termination_weight=weight, final_share=0.0)
    reward = trajectory_reward([before, scored.state], config, rules, stop_with_request=stop and bool(reply.strip()),
                               stopped=stop)
    return reward.total / sum(config.weights)


class ScoreCache:
    """A small thread-safe memo of scored responses, so GEPA's feedback call reuses the score it just got."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, ...], ScoredResponse] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(example: Any, reply: str) -> tuple[str, ...]:
        return (str(example.goal), user_view(list(example.turns)), example.state.model_dump_json(), reply)

    def get(self, key: tuple[str, ...]) -> ScoredResponse | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple[str, ...], value: ScoredResponse) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def ugst_metric(
    example: Any,
    pred: Any,
    trace: Any = None,
    pred_name: str | None = None,
    pred_trace: Any = None,
    *,
    scorer: ResponseScorer | None = None,
    cache: ScoreCache | None = None,
    termination_weight: float = 0.0,
) -> float | dspy.Prediction:
    """The normalised UGST reward of ``pred.reply`` after the prefix ``example`` (see the module docstring).

    ``example`` carries ``goal``, ``turns`` and ``state`` (:mod:`ugst_dspy.optimizers.trainset`). With no
    ``scorer``, a default one judges with the current DSPy LM; :func:`make_ugst_metric` binds the tracker
    role's LM instead. Returns a float, or ``dspy.Prediction(score, feedback)`` when ``pred_name`` is given.
    """
    scorer = scorer or ResponseScorer()
    reply = reply_of(pred)
    key = ScoreCache.key(example, reply) if cache is not None else None
    scored = cache.get(key) if cache is not None and key is not None else None
    if scored is None:
        scored = score_example(scorer, example, reply)
        if cache is not None and key is not None:
            cache.put(key, scored)
    score = normalised(scored) if not termination_weight else with_termination(
        example.state, scored, scorer.rules, termination_weight, stop=bool(getattr(pred, "stop", False)), reply=reply)
    if pred_name is None:
        return score
    feedback = feedback_text(scored, scorer.rules, stopped=bool(getattr(pred, "stop", False)))
    return dspy.Prediction(score=score, feedback=feedback)


def make_ugst_metric(
    scorer: ResponseScorer | None = None,
    *,
    tracker_lm: Any = None,
    config: RewardConfig | None = None,
    cache_size: int = 4096,
    termination_weight: float = 0.0,
) -> UGSTMetric:
    """:func:`ugst_metric` bound to a scorer; pass ``scorer``, or ``tracker_lm`` (and ``config``) to build one.

    The returned function has the five-argument form GEPA checks for and the defaults the other
    optimisers call it with. Scores are memoised per (prefix, reply) (``cache_size`` entries, 0 for none).
    ``termination_weight`` adds the termination indicator of the multi-turn reward (see
    :func:`with_termination`; 0, the default, is the paper's per-reply reward).
    """
    if scorer is None:
        scorer = ResponseScorer(config=config)
        if tracker_lm is not None:
            scorer.tracker.set_lm(tracker_lm)
    elif tracker_lm is not None or config is not None:
        raise UgstError("make_ugst_metric: give a scorer, or tracker_lm and config, not both")
    if sum(scorer.config.weights[c] for c in CATEGORIES) <= 0:
        raise UgstError("the reward weights sum to 0: nothing to normalise by")
    cache = ScoreCache(cache_size) if cache_size > 0 else None

    def metric(
        example: Any, pred: Any, trace: Any = None, pred_name: str | None = None, pred_trace: Any = None
    ) -> float | dspy.Prediction:
        return ugst_metric(example, pred, trace, pred_name, pred_trace, scorer=scorer, cache=cache,
                           termination_weight=termination_weight)

    metric.__name__ = metric.__qualname__ = "ugst_metric"
    metric.__doc__ = ugst_metric.__doc__
    metric.scorer = scorer  # type: ignore[attr-defined]
    return metric
