"""Programs: the paper's configurations saved and loaded with DSPy's save/load; the UGST evaluator."""

from __future__ import annotations

import json

import dspy
import pytest

from ugst_dspy import Conversation, Turn, validate
from ugst_dspy.engines.scripted import scripted_lm
from ugst_dspy.errors import UgstError
from ugst_dspy.modules import ReasoningSimulator, StateSteeredSimulator
from ugst_dspy.programs import UGSTEvaluator, build_program, load_program, save_program, shipped_program
from ugst_dspy.programs.__main__ import DEFAULTS

from test_modules import GOAL, TURNS, batched_judge, judge


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_shipped_states_match_the_code(name):
    kind, program_name, options = DEFAULTS[name]
    shipped = json.loads(shipped_program(name).read_text())
    fresh = build_program(kind, program_name, options).dump_state()
    assert {k: v for k, v in shipped.items() if k not in ("metadata", "ugst")} == json.loads(json.dumps(fresh)), (
        "run `python -m ugst_dspy.programs` to refresh programs/states"
    )
    assert isinstance(load_program(shipped_program(name)), dspy.Module)


def test_compiled_state_survives_save_and_load(tmp_path):
    program = StateSteeredSimulator(max_turns=6)
    program.respond.signature = program.respond.signature.with_instructions("Be brief.")
    program.respond.demos = [dspy.Example(goal="g", conversation="c", goal_state="s", turn_budget="b", reply="hi", stop=False)]
    path = save_program(program, tmp_path / "compiled.json")
    loaded = load_program(path)
    assert isinstance(loaded, StateSteeredSimulator) and loaded.max_turns == 6
    assert loaded.respond.signature.instructions == "Be brief."
    assert loaded.respond.demos[0]["reply"] == "hi"
    teacher = load_program(save_program(ReasoningSimulator(use_state=True), tmp_path / "t.json"))
    assert teacher.uses_state and "goal_state" in teacher.respond.signature.input_fields


def test_bad_program_files(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{}")
    with pytest.raises(UgstError, match="field 'ugst': missing"):
        load_program(path)
    path.write_text('{"ugst": {"kind": "simulator", "name": "oracle"}}')
    with pytest.raises(UgstError, match="unknown simulator 'oracle'"):
        load_program(path)
    with pytest.raises(UgstError, match="No such file"):
        load_program(tmp_path / "missing.json")
    with pytest.raises(UgstError, match="no shipped program"):
        shipped_program("nope")


def test_evaluator_decomposes_and_tracks_a_conversation():
    items = [("user_profile", "You are Yusuf Rossi in 19122."), ("task_objective", "Exchange the keyboard."),
             ("requirement", "Clicky switches."), ("preference", "RGB backlight."),
             ("task_objective", "Exchange the thermostat."), ("requirement", "Works with Google Home.")]
    decomposition = {"decomposition": {"sub_components": [{"category": c, "text": t} for c, t in items],
                                       "all_listed": True}}

    def respond(call):
        return decomposition if call.field("open_sub_components") is None else batched_judge(call)

    conversation = Conversation(goal_id="g", instruction=GOAL, turns=list(TURNS), ended_by="max_turns")
    with dspy.context(lm=scripted_lm(respond), adapter=dspy.JSONAdapter()):
        tracked = UGSTEvaluator(mode="batched").track_conversation(conversation)
    assert tracked.initial_state is not None and len(tracked.initial_state) == 6
    assert [len([x for x in t.state.items() if x.status.value == "COMPLETE"]) for t in tracked.turns] == [2, 2, 4]
    assert tracked.turns[2].illegal_updates[0]["why"].startswith("verdict")
    validate("conversation", tracked.to_json())
    assert conversation.turns[0].state is None  # the input record is not changed


def test_the_evaluator_tracks_with_the_papers_per_component_judge_by_default():
    """Every reported number comes from the paper's tracker: one judge call per open sub-component."""
    items = [("task_objective", "Exchange the keyboard."), ("requirement", "Clicky switches.")]
    decomposition = {"decomposition": {"sub_components": [{"category": c, "text": t} for c, t in items],
                                       "all_listed": True}}
    lm = scripted_lm(lambda call: decomposition if "decomposition" in (call.schema or {}).get("properties", {})
                     else judge(call))
    conversation = Conversation(goal_id="g", instruction=GOAL, turns=list(TURNS[:1]), ended_by="max_turns")
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        tracked = UGSTEvaluator().track_conversation(conversation)
    judged = [call.field("sub_component") for call in lm.engine.calls[1:]]
    assert judged == ["Exchange the keyboard.", "Clicky switches."]  # one call each, no batched call
    assert [x.status.value for x in tracked.turns[0].state.items()] == ["COMPLETE", "COMPLETE"]
    assert UGSTEvaluator().tracker.mode == "per_component" == build_program("evaluator", "ugst").tracker.mode
    assert DEFAULTS["ugst-evaluator"][2] == {"mode": "per_component"}
