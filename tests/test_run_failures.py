"""Failure accounting: a conversation whose model failed is recorded apart, never counted, and retried."""

from __future__ import annotations

import json

import pytest

from ugst_dspy.cli.app import main
from ugst_dspy.files.conversations import load_conversations, read_conversations
from ugst_dspy.files.failures import failures_path, read_failures

FAILING = "scripted:failing_world:respond"
TSHIRT_GOALS = {"retail-test-2", "retail-test-3"}  # the two of the first four whose instruction has "tshirt"


def simulate(out, *extra: str) -> int:
    return main(["simulate", "--env", "tau-retail", "--limit", "4", "--turns", "3", "--model", FAILING,
                 "--out", str(out), *extra])


@pytest.fixture
def failed_run(tmp_path, monkeypatch, capsys):
    """A run where the simulator's endpoint fails on turn 2 of two of the four goals."""
    out = tmp_path / "runs.jsonl"
    monkeypatch.setenv("FAIL_GOAL_WITH", "tshirt")
    code = simulate(out)
    captured = capsys.readouterr()
    monkeypatch.delenv("FAIL_GOAL_WITH")
    return out, code, captured


def test_a_failed_conversation_is_recorded_apart_and_the_run_exits_1(failed_run):
    out, code, captured = failed_run
    assert code == 1
    assert {c.goal_id for c in read_conversations(out)} == {"retail-test-0", "retail-test-1"}
    assert all(json.loads(line)["ended_by"] != "error" for line in out.read_text().splitlines())
    failures = read_failures(out)
    assert set(failures) == TSHIRT_GOALS
    failure = failures["retail-test-2"]
    assert (failure.error["role"], failure.error["turn"]) == ("simulator", 2)
    assert failure.error["message"].endswith("simulator endpoint closed (turn 2)")  # DSPy wraps the engine's error
    assert failure.attempt == 1 and len(failure.record["turns"]) == 1  # what it had done: turn 1
    assert "2 conversations, 0 skipped, 2 failed" in captured.err
    assert "Failed (left out of the table): 2 of 4 conversations" in captured.out
    assert "retail-test-2" in captured.err  # the progress line names it


def test_a_rerun_retries_the_failed_ones_and_readers_see_each_id_once(failed_run, capsys):
    out, _, _ = failed_run
    before = out.read_bytes()
    assert simulate(out) == 0
    assert out.read_bytes().startswith(before)  # what was written is kept as it was
    ids = [c.goal_id for c in read_conversations(out)]
    assert sorted(ids) == [f"retail-test-{i}" for i in range(4)]
    assert not failures_path(out).exists()  # compacted away once everything succeeded
    assert "2 conversations, 2 skipped, 0 failed" in capsys.readouterr().err
    assert main(["evaluate", str(out), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"][0]["conversations"] == 4 and "failed" not in data


def test_no_retry_failed_leaves_them_and_still_exits_1(failed_run, capsys):
    out, _, _ = failed_run
    before = out.read_bytes()
    assert simulate(out, "--no-retry-failed") == 1
    err = capsys.readouterr().err
    assert "0 conversations, 2 skipped, 0 failed, 2 earlier failures not retried" in err
    assert out.read_bytes() == before and set(read_failures(out)) == TSHIRT_GOALS


def test_a_failure_that_fails_again_counts_its_attempts(failed_run, monkeypatch):
    out, _, _ = failed_run
    monkeypatch.setenv("FAIL_GOAL_WITH", "tshirt")
    assert simulate(out) == 1
    assert {key: f.attempt for key, f in read_failures(out).items()} == {"retail-test-2": 2, "retail-test-3": 2}
    assert len(failures_path(out).read_text().splitlines()) == 2  # compacted: the latest entry per id


def test_evaluate_and_report_leave_failures_out_and_say_so(failed_run, tmp_path, capsys):
    out, _, _ = failed_run
    assert main(["evaluate", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[2].split()[:2] == ["all", "2"]
    assert "Failed (left out of every table): 2 failed conversations left out" in captured.out
    assert main(["evaluate", str(out), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["failed"] == {"count": 2, "files": {str(out): ["retail-test-2", "retail-test-3"]}}
    assert main(["report", str(out), "--out", str(tmp_path / "r.html")]) == 0
    assert "2 failed conversations left out" in capsys.readouterr().err


def test_error_records_of_older_files_are_failures_and_are_superseded(tmp_path, capsys):
    out = tmp_path / "old.jsonl"
    assert simulate(out) == 0
    lines = out.read_text().splitlines()
    old = json.loads(lines[2])
    old.update(ended_by="error", turns=old["turns"][:1])
    old["meta"]["error"] = "RuntimeError: agent crashed"
    out.write_text("\n".join([*lines[:2], json.dumps(old), lines[3]]) + "\n")
    loaded = load_conversations([out])
    assert len(loaded.conversations) == 3 and loaded.failed == 1
    assert loaded.failures[out][0].error["message"] == "RuntimeError: agent crashed"
    capsys.readouterr()
    assert simulate(out) == 0  # retried, and the new record supersedes the old failure
    assert "1 conversations, 3 skipped, 0 failed" in capsys.readouterr().err
    loaded = load_conversations([out])
    assert sorted(c.goal_id for c in loaded.conversations) == [f"retail-test-{i}" for i in range(4)]
    assert loaded.failed == 0


def test_a_failing_tracker_server_is_a_failure_not_an_unchanged_state(tmp_path, capsys, monkeypatch):
    """A judge that cannot be reached must not leave statuses "as they were" and count as a result."""
    import failing_world

    original = failing_world.respond

    def tracker_down(call):
        if "verdicts" in set((call.schema or {}).get("properties", {})):
            raise ConnectionError("tracker endpoint refused the connection")
        return original(call)

    monkeypatch.setattr(failing_world, "respond", tracker_down)
    out = tmp_path / "t.jsonl"
    assert simulate(out, "--limit", "1") == 1
    assert not out.exists() or not out.read_text().strip()
    assert read_failures(out)["retail-test-0"].error["role"] == "tracker"
