"""A record is validated once on read, by its model; the JSON Schemas ``ugst schema`` prints are generated from the
same models, so the reader and the printed schema accept exactly the same records (checked on many mutations)."""

from __future__ import annotations

import copy
import json
import random

import pytest

from ugst_dspy.conversation import Conversation
from ugst_dspy.errors import FieldError
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.schemas import SCHEMAS, SchemaError, _validator, model_reader, validate
from ugst_dspy.state import Category, Status

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
    # meta.rules picks the rule set the reader checks statuses against; a schema can only say the default's
    where = rng.choice([p for p in paths(record) if p and p[:2] != ("meta", "rules")])
    parent = record
    for part in where[:-1]:
        parent = parent[part]
    action = rng.random()
    if action < 0.3 and isinstance(parent, dict):
        del parent[where[-1]]
    elif action < 0.45 and isinstance(parent, dict):
        parent[rng.choice(["extra", "status", "reason", "requirements", "text", "format", "seed", "usage"])] = \
            rng.choice(ODD_VALUES)
    else:
        parent[where[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return record


def records():
    with open(EXAMPLE, encoding="utf-8") as handle:
        out = [json.loads(line) for line in handle]
    return out + [c.to_json() for c in (*synthetic(3, seed=5), evil())]


def accepts(kind, record) -> bool:
    try:
        model_reader(kind)(record)
    except FieldError:
        return False
    return True


@pytest.mark.parametrize("kind", ["conversation", "goal-state", "decomposition"])
def test_the_reader_and_the_printed_schema_accept_the_same_records(kind):
    rng = random.Random(7)
    bases = records()
    if kind == "goal-state":
        bases = [r["initial_state"] for r in bases if r["initial_state"]]
    elif kind == "decomposition":
        bases = [{"goal_id": r["goal_id"], "instruction": r["instruction"], "state": r["initial_state"]}
                 for r in bases if r["initial_state"]]
    schema = _validator(kind)
    accepted = refused = 0
    for _ in range(1500):
        record = mutate(rng.choice(bases), rng)
        ok = accepts(kind, record)
        assert ok == schema.is_valid(record), (ok, record)
        accepted, refused = accepted + ok, refused + (not ok)
    assert all(accepts(kind, base) and schema.is_valid(base) for base in bases)
    assert accepted > 100 and refused > 100  # both branches were exercised


def test_errors_name_the_field():
    record = records()[0]
    record["turns"][1]["state"]["task_objectives"][0]["status"] = "ALIGNED"
    with pytest.raises(SchemaError) as err:
        validate("conversation", record)
    assert err.value.field == "turns[1].state.task_objectives[0].status"
    assert err.value.message == ("'ALIGNED' is not a task_objective status under rule set 'default' "
                                 "(one of INCOMPLETE, ATTEMPTED, COMPLETE)")
    record["turns"][1]["state"]["task_objectives"][0]["status"] = "DONE"
    with pytest.raises(SchemaError) as err:
        validate("conversation", record)
    assert err.value.field == "turns[1].state.task_objectives[0].status"
    assert "'ALIGNED', 'MISALIGNED', 'INCOMPLETE', 'ATTEMPTED' or 'COMPLETE' (got 'DONE')" in err.value.message
    del record["turns"][0]["agent"]
    with pytest.raises(SchemaError, match=r"^field 'turns\[0\].agent': required field is missing$"):
        validate("conversation", record)
    del record["meta"]
    with pytest.raises(SchemaError, match="^field 'meta': required field is missing$"):
        validate("conversation", record)


def test_typed_meta_refuses_a_wrong_type_and_keeps_unknown_keys():
    record = records()[0]
    record["meta"]["seed"] = "3"
    with pytest.raises(SchemaError, match=r"^field 'meta.seed': Input should be a valid integer \(got '3'\)$"):
        validate("conversation", record)
    record["meta"]["seed"] = 3
    record["meta"]["annotator"] = {"name": "human", "pass": 2}
    conversation = Conversation.from_json(record)
    assert conversation.meta.seed == 3 and conversation.meta.annotator == {"name": "human", "pass": 2}
    assert conversation.to_json()["meta"] == record["meta"]  # read and written back, nothing lost or added


def test_statuses_are_checked_against_the_records_own_rule_set():
    record = records()[0]
    lenient = DEFAULT_RULES.to_json()
    lenient["name"] = "lenient"
    lenient["transitions"]["user_profile"]["COMPLETE"] = ["COMPLETE"]
    record["meta"]["rules"] = lenient
    record["turns"][0]["state"]["user_profile"][0]["status"] = "COMPLETE"
    conversation = Conversation.from_json(record)  # COMPLETE is a user_profile status of this rule set
    assert conversation.rules == RuleSet.from_json(lenient)
    assert conversation.rules.statuses(Category.USER_PROFILE)[-1] is Status.COMPLETE
    record["meta"]["rules"] = "default"
    with pytest.raises(SchemaError, match="not a user_profile status under rule set 'default'"):
        validate("conversation", record)
    record["meta"]["rules"] = "nonesuch"
    with pytest.raises(SchemaError, match="^field 'meta.rules': unknown rule set 'nonesuch'"):
        validate("conversation", record)


def test_every_kind_has_a_schema_and_the_model_kinds_a_reader():
    assert set(SCHEMAS) == {"goal-state", "goal", "decomposition", "conversation"}
    assert all(model_reader(kind) is not None for kind in ("goal-state", "decomposition", "conversation"))
    assert model_reader("goal") is None  # a goal's fields beside id and instruction are the user's own
