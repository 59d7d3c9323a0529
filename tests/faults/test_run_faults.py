"""A whole `ugst simulate` run against a server that hangs, errors, drops the connection or answers garbage:
the run never hangs, every conversation is recorded as failed (role and turn), the exit code is 1, and a
rerun once the server is well retries exactly those and writes each goal once."""

from __future__ import annotations

import time

import pytest

from faults.fake_openai import FakeOpenAI
from ugst_dspy.cli.app import main
from ugst_dspy.files.conversations import read_conversations
from ugst_dspy.files.failures import read_failures

GOALS = 2


def config_file(tmp_path, url: str):
    """Every role on the fake server, with a short timeout and one retry."""
    roles = "\n".join(f"[roles.{role}]\nmodel = \"vllm:fake@{url}\"\ntimeout = 0.5\nretries = 1\n"
                      for role in ("decomposer", "tracker", "simulator", "agent"))
    path = tmp_path / "faulty.toml"
    path.write_text(roles, encoding="utf-8")
    return path


@pytest.mark.parametrize("mode", ["hang", "error500", "drop", "malformed"])
def test_a_faulty_server_fails_conversations_never_the_run(mode, tmp_path, capsys, fast_backoff):
    out = tmp_path / "runs.jsonl"
    with FakeOpenAI(mode) as server:
        args = ["simulate", "--env", "tau-retail", "--limit", str(GOALS), "--turns", "2",
                "--config", str(config_file(tmp_path, server.url)), "--out", str(out)]
        started = time.monotonic()
        assert main(args) == 1
        assert time.monotonic() - started < 60
        failures = read_failures(out)
        assert set(failures) == {f"retail-test-{i}" for i in range(GOALS)}
        assert all(f.error["role"] == "decomposer" for f in failures.values())  # the first call that fails
        assert not out.exists() or read_conversations(out) == []
        err = capsys.readouterr().err
        assert f"0 conversations, 0 skipped, {GOALS} failed" in err
        server.mode = "good"
        assert main(args) == 0
    assert sorted(c.goal_id for c in read_conversations(out)) == [f"retail-test-{i}" for i in range(GOALS)]
    assert read_failures(out) == {}


def test_a_server_that_fails_mid_conversation_records_the_turn(tmp_path, fast_backoff):
    out = tmp_path / "runs.jsonl"
    with FakeOpenAI("good") as server:
        args = ["simulate", "--env", "tau-retail", "--limit", "1", "--turns", "3",
                "--config", str(config_file(tmp_path, server.url)), "--out", str(out)]
        original = server.answer
        calls = {"n": 0}

        def fail_later(body):
            calls["n"] += 1
            if calls["n"] > 4:  # decomposer, simulator, agent steps of turn 1 ... then the server goes bad
                server.mode = "error500"
            return original(body)

        server.answer = fail_later
        assert main(args) == 1
    failure = read_failures(out)["retail-test-0"]
    assert failure.error["turn"] is not None and failure.error["type"]
    assert failure.record is not None and failure.record["goal_id"] == "retail-test-0"
