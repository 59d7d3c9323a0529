"""``GoalStateTracker``: after each turn, re-judge every open sub-component and apply the rules.

Two modes:

- ``per_component`` (the paper): one judge call per open sub-component, with the whole conversation; the
  judge's output status is restricted to what the rules allow next.
- ``batched``: one structured call per turn for all open sub-components; verdicts that break a rule, name an
  unknown id or repeat an id are counted, not applied.

Absorbed sub-components (MISALIGNED profile/policy, ALIGNED preference, COMPLETE task or requirement) are
never sent to the judge again. A judge output that cannot be used is recorded as an illegal update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import dspy

from ugst_dspy.config import TRACKER_MODES, TrackerMode
from ugst_dspy.conversation import Turn
from ugst_dspy.rules import DEFAULT_RULES, IllegalUpdate, RuleSet, StatusUpdate, apply_updates
from ugst_dspy.signatures.judges import (
    BatchedStatusUpdate,
    PolicyStatus,
    PreferenceStatus,
    ProfileStatus,
    RequirementStatus,
    TaskObjectiveStatus,
)
from ugst_dspy.state import CATEGORIES, Category, GoalState, Located
from ugst_dspy.transcript import judge_transcript

# What a judge's answer that cannot be used looks like (the model wrote something unparseable or off the
# schema): counted as an unusable update, the status stays. Anything else (a server error, a timeout, a
# refused connection) is not an answer at all: it propagates, and the conversation fails as a whole.
UNUSABLE_OUTPUT: tuple[type[Exception], ...] = (dspy.utils.exceptions.AdapterParseError, ValueError)



def _unusable(located: Located, err: Exception) -> IllegalUpdate:
    why = " ".join(f"judge output unusable: {type(err).__name__}: {err}".split())
    return IllegalUpdate(StatusUpdate(str(located.address), ""), why[:300])


class GoalStateTracker(dspy.Module):
    """Update a goal state with the latest turn of a conversation.

    ``mode`` is ``per_component`` (the paper's scheme: what every reported number is tracked with, the
    default of :class:`~ugst_dspy.programs.evaluator.UGSTEvaluator` and ``UGSTConfig.tracker_mode``) or
    ``batched`` (this class's default: the cheaper tracker that steering and rewards use by default, see
    docs/ugst.md for its agreement with the paper's); ``skip_absorbed`` (default) never sends an absorbed
    sub-component to the judge again.

    ``forward(goal=..., state=..., turns=...)``, where ``turns`` ends with the latest turn, returns a
    prediction with the new ``state``, the ``applied`` and ``illegal`` updates and the number of judge
    ``calls`` made.
    """

    def __init__(
        self,
        mode: TrackerMode = "batched",
        rules: RuleSet = DEFAULT_RULES,
        show_tools: bool = True,
        skip_absorbed: bool = True,
    ) -> None:
        super().__init__()
        if mode not in TRACKER_MODES:
            from ugst_dspy.errors import UgstError

            raise UgstError(f"unknown tracker mode {mode!r} (use {' or '.join(TRACKER_MODES)})")
        self.mode = mode
        self.rules = rules
        self.show_tools = show_tools
        self.skip_absorbed = skip_absorbed
        self.profile_judge = dspy.Predict(ProfileStatus)
        self.policy_judge = dspy.Predict(PolicyStatus)
        self.objective_judge = dspy.Predict(TaskObjectiveStatus)
        self.requirement_judge = dspy.Predict(RequirementStatus)
        self.preference_judge = dspy.Predict(PreferenceStatus)
        self.batch_judge = dspy.Predict(BatchedStatusUpdate)

    def judge_for(self, category: Category) -> dspy.Predict:
        return {
            Category.USER_PROFILE: self.profile_judge,
            Category.USER_POLICY: self.policy_judge,
            Category.TASK_OBJECTIVE: self.objective_judge,
            Category.REQUIREMENT: self.requirement_judge,
            Category.PREFERENCE: self.preference_judge,
        }[category]

    def open_items(self, state: GoalState) -> list[Located]:
        """The sub-components still to judge, grouped by category (so prompts share their prefixes).

        With ``skip_absorbed=False`` every sub-component is judged every turn, as in the paper's original
        scheme (an absorbed one can then only repeat its status); benchmarks use it as the baseline.
        """
        items = [located for located in state.items() if not self.skip_absorbed or self.rules.is_open(located)]
        return sorted(items, key=lambda located: CATEGORIES.index(located.category))

    def forward(self, goal: str, state: GoalState, turns: Sequence[Turn]) -> dspy.Prediction:
        items = self.open_items(state)
        if not items or not turns:
            return dspy.Prediction(state=state, applied=(), illegal=(), calls=0)
        conversation = judge_transcript(turns, tools=self.show_tools)
        if self.mode == "per_component":
            updates, failures, calls = self._per_component(goal, conversation, state, items)
        else:
            updates, failures, calls = self._batched(goal, conversation, state, items)
        result = apply_updates(state, updates, self.rules)
        return dspy.Prediction(
            state=result.state, applied=result.applied, illegal=(*failures, *result.illegal), calls=calls
        )

    # -- the two modes ---------------------------------------------------------------------------

    def _per_component(
        self, goal: str, conversation: str, state: GoalState, items: list[Located]
    ) -> tuple[list[StatusUpdate], list[IllegalUpdate], int]:
        updates: list[StatusUpdate] = []
        failures: list[IllegalUpdate] = []
        for located in items:
            judge = self.judge_for(located.category)
            allowed = tuple(s.value for s in self.rules.allowed_next(located.category, located.status))
            signature = judge.signature.with_updated_fields("status", type_=Literal[allowed])  # type: ignore[valid-type]
            inputs: dict[str, Any] = {
                "goal": goal,
                "conversation": conversation,
                "sub_component": located.text,
                "current_status": located.status.value,
            }
            if located.address.sub is not None:
                inputs["task_objective"] = state.task_objectives[located.address.index].text
            try:
                verdict = judge(signature=signature, **inputs)
            except UNUSABLE_OUTPUT as err:  # an unparseable judge output leaves the status as it is
                failures.append(_unusable(located, err))
                continue
            updates.append(StatusUpdate(str(located.address), str(verdict.status), verdict.reason))
        return updates, failures, len(items)

    def _batched(
        self, goal: str, conversation: str, state: GoalState, items: list[Located]
    ) -> tuple[list[StatusUpdate], list[IllegalUpdate], int]:
        ids = {str(n): located for n, located in enumerate(items, start=1)}
        try:
            prediction = self.batch_judge(
                goal=goal, conversation=conversation, open_sub_components=self.list_open(state, ids)
            )
        except UNUSABLE_OUTPUT as err:
            return [], [_unusable(items[0], err)], 1
        updates: list[StatusUpdate] = []
        failures: list[IllegalUpdate] = []
        seen: set[str] = set()
        for verdict in prediction.verdicts or []:
            key = str(verdict.id).strip()
            located = ids.get(key)
            if located is None or key in seen:
                why = "repeats an id" if key in seen else f"names no listed id ({key!r})"
                failures.append(IllegalUpdate(StatusUpdate(key, str(verdict.status), verdict.reason), f"verdict {why}"))
                continue
            seen.add(key)
            updates.append(StatusUpdate(str(located.address), str(verdict.status), verdict.reason))
        return updates, failures, 1

    def list_open(self, state: GoalState, ids: dict[str, Located]) -> str:
        """One line per open sub-component: ``id | category | now STATUS | may be A or B | text``."""
        lines = []
        for key, located in ids.items():
            allowed = " or ".join(s.value for s in self.rules.allowed_next(located.category, located.status))
            text = located.text
            if located.address.sub is not None:
                text = f"{text} (for task objective {located.address.index + 1})"
            lines.append(f"{key} | {located.category.value} | now {located.status.value} | may be {allowed} | {text}")
        return "\n".join(lines)
