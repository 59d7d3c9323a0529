"""optimise -> SFT -> GRPO -> export -> reload -> simulate, on the tiny random model with a scripted judge.

One module-scoped run of the whole chain; the tests below check its parts: weights move in both stages,
the rewards TRL logged are the UGST reward computed directly, and the exported folder is a simulator that
the local engine, a plain transformers generator and ``ugst simulate`` all run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import dspy
import pytest

from ugst_dspy import DEFAULT_RULES, Conversation, Turn
from ugst_dspy.engines.scripted import scripted_lm
from ugst_dspy.modules.tracker import GoalStateTracker
from ugst_dspy.modules.scoring import ResponseScorer
from ugst_dspy.state import CATEGORIES, GoalState

from training.world import judge

GOAL = "You are Yusuf Rossi in 19122. Exchange your keyboard for a clicky one with RGB. You are polite."
REASONING = {"progress": "Nothing done yet.", "remaining": "Ask for the exchange.", "alignment": "Be polite."}


def teacher_conversations() -> list[Conversation]:
    """Two tracked conversations of the reasoning teacher (as `ugst sft --teacher-runs` writes them)."""
    initial = DEFAULT_RULES.new_state(
        ["You are Yusuf Rossi in 19122."], ["You are polite."],
        [{"text": "Exchange the keyboard.", "requirements": ["Clicky switches."], "preferences": ["RGB backlight."]}],
    )
    conversations = []
    for n, lines in enumerate([("Hi, I'm Yusuf Rossi, zip 19122.", "I'd like a clicky keyboard, please.", "Thanks, bye!"),
                               ("Hello, I need to exchange my keyboard.", "Clicky with RGB, please.")]):
        turns = [Turn(user=line, agent="Sure." if i < len(lines) - 1 else "", state=initial, reasoning=REASONING)
                 for i, line in enumerate(lines)]
        conversations.append(Conversation(goal_id=f"g{n}", instruction=GOAL, initial_state=initial, turns=turns,
                                          ended_by="user_stop", meta={"config": {"max_turns": 4}}))
    return conversations


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def changed(before: dict, after: dict) -> list[str]:
    import torch

    return [key for key in before if key in after and not torch.equal(before[key], after[key])]


def compile_student(conversations, path: Path):
    """Optimise the stateless reasoning simulator with BootstrapFewShot (scripted simulator and judge) and save it."""
    from ugst_dspy.optimizers.metric import make_ugst_metric
    from ugst_dspy.optimizers.optimize import optimize_program
    from ugst_dspy.optimizers.trainset import build_trainset, split_examples
    from ugst_dspy.programs.io import build_program, save_program

    def student(call):
        return {**REASONING, "reply": "I'd like a clicky keyboard with RGB, please.", "stop": False}

    split = split_examples(build_trainset(conversations).examples, train=3, val=1, seed=0)
    metric = make_ugst_metric(tracker_lm=scripted_lm(judge))
    program = build_program("simulator", "reasoning")
    with dspy.context(adapter=dspy.JSONAdapter()):
        compiled = optimize_program(program, split.train, split.val, metric, optimizer="bootstrap", seed=1,
                                    metric_threshold=0.0,  # the hash-based judge: keep any trace as a demo
                                    lm=scripted_lm(student))
    return compiled, save_program(compiled, path)


def scripted_rewards(**options):
    from ugst_dspy.optimizers.rewards import UGSTRewardFunctions

    tracker = GoalStateTracker()
    tracker.set_lm(scripted_lm(judge))
    return UGSTRewardFunctions(ResponseScorer(tracker), **options)


@pytest.fixture(scope="module")
def run(tiny_model_dir, tmp_path_factory):
    pytest.importorskip("trl", reason="the [train] extra is not installed")
    import torch

    from ugst_dspy.optimizers.export import export_checkpoint
    from ugst_dspy.optimizers.grpo import GRPOOptions, build_grpo_dataset, train_grpo
    from ugst_dspy.optimizers.quiet import quiet_training
    from ugst_dspy.optimizers.sft import SFTOptions, train_sft
    from ugst_dspy.optimizers.sft_data import build_sft_dataset
    from ugst_dspy.optimizers.training import load_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("pipeline")
    conversations = teacher_conversations()
    started = time.perf_counter()
    compiled, program_path = compile_student(conversations, root / "compiled.json")
    with quiet_training():
        sft_data = build_sft_dataset(conversations, program=compiled)
        sft = train_sft(sft_data, SFTOptions(output_dir=str(root / "sft"), base_model=str(tiny_model_dir),
                                             batch_size=2, grad_accum=1, max_steps=2, learning_rate=1e-3))
        # a random model never writes the JSON layout: score its whole text as the reply, so rewards vary
        rewards = scripted_rewards(on_malformed="score_text")
        policy = load_model(root / "sft")
        prompts, counts = build_grpo_dataset(conversations, policy[1], program=compiled)
        grpo = train_grpo(prompts, rewards, GRPOOptions(
            output_dir=str(root / "grpo"), base_model=str(root / "sft"), batch_size=1, rollouts=4, max_steps=2,
            max_completion_length=16, learning_rate=1e-3, log_completions=True), model=policy)
        exported = export_checkpoint(root / "grpo", root / "export", program=program_path)
    yield SimpleNamespace(compiled=compiled, root=root, base=tiny_model_dir, sft=sft, grpo=grpo, export=exported, sft_data=sft_data,
                          prompts=prompts, counts=counts, rewards=rewards, seconds=time.perf_counter() - started)
    torch.set_num_threads(threads)


def test_the_optimised_program_shapes_training_and_is_exported(run):
    demos = run.compiled.respond.demos
    assert demos, "bootstrap kept no demo"
    # the compiled demos are part of every training prompt (DSPy writes them as earlier chat turns)
    assert any(demos[0]["reply"] in message["content"] for message in run.sft_data[0]["prompt"])
    exported = json.loads((run.export / "ugst_program.json").read_text())
    assert exported["respond"]["demos"][0]["reply"] == demos[0]["reply"]


def test_sft_then_grpo_then_export_end_to_end(run):
    assert len(run.sft_data) == 5 and run.counts == {"prompts": 4, "too_long": 0, "duplicates": 1, "untracked": 0}
    first = json.loads(run.sft_data[2]["completion"][0]["content"])
    assert list(first) == ["progress", "remaining", "alignment", "reply", "stop"] and first["stop"] is True
    assert "goal_state" not in run.sft_data[0]["prompt"][-1]["content"]
    base, sft, grpo, export = (weights(p) for p in (run.base, run.root / "sft", run.root / "grpo", run.export))
    assert changed(base, sft), "SFT did not change the weights"
    assert changed(sft, grpo), "GRPO did not change the weights"
    assert not changed(grpo, export) and set(export) == set(grpo)  # export keeps the trained weights
    assert run.sft.global_step == 2 and run.grpo.global_step == 2
    assert run.rewards.tracker_calls <= 8  # once per distinct completion: 2 steps x 4 rollouts
    assert run.seconds < 60


def test_the_rewards_trl_logged_are_the_ugst_reward(run):
    import pandas as pd

    from ugst_dspy.optimizers.layout import completion_text, parse_completion

    tracker = GoalStateTracker()
    tracker.set_lm(scripted_lm(judge))
    direct_scorer = ResponseScorer(tracker)
    by_prompt = {row["prompt"][-1]["content"]: row for row in run.prompts}
    history = {entry["step"]: entry for entry in run.grpo.log_history if "reward" in entry}
    assert sorted(history) == [1, 2]
    spread = set()
    for step in (1, 2):
        table = pd.read_parquet(run.root / "grpo" / "completions" / f"completions_{step:05d}.parquet")
        assert len(table) == 4
        totals, indicators = [], {c: [] for c in CATEGORIES}
        for _, logged in table.iterrows():
            row = by_prompt[list(logged["prompt"])[-1]["content"]]
            text = completion_text(list(logged["completion"]))
            parsed = parse_completion(text)
            reply = parsed.reply if parsed is not None else text.strip()
            turns = [Turn.model_validate(t) for t in json.loads(row["turns"])]
            direct = direct_scorer.score(row["goal"], GoalState.from_json(json.loads(row["state"])), turns, reply).reward
            for category in CATEGORIES:
                assert logged[category.value] == direct.indicators[category]  # what each TRL reward function gave
                indicators[category].append(direct.indicators[category])
            weighted = sum(0.5 * logged[c.value] for c in CATEGORIES)
            assert weighted == pytest.approx(direct.total) == pytest.approx(logged["ugst_total"])
            totals.append(direct.total)
            spread.add(direct.total)
        logged_step = history[step]
        assert logged_step["reward"] == pytest.approx(sum(totals) / 4)  # TRL's weighted sum, averaged
        for category in CATEGORIES:
            assert logged_step[f"rewards/{category.value}/mean"] == pytest.approx(sum(indicators[category]) / 4)
    assert len(spread) > 1


def test_the_export_is_a_self_contained_simulator_folder(run):
    from ugst_dspy.engines.embedded import is_model_dir
    from ugst_dspy.engines.local import local_lm
    from ugst_dspy.modules.simulators import ReasoningSimulator
    from ugst_dspy.optimizers.layout import student_messages
    from ugst_dspy.optimizers.student import LocalStudent
    from ugst_dspy.programs.io import load_program

    folder = run.export
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "README.md",
            "ugst_program.json", "ugst_training.json"} <= names and is_model_dir(folder)
    assert not any(name.startswith(("checkpoint-", "adapter_")) for name in names)
    card = (folder / "README.md").read_text()
    assert "### SFT" in card and "### GRPO" in card and "## Rewards" in card
    generation = json.loads((folder / "generation_config.json").read_text())
    assert generation["eos_token_id"] in (2, [2]) and generation["do_sample"] is True
    record = json.loads((folder / "ugst_training.json").read_text())
    assert record["stage"] == "grpo" and record["previous"]["stage"] == "sft" and record["export"]["kind"] == "full"

    program = load_program(folder / "ugst_program.json")
    assert isinstance(program, ReasoningSimulator) and not program.uses_state
    program.set_lm(local_lm(folder, max_new_tokens=160, max_string_length=16, max_items=2))
    turns = [Turn(user="Hi, I'd like to exchange my keyboard.", agent="Sure, what is your zip code?")]
    with dspy.context(adapter=dspy.JSONAdapter()):
        said = program(goal=GOAL, turns=turns, max_turns=4)
    assert isinstance(said.reply, str) and isinstance(said.stop, bool) and set(said.reasoning) == set(REASONING)

    student = LocalStudent.from_pretrained(folder, max_new_tokens=8)
    assert isinstance(student.generate(student_messages(GOAL, turns, 4, student.program)), str)


def test_ugst_simulate_runs_the_program_packed_in_the_export(run, tmp_path, capsys, monkeypatch):
    from ugst_dspy.cli.app import main
    from ugst_dspy.engines.spec import ModelPool

    # random weights fill every string to its bound, and Outlines needs ~30 s to index 300-character strings:
    # give the command's engines the small bounds the other tiny-model tests use
    original = ModelPool.__init__
    monkeypatch.setattr(ModelPool, "__init__", lambda self, config=None, engine_options=None: original(
        self, config, {"max_string_length": 16, "max_items": 2, **(engine_options or {})}))
    out = tmp_path / "runs.jsonl"
    config = tmp_path / "run.toml"
    config.write_text("[roles.simulator]\nmax_tokens = 200\ntemperature = 0.0\n")
    code = main(["simulate", "--env", "tau-retail", "--limit", "1", "--turns", "1", "--config", str(config),
                 "--model", "scripted:training.world:respond", "--simulator-model", str(run.export),
                 "--out", str(out)])
    assert code == 0
    assert "program packed beside the model" in capsys.readouterr().err
    record = json.loads(out.read_text().splitlines()[0])
    assert record["meta"]["simulator"] == "reasoning" and record["meta"]["program"] == str(run.export / "ugst_program.json")
    assert record["meta"]["models"]["simulator"] == str(run.export)
    assert record["ended_by"] in ("max_turns", "user_stop"), record["meta"].get("error")
    assert len(record["turns"]) <= 1 and record["meta"]["usage"]["simulator"]["calls"] == 1


def test_grpo_resumes_from_the_last_checkpoint_in_its_output_folder(run, tmp_path, one_torch_thread):
    import shutil

    from ugst_dspy.optimizers.grpo import GRPOOptions, train_grpo
    from ugst_dspy.optimizers.quiet import quiet_training

    out = tmp_path / "grpo"
    shutil.copytree(run.root / "grpo", out)
    assert (out / "checkpoint-2").is_dir()
    with quiet_training():
        again = train_grpo(run.prompts, scripted_rewards(on_malformed="score_text"), GRPOOptions(
            output_dir=str(out), base_model=str(run.root / "sft"), batch_size=1, rollouts=4, max_steps=3,
            max_completion_length=16, learning_rate=1e-3))
    assert again.record["resumed_from"] == str(out / "checkpoint-2")
    assert again.global_step == 3 and len(again.step_seconds) == 1  # only the missing step ran
    assert [entry["step"] for entry in again.log_history if "reward" in entry] == [1, 2, 3]
