"""``--executor ray``: conversations run in Ray workers, records stream back, and the command alone writes ``--out``.

One local Ray cluster (2 CPUs, no dashboard) serves the module; its workers find ``tests/`` through the job's
runtime environment, and the runs of this process join it. Records are compared with the thread executor's
for the same command and seed, without the fields that time the run (``seconds``, ``usage``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")

from ugst_dspy.cli.app import main  # noqa: E402
from ugst_dspy.files.conversations import read_conversations  # noqa: E402
from ugst_dspy.files.failures import failures_path, read_failures  # noqa: E402

from conftest import REPO  # noqa: E402

SCRIPTED = "scripted:scripted_world:respond"
DYING = "scripted:scale.dying_world:respond"
PYTHONPATH = os.pathsep.join([str(REPO / "tests"), str(REPO)])
SIMULATE = ["simulate", "--env", "tau-retail", "--turns", "3", "--workers", "2"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A local Ray cluster for the module: its address, and the control folder of ``scale.dying_world``."""
    dying = tmp_path_factory.mktemp("dying")
    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             runtime_env={"env_vars": {"PYTHONPATH": PYTHONPATH, "DYING_WORLD": str(dying)}}, logging_level="WARNING")
    try:
        yield SimpleNamespace(address=ray.get_runtime_context().gcs_address, dying=dying)
    finally:
        ray.shutdown()


def records(path: Path) -> dict[str, dict[str, Any]]:
    """The records of a file by id, without what times the run."""
    found = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        meta = record["meta"]
        meta.pop("seconds", None)
        meta.pop("usage", None)
        if isinstance(meta.get("tracking"), dict):
            meta["tracking"].pop("seconds", None)
        assert record["id"] not in found, f"{record['id']} written twice"
        found[record["id"]] = record
    return found


