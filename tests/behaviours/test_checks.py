"""The behaviour check (rules over the record), the agent-side table, and `ugst evaluate --group-by behaviour`."""

from __future__ import annotations

import json

import pytest

from ugst_dspy.behaviours import BehaviourSpec, make_plan
from ugst_dspy.conversation import Conversation, ToolCall, Turn
from ugst_dspy.envs.services import UnavailableService
from ugst_dspy.metrics.agent_outcome import goal_delivered, outcome_table, task_reward, tool_errors
from ugst_dspy.metrics.behaviours import behaviour_table, check_turns, is_fragment, shows
from ugst_dspy.metrics.success import success_table

SERVICE = UnavailableService("price_match", "match a lower price you saw elsewhere", "no price matching",
                             ("price match", "lower price"))


@pytest.mark.parametrize("text, fragment", [
    ("keyboard exchange", True),
    ("order W2378156", True),
    ("my order", True),
    ("Hi, I'm Yusuf Rossi, zip 19122, and I want to exchange the keyboard of order #W2378156.", False),
    ("I would like to exchange the mechanical keyboard that I bought last month for a clicky one please", False),
    ("Yusuf Rossi 19122", False),
])
def test_a_fragment_is_short_and_carries_at_most_one_detail(text, fragment):
    assert is_fragment(text) is fragment


def test_each_rule_finds_its_behaviour():
    plan = make_plan([BehaviourSpec(n, 1.0) for n in ("unavailable_service", "digression", "impatience",
                                                       "incomplete_utterance")], "g", max_turns=2,
                     services=[SERVICE]).to_json()
    tangent = plan["drawn"]["digression"]["tangents"]["1"]["keywords"][0]
    assert shows("impatience", "Can you hurry up? This is taking too long.", 1, plan)
    assert not shows("impatience", "Thank you, that is all.", 1, plan)
    assert shows("unavailable_service", "Could you also price match it? I saw a lower price.", 1, plan)
    assert not shows("unavailable_service", "Please exchange the keyboard.", 1, plan)
    assert shows("digression", f"By the way, my {tangent} is a story. Anyway, the keyboard.", 1, plan)
    assert not shows("digression", "Please exchange the keyboard.", 1, plan)
    assert shows("incomplete_utterance", "keyboard thing", 1, plan)


def _conversation(texts, acted, plan, agent="Sorry, we cannot do that.", reward=None, final="COMPLETE", state=None):
    turns = [Turn(user=t, agent=agent, behaviours=a) for t, a in zip(texts, acted)]
    if state is not None:
        turns[-1].state = state
    meta = {"behaviours": plan, "behaviour": "+".join(s["name"] for s in plan["specs"])} if plan else {}
    if reward is not None:
        meta["tau_bench"] = {"reward": reward}
    return Conversation(goal_id="g", instruction="x", initial_state=state, turns=turns, ended_by="max_turns", meta=meta)


def test_the_rates_count_acting_messages_and_the_base_rate_apart():
    plan = make_plan([BehaviourSpec("impatience", 0.5), BehaviourSpec("unavailable_service", 1.0, "mild")], "g",
                     max_turns=3, services=[SERVICE]).to_json()
    texts = ["Can you price match? Hurry up please.", "Quickly, the keyboard.", "Thanks."]
    conversation = _conversation(texts, [["impatience", "unavailable_service"], ["impatience"], []], plan)
    checks = check_turns(conversation)
    assert [c.acted for c in checks] == [["impatience", "unavailable_service"], ["impatience"], []]
    assert checks[0].declined is True and checks[1].declined is None
    row = behaviour_table([conversation, _conversation(["x"], [[]], None)])[0]
    assert row.conversations == 1  # a record made without behaviours is left out
    assert (row.shown["impatience"].successes, row.shown["impatience"].total) == (2, 2)
    assert (row.base["impatience"].successes, row.base["impatience"].total) == (0, 1)
    assert (row.shown["unavailable_service"].successes, row.shown["unavailable_service"].total) == (1, 1)
    assert (row.base["unavailable_service"].successes, row.base["unavailable_service"].total) == (0, 2)


