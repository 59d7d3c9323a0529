"""Bad input through the command line: exit code 2 and one line naming the file and the field, no traceback.

Config files (``--config``), τ-bench trajectory files (``ugst convert``/``ugst track``), program files
(``--program``) and goal files of another environment (``ugst simulate --env``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ugst_dspy.cli.app import main

from conftest import FIXTURES

SCRIPTED = "scripted:scripted_world:respond"


def refusal(capsys, *needles: str) -> str:
    """The one stderr line of a refusal, checked to hold every needle."""
    err = capsys.readouterr().err
    assert err.startswith("ugst: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture
def goals(tmp_path: Path) -> Path:
    path = tmp_path / "goals.jsonl"
    path.write_text(json.dumps({"id": "g1", "instruction": "You want to exchange a keyboard."}) + "\n")
    return path


# -- config files ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("roles = 3\n", "roles", "must be a table"),
        ('max_turns = "ten"\n', "max_turns", "must be a whole number, got 'ten'"),
        ("max_turns = true\n", "max_turns", "must be a whole number, got True"),
        ('[roles.simulator]\ntemperature = "hot"\n', "roles.simulator.temperature", "must be a number, got 'hot'"),
        ("[roles.simulator]\ntemperature = -0.5\n", "roles.simulator.temperature",
         "must be a number from 0 to 2, got -0.5"),
        ("[roles.tracker]\ntemperature = 2.5\n", "roles.tracker.temperature", "must be a number from 0 to 2, got 2.5"),
        ("[roles.agent]\nmax_tokens = -1\n", "roles.agent.max_tokens", "must be at least 1, got -1"),
        ("[roles.agent]\nmax_tokens = 0\n", "roles.agent.max_tokens", "must be at least 1, got 0"),
        ('[roles.agent]\nmax_tokens = "many"\n', "roles.agent.max_tokens", "must be a whole number"),
        ("[roles.agent]\nmax_tokens = true\n", "roles.agent.max_tokens", "must be a whole number, got True"),
        ("[roles.rater]\ntop_p = 0\n", "roles.rater.top_p", "must be a number above 0 and at most 1, got 0"),
        ("[roles.rater]\ntop_p = 1.5\n", "roles.rater.top_p", "must be a number above 0 and at most 1, got 1.5"),
        ("[roles.decomposer]\nmodel = 7\n", "roles.decomposer.model", "must be a string, got 7"),
        ("seed = 1.5\n", "seed", "must be a whole number, got 1.5"),
        ('seed = "lucky"\n', "seed", "must be a whole number"),
        ("seed = false\n", "seed", "must be a whole number, got False"),
        ("num_retries = -1\n", "num_retries", "must be at least 0, got -1"),
        ("cache = 1\n", "cache", "must be true or false, got 1"),
        ('cache = "yes"\n', "cache", "must be true or false"),
        ('tracker_mode = "lazy"\n', "tracker_mode", "must be batched or per_component, got 'lazy'"),
        ('adapter = "xml"\n', "adapter", "must be json or chat, got 'xml'"),
        ('rules = "strict"\n', "rules", "must be one of default, got 'strict'"),
    ],
)
def test_a_bad_config_value_is_named_with_its_file_and_key(tmp_path, goals, capsys, text, key, reason):
    config = tmp_path / "run.toml"
    config.write_text(text)
    out = tmp_path / "states.jsonl"
    assert main(["decompose", str(goals), "--out", str(out), "--config", str(config), "--model", SCRIPTED]) == 2
    refusal(capsys, f"{config}: {key} {reason}")
    assert not out.exists()


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path, goals, capsys):
    config = tmp_path / "run.toml"
    config.write_bytes(b"seed = 1\n# caf\xe9 au lait\n")
    assert main(["decompose", str(goals), "--out", str(tmp_path / "o.jsonl"), "--config", str(config)]) == 2
    refusal(capsys, f"{config}:2: not UTF-8 text")


# -- τ-bench trajectory files ------------------------------------------------------------------------


def _first_call(record: dict) -> dict:
    return next(m for m in record["traj"] if m.get("tool_calls"))


def _first_tool_result(record: dict) -> dict:
    return next(m for m in record["traj"] if m.get("role") == "tool")


BAD_TRAJECTORIES = {
    "record": (lambda r, rs: rs.__setitem__(1, ["not", "a", "record"]),
               "a trajectory record must be a JSON object, not a list"),
    "message": (lambda r, rs: r["traj"].__setitem__(1, "hi"), "field 'traj[1]': a message must be an object"),
    "info": (lambda r, rs: r.__setitem__("info", ["task"]), "field 'info': must be an object, not a list"),
    "task": (lambda r, rs: r["info"].__setitem__("task", "exchange"), "field 'info.task': must be an object"),
    "instruction": (lambda r, rs: r["info"]["task"].__setitem__("instruction", 3),
                    "field 'info.task.instruction': must be a string"),
    "tool_calls": (lambda r, rs: _first_call(r).__setitem__("tool_calls", "call it"),
                   "field 'traj[3].tool_calls': must be a list of tool calls, not a string"),
    "tool_call": (lambda r, rs: _first_call(r)["tool_calls"].__setitem__(0, 5),
                  "field 'traj[3].tool_calls[0]': a tool call must be an object"),
    "function": (lambda r, rs: _first_call(r)["tool_calls"][0].__setitem__("function", "transfer"),
                 "field 'traj[3].tool_calls[0].function': must be an object"),
    "name": (lambda r, rs: _first_call(r)["tool_calls"][0]["function"].__setitem__("name", ["x"]),
             "field 'traj[3].tool_calls[0].function.name': must be a tool name, not a list"),
    "arguments": (lambda r, rs: _first_call(r)["tool_calls"][0]["function"].__setitem__("arguments", 7),
                  "field 'traj[3].tool_calls[0].function.arguments': must be an object or a JSON string"),
    "content": (lambda r, rs: r["traj"][1].__setitem__("content", {"text": "hi"}),
                "field 'traj[1].content': must be a string, a list of content parts or null, not an object"),
    "content part": (lambda r, rs: r["traj"][1].__setitem__("content", [1]),
                     "field 'traj[1].content[0]': a content part"),
    "tool_call_id": (lambda r, rs: _first_tool_result(r).__setitem__("tool_call_id", {"id": 1}),
                     "field 'traj[4].tool_call_id': must be a string, not an object"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRAJECTORIES))
def test_a_wrongly_nested_trajectory_names_the_record_and_field(tmp_path, capsys, case):
    records = json.loads((FIXTURES / "tau_trajectories.json").read_text())
    change, message = BAD_TRAJECTORIES[case]
    change(records[1], records)
    path = tmp_path / "trajectories.json"
    path.write_text(json.dumps(records))
    out = tmp_path / "conversations.jsonl"
    assert main(["convert", str(path), "--out", str(out)]) == 2
    refusal(capsys, f"{path}: record 2: {message}")
    assert not out.exists()


def test_ugst_track_refuses_a_wrongly_nested_trajectory_too(tmp_path, capsys):
    records = json.loads((FIXTURES / "tau_trajectories.json").read_text())
    records[0]["info"] = "retail"
    path = tmp_path / "trajectories.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    out = tmp_path / "tracked.jsonl"
    assert main(["track", str(path), "--out", str(out), "--model", SCRIPTED]) == 2
    refusal(capsys, f"{path}:1: field 'info': must be an object, not a string")
    assert not out.exists()


def test_a_trajectory_file_that_is_not_utf8_is_one_line(tmp_path, capsys):
    path = tmp_path / "trajectories.json"
    data = b'[{"task_id": 0,\n  "traj": [], "note": "caf\xe9"}]'
    path.write_bytes(data)
    assert main(["convert", str(path), "--out", str(tmp_path / "o.jsonl")]) == 2
    column = data.index(0xE9) - data.index(10)  # from the start of line 2
    refusal(capsys, f"{path}:2: not UTF-8 text (byte 0xe9 at column {column})")


# -- program files -----------------------------------------------------------------------------------


def _program() -> dict:
    from ugst_dspy.programs.io import shipped_program

    return json.loads(shipped_program("reasoning").read_text())


BAD_PROGRAMS = {
    "list": (lambda p: [p], "a program file is a JSON object (DSPy's saved state), not a list"),
    "ugst": (lambda p: {**p, "ugst": ["simulator"]}, "field 'ugst': must be an object, not a list"),
    "options": (lambda p: {**p, "ugst": {**p["ugst"], "options": "fast"}},
                "field 'ugst.options': must be an object, not a string"),
    "kind": (lambda p: {**p, "ugst": {**p["ugst"], "kind": 1}}, "field 'ugst.kind': must be a string, not a number"),
    "name": (lambda p: {**p, "ugst": {**p["ugst"], "name": ["reasoning"]}},
             "field 'ugst.name': must be a string, not a list"),
    "max_turns": (lambda p: {**p, "ugst": {**p["ugst"], "options": {"max_turns": "ten"}}},
                  "field 'ugst.options.max_turns': must be a whole number of at least 1, got 'ten'"),
    "use_state": (lambda p: {**p, "ugst": {**p["ugst"], "options": {"use_state": "no"}}},
                  "field 'ugst.options.use_state': must be true or false, got 'no'"),
    "predictor": (lambda p: {**p, "respond": "be nice"}, "field 'respond': must be an object, not a string"),
    "demos": (lambda p: {**p, "respond": {**p["respond"], "demos": {"reply": "hi"}}},
              "field 'respond.demos': must be a list"),
    "signature": (lambda p: {**p, "respond": {**p["respond"], "signature": {"instructions": 1, "fields": []}}},
                  "field 'respond.signature.instructions': must be a string, not a number"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROGRAMS))
def test_a_bad_program_file_names_the_file_and_key(tmp_path, capsys, case):
    change, message = BAD_PROGRAMS[case]
    path = tmp_path / "program.json"
    path.write_text(json.dumps(change(_program())))
    out = tmp_path / "runs.jsonl"
    args = ["simulate", "--env", "tau-retail", "--program", str(path), "--model", SCRIPTED, "--limit", "1",
            "--turns", "1", "--out", str(out)]
    assert main(args) == 2
    refusal(capsys, f"{path}: {message}")
    assert not out.exists()


def test_a_program_file_that_is_not_utf8_is_one_line(tmp_path, capsys):
    path = tmp_path / "program.json"
    data = b'{"ugst":\n "\xff"}'
    path.write_bytes(data)
    args = ["simulate", "--program", str(path), "--model", SCRIPTED, "--out", str(tmp_path / "o.jsonl")]
    assert main(args) == 2
    column = data.index(0xFF) - data.index(10)  # from the start of line 2
    refusal(capsys, f"{path}:2: not UTF-8 text (byte 0xff at column {column})")


# -- goals of another environment --------------------------------------------------------------------


def _stripped(source: Path, target: Path, *drop: str) -> Path:
    records = [json.loads(line) for line in source.read_text().splitlines()[:3]]
    target.write_text("".join(json.dumps({k: v for k, v in r.items() if k not in drop}) + "\n" for r in records))
    return target


def test_simulate_refuses_goals_of_another_environment(tmp_path, capsys, packaged_data):
    retail = packaged_data / "tau_bench" / "retail_test.jsonl"
    airline = packaged_data / "tau_bench" / "airline_test.jsonl"
    multiwoz = packaged_data / "multiwoz" / "goals_test.jsonl"
    generated = tmp_path / "mwc.jsonl"
    generated.write_text(json.dumps({"id": "mwc-0", "instruction": "Book a hotel.", "domains": ["hotel"],
                                     "source": "multiwoz-challenge"}) + "\n")
    cases = [
        ("tau-airline", retail, "'retail-test-0'", "field 'domain': a τ-bench retail task"),
        ("tau-airline-strict", retail, "'retail-test-0'", "field 'domain': a τ-bench retail task"),
        ("tau-retail", airline, "'airline-test-0'", "field 'domain': a τ-bench airline task"),
        ("tau-airline", _stripped(retail, tmp_path / "r.jsonl", "domain"), "'retail-test-0'",
         "field 'user_id': no user 'yusuf_rossi_9620' in the τ-bench airline database"),
        ("tau-retail", _stripped(airline, tmp_path / "a.jsonl", "domain", "user_id"), "'airline-test-0'",
         "field 'actions[0].name': 'book_reservation' is not a tool of τ-bench retail"),
        ("tau-retail", multiwoz, "'SNG0073'", "field 'goal': a MultiWOZ goal"),
        ("tau-airline", generated, "'mwc-0'", "field 'source': a MultiWOZ goal"),
        ("multiwoz", retail, "'retail-test-0'", "field 'domain': a τ-bench retail task, not a MultiWOZ goal"),
        ("multiwoz", tmp_path / "r.jsonl", "'retail-test-0'", "field 'user_id': a τ-bench task, not a MultiWOZ goal"),
    ]
    out = tmp_path / "runs.jsonl"
    for env, goal_file, goal_id, reason in cases:
        args = ["simulate", "--env", env, "--goals", str(goal_file), "--model", SCRIPTED, "--limit", "2",
                "--turns", "1", "--out", str(out)]
        assert main(args) == 2
        refusal(capsys, f"{goal_file}: goal {goal_id} is not a goal of --env {env}: {reason}")
        assert not out.exists()


def test_goals_of_the_environment_and_plain_goals_belong(tmp_path, packaged_data):
    from ugst_dspy.envs.goal_checks import check_goals
    from ugst_dspy.files.goals import read_goals

    plain = tmp_path / "mine.jsonl"
    plain.write_text(json.dumps({"id": "mine", "instruction": "You want a refund."}) + "\n")
    for env, path in [("tau-retail", packaged_data / "tau_bench" / "retail_test.jsonl"),
                      ("tau-retail", packaged_data / "tau_bench" / "retail_train.jsonl"),
                      ("tau-airline", packaged_data / "tau_bench" / "airline_test.jsonl"),
                      ("multiwoz", packaged_data / "multiwoz" / "goals_test.jsonl"),
                      *((env, plain) for env in ("tau-retail", "tau-airline", "multiwoz"))]:
        check_goals(env, read_goals(path), path, packaged_data)  # every goal of the file belongs
