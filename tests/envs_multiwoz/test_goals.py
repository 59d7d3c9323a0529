"""MultiWOZ Challenge goal generation: deterministic, valid gold states, verbatim texts, honest metadata."""

from __future__ import annotations

import json

import pytest

from ugst_dspy.envs.multiwoz import MultiWOZEnv, find_entities, load_multiwoz_db
from ugst_dspy.envs.multiwoz_goals import (
    GeneratedGoal,
    generate_goal,
    generate_multiwoz_goals,
    write_generated_goals,
)
from ugst_dspy.errors import UgstError
from ugst_dspy.files.decompositions import read_decompositions
from ugst_dspy.files.goals import read_goals
from ugst_dspy.rules import DEFAULT_RULES
from ugst_dspy.schemas import validate

from .conftest import file_digests

SEARCHABLE = ("restaurant", "hotel", "attraction", "train", "hospital")


def records(goals: list[GeneratedGoal]) -> list[tuple[dict, dict]]:
    return [(g.to_goal_json(), g.to_gold_json()) for g in goals]


def test_deterministic_for_a_seed_and_prefix_stable(goals, data_dir):
    assert len(goals) == 120 and len({g.id for g in goals}) == 120
    again = generate_multiwoz_goals(120, seed=11, data_dir=data_dir)
    assert records(again) == records(goals)
    assert records(generate_multiwoz_goals(7, seed=11, data_dir=data_dir)) == records(goals[:7])
    other = generate_multiwoz_goals(7, seed=12, data_dir=data_dir)
    assert [g.instruction for g in other] != [g.instruction for g in goals[:7]]
    assert generate_multiwoz_goals(0, seed=1, data_dir=data_dir) == []
    with pytest.raises(UgstError):
        generate_multiwoz_goals(-1, seed=1, data_dir=data_dir)


def test_every_gold_state_validates_and_starts_at_the_initial_statuses(goals):
    for goal in goals:
        validate("goal-state", goal.state.to_json())
        validate("goal", goal.to_goal_json())
        validate("decomposition", goal.to_gold_json())
        assert goal.state == DEFAULT_RULES.initial_state(goal.state)
        assert goal.state.user_profile and goal.state.user_policy
        assert 1 <= len(goal.state.task_objectives) <= 3
        assert all(o.requirements for o in goal.state.task_objectives)
        assert list(goal.domains) == [o["domain"] for o in goal.objectives]
        assert json.loads(json.dumps(goal.to_goal_json())) == goal.to_goal_json()


def test_every_gold_text_occurs_verbatim_in_the_instruction_once(goals):
    for goal in goals:
        texts = [located.text for located in goal.state.items()]
        assert len(texts) == len(set(texts)), goal.id
        for text in texts:
            assert goal.instruction.count(text) == 1, (goal.id, text)
        assert [o["text"] for o in goal.objectives] == [o.text for o in goal.state.task_objectives]
        # the instruction is nothing but those sentences
        rest = goal.instruction
        for text in texts:
            rest = rest.replace(text, "", 1)
        assert not rest.split(), (goal.id, rest)


def test_the_set_mixes_domains_sizes_impossible_and_conditional_objectives(goals):
    domains = {d for g in goals for d in g.domains}
    assert {"restaurant", "hotel", "attraction", "train", "taxi"} <= domains
    assert {len(g.objectives) for g in goals} == {1, 2, 3}
    assert sum(1 for g in goals if g.impossible) >= 5
    assert sum(1 for g in goals if g.conditional) >= 5
    assert any(o["preferences"] for g in goals for o in g.objectives)
    assert any(o["booking"] and o["domain"] == "restaurant" for g in goals for o in g.objectives)
    policies = {p.text for g in goals for p in g.state.user_policy}
    assert len(policies) >= 8


def test_a_taxi_to_a_booked_table_arrives_in_time(goals, data_dir):
    seen = 0
    db = load_multiwoz_db(data_dir)
    for goal in [*goals, generate_goal(4, 2, db), generate_goal(27, 1, db)]:
        if "The taxi should arrive at the restaurant by the booked time." not in goal.instruction:
            continue
        seen += 1
        taxi, dinner = goal.objectives[-1], next(o for o in goal.objectives if o["domain"] == "restaurant")
        assert taxi["domain"] == "taxi" and taxi["booking"]["destination"] == dinner["target"]["name"]
        assert taxi["booking"]["arriveBy"] == dinner["booking"]["time"]
    assert seen >= 2


