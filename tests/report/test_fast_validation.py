"""Schema validation's fast path (added so reports and evaluation read 1,000 conversations quickly) accepts
only what jsonschema accepts, and leaves every error message as jsonschema words it."""

from __future__ import annotations

import copy
import json
import random
import time

import pytest

from ugst_dspy.schemas import SCHEMAS, SchemaError, _fast_check, _validator, validate

from .helpers import EXAMPLE, evil, synthetic

ODD_VALUES = [None, 0, 1, 1.5, True, False, "", "x", "ALIGNED", "COMPLETE", [], {}, [1], {"text": "t"}]


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from paths(sub, (*prefix, index))


def mutate(record, rng: random.Random):
    record = copy.deepcopy(record)
    where = rng.choice([p for p in paths(record) if p])
    parent = record
    for part in where[:-1]:
        parent = parent[part]
    action = rng.random()
    if action < 0.3 and isinstance(parent, dict):
        del parent[where[-1]]
    elif action < 0.45 and isinstance(parent, dict):
        parent[rng.choice(["extra", "status", "reason", "requirements", "text"])] = rng.choice(ODD_VALUES)
    else:
        parent[where[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return record


def records():
    with open(EXAMPLE, encoding="utf-8") as handle:
        out = [json.loads(line) for line in handle]
    return out + [c.to_json() for c in (*synthetic(3, seed=5), evil())]


def test_every_schema_has_a_fast_path():
    assert all(_fast_check(kind) is not None for kind in SCHEMAS)


@pytest.mark.parametrize("kind", ["conversation", "goal-state"])
def test_the_fast_path_never_accepts_what_jsonschema_refuses(kind):
    rng = random.Random(7)
    bases = records() if kind == "conversation" else [r["initial_state"] for r in records() if r["initial_state"]]
    fast, full = _fast_check(kind), _validator(kind)
    accepted = refused = 0
    for _ in range(1500):
        record = mutate(rng.choice(bases), rng)
        if fast(record):
            accepted += 1
            assert full.is_valid(record), record
        else:
            refused += 1
    for base in bases:
        assert fast(base)
    assert accepted and refused  # both branches were exercised


def test_errors_read_as_before():
    record = records()[0]
    record["turns"][1]["state"]["task_objectives"][0]["status"] = "ALIGNED"
    with pytest.raises(SchemaError) as err:
        validate("conversation", record)
    assert err.value.field == "turns[1].state.task_objectives[0].status"
    assert "'ALIGNED' is not one of ['INCOMPLETE', 'ATTEMPTED', 'COMPLETE']" in err.value.message
    del record["meta"]
    with pytest.raises(SchemaError, match="field 'meta': required field is missing"):
        validate("conversation", record)


def test_a_thousand_conversations_validate_in_well_under_a_second_each():
    record = records()[0]
    started = time.process_time()
    for _ in range(300):
        validate("conversation", record)
    assert (time.process_time() - started) / 300 < 0.002
