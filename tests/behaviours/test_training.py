"""Prompt optimisation and training see the behaviours: train sets, SFT and GRPO prompts carry them."""

from __future__ import annotations

import pytest

from ugst_dspy.behaviours import BehaviourSpec, make_plan
from ugst_dspy.conversation import Conversation, Turn
from ugst_dspy.modules.simulators import ReasoningSimulator

REASONING = {"progress": "nothing yet", "remaining": "everything", "alignment": "stay polite"}


def _record(state, behaviours=True):
    plan = make_plan([BehaviourSpec("impatience", 1.0), BehaviourSpec("digression", 0.5)], "g1", max_turns=4)
    turns = [Turn(user=f"message {n}", agent="ok", state=state, reasoning=REASONING,
                  **({"behaviours": list(plan.acting(n))} if behaviours else {})) for n in (1, 2)]
    meta = {"config": {"max_turns": 4}}
    if behaviours:
        meta.update(behaviours=plan.to_json(), behaviour=plan.label)
    return Conversation(goal_id="g1", instruction="Exchange the keyboard.", initial_state=state, turns=turns,
                        ended_by="max_turns", meta=meta), plan


def test_optimisation_examples_carry_the_behaviour_of_each_message(state):
    pytest.importorskip("dspy")
    from ugst_dspy.optimizers.trainset import build_trainset

    record, plan = _record(state)
    data = build_trainset([record, _record(state, behaviours=False)[0]])
    assert [s.name for s in data.behaviours] == ["impatience", "digression"]
    first = data.examples[0]
    assert "behaviour" in first.inputs().keys() and first.behaviour.names == plan.acting(1)
    assert first.behaviour.still_open  # the state before the message: rendered for a steered program only
    assert "behaviour" not in data.examples[2].inputs().keys()
    program = ReasoningSimulator(use_state=True)
    program.set_behaviours(data.behaviours)
    inputs = program.inputs(**{k: v for k, v in first.inputs().items()})
    assert "Express impatience" in inputs["behaviour"] and "Still open in your goal" in inputs["behaviour"]


def test_sft_prompts_of_a_behaviour_run_carry_the_behaviour_but_never_the_state(state):
    pytest.importorskip("datasets")
    from ugst_dspy.optimizers.sft_data import sft_records

    record, plan = _record(state)
    plain, _ = _record(state, behaviours=False)
    records = sft_records([record, plain])
    assert len(records) == 4
    prompt = records[0]["prompt"][-1]["content"]
    assert "[[ ## behaviour ## ]]" in prompt and "Express impatience" in prompt
    assert "Still open in your goal" not in prompt and "INCOMPLETE" not in prompt
    assert "[[ ## behaviour ## ]]" not in records[2]["prompt"][-1]["content"]
    system = records[0]["prompt"][0]["content"]
    assert "behaviour" in system and "behaviour" not in records[2]["prompt"][0]["content"]


def test_a_student_program_is_never_changed_by_behaviour_records(state):
    pytest.importorskip("datasets")
    from ugst_dspy.optimizers.sft_data import sft_records

    student = ReasoningSimulator()
    sft_records([_record(state)[0]], program=student)
    assert student.behaviours == () and "behaviour" not in student.respond.signature.input_fields
