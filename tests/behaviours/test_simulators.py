"""Behaviours reach every simulator's prompt, are recorded per turn and in meta, and reproduce under a seed."""

from __future__ import annotations

import json

import dspy
import pytest

from ugst_dspy.behaviours import BehaviourSpec, make_plan
from ugst_dspy.config import UGSTConfig
from ugst_dspy.engines.scripted import ScriptedEngine
from ugst_dspy.engines.spec import ModelPool
from ugst_dspy.envs.registry import environment_class
from ugst_dspy.errors import UgstError
from ugst_dspy.files.goals import read_goals
from ugst_dspy.modules import make_simulator
from ugst_dspy.modules.simulators import SIMULATORS, ReasoningSimulator
from ugst_dspy.programs.io import load_program, save_program
from ugst_dspy.runner.simulate import ConversationRunner, make_agent

SCRIPTED = "scripted:scripted_world:respond"
EVERY = ["unavailable_service", "digression", "impatience", "incomplete_utterance"]


def _answer(call):
    fields = set((call.schema or {}).get("properties", {}))
    reply = {"reply": "Hi there.", "stop": False}
    if "progress" in fields:
        reply.update(progress="p", remaining="r", alignment="a")
    return reply


def _seen_behaviour(simulator, **inputs):
    calls = []
    engine = ScriptedEngine(lambda call: calls.append(call) or _answer(call))
    simulator.set_lm(dspy.LM(f"local/behaviour-test-{id(calls)}", engine=engine, cache=False))
    with dspy.context(adapter=dspy.JSONAdapter()):
        simulator(**inputs)
    return calls[-1].field("behaviour"), calls[-1]


@pytest.mark.parametrize("name", [*SIMULATORS, "reasoning-teacher"])
def test_every_simulator_takes_every_behaviour_into_its_prompt(name, state):
    simulator = (ReasoningSimulator(use_state=True, behaviours=EVERY) if name == "reasoning-teacher"
                 else make_simulator(name, behaviours=EVERY))
    assert "behaviour" in simulator.respond.signature.input_fields
    plan = simulator.plan_behaviours("goal-1", "tau-retail", seed=0)
    numbers = {n for turns in plan.schedule.values() for n in turns}
    for number in sorted(numbers)[:2]:
        acting = plan.turn(number, state)
        seen, call = _seen_behaviour(simulator, goal="Exchange the keyboard.", turns=[], state=state,
                                     behaviour=acting)
        assert seen.strip() == acting.render(with_state=simulator.uses_state).strip()
        for behaviour in acting.names:
            assert plan.describe([behaviour], number).instructions.splitlines()[1] in seen
        # the open sub-components go only to the simulators that see the goal state
        assert ("Still open in your goal" in seen) == simulator.uses_state


def test_the_steered_simulator_lists_the_open_sub_components_while_behaving(state):
    simulator = make_simulator("state-steered", behaviours=[BehaviourSpec("impatience", 1.0),
                                                             BehaviourSpec("digression", 1.0)])
    acting = simulator.plan_behaviours("g", "tau-retail").turn(1, state)
    seen, call = _seen_behaviour(simulator, goal="Exchange the keyboard.", turns=[], state=state, behaviour=acting)
    assert acting.names == ("impatience", "digression")
    for text in ("Exchange the keyboard.", "Clicky switches.", "RGB backlight.", "Works with Google Home."):
        assert f"- {text}" in seen
    assert "Express impatience" in seen and "Digress" in seen
    assert "INCOMPLETE" in call.field("goal_state")  # and the state itself, as always


def test_a_plain_simulator_has_no_behaviour_input_and_refuses_one():
    simulator = make_simulator("prompt")
    assert "behaviour" not in simulator.respond.signature.input_fields
    assert simulator.options() == {"countdown": False}
    with pytest.raises(UgstError, match="has no behaviours"):
        simulator.inputs("goal", behaviour="be rude")


