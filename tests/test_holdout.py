"""Evaluation goals stay out of training: the training splits, the check and its refusal in each command."""

from __future__ import annotations

import json

import pytest

from ugst_dspy.cli.app import main
from ugst_dspy.envs.holdout import (
    TrainingGoal,
    check_training_goals,
    evaluation_goals,
    goals_of_conversations,
    goals_of_file,
    overlaps,
)
from ugst_dspy.envs.multiwoz_goals import generate_multiwoz_goals
from ugst_dspy.envs.registry import default_goals_path, training_goals_path
from ugst_dspy.errors import UgstError

from conftest import REPO

EXAMPLES = REPO / "examples" / "conversations.jsonl"  # hand-made conversations on retail-test-0


def test_every_environments_evaluation_goals_are_held_out():
    held = evaluation_goals()
    assert {"retail-test-0", "retail-test-114"} <= set(held.ids)
    assert any(goal_id.startswith("airline-") or "airline" in where for goal_id, where in held.ids.items())
    assert len(held.ids) >= 115 + 50


def test_the_training_splits_share_no_goal_with_evaluation():
    held = evaluation_goals()
    train = goals_of_file(training_goals_path("tau-retail"))
    assert len(train) == 500 and overlaps(train, held) == []
    assert train[0].where.endswith("retail_train.jsonl:1")
    generated = generate_multiwoz_goals(120, seed=0, split="train")
    evaluation = generate_multiwoz_goals(120, seed=0)
    assert generated[0].id == "mwc-train-0-0000" and evaluation[0].id == "mwc-0-0000"
    assert generated[0].to_goal_json()["split"] == "train"
    assert not {g.instruction for g in generated} & {g.instruction for g in evaluation}
    as_training = [TrainingGoal(g.id, g.instruction, "mwc.jsonl") for g in generated]
    assert overlaps(as_training, held) == []
    eval_stream = [TrainingGoal(g.id, g.instruction, "mwc.jsonl") for g in evaluation[:3]]
    assert [o.by for o in overlaps(eval_stream, held)] == ["stream"] * 3
    with pytest.raises(UgstError, match="unknown MultiWOZ goal split 'dev'"):
        generate_multiwoz_goals(1, seed=0, split="dev")


def test_environments_without_training_goals_say_what_to_give():
    assert training_goals_path("tau-retail").name == "retail_train.jsonl"
    assert default_goals_path("tau-retail").name == "retail_test.jsonl"
    with pytest.raises(UgstError, match="τ-bench airline has no train split.*--goals FILE"):
        training_goals_path("tau-airline")
    with pytest.raises(UgstError, match="multiwoz has no training goals.*ugst goals multiwoz --split train"):
        training_goals_path("multiwoz")


def test_a_clash_by_id_or_by_instruction_is_refused_or_warned(tmp_path, capsys):
    test_goal = json.loads(default_goals_path("tau-retail").read_text().splitlines()[3])
    renamed = TrainingGoal("my-goal-7", "  " + test_goal["instruction"].upper() + " ", "mine.jsonl:9")
    clean = TrainingGoal("my-goal-8", "Book a table for two.", "mine.jsonl:10")
    with pytest.raises(UgstError) as err:
        check_training_goals([clean, renamed], "ugst sft")
    message = str(err.value)
    assert message.startswith("mine.jsonl:9: training goal 'my-goal-7' is an evaluation goal (retail_test.jsonl "
                              "retail-test-3, same instruction)") and "--allow-eval-overlap" in message
    assert "\n" not in message
    found = check_training_goals([clean, renamed], "ugst sft", allow=True)
    assert [o.goal.id for o in found] == ["my-goal-7"]
    assert "ugst sft: WARNING: 1 training goals are evaluation goals" in capsys.readouterr().err
    mine = tmp_path / "my_eval.jsonl"
    mine.write_text(json.dumps({"id": "my-goal-8", "instruction": "Something else entirely."}) + "\n")
    assert check_training_goals([clean], "ugst sft") == []
    with pytest.raises(UgstError, match="my_eval.jsonl my-goal-8, same id"):
        check_training_goals([clean], "ugst sft", eval_goals=[mine])


