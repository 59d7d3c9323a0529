"""Output files are sacred: foreign files and inputs are refused untouched, one writer at a time, same settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from ugst_dspy.cli.app import main
from ugst_dspy.errors import UgstError
from ugst_dspy.files.conversations import ConversationWriter, read_conversations
from ugst_dspy.files.lock import lock_path

from conftest import FIXTURES, REPO

SCRIPTED = "scripted:scripted_world:respond"
ENV = {**os.environ, "PYTHONPATH": f"{REPO / 'tests'}{os.pathsep}{REPO}"}


def simulate_args(out, *extra: str) -> list[str]:
    return ["simulate", "--env", "tau-retail", "--limit", "3", "--turns", "3", "--model", SCRIPTED,
            "--out", str(out), *extra]


def refused(args: list[str], path, capsys) -> str:
    """Run the command, assert it is refused with one line and ``path`` is left byte for byte as it was."""
    before = path.read_bytes()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert path.read_bytes() == before
    assert len(err.splitlines()) == 1 and err.startswith("ugst: error: ") and "Traceback" not in err
    return err


def test_an_input_given_as_the_output_is_refused_untouched(tmp_path, capsys):
    goals = tmp_path / "g.jsonl"
    goals.write_text('{"id": "a", "instruction": "Book a table."}\n{"id": "b", "instruction": "Find a train."}')
    err = refused(["decompose", str(goals), "--out", str(goals), "--model", SCRIPTED], goals, capsys)
    assert "is also an input" in err
    trajectories = tmp_path / "t.json"
    trajectories.write_text((FIXTURES / "tau_trajectories.json").read_text().rstrip("\n"))
    assert "is also an input" in refused(["convert", str(trajectories), "--out", str(trajectories)], trajectories, capsys)


def test_a_file_of_another_kind_is_refused_untouched(tmp_path, capsys):
    goals = tmp_path / "g.jsonl"
    goals.write_text('{"id": "a", "instruction": "Book a table."}\n')
    other = tmp_path / "other-goals.jsonl"
    other.write_text('{"id": "z", "instruction": "Not a decomposition."}')  # no final newline either
    err = refused(["decompose", str(goals), "--out", str(other), "--model", SCRIPTED], other, capsys)
    assert f"refusing to append to {other}: it is not a decomposition file" in err
    listing = tmp_path / "list.json"
    listing.write_text('[{"goal_id": "a"}]')
    assert "it is not a conversation file" in refused(simulate_args(listing), listing, capsys)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, no newline")
    assert "it is not a conversation file" in refused(simulate_args(notes), notes, capsys)


def test_a_complete_last_record_without_its_newline_is_kept(tmp_path, capsys):
    out = tmp_path / "runs.jsonl"
    assert main(simulate_args(out, "--limit", "2")) == 0
    out.write_bytes(out.read_bytes().rstrip(b"\n"))  # e.g. edited by hand
    capsys.readouterr()
    assert main(simulate_args(out)) == 0
    assert "1 conversations, 2 skipped" in capsys.readouterr().err  # the last one was not recomputed
    assert [c.goal_id for c in read_conversations(out)] == ["retail-test-0", "retail-test-1", "retail-test-2"]
    assert not (tmp_path / "runs.jsonl.torn").exists()


def test_one_writer_at_a_time(tmp_path):
    out = tmp_path / "c.jsonl"
    first = ConversationWriter(out, fsync=False)
    first.open()
    try:
        with pytest.raises(UgstError, match=rf"is being written by another run \(pid {os.getpid()}: "):
            ConversationWriter(out, fsync=False).open()
    finally:
        first.close()
    assert not lock_path(out).exists()  # removed when the writer closes
    with ConversationWriter(out, fsync=False) as again:
        assert again.done == set()


def test_two_concurrent_runs_leave_every_goal_once(tmp_path):
    out = tmp_path / "runs.jsonl"
    env = {**ENV, "SCRIPTED_DELAY": "0.05"}
    args = [sys.executable, "-m", "ugst_dspy", *simulate_args(out, "--limit", "4")]
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not lock_path(out).exists() and time.time() < deadline:
        time.sleep(0.02)
    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    first_out, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err
    assert second.returncode == 2 and f"is being written by another run (pid {first.pid}" in second.stderr
    ids = [c.goal_id for c in read_conversations(out)]
    assert sorted(ids) == [f"retail-test-{i}" for i in range(4)]


def test_rerunning_with_other_settings_is_refused_unless_mixed(tmp_path, capsys):
    out = tmp_path / "runs.jsonl"
    assert main(simulate_args(out, "--limit", "1")) == 0
    capsys.readouterr()
    err = refused(simulate_args(out, "--simulator", "prompt"), out, capsys)
    assert "was made with other settings (simulator: 'state-steered' there, 'prompt' now)" in err
    assert "--mix" in err
    assert "config.seed: 0 there, 5 now" in refused(simulate_args(out, "--seed", "5"), out, capsys)
    assert main(simulate_args(out, "--simulator", "prompt", "--mix")) == 0
    assert len(read_conversations(out)) == 3


def test_evaluate_and_report_never_overwrite_an_input(tmp_path, capsys):
    example = tmp_path / "conversations.jsonl"
    example.write_bytes((REPO / "examples" / "conversations.jsonl").read_bytes())
    assert "is also an input" in refused(["evaluate", str(example), "--out", str(example)], example, capsys)
    assert "is also an input" in refused(["report", str(example), "--out", str(example)], example, capsys)


def test_a_full_disk_loses_no_byte_and_a_rerun_completes(tmp_path):
    """A size limit on the process makes the third record's write fail half-way: it is cut back, the run stops
    with one line, and the rerun writes the rest; every goal once, the first two records as they were."""
    reference = tmp_path / "reference.jsonl"
    assert subprocess.run([sys.executable, "-m", "ugst_dspy", *simulate_args(reference)], env=ENV,
                          capture_output=True, timeout=300).returncode == 0
    lines = reference.read_bytes().splitlines(keepends=True)
    limit = len(lines[0]) + len(lines[1]) + len(lines[2]) // 2

    def small_disk() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "runs.jsonl"
    args = [sys.executable, "-m", "ugst_dspy", *simulate_args(out)]
    full = subprocess.run(args, env=ENV, capture_output=True, text=True, timeout=300, preexec_fn=small_disk)
    assert full.returncode == 2 and "File too large" in full.stderr and "Traceback" not in full.stderr
    written = out.read_bytes()
    assert written.endswith(b"\n") and len(written.splitlines()) == 2  # no torn third record
    done = subprocess.run(args, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(written)
    assert [c.goal_id for c in read_conversations(out)] == [f"retail-test-{i}" for i in range(3)]
    assert json.loads(out.read_bytes().splitlines()[2])["goal_id"] == "retail-test-2"


def test_goals_multiwoz_replaces_only_a_goal_file(tmp_path, capsys):
    conversations = tmp_path / "runs.jsonl"
    conversations.write_bytes((REPO / "examples" / "conversations.jsonl").read_bytes())
    err = refused(["goals", "multiwoz", "--n", "2", "--out", str(conversations)], conversations, capsys)
    assert f"refusing to replace {conversations}: it is not a goal file" in err
    goals = tmp_path / "g.jsonl"
    assert main(["goals", "multiwoz", "--n", "2", "--out", str(goals)]) == 0
    assert main(["goals", "multiwoz", "--n", "3", "--out", str(goals)]) == 0  # its own kind: replaced
    assert len(goals.read_text().splitlines()) == 3


def test_track_names_bad_bytes_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"goal_id": "a", "instruction": "caf\xe9"}\n')
    out = tmp_path / "out.jsonl"
    assert main(["track", str(bad), "--out", str(out), "--model", SCRIPTED]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"ugst: error: {bad}:1: not UTF-8 text (byte 0xe9 at column 37)" and not out.exists()


def test_an_empty_input_is_refused_not_an_empty_table(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    for args in (["simulate", "--goals", str(empty), "--model", SCRIPTED, "--out", str(tmp_path / "o.jsonl")],
                 ["decompose", str(empty), "--out", str(tmp_path / "d.jsonl"), "--model", SCRIPTED],
                 ["evaluate", str(empty)], ["report", str(empty), "--out", str(tmp_path / "r.html")]):
        assert main(args) == 2, args
        assert capsys.readouterr().err.strip() == f"ugst: error: no records in {empty}"
    assert not any(p.name != "empty.jsonl" for p in tmp_path.iterdir())