def test_bad_executor_flags_are_one_line_and_touch_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "runs.jsonl"
    base = [*SIMULATE, "--limit", "1", "--model", SCRIPTED, "--out", str(out)]
    assert main([*base, "--executor", "dask"]) == 2
    assert "ugst: error: unknown --executor 'dask' (use thread or ray)" in capsys.readouterr().err
    assert main([*base, "--ray-address", "auto"]) == 2
    assert "ugst: error: --ray-address needs --executor ray" in capsys.readouterr().err
    assert main(["track", str(out), "--out", str(tmp_path / "t.jsonl"), "--ray-address", "auto"]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # a base install, as far as imports can tell
    assert main([*base, "--executor", "ray"]) == 2
    assert ("ugst: error: --executor ray needs the 'ray' extra (no module named 'ray'): "
            "pip install 'ugst-dspy[ray]'") in capsys.readouterr().err
    assert not out.exists()


def test_ray_is_imported_only_by_a_run_that_uses_it():
    code = ("import sys\nfrom ugst_dspy.cli.app import main\nimport ugst_dspy\n"
            "main(['simulate', '--help']); main(['track', '--help'])\nprint('RAY', 'ray' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "--executor" in result.stdout and "--ray-address" in result.stdout and "RAY False" in result.stdout


def test_ray_writes_the_records_threads_write(cluster, tmp_path, capsys):
    args = [*SIMULATE, "--limit", "4", "--model", SCRIPTED, "--seed", "3", "--behaviour", "impatience:rate=1"]
    threads, fanned = tmp_path / "threads.jsonl", tmp_path / "ray.jsonl"
    assert main([*args, "--out", str(threads)]) == 0
    capsys.readouterr()
    assert main([*args, "--out", str(fanned), "--executor", "ray"]) == 0
    assert "4 conversations, 0 skipped, 0 failed" in capsys.readouterr().err
    assert ray.is_initialized()  # the run joined this process's cluster and left it running
    expected = records(threads)
    assert len(expected) == 4 and records(fanned) == expected
    assert all(r["meta"]["behaviour"] == "impatience" for r in expected.values())  # the recipe carried it
    assert main([*args, "--out", str(fanned), "--executor", "ray"]) == 0  # resumes: nothing left to do
    assert "0 conversations, 4 skipped, 0 failed" in capsys.readouterr().err


def test_a_dead_worker_loses_only_its_conversation_once_retried_then_failed(cluster, tmp_path, capsys):
    """The worker running retail-test-2 dies once (Ray runs it again: written), the one running
    retail-test-3 dies twice (a failure in OUT.failed, exit 1); the rerun retries it. Each goal once."""
    (cluster.dying / "plan.json").write_text(json.dumps({"return the cleaner": 1, "pending small tshirt": 2}))
    out = tmp_path / "runs.jsonl"
    args = [*SIMULATE, "--limit", "5", "--model", DYING, "--executor", "ray", "--out", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "4 conversations, 0 skipped, 1 failed" in err
    assert len(list(cluster.dying.glob("died-*"))) == 3
    assert sorted(records(out)) == [f"retail-test-{i}" for i in (0, 1, 2, 4)]
    failure = read_failures(out)["retail-test-3"]
    assert set(read_failures(out)) == {"retail-test-3"} and failure.record is None
    assert failure.error["type"] == "WorkerDied"
    assert "the Ray worker running it died, 2 times" in failure.error["message"]
    assert main(args) == 0  # the plan is spent: the rerun retries it, and it goes through
    assert "1 conversations, 4 skipped, 0 failed" in capsys.readouterr().err
    assert sorted(records(out)) == [f"retail-test-{i}" for i in range(5)]
    assert not failures_path(out).exists()


def test_track_on_ray_tracks_as_threads_do(cluster, tmp_path, capsys):
    source = tmp_path / "untracked.jsonl"
    assert main([*SIMULATE, "--limit", "3", "--model", SCRIPTED, "--no-track", "--out", str(source)]) == 0
    threads, fanned = tmp_path / "threads.jsonl", tmp_path / "ray.jsonl"
    track = ["track", str(source), "--model", SCRIPTED, "--workers", "2"]
    assert main([*track, "--out", str(threads)]) == 0
    capsys.readouterr()
    assert main([*track, "--out", str(fanned), "--executor", "ray"]) == 0
    assert "3 tracked, 0 skipped, 0 failed" in capsys.readouterr().err
    expected = records(threads)
    assert len(expected) == 3 and records(fanned) == expected
    assert all(turn["state"] is not None for r in expected.values() for turn in r["turns"])


def test_a_command_joins_a_running_cluster_by_address(cluster, tmp_path):
    """``--ray-address``: another process's run joins the module's cluster; its PYTHONPATH goes with it."""
    out = tmp_path / "runs.jsonl"
    command = [sys.executable, "-m", "ugst_dspy", *SIMULATE, "--limit", "2", "--model", SCRIPTED, "--out", str(out),
               "--executor", "ray", "--ray-address", cluster.address]
    done = subprocess.run(command, env={**os.environ, "PYTHONPATH": PYTHONPATH}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(records(out)) == ["retail-test-0", "retail-test-1"]
    assert ray.get(ray.remote(lambda: 1).remote()) == 1  # the cluster is still up for the others


def raylets() -> set[int]:
    import psutil

    return {p.pid for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("raylet")}


def test_ctrl_c_keeps_what_was_written_and_stops_the_cluster_the_run_started(cluster, tmp_path):
    """No ``--ray-address``: the run starts its own local cluster, and stops it when interrupted."""
    before = raylets()
    out = tmp_path / "runs.jsonl"
    command = [sys.executable, "-m", "ugst_dspy", *SIMULATE, "--limit", "8", "--model", SCRIPTED, "--out", str(out),
               "--executor", "ray"]
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, "SCRIPTED_DELAY": "0.1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and (not out.exists() or not out.read_bytes().count(b"\n")):
        time.sleep(0.05)
    assert raylets() - before  # its own cluster
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    kept = len(read_conversations(out))
    assert 1 <= kept < 8
    assert f"interrupted: {out} holds {kept} results ({kept} from this run)" in err and "Traceback" not in err
    deadline = time.time() + 30
    while time.time() < deadline and raylets() - before:
        time.sleep(0.2)
    assert not raylets() - before  # the cluster it started is gone
    resumed = subprocess.run([c for c in command if c not in ("--executor", "ray")],
                             env={**env, "SCRIPTED_DELAY": "0"}, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0 and f"({kept} already done, skipped)" in resumed.stderr
    assert sorted(records(out)) == sorted(f"retail-test-{i}" for i in range(8))


@pytest.mark.slow
def test_the_tiny_model_in_ray_workers_says_what_it_says_in_threads(cluster, tmp_path, tiny_model_dir,
                                                                    one_torch_thread):
    """The simulator played by the tiny random model (every other role scripted), greedy: each Ray worker
    loads the model from the recipe and writes the records the thread pool writes."""
    from ugst_dspy.cli.simulate import SimulationRecipe
    from ugst_dspy.config import UGSTConfig
    from ugst_dspy.envs.registry import default_goals_path
    from ugst_dspy.files.conversations import ConversationWriter
    from ugst_dspy.files.goals import read_goals
    from ugst_dspy.runner.batch import run_batch
    from ugst_dspy.runner.executors import ray_executor

    config = UGSTConfig.resolve(None, {"all": SCRIPTED, "simulator": str(tiny_model_dir)}, env={}, max_turns=2)
    config.roles["simulator"].temperature, config.roles["simulator"].max_tokens = 0.0, 200
    # random weights fill every string to its bound: the small bounds of the other tiny-model tests
    recipe = SimulationRecipe(config, "tau-retail", "prompt", None, None, False, "dspy", 5, True, None,
                              engine_options={"max_string_length": 16, "max_items": 2})
    goals = read_goals(default_goals_path("tau-retail", None), limit=2)
    runner = recipe.build()
    for name, executor in (("threads", None), ("ray", ray_executor(recipe))):
        with ConversationWriter(tmp_path / f"{name}.jsonl", settings=runner.settings()) as writer:
            report = run_batch(goals, lambda g: g.id, runner, writer, workers=2, executor=executor)
        assert report.written == 2 and not report.failed, report.failed
    expected = records(tmp_path / "threads.jsonl")
    assert records(tmp_path / "ray.jsonl") == expected
    assert all(r["meta"]["models"]["simulator"] == str(tiny_model_dir) for r in expected.values())
