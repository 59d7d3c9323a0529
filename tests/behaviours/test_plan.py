"""Behaviours as data: specs, the per-goal plan (seeded, reproducible, combinable) and the text it gives."""

from __future__ import annotations

import pytest

from ugst_dspy.behaviours import (
    BEHAVIOURS,
    GOAL_CLAUSE,
    NO_BEHAVIOUR,
    BehaviourPlan,
    BehaviourSpec,
    as_specs,
    environment_plan,
    make_plan,
)
from ugst_dspy.config import UGSTConfig
from ugst_dspy.envs.services import UnavailableService
from ugst_dspy.errors import UgstError

SERVICES = (
    UnavailableService("price_match", "match a lower price you saw elsewhere", "no price matching", ("price match",)),
    UnavailableService("gift_wrap", "gift-wrap the item", "no gift wrapping", ("gift wrap", "gift-wrap")),
)
ALL = list(BEHAVIOURS)


def test_the_four_behaviours_of_the_study_are_there_and_documented():
    assert ALL == ["unavailable_service", "digression", "impatience", "incomplete_utterance"]
    for behaviour in BEHAVIOURS.values():
        assert behaviour.title and len(behaviour.summary) > 40 and 0 < behaviour.default_rate <= 1


@pytest.mark.parametrize("text, expected", [
    ("impatience", BehaviourSpec("impatience")),
    ("digression:rate=0.3,intensity=strong", BehaviourSpec("digression", 0.3, "strong")),
    (" incomplete_utterance : intensity=mild ", BehaviourSpec("incomplete_utterance", None, "mild")),
])
def test_a_spec_reads_from_the_command_line_form(text, expected):
    assert BehaviourSpec.parse(text) == expected


@pytest.mark.parametrize("item, message", [
    ("patience", "unknown behaviour 'patience' (known: unavailable_service, digression"),
    ("impatience:rate=2", "rate must be a number above 0 and at most 1"),
    ("impatience:rate=fast", "rate must be a number, got 'fast'"),
    ("impatience:intensity=extreme", "intensity must be one of mild, moderate, strong"),
    ("impatience:often", "expected key=value"),
    ({"name": "impatience", "speed": 1}, "unknown key 'speed'"),
    (3, "a behaviour is a name"),
])
def test_a_bad_spec_is_one_line(item, message):
    with pytest.raises(UgstError, match=message.replace("(", r"\(").replace(")", r"\)")):
        as_specs([item])


def test_a_behaviour_named_twice_is_refused():
    with pytest.raises(UgstError, match="given twice"):
        as_specs(["impatience", "impatience:rate=0.2"])


def test_specs_round_trip_and_default_rates_are_recorded():
    specs = as_specs(["impatience", {"name": "digression", "rate": 0.25, "intensity": "mild"}])
    assert [s.to_json() for s in specs] == [
        {"name": "impatience", "rate": 0.5, "intensity": "moderate"},
        {"name": "digression", "rate": 0.25, "intensity": "mild"},
    ]
    assert as_specs([s.to_json() for s in specs]) == (BehaviourSpec("impatience", 0.5), specs[1])


def test_a_plan_is_reproducible_under_a_seed_and_changes_with_it():
    a = make_plan(ALL, "g1", seed=7, max_turns=10, services=SERVICES)
    b = make_plan(ALL, "g1", seed=7, max_turns=10, services=SERVICES)
    assert a == b and a.to_json() == b.to_json()
    others = [make_plan(ALL, goal, seed=seed, max_turns=10, services=SERVICES).to_json()
              for goal, seed in (("g1", 8), ("g2", 7), ("g3", 7), ("g1", 9))]
    assert any(o["schedule"] != a.to_json()["schedule"] or o["drawn"] != a.to_json()["drawn"] for o in others)


def test_adding_a_behaviour_never_changes_another_behaviours_draws():
    alone = make_plan(["digression"], "g1", seed=3, max_turns=10)
    combined = make_plan(["impatience", "digression", "incomplete_utterance"], "g1", seed=3, max_turns=10)
    assert combined.schedule["digression"] == alone.schedule["digression"]
    assert combined.drawn["digression"] == alone.drawn["digression"]


def test_every_behaviour_acts_at_least_once_within_its_limits():
    for seed in range(40):
        plan = make_plan([BehaviourSpec(name, rate=0.05) for name in ALL], f"g{seed}", seed=seed, max_turns=6,
                         services=SERVICES)
        for name in ALL:
            turns = plan.schedule[name]
            assert turns and all(1 <= t <= 6 for t in turns), (name, turns)
        assert len(plan.schedule["unavailable_service"]) <= 2  # moderate: ask, then ask again once


