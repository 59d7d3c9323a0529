"""kill -9 at random points of a run with several workers, again and again: every goal ends up exactly once,
nothing written before a kill changes, and an unfinished last line is kept aside, never lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from ugst_dspy.files.conversations import read_conversations
from ugst_dspy.files.failures import torn_path

from conftest import REPO

GOALS = 8


def test_repeated_kill_9_with_workers_loses_and_duplicates_nothing(tmp_path):
    out = tmp_path / "runs.jsonl"
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'tests'}{os.pathsep}{REPO}", "SCRIPTED_DELAY": "0.03"}
    args = [sys.executable, "-m", "ugst_dspy", "simulate", "--env", "tau-retail", "--limit", str(GOALS),
            "--turns", "3", "--model", "scripted:scripted_world:respond", "--out", str(out), "--workers", "3"]
    rng = random.Random(7)
    kept = b""
    for _ in range(3):
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start_size = out.stat().st_size if out.exists() else 0
        deadline = time.time() + 60
        while time.time() < deadline and (not out.exists() or out.stat().st_size <= start_size):
            time.sleep(0.01)  # let it write at least one more record, then kill at a random moment
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = out.read_bytes()
        complete = now[: now.rfind(b"\n") + 1]
        assert complete.startswith(kept)  # nothing written before this kill changed
        kept = complete
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    final = out.read_bytes()
    assert final.startswith(kept)
    ids = [c.goal_id for c in read_conversations(out)]
    assert sorted(ids) == sorted(f"retail-test-{i}" for i in range(GOALS)) and len(ids) == GOALS
    if torn_path(out).exists():  # a kill that tore a line: the torn bytes are kept beside the file
        assert all(line.startswith(b"{") for line in torn_path(out).read_bytes().splitlines())


def test_ctrl_c_keeps_what_was_written_and_says_how_to_resume(tmp_path):
    out = tmp_path / "runs.jsonl"
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'tests'}{os.pathsep}{REPO}", "SCRIPTED_DELAY": "0.05"}
    args = [sys.executable, "-m", "ugst_dspy", "simulate", "--env", "tau-retail", "--limit", str(GOALS),
            "--turns", "3", "--model", "scripted:scripted_world:respond", "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or not out.read_bytes().count(b"\n")):
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    kept = len(read_conversations(out))
    assert 1 <= kept < GOALS
    assert f"interrupted: {out} holds {kept} results ({kept} from this run)" in err
    assert "run the same command again to resume" in err
    assert "Traceback" not in err
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and f"({kept} already done, skipped)" in done.stderr