def test_impossible_objectives_really_match_no_entity(goals, data_dir):
    env, db = MultiWOZEnv(data_dir), load_multiwoz_db(data_dir)
    seen = 0
    for goal in goals:
        for index in goal.impossible:
            objective = goal.objectives[index]
            seen += 1
            assert objective["expected_outcome"] == "ATTEMPTED" and objective["target"] is None
            assert objective["booking"] is None and objective["matches"] == 0
            assert find_entities(db, objective["domain"], objective["constraints"]) == []
            result = json.loads(env.call(f"find_{objective['domain']}", objective["constraints"]))
            assert result == {"count": 0, "results": []}
            # yet every value on its own exists in the database
            for slot, value in objective["constraints"].items():
                if slot not in ("leaveAt", "arriveBy"):
                    assert find_entities(db, objective["domain"], {slot: value}), (goal.id, slot, value)
            # and the user is told the constraints in the instruction
            for value in objective["constraints"].values():
                if objective["domain"] != "attraction":
                    assert value in goal.instruction
    assert seen >= 5


def test_conditional_objectives_are_conditions_on_the_place_found_that_the_database_decides(goals, data_dir):
    """Appendix B: "If the restaurant you find is in the east, change your mind and look for ...". Either every
    place meeting the first choice meets the condition (it fires: the user changes their mind and ends with the
    target) or none does (it holds: the first choice is the target's)."""
    db = load_multiwoz_db(data_dir)
    fired = held = 0
    for goal in goals:
        for index in goal.conditional:
            objective = goal.objectives[index]
            condition, constraints = objective["conditional"], objective["constraints"]
            attribute, value = condition["condition"]["slot"], condition["condition"]["value"]
            assert attribute not in constraints and condition["fallback"] != condition["primary"]
            first_choice = {**constraints, condition["slot"]: condition["primary"]}
            found = find_entities(db, objective["domain"], first_choice)
            assert found, (goal.id, first_choice)  # the first search finds something: no failed search
            meets = [str(e.get(attribute)) == value for e in found]
            if condition["fires"]:
                fired += 1
                assert all(meets) and constraints[condition["slot"]] == condition["fallback"]
            else:
                held += 1
                assert not any(meets) and constraints[condition["slot"]] == condition["primary"]
            matches = [e["name"] for e in find_entities(db, objective["domain"], constraints)]
            assert objective["target"]["name"] in matches and objective["matches"] == len(matches)
            assert objective["expected_outcome"] == "COMPLETE"
            requirements = [r.text for r in goal.state.task_objectives[index].requirements]
            sentence = next(text for text in requirements if text.startswith("If"))
            assert sentence.startswith(f"If the {objective['domain']} you find ")
            assert "change your mind and look for" in sentence and sentence.endswith(" instead.")
            assert f"you find is a {objective['domain']}," not in sentence
    assert fired >= 3 and held >= 2


def test_profiles_and_policies_have_the_papers_variety(data_dir):
    from ugst_dspy.envs import multiwoz_goals as pools

    assert len(pools.POLICIES) >= 50 and len(pools.PERSONA_FACTS) >= 50 and len(pools.EMOTIONAL_STATES) >= 20
    assert len({p.text for p in pools.POLICIES}) == len(pools.POLICIES)
    goals = generate_multiwoz_goals(300, seed=3, data_dir=data_dir)
    profile = [t.text for g in goals for t in g.state.user_profile]
    policies = {t.text for g in goals for t in g.state.user_policy}
    assert len(policies) >= 45
    assert len(set(profile) & set(pools.PERSONA_FACTS)) >= 40
    assert len(set(profile) & set(pools.EMOTIONAL_STATES)) >= 18
    assert len(set(profile) & set(pools.TRIP_REASONS)) == len(pools.TRIP_REASONS)
    for goal in goals:  # never two policies of one group, never a policy the goal cannot honour
        groups = [p.group for p in pools.POLICIES if p.text in {t.text for t in goal.state.user_policy} and p.group]
        assert len(groups) == len(set(groups)), goal.id
        for option in pools.POLICIES:
            if option.text in goal.instruction and option.needs == "phone":
                assert goal.user["phone"] and goal.user["phone"] in goal.instruction


