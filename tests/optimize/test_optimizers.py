"""Each DSPy optimiser compiles a state-steered simulator offline; the result saves, loads and runs."""

from __future__ import annotations

import dspy
import pytest

from ugst_dspy.errors import UgstError
from ugst_dspy.optimizers.metric import make_ugst_metric
from ugst_dspy.optimizers.optimize import optimize_program, score_program
from ugst_dspy.optimizers.trainset import build_trainset, split_examples
from ugst_dspy.programs.io import build_program, load_program, save_program
from ugst_dspy.signatures.simulate import SIMULATOR_INSTRUCTIONS

from .scripted_optimize import GOOD, PROPOSAL


@pytest.fixture
def split(conversations):
    return split_examples(build_trainset(conversations).examples, train=4, val=2, seed=0)


@pytest.mark.parametrize("optimizer", ["bootstrap", "random-search", "mipro", "gepa"])
def test_an_optimiser_compiles_saves_loads_and_runs(optimizer, split, lms, json_adapter, tmp_path):
    if optimizer == "mipro":
        pytest.importorskip("optuna", reason="the [optimize] extra is not installed")
    metric = make_ugst_metric(tracker_lm=lms["tracker"])
    program = build_program("simulator", "state-steered")
    before = score_program(program, split.train + split.val, metric, lm=lms["simulator"])
    compiled = optimize_program(program, split.train, split.val, metric, optimizer=optimizer, trials=2, seed=1,
                                lm=lms["simulator"], reflection_lm=lms["reflection"])
    after = score_program(compiled, split.train + split.val, metric, lm=lms["simulator"])
    assert compiled is not program and not program.respond.demos  # the input program is left as it was
    instructions = compiled.respond.signature.instructions
    if optimizer in ("bootstrap", "random-search"):
        assert instructions.startswith(SIMULATOR_INSTRUCTIONS)
        if optimizer == "bootstrap":  # demos are the traces that reached the threshold: the turn-2 replies
            assert compiled.respond.demos and all(d["reply"] == GOOD for d in compiled.respond.demos)
    else:  # the proposer's instruction wins: with it every reply completes the tasks
        assert instructions == PROPOSAL
        assert after.mean == 1.0 > before.mean
    assert after.mean >= before.mean and after.failed == 0

    path = save_program(compiled, tmp_path / f"{optimizer}.json")
    loaded = load_program(path)
    assert loaded.respond.signature.instructions == instructions
    assert len(loaded.respond.demos) == len(compiled.respond.demos)
    example = split.val[0]
    with dspy.context(lm=lms["simulator"]):
        said = loaded(**example.inputs())
    assert said.reply in (GOOD, "Hello, I need some help with an order.") and said.stop is False


def test_bad_requests_fail_with_one_line(split, lms):
    metric = make_ugst_metric(tracker_lm=lms["tracker"])
    program = build_program("simulator", "state-steered")
    with pytest.raises(UgstError, match="unknown optimizer 'copro'"):
        optimize_program(program, split.train, split.val, metric, optimizer="copro")
    with pytest.raises(UgstError, match="gepa optimizer needs a reflection LM"):
        optimize_program(program, split.train, split.val, metric, optimizer="gepa", lm=lms["simulator"])
    with pytest.raises(UgstError, match="train set is empty"):
        optimize_program(program, [], split.val, metric)