def test_an_unavailable_service_is_asked_then_asked_again_on_the_next_messages():
    plan = make_plan([BehaviourSpec("unavailable_service", rate=1.0, intensity="strong")], "g", max_turns=10,
                     services=SERVICES)
    assert plan.schedule["unavailable_service"] == (1, 2, 3)
    request = plan.drawn["unavailable_service"]["service"]["request"]
    first, again = plan.turn(1).instructions, plan.turn(2).instructions
    assert f"also ask the agent to {request}" in first and "insist" in again and plan.turn(4).names == ()


def test_rate_one_acts_on_every_message_and_the_tangents_differ_per_message():
    plan = make_plan([BehaviourSpec("digression", rate=1.0)], "g", seed=1, max_turns=5)
    assert plan.schedule["digression"] == (1, 2, 3, 4, 5)
    topics = [plan.drawn["digression"]["tangents"][str(t)]["topic"] for t in range(1, 6)]
    assert len(set(topics)) == 5
    assert topics[2] in plan.turn(3).instructions


def test_behaviours_combine_on_one_message_in_the_order_asked():
    plan = make_plan([BehaviourSpec("impatience", 1.0), BehaviourSpec("incomplete_utterance", 1.0)], "g",
                     max_turns=3)
    turn = plan.turn(2)
    assert turn.names == ("impatience", "incomplete_utterance")
    text = turn.render()
    assert text.index("Express impatience") < text.index("Write a fragment")
    assert text.endswith(GOAL_CLAUSE)


def test_a_message_no_behaviour_acts_on_says_so():
    plan = make_plan([BehaviourSpec("impatience", rate=0.01)], "g", seed=0, max_turns=10)
    quiet = next(n for n in range(1, 11) if n not in plan.schedule["impatience"])
    assert plan.turn(quiet).names == () and plan.turn(quiet).render(with_state=True) == NO_BEHAVIOUR


def test_the_open_parts_of_the_goal_are_listed_only_for_a_simulator_that_sees_the_state(state):
    from ugst_dspy import DEFAULT_RULES
    from ugst_dspy.state import Status

    done = state.with_item("task_objectives[0]", state.task_objectives[0].model_copy(update={"status": Status.COMPLETE}))
    plan = make_plan([BehaviourSpec("impatience", 1.0)], "g", max_turns=3)
    turn = plan.turn(1, done, DEFAULT_RULES)
    assert turn.still_open == ("Clicky switches.", "RGB backlight.", "Exchange the thermostat.",
                               "Works with Google Home.")
    assert "Still open in your goal" in turn.render(with_state=True) and "- Works with Google Home." in turn.render(True)
    assert "Still open" not in turn.render(with_state=False) and "Exchange the keyboard." not in turn.render(True)


def test_a_plan_round_trips_through_its_json():
    plan = make_plan(ALL, "g1", seed=2, max_turns=8, services=SERVICES)
    again = BehaviourPlan.from_json(plan.to_json())
    assert again == plan and again.label == "unavailable_service+digression+impatience+incomplete_utterance"
    with pytest.raises(UgstError, match="meta.behaviours: not a behaviour plan"):
        BehaviourPlan.from_json({"schedule": {}})


def test_an_environment_without_services_cannot_serve_the_unavailable_service_behaviour():
    with pytest.raises(UgstError, match="declares no unavailable services"):
        make_plan(["unavailable_service"], "g", services=())


@pytest.mark.parametrize("env", ["tau-retail", "tau-airline", "tau-retail-strict", "tau-airline-strict", "multiwoz"])
def test_every_environment_serves_an_unavailable_service(env):
    plan = environment_plan(["unavailable_service"], "g", env, seed=0)
    assert plan.drawn["unavailable_service"]["service"]["keywords"]


def test_the_config_takes_behaviours_from_toml_and_checks_them(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('behaviours = ["impatience:rate=0.2", { name = "digression", intensity = "strong" }]\n')
    config = UGSTConfig.load(path)
    assert [s.to_json() for s in config.behaviour_specs()] == [
        {"name": "impatience", "rate": 0.2, "intensity": "moderate"},
        {"name": "digression", "rate": 0.5, "intensity": "strong"},
    ]
    assert config.to_json()["behaviours"][1]["intensity"] == "strong"
    path.write_text('behaviours = ["rudeness"]\n')
    with pytest.raises(UgstError, match=r"run.toml: unknown behaviour 'rudeness'"):
        UGSTConfig.load(path)
    assert UGSTConfig().to_json()["behaviours"] == []