def test_setting_behaviours_keeps_compiled_instructions_and_removing_them_restores_the_signature():
    simulator = make_simulator("goal-reminder")
    simulator.respond.signature = simulator.respond.signature.with_instructions("Compiled instructions.")
    before = list(simulator.respond.signature.input_fields)
    simulator.set_behaviours(["impatience"])
    assert simulator.respond.signature.instructions == "Compiled instructions."
    assert list(simulator.respond.signature.input_fields) == [*before, "behaviour"]
    simulator.set_behaviours([])
    assert list(simulator.respond.signature.input_fields) == before and simulator.behaviours == ()


def test_a_program_saved_with_behaviours_loads_with_them(tmp_path):
    simulator = make_simulator("state-steered", behaviours=["impatience:rate=0.3,intensity=strong"])
    path = save_program(simulator, tmp_path / "p.json")
    options = json.loads(path.read_text())["ugst"]["options"]
    assert options["behaviours"] == [{"name": "impatience", "rate": 0.3, "intensity": "strong"}]
    loaded = load_program(path)
    assert loaded.behaviours == simulator.behaviours and "behaviour" in loaded.respond.signature.input_fields
    data = json.loads(path.read_text())
    data["ugst"]["options"]["behaviours"] = ["shouting"]
    path.write_text(json.dumps(data))
    with pytest.raises(UgstError, match=r"field 'ugst.options.behaviours': must be a list of behaviours"):
        load_program(path)


def _runner(behaviours, seed=0, simulator="state-steered"):
    config = UGSTConfig.resolve(None, {"all": SCRIPTED}, env={}, max_turns=5, seed=seed)
    pool = ModelPool(config)
    user = make_simulator(simulator, behaviours=behaviours)
    return ConversationRunner(config, "tau-retail", user, make_agent("dspy", pool), pool)


def test_the_runner_records_the_plan_and_the_behaviours_of_every_turn(packaged_data, monkeypatch):
    import scripted_world

    seen = []
    original = scripted_world.respond

    def respond(call):
        if "reply" in set((call.schema or {}).get("properties", {})):
            seen.append(call.field("behaviour"))
        return original(call)

    monkeypatch.setattr(scripted_world, "respond", respond)
    goal = read_goals(packaged_data / "tau_bench" / "retail_test.jsonl", limit=1)[0]
    behaviours = [BehaviourSpec("impatience", 1.0), "digression:rate=0.5", "unavailable_service"]
    conversation = _runner(behaviours).run(goal)
    meta = conversation.meta
    assert meta.behaviour == "impatience+digression+unavailable_service"
    assert meta.simulator_options["behaviours"][0] == {"name": "impatience", "rate": 1.0, "intensity": "moderate"}
    plan = make_plan(behaviours, goal.id, seed=0, max_turns=5,
                     services=environment_class("tau-retail").unavailable_services)
    assert meta.behaviours == plan.to_json()
    for number, turn in enumerate(conversation.turns, start=1):
        assert turn.behaviours == list(plan.acting(number))
        assert "impatience" in turn.behaviours
    assert len(seen) == len(conversation.turns) and all("Express impatience" in text for text in seen)
    assert "Still open in your goal" in seen[0]  # the steered user is reminded of what it must deliver


def test_a_run_with_behaviours_is_reproducible_under_its_seed(packaged_data):
    goal = read_goals(packaged_data / "tau_bench" / "retail_test.jsonl", limit=1)[0]
    every = [BehaviourSpec(name, 0.5) for name in EVERY]
    first, again = _runner(every, seed=3).run(goal), _runner(every, seed=3).run(goal)
    other = _runner(every, seed=4).run(goal)
    assert first.meta.behaviours == again.meta.behaviours
    assert [t.behaviours for t in first.turns] == [t.behaviours for t in again.turns]
    assert other.meta.behaviours != first.meta.behaviours


def test_a_run_without_behaviours_records_none():
    conversation_meta = _runner([]).describe()
    assert "behaviours" not in conversation_meta["simulator_options"]