def test_conversation_files_give_each_goal_once_with_its_first_line():
    goals = goals_of_conversations([EXAMPLES])
    assert [(g.id, g.where) for g in goals] == [("retail-test-0", f"{EXAMPLES}:1")]


@pytest.mark.parametrize("command", ["sft", "grpo", "optimize"])
def test_training_commands_refuse_evaluation_goals_before_any_work(command, tmp_path, capsys, tiny_model_dir):
    out = tmp_path / "out"
    args = {"sft": ["sft", str(EXAMPLES), "--out", str(out), "--base-model", str(tiny_model_dir), "--dry-run"],
            "grpo": ["grpo", str(EXAMPLES), "--out", str(out), "--base-model", str(tiny_model_dir)],
            "optimize": ["optimize", "-c", str(EXAMPLES), "--out", str(tmp_path / "p.json"),
                         "--model", "scripted:scripted_world:respond"]}[command]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{EXAMPLES}:1: training goal 'retail-test-0' is an evaluation goal" in err
    assert f"ugst {command} does not train on evaluation goals" in err
    assert not out.exists() and not (tmp_path / "p.json").exists()


def test_sft_warns_and_goes_on_with_the_override(tmp_path, capsys, tiny_model_dir):
    args = ["sft", str(EXAMPLES), "--out", str(tmp_path / "out"), "--base-model", str(tiny_model_dir), "--dry-run",
            "--allow-eval-overlap"]
    assert main(args) == 2  # past the check: these hand-made conversations carry no teacher reasoning
    err = capsys.readouterr().err
    assert "ugst sft: WARNING: 1 training goals are evaluation goals" in err and "no SFT data" in err


def test_teacher_runs_refuse_evaluation_goals_given_by_hand(tmp_path, capsys, tiny_model_dir):
    args = ["sft", "--teacher-runs", str(tmp_path / "t.jsonl"), "--goals", str(default_goals_path("tau-retail")),
            "--limit", "2", "--out", str(tmp_path / "out"), "--base-model", str(tiny_model_dir)]
    assert main(args) == 2
    assert "retail_test.jsonl:1: training goal 'retail-test-0' is an evaluation goal" in capsys.readouterr().err
    assert not (tmp_path / "t.jsonl").exists()
    assert main(["sft", "--teacher-runs", str(tmp_path / "t.jsonl"), "--env", "tau-airline",
                 "--out", str(tmp_path / "out"), "--base-model", str(tiny_model_dir)]) == 2
    assert "τ-bench airline has no train split" in capsys.readouterr().err


def test_goal_generation_and_simulation_pick_a_split(tmp_path, capsys):
    out = tmp_path / "train.jsonl"
    assert main(["goals", "multiwoz", "--n", "3", "--split", "train", "--out", str(out)]) == 0
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [
        "mwc-train-0-0000", "mwc-train-0-0001", "mwc-train-0-0002"]
    assert "3 train goals" in capsys.readouterr().err
    assert main(["goals", "multiwoz", "--n", "3", "--split", "dev", "--out", str(tmp_path / "d.jsonl")]) == 2
    assert "unknown MultiWOZ goal split 'dev'" in capsys.readouterr().err
    assert main(["simulate", "--split", "dev", "--out", str(tmp_path / "r.jsonl")]) == 2
    assert "unknown --split 'dev'" in capsys.readouterr().err
    runs = tmp_path / "runs.jsonl"
    assert main(["simulate", "--env", "tau-retail", "--split", "train", "--limit", "1", "--turns", "1",
                 "--model", "scripted:scripted_world:respond", "--out", str(runs)]) == 0
    assert json.loads(runs.read_text().splitlines()[0])["goal_id"] == "retail-train-0"
