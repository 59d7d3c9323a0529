"""UGST modules with scripted fake LMs: what reaches the prompts, what is judged, what the state becomes."""

from __future__ import annotations

import dspy
import pytest

from ugst_dspy import DEFAULT_RULES, Status, Turn, validate
from ugst_dspy.engines.scripted import ScriptedCall, scripted_lm
from ugst_dspy.errors import UgstError
from ugst_dspy.modules import (
    DecomposeGoal,
    GoalReminderSimulator,
    GoalStateTracker,
    PromptSimulator,
    ReasoningSimulator,
    StateSteeredSimulator,
    make_simulator,
)
from ugst_dspy.modules.simulators import SIMULATORS
from ugst_dspy.transcript import turn_limit

GOAL = "You are Yusuf Rossi in 19122. Exchange the keyboard (clicky, ideally RGB) and the thermostat (Google Home)."
TURNS = [
    Turn(user="I'm Yusuf Rossi. Please exchange my keyboard for a clicky one with RGB.", agent="Done: keyboard exchanged."),
    Turn(user="Also the thermostat, for a Google Home one.", agent="Sorry, the Google Home thermostat is out of stock."),
    Turn(user="Could you check again?", agent="It is back: thermostat exchanged for the Google Home model."),
]


def latest(call: ScriptedCall) -> str:
    return (call.field("conversation") or "").split("\n\nTurn ")[-1]


def judge(call: ScriptedCall) -> dict[str, str]:
    """A rule-based judge that reads the latest turn (per-component prompts)."""
    item, now = call.field("sub_component") or "", latest(call)
    if item == "Exchange the keyboard.":
        return {"reason": "The agent exchanged it.", "status": "COMPLETE"} if "keyboard exchanged" in now else {"reason": "Not yet.", "status": "INCOMPLETE"}
    if item == "Clicky switches.":
        return {"reason": "Asked for clicky.", "status": "COMPLETE"} if "clicky" in now else {"reason": "Not yet.", "status": "INCOMPLETE"}
    if item == "RGB backlight.":
        return {"reason": "Asked for RGB.", "status": "ALIGNED" if "RGB" in now else "MISALIGNED"}
    if item in ("Exchange the thermostat.", "Works with Google Home."):
        if "thermostat exchanged" in now:
            return {"reason": "Exchanged.", "status": "COMPLETE"}
        if "out of stock" in now:
            return {"reason": "Out of stock.", "status": "ATTEMPTED"}
        return {"reason": "Not mentioned.", "status": (call.field("current_status") or "INCOMPLETE")}
    return {"reason": "Consistent.", "status": "ALIGNED"}


def track(tracker: GoalStateTracker, state):
    illegal, calls = [], 0
    for i in range(len(TURNS)):
        out = tracker(goal=GOAL, state=state, turns=TURNS[: i + 1])
        state, calls = out.state, calls + out.calls
        illegal += list(out.illegal)
        validate("goal-state", state.to_json())
    return state, illegal, calls


def test_per_component_tracking_of_a_scripted_three_turn_conversation(state):
    lm = scripted_lm(judge)
    tracker = GoalStateTracker(mode="per_component")
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        final, illegal, calls = track(tracker, state)
    statuses = {str(x.address): (x.status.value, x.item.reason) for x in final.items()}
    assert statuses == {
        "user_profile[0]": ("ALIGNED", "Consistent."),
        "user_policy[0]": ("ALIGNED", "Consistent."),
        "task_objectives[0]": ("COMPLETE", "The agent exchanged it."),
        "task_objectives[0].requirements[0]": ("COMPLETE", "Asked for clicky."),
        "task_objectives[0].preferences[0]": ("ALIGNED", "Asked for RGB."),
        "task_objectives[1]": ("COMPLETE", "Exchanged."),
        "task_objectives[1].requirements[0]": ("COMPLETE", "Exchanged."),
    }
    assert illegal == []
    # turn 1: 7 open; turns 2 and 3: the keyboard, its requirement and the preference are absorbed
    assert calls == 7 + 4 + 4 == len(lm.engine.calls)
    judged_late = [c.field("sub_component") for c in lm.engine.calls[7:]]
    assert not {"Exchange the keyboard.", "Clicky switches.", "RGB backlight."} & set(judged_late)
    # the status is restricted to what the rules allow next
    attempted = [c for c in lm.engine.calls[11:] if c.field("sub_component") == "Exchange the thermostat."][0]
    assert attempted.schema["properties"]["status"]["enum"] == ["ATTEMPTED", "COMPLETE"]
    # stable parts first: goal and conversation come before the sub-component
    text = attempted.last_user
    assert text.index("[[ ## goal ## ]]") < text.index("[[ ## conversation ## ]]") < text.index("[[ ## sub_component ## ]]")
    assert "Agent:\n> Sorry, the Google Home thermostat is out of stock." in text