def test_the_agent_table_tells_an_agent_failure_from_a_goal_not_delivered(state):
    from ugst_dspy.state import Status

    def with_objectives(status):
        s = state
        for k in range(len(s.task_objectives)):
            s = s.with_item(f"task_objectives[{k}]", s.task_objectives[k].model_copy(update={"status": status}))
        return s

    delivered = _conversation(["a"], [[]], None, reward=0.0, state=with_objectives(Status.COMPLETE))
    abandoned = _conversation(["a", "b"], [[], []], None, reward=0.0, state=with_objectives(Status.INCOMPLETE))
    solved = _conversation(["a"], [[]], None, reward=1.0, state=with_objectives(Status.ATTEMPTED))
    untracked = _conversation(["a"], [[]], None)
    solved.turns[0].tool_calls = [ToolCall(name="x", result="Error: no such order"), ToolCall(name="y", result="{}")]
    assert goal_delivered(delivered) is True and goal_delivered(abandoned) is False and goal_delivered(untracked) is None
    assert task_reward(solved) == 1.0 and task_reward(untracked) is None and tool_errors(solved) == 1
    row = outcome_table([delivered, abandoned, solved, untracked])[0]
    assert (row.success.successes, row.success.total) == (1, 3)
    assert row.agent_failed == 1 and row.not_delivered == 1 and row.tool_errors == 1
    assert row.mean_turns == 5 / 4 and row.ended_by == {"max_turns": 4}


def test_group_by_behaviour_names_records_without_behaviours_none():
    plan = make_plan(["impatience"], "g", max_turns=1).to_json()
    rows = success_table([_conversation(["a"], [[]], plan), _conversation(["a"], [[]], None)], "behaviour")
    assert [row.group for row in rows] == ["impatience", "none"]


def test_evaluate_prints_the_behaviour_and_agent_tables_per_behaviour(tmp_path, packaged_data):
    from typer.testing import CliRunner

    from ugst_dspy.cli.app import app

    plain, difficult = tmp_path / "plain.jsonl", tmp_path / "difficult.jsonl"
    scripted = "scripted:scripted_world:respond"
    runner = CliRunner()
    for out, flags in ((plain, []), (difficult, ["-b", "impatience:rate=1", "--behaviour", "incomplete_utterance"])):
        result = runner.invoke(app, ["simulate", "--env", "tau-retail", "--limit", "2", "--turns", "4", "--model",
                                     scripted, "--out", str(out), *flags])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["evaluate", str(plain), str(difficult), "--group-by", "behaviour"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "impatience+incomplete_utterance" in text and "\nnone " in text
    assert "Behaviours: share of the user messages" in text and "Agent outcome" in text
    result = runner.invoke(app, ["evaluate", str(plain), str(difficult), "--group-by", "behaviour", "--format", "json"])
    data = json.loads(result.output)
    assert [row["group"] for row in data["rows"]] == ["none", "impatience+incomplete_utterance"]
    row = data["behaviours"]["rows"][0]
    assert row["behaviours"]["impatience"]["shown"]["total"] >= 1
    assert [r["group"] for r in data["outcomes"]["rows"]] == ["none", "impatience+incomplete_utterance"]
    assert all(r["task_success"]["total"] == 2 for r in data["outcomes"]["rows"])


def test_a_rerun_with_other_behaviours_into_the_same_output_is_refused_and_the_file_kept(tmp_path):
    from typer.testing import CliRunner

    from ugst_dspy.cli.app import app

    out = tmp_path / "runs.jsonl"
    base = ["simulate", "--env", "tau-retail", "--limit", "1", "--turns", "3", "--model",
            "scripted:scripted_world:respond", "--out", str(out)]
    runner = CliRunner()
    assert runner.invoke(app, [*base, "--behaviour", "impatience"]).exit_code == 0
    before = out.read_bytes()
    result = runner.invoke(app, [*base, "--behaviour", "digression"])
    assert "was made with other settings" in str(result.exception) and out.read_bytes() == before
    same = runner.invoke(app, [*base, "--behaviour", "impatience"])
    assert same.exit_code == 0 and out.read_bytes() == before  # resumed: the goal is done
