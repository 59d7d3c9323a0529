"""The as-published environments behave exactly like τ-bench: every gold action of all 685 tasks (retail test,
train, dev; airline test) returns upstream's string byte for byte, and the final database hashes as upstream's
does (the oracle ``tau_bench/upstream_replay.jsonl``, made with the upstream tools; see its SOURCE.md)."""

from __future__ import annotations

import functools

import pytest

from ugst_dspy.envs.datafiles import data_dir, read_json_lines
from ugst_dspy.envs.registry import make_env
from ugst_dspy.envs.tau_common import load_tasks
from ugst_dspy.envs.tau_outcome import replay

SPLITS = [("retail", "test"), ("retail", "train"), ("retail", "dev"), ("airline", "test")]


@functools.cache
def oracle() -> list[dict]:
    return read_json_lines(data_dir() / "tau_bench" / "upstream_replay.jsonl")


def test_the_oracle_covers_every_task_of_every_split():
    counts = {(d, s): sum(1 for line in oracle() if (line["domain"], line["split"]) == (d, s)) for d, s in SPLITS}
    assert counts == {(d, s): len(load_tasks(d, s)) for d, s in SPLITS}
    assert sum(counts.values()) == 685


def mismatches(domain: str, split: str) -> list[str]:
    """One line per task whose outputs or final database differ from upstream's."""
    tasks = load_tasks(domain, split)
    found = []
    for line in oracle():
        if (line["domain"], line["split"]) != (domain, split):
            continue
        task = tasks[line["index"]]
        env = make_env(f"tau-{domain}")
        outputs = replay(env, task["actions"])
        for n, (ours, theirs) in enumerate(zip(outputs, line["outputs"])):
            if ours != theirs:
                found.append(f"{task['id']} action {n} {task['actions'][n]['name']}: ours {ours[:160]!r} "
                             f"upstream {theirs[:160]!r}")
                break
        else:
            if len(outputs) != len(line["outputs"]):
                found.append(f"{task['id']}: {len(outputs)} outputs, upstream {len(line['outputs'])}")
            elif env.state_hash() != line["final_db_sha256"]:
                found.append(f"{task['id']}: same outputs, another final database")
    return found


@pytest.mark.parametrize(("domain", "split"), SPLITS, ids=[f"{d}-{s}" for d, s in SPLITS])
def test_gold_actions_replay_exactly_as_upstream(domain, split):
    found = mismatches(domain, split)
    assert not found, f"{len(found)} tasks differ from upstream, e.g.:\n" + "\n".join(found[:8])