def test_a_rule_breaking_judge_output_is_counted_and_not_applied(state):
    def backwards(call: ScriptedCall):
        if call.field("sub_component") == "Exchange the thermostat." and "Could you check again" in latest(call):
            return {"reason": "Changed its mind.", "status": "INCOMPLETE"}  # ATTEMPTED -> INCOMPLETE
        return judge(call)

    with dspy.context(lm=scripted_lm(backwards), adapter=dspy.JSONAdapter()):
        final, illegal, _ = track(GoalStateTracker(mode="per_component"), state)
    assert final.get("task_objectives[1]").status is Status.ATTEMPTED
    assert [i.update.address for i in illegal] == ["task_objectives[1]"]
    assert illegal[0].why.startswith("judge output unusable")


def batched_judge(call: ScriptedCall) -> dict:
    verdicts = []
    now = latest(call)
    for line in (call.field("open_sub_components") or "").splitlines():
        key, category, current, _, text = [part.strip() for part in line.split("|")]
        fake = ScriptedCall("", ({"role": "user", "content": f"[[ ## conversation ## ]]\nTurn 1\n{now}\n\n[[ ## sub_component ## ]]\n{text.split(' (for task')[0]}\n\n[[ ## current_status ## ]]\n{current[4:]}"},))
        verdicts.append({"id": key, **judge(fake)})
    if "Could you check again" in now:
        verdicts.append({"id": "99", "reason": "?", "status": "COMPLETE"})
        verdicts.append({"id": verdicts[0]["id"], "reason": "again", "status": "MISALIGNED"})
    return {"verdicts": verdicts}


def test_batched_tracking_makes_one_call_per_turn_and_counts_bad_verdicts(state):
    lm = scripted_lm(batched_judge)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        final, illegal, calls = track(GoalStateTracker(mode="batched"), state)
    assert calls == 3 == len(lm.engine.calls)
    assert all(x.status in (Status.ALIGNED, Status.COMPLETE) for x in final.items())
    assert sorted(i.why for i in illegal) == ["verdict names no listed id ('99')", "verdict repeats an id"]
    listing = lm.engine.calls[1].field("open_sub_components")
    assert listing.splitlines()[0] == "1 | user_profile | now ALIGNED | may be ALIGNED or MISALIGNED | You are Yusuf Rossi in 19122."
    assert "Clicky switches." not in listing  # absorbed after turn 1


def test_backwards_batched_verdicts_are_refused_by_the_rules(state):
    def stubborn(call: ScriptedCall):
        return {"verdicts": [{"id": "1", "reason": "?", "status": "COMPLETE"}]}  # a profile cannot be COMPLETE

    with dspy.context(lm=scripted_lm(stubborn), adapter=dspy.JSONAdapter()):
        out = GoalStateTracker()(goal=GOAL, state=state, turns=TURNS[:1])
    assert out.state == state and [i.why for i in out.illegal] == ["COMPLETE is not a user_profile status"]


def test_nothing_open_means_no_call(state):
    lm = scripted_lm(lambda call: pytest.fail("the judge must not be called"))
    done = DEFAULT_RULES.new_state(task_objectives=["x"])
    from ugst_dspy import StatusUpdate, apply_updates

    done = apply_updates(done, [StatusUpdate("task_objectives[0]", "COMPLETE")]).state
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        assert GoalStateTracker()(goal=GOAL, state=done, turns=TURNS).calls == 0
    with pytest.raises(UgstError, match="unknown tracker mode"):
        GoalStateTracker(mode="sometimes")  # type: ignore[arg-type]


def test_decompose_goal_builds_an_initial_state():
    items = [
        ("requirement", "Be quick."),  # before any objective: kept as an objective of its own
        ("user_profile", "You are Yusuf Rossi in 19122."),
        ("user_profile", "  "),
        ("task_objective", "Exchange the keyboard."),
        ("requirement", "Clicky switches."),
        ("preference", "RGB backlight."),
        ("user_policy", "You are polite."),
        ("task_objective", "Exchange the thermostat."),
        ("requirement", "Works with Google Home."),
    ]
    answer = {"decomposition": {"sub_components": [{"category": c, "text": t} for c, t in items], "all_listed": True}}
    lm = scripted_lm(lambda call: answer)
    goal = f"{GOAL} Be quick. You are polite."
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        state = DecomposeGoal()(goal=goal).state
    assert state == DEFAULT_RULES.new_state(
        ["You are Yusuf Rossi in 19122."],
        ["You are polite."],
        [{"text": "Be quick."},
         {"text": "Exchange the keyboard.", "requirements": ["Clicky switches."], "preferences": ["RGB backlight."]},
         {"text": "Exchange the thermostat.", "requirements": ["Works with Google Home."]}],
    )
    schema = lm.engine.calls[0].schema
    # the bound follows the goal: 2 parts per sentence + 4 clause marks, the longest sentence (76 characters)
    # + 32, each rounded up to a power of two
    assert schema["$defs"]["Decomposition"]["properties"]["sub_components"]["maxItems"] == 16
    assert schema["$defs"]["SubComponentSpec"]["properties"]["text"]["maxLength"] == 128
    assert goal in lm.engine.calls[0].last_user


