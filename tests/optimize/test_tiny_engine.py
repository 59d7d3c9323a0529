"""Bootstrap through the real local engine (a random tiny Llama with Outlines-constrained JSON)."""

from __future__ import annotations

import dspy
import pytest

from ugst_dspy.config import UGSTConfig
from ugst_dspy.engines.spec import ModelPool
from ugst_dspy.optimizers.metric import make_ugst_metric
from ugst_dspy.optimizers.optimize import optimize_program
from ugst_dspy.optimizers.trainset import build_trainset
from ugst_dspy.programs.io import build_program, load_program, save_program

pytestmark = pytest.mark.slow  # ~12 s with the tiny model made (about 20 s on a busy machine)


def test_bootstrap_with_a_local_model_saves_a_program_that_runs(tiny_model_dir, one_torch_thread, conversations, tmp_path):
    config = UGSTConfig.resolve(None, {"all": str(tiny_model_dir)}, env={})
    for role in config.roles.values():
        role.max_tokens = 200
    pool = ModelPool(config, engine_options={"max_string_length": 16, "max_items": 2})  # short, parseable JSON
    example = build_trainset(conversations[:1]).examples[1]
    metric = make_ugst_metric(tracker_lm=pool.lm("tracker"))
    program = build_program("simulator", "state-steered")
    with dspy.context(adapter=dspy.JSONAdapter()):
        compiled = optimize_program(program, [example], None, metric, max_demos=1, metric_threshold=0.0,
                                    lm=pool.lm("simulator"))
        assert len(compiled.respond.demos) == 1  # any trace passes a threshold of 0
        loaded = load_program(save_program(compiled, tmp_path / "tiny.json"))
        assert len(loaded.respond.demos) == 1
        with dspy.context(lm=pool.lm("simulator")):
            said = loaded(**example.inputs())
    assert isinstance(said.reply, str) and isinstance(said.stop, bool)
