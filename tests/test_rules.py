from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ugst_dspy import DEFAULT_RULES, Category, RuleSet, Status, StatusUpdate, apply_updates, get_rules
from ugst_dspy.errors import UgstError

S = Status


def test_default_rule_set_matches_the_spec():
    r = DEFAULT_RULES
    assert r.initial == {
        Category.USER_PROFILE: S.ALIGNED, Category.USER_POLICY: S.ALIGNED, Category.TASK_OBJECTIVE: S.INCOMPLETE,
        Category.REQUIREMENT: S.INCOMPLETE, Category.PREFERENCE: S.MISALIGNED,
    }
    assert r.allowed_next(Category.USER_PROFILE, S.ALIGNED) == (S.ALIGNED, S.MISALIGNED)
    assert r.allowed_next(Category.USER_POLICY, S.MISALIGNED) == (S.MISALIGNED,)
    assert r.allowed_next(Category.PREFERENCE, S.MISALIGNED) == (S.ALIGNED, S.MISALIGNED)
    assert r.allowed_next(Category.TASK_OBJECTIVE, S.INCOMPLETE) == (S.INCOMPLETE, S.ATTEMPTED, S.COMPLETE)
    assert r.allowed_next(Category.REQUIREMENT, S.ATTEMPTED) == (S.ATTEMPTED, S.COMPLETE)
    absorbing = {(c, s) for c in Category for s in r.statuses(c) if r.is_absorbing(c, s)}
    assert absorbing == {
        (Category.USER_PROFILE, S.MISALIGNED), (Category.USER_POLICY, S.MISALIGNED),
        (Category.PREFERENCE, S.ALIGNED), (Category.TASK_OBJECTIVE, S.COMPLETE), (Category.REQUIREMENT, S.COMPLETE),
    }
    assert r.is_success(Category.TASK_OBJECTIVE, S.ATTEMPTED) and not r.is_success(Category.PREFERENCE, S.MISALIGNED)


def test_rule_set_json_round_trip_and_lookup():
    assert RuleSet.from_json(DEFAULT_RULES.to_json()) == DEFAULT_RULES
    assert get_rules(None) is DEFAULT_RULES and get_rules("default") is DEFAULT_RULES
    with pytest.raises(UgstError, match="unknown rule set 'strict'"):
        get_rules("strict")


def test_a_broken_rule_set_is_refused():
    data = DEFAULT_RULES.to_json()
    data["transitions"]["requirement"]["COMPLETE"] = ["INCOMPLETE"]  # COMPLETE may not stay
    with pytest.raises(ValueError, match="may not stay"):
        RuleSet.from_json(data)


def test_updates_apply_in_order_and_illegal_ones_are_recorded_not_applied(state):
    result = apply_updates(state, [
        StatusUpdate("task_objectives[0]", "attempted", "Out of stock."),
        StatusUpdate("task_objectives[0]", "COMPLETE", "Found another."),
        StatusUpdate("task_objectives[0]", "INCOMPLETE", "Changed its mind."),
        StatusUpdate("user_profile[0]", "COMPLETE"),
        StatusUpdate("task_objectives[0].preferences[0]", "ALIGNED", "Asked for RGB."),
        StatusUpdate("task_objectives[0].preferences[0]", "MISALIGNED"),
        StatusUpdate("task_objectives[9]", "COMPLETE"),
        StatusUpdate("user_policy[0]", "MAYBE"),
    ])
    assert result.state.get("task_objectives[0]").status is S.COMPLETE
    assert result.state.get("task_objectives[0]").reason == "Found another."
    assert result.state.get("task_objectives[0].preferences[0]").status is S.ALIGNED
    assert [i.why for i in result.illegal] == [
        "COMPLETE is absorbing for a task_objective",
        "COMPLETE is not a user_profile status",
        "ALIGNED is absorbing for a preference",
        "no sub-component at 'task_objectives[9]'",
        "'MAYBE' is not a status",
    ]
    assert len(result.applied) == 3
    assert state.get("task_objectives[0]").status is S.INCOMPLETE  # the input state is untouched


def test_repeating_an_absorbing_status_is_a_no_op(state):
    done = apply_updates(state, [StatusUpdate("user_policy[0]", "MISALIGNED", "first")]).state
    again = apply_updates(done, [StatusUpdate("user_policy[0]", "MISALIGNED", "second")])
    assert not again.illegal and again.state == done


def test_initial_state_resets_statuses(state):
    moved = apply_updates(state, [StatusUpdate("task_objectives[1]", "COMPLETE", "x")]).state
    assert DEFAULT_RULES.initial_state(moved) == state


ADDRESSES = [
    "user_profile[0]", "user_policy[0]", "task_objectives[0]", "task_objectives[0].requirements[0]",
    "task_objectives[0].preferences[0]", "task_objectives[1]", "task_objectives[1].requirements[0]",
    "task_objectives[2]", "bogus",
]
updates = st.lists(
    st.builds(
        StatusUpdate,
        address=st.sampled_from(ADDRESSES),
        status=st.sampled_from([s.value for s in Status] + ["complete", "NOPE", ""]),
        reason=st.one_of(st.none(), st.text(max_size=5)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(updates, max_size=6))
def test_no_sequence_of_updates_breaks_the_rules(state, batches):  # the fixture is read-only
    rules = DEFAULT_RULES
    current = state
    for batch in batches:
        result = apply_updates(current, batch, rules)
        assert len(result.applied) + len(result.illegal) == len(batch)
        before = {str(x.address): x for x in current.items()}
        after = {str(x.address): x for x in result.state.items()}
        assert before.keys() == after.keys()
        for address, old in before.items():
            new = after[address]
            assert new.text == old.text
            assert new.status in rules.statuses(new.category)
            assert rules.can_transition(new.category, old.status, new.status)
            if rules.is_absorbing(old.category, old.status):
                assert new.status == old.status
        assert not rules.check_state(result.state)
        current = result.state