def test_targets_meet_their_objective_and_facts_come_from_the_database(goals, data_dir):
    db = load_multiwoz_db(data_dir)
    for goal in goals:
        for objective in goal.objectives:
            target, domain = objective["target"], objective["domain"]
            if objective["impossible"] or domain == "taxi":
                continue
            matches = find_entities(db, domain, objective["constraints"])
            assert len(matches) == objective["matches"] >= 1
            if domain == "train":
                entity = next(e for e in matches if (e["trainID"], e["day"]) == (target["trainID"], target["day"]))
            elif domain == "hospital":
                entity = next(e for e in matches if e["department"] == target["department"])
            else:
                entity = next(e for e in matches if e["name"] == target["name"])
            assert target["facts"] == {attr: entity[attr] for attr in objective["requests"]}
            for slot, value in objective["preferences"].items():
                if slot in entity:
                    assert str(entity[slot]) == value


def test_the_gold_path_books_every_objective(goals, data_dir):
    """Booking what each goal asks for, with its target entity, succeeds in the environment."""
    env = MultiWOZEnv(data_dir, seed=1)
    for goal in goals:
        before = len(env.bookings)
        for objective in goal.objectives:
            booking, target = objective["booking"], objective["target"]
            if not booking:
                continue
            if objective["domain"] == "restaurant":
                result = env.book_restaurant(name=target["name"], **booking)
            elif objective["domain"] == "hotel":
                result = env.book_hotel(name=target["name"], **booking)
            elif objective["domain"] == "train":
                result = env.book_train(train_id=target["trainID"], day=target["day"],
                                        departure=target["departure"], destination=target["destination"], **booking)
            else:
                result = env.book_taxi(**booking)
            assert not result.startswith("Error"), (goal.id, objective, result)
        assert len(env.bookings) - before == sum(1 for o in goal.objectives if o["booking"])
    assert len({b["reference"] for b in env.bookings}) == len(env.bookings)


def test_phrase_rewrites_sentences_and_the_gold_follows(data_dir):
    plain = generate_multiwoz_goals(6, seed=4, data_dir=data_dir)
    calls: list[str] = []

    def polite(sentence: str) -> str:
        calls.append(sentence)
        return "Please note: " + sentence

    rewritten = generate_multiwoz_goals(6, seed=4, data_dir=data_dir, phrase=polite)
    assert len(calls) == sum(len(g.state) for g in plain)  # one call per sentence, and each is a sub-component
    for before, after in zip(plain, rewritten):
        assert before.objectives[0]["constraints"] == after.objectives[0]["constraints"]
        for located in after.state.items():
            assert located.text.startswith("Please note: ") and located.text in after.instruction
        validate("goal-state", after.state.to_json())
    # a rewrite that loses the facts (or repeats itself) is not used
    lossy = generate_multiwoz_goals(6, seed=4, data_dir=data_dir, phrase=lambda s: "You want something.")
    for before, after in zip(plain, lossy):
        kept = [located.text for located in after.state.items()]
        assert len(kept) == len(set(kept))
        assert all(t in after.instruction for t in kept)
        assert any(t == "You want something." for t in kept)
        assert [f"Your name is {before.user['name']}."] == [t for t in kept if t.startswith("Your name")]


def test_write_generated_goals_writes_both_files(goals, tmp_path, digests_before):
    goals_path, gold_path = tmp_path / "out" / "goals.jsonl", tmp_path / "out" / "goals.gold.jsonl"
    write_generated_goals(goals[:10], goals_path, gold_path)
    read = read_goals(goals_path)
    assert [g.id for g in read] == [g.id for g in goals[:10]]
    assert read[0].fields["domains"] == list(goals[0].domains) and read[0].instruction == goals[0].instruction
    gold = read_decompositions(gold_path)
    assert list(gold) == [g.id for g in goals[:10]]
    assert all(gold[g.id].state == g.state and gold[g.id].instruction == g.instruction for g in goals[:10])
    write_generated_goals(goals[:3], goals_path, gold_path)  # replaced, not appended
    assert len(goals_path.read_text().splitlines()) == len(gold_path.read_text().splitlines()) == 3
    assert not list(goals_path.parent.glob(".*.tmp"))
    with pytest.raises(UgstError, match="must differ"):
        write_generated_goals(goals[:1], goals_path, goals_path)
    assert file_digests() == digests_before