def reply_with(text: str, stop: bool = False, **extra):
    return lambda call: {**extra, "reply": text, "stop": stop}


def test_state_steered_prompt_holds_the_state_and_prompt_based_does_not(state):
    for simulator, has_state in ((StateSteeredSimulator(), True), (PromptSimulator(), False), (GoalReminderSimulator(), False)):
        lm = scripted_lm(reply_with("Hello, I need to exchange a keyboard."))
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
            out = simulator(goal=GOAL, turns=TURNS[:1], state=state)
        prompt = lm.engine.calls[0].last_user
        assert ("[INCOMPLETE] Exchange the thermostat." in prompt) is has_state
        assert ("Progress: 2 of 7" in prompt) is has_state
        assert out.reply == "Hello, I need to exchange a keyboard." and out.stop is False
        assert "The conversation can last at most 10 turns" in prompt and "This is turn" not in prompt
    reminder = lm.engine.calls[0]
    assert reminder.field("goal_reminder") == GOAL
    with pytest.raises(UgstError, match="needs the current goal state"):
        StateSteeredSimulator()(goal=GOAL, turns=())


def test_the_paper_configurations_state_the_limit_once_and_the_countdown_is_an_option(state):
    """The paper's prompt says "at most N turns; plan accordingly" once; a per-turn countdown is extra help."""
    for name, cls in SIMULATORS.items():
        budgets = []
        for simulator in (cls(max_turns=6), cls(max_turns=6, countdown=True)):
            lm = scripted_lm(reply_with("Hello.", progress="p", remaining="r", alignment="a"))
            with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
                for prefix in (TURNS[:0], TURNS[:1]):
                    simulator(goal=GOAL, turns=prefix, state=state)
            budgets.append([call.field("turn_budget") for call in lm.engine.calls])
        plain, counted = budgets
        assert plain == [turn_limit(6)] * 2 and "at most 6 turns" in plain[0], name  # the same on every turn
        assert counted == ["This is turn 1 of at most 6; 5 more after this one.",
                           "This is turn 2 of at most 6; 4 more after this one."], name
        assert cls().countdown is False and cls().options() == {"countdown": False}
    assert make_simulator("prompt", countdown=True).options() == {"countdown": True}


def test_stop_flag_and_terminate_marker():
    with dspy.context(lm=scripted_lm(reply_with("Thanks, that's all!", stop=True)), adapter=dspy.JSONAdapter()):
        out = PromptSimulator()(goal=GOAL, turns=TURNS)
    assert (out.reply, out.stop) == ("Thanks, that's all!", True)
    with dspy.context(lm=scripted_lm(reply_with("Great, thank you. Terminate.")), adapter=dspy.JSONAdapter()):
        out = PromptSimulator()(goal=GOAL, turns=TURNS)
    assert (out.reply, out.stop) == ("Great, thank you.", True)


def test_reasoning_simulator_reasons_then_replies(state):
    answer = reply_with("Could you exchange the thermostat too?", progress="Keyboard done.",
                        remaining="Thermostat; 8 turns left.", alignment="Stay concise.")
    lm = scripted_lm(answer)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        student = ReasoningSimulator()(goal=GOAL, turns=TURNS[:1])
        teacher = ReasoningSimulator(use_state=True)(goal=GOAL, turns=TURNS[:1], state=state)
    assert student.reasoning == {"progress": "Keyboard done.", "remaining": "Thermostat; 8 turns left.", "alignment": "Stay concise."}
    assert teacher.reply == student.reply
    assert "[INCOMPLETE]" not in lm.engine.calls[0].last_user and "[INCOMPLETE]" in lm.engine.calls[1].last_user
    order = list(lm.engine.calls[0].schema["properties"])
    assert order == ["progress", "remaining", "alignment", "reply", "stop"]
    assert make_simulator("reasoning").name == "reasoning"
    with pytest.raises(UgstError, match="unknown simulator"):
        make_simulator("psychic")
