from __future__ import annotations

import pytest
from pydantic import ValidationError

from ugst_dspy import Category, GoalState, Status, SubComponent, render_state
from ugst_dspy.state import Address


def test_items_walk_every_sub_component_with_its_address_and_category(state):
    found = [(str(x.address), x.category, x.status) for x in state.items()]
    assert found == [
        ("user_profile[0]", Category.USER_PROFILE, Status.ALIGNED),
        ("user_policy[0]", Category.USER_POLICY, Status.ALIGNED),
        ("task_objectives[0]", Category.TASK_OBJECTIVE, Status.INCOMPLETE),
        ("task_objectives[0].requirements[0]", Category.REQUIREMENT, Status.INCOMPLETE),
        ("task_objectives[0].preferences[0]", Category.PREFERENCE, Status.MISALIGNED),
        ("task_objectives[1]", Category.TASK_OBJECTIVE, Status.INCOMPLETE),
        ("task_objectives[1].requirements[0]", Category.REQUIREMENT, Status.INCOMPLETE),
    ]
    assert len(state) == 7
    assert [x.text for x in state.of(Category.REQUIREMENT)] == ["Clicky switches.", "Works with Google Home."]


def test_address_round_trip_and_errors():
    for text in ("user_profile[3]", "task_objectives[0].preferences[12]"):
        assert str(Address.parse(text)) == text
    for bad in ("task_objectives[0].requirements", "profile[0]", "user_profile[-1]", "user_profile[0].requirements[0]"):
        with pytest.raises(ValueError):
            Address.parse(bad)


def test_with_item_returns_a_new_state_and_keeps_children(state):
    new = state.with_item("task_objectives[0]", SubComponent(text="Exchange the keyboard.", status=Status.COMPLETE))
    assert state.get("task_objectives[0]").status is Status.INCOMPLETE
    assert new.get("task_objectives[0]").status is Status.COMPLETE
    assert new.task_objectives[0].requirements == state.task_objectives[0].requirements
    with pytest.raises(KeyError):
        state.get("task_objectives[5]")


def test_state_is_immutable(state):
    with pytest.raises(ValidationError):
        state.user_profile = ()  # type: ignore[misc]


def test_json_round_trip(state):
    data = state.to_json()
    assert data["task_objectives"][0]["preferences"][0] == {"text": "RGB backlight.", "status": "MISALIGNED", "reason": None}
    assert GoalState.from_json(data) == state
    with pytest.raises(ValidationError):
        GoalState.from_json({**data, "extra": 1})


def test_render_shows_sections_statuses_addresses_and_reasons(state):
    state = state.with_item("user_policy[0]", SubComponent(text="You want everything addressed in one go.",
                                                           status=Status.MISALIGNED, reason="Stopped early."))
    text = render_state(state, addresses=True, reasons=True)
    assert "User profile:\n  - [ALIGNED]    You are Yusuf Rossi in 19122.  (user_profile[0])" in text
    assert "[MISALIGNED] You want everything addressed in one go." in text
    assert "reason: Stopped early." in text
    assert "requirement [INCOMPLETE] Clicky switches.  (task_objectives[0].requirements[0])" in text
    assert text.endswith("Progress: 1 of 7 sub-components successful.")
    assert "(none)" in render_state(GoalState())
