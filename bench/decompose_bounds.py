"""Decomposition bounds that follow the goal: what they come to on real goal sets, and what their grammars
cost to build on the tiny model (the Outlines index, the part that grows with the bound).

For τ-bench retail and airline test goals, 150 generated MultiWOZ goals and a synthetic goal of 26
sentences of 400 characters: the bound of a single call for the whole goal (what an API model gets), then
the local plan (pieces within ``LOCAL_GRAMMAR_BUDGET``): calls per goal, distinct bounds and their states.
Then one Outlines generator is built per bound in a fresh process each (seconds, peak RSS): the former fixed
bound (14 items of 160 characters), the largest bound the local plan uses, and optionally (``--whole``)
whole-goal bounds up to ``--max-states`` (25 items of 440 characters took 211 s and 6.6 GB here).

    python -m bench.decompose_bounds
    python -m bench.decompose_bounds --whole --max-states 12000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from bench.common import save, table, tiny_model

BUILD = r"""
import json, os, resource, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
items, text, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
import outlines, transformers
from dspy.adapters.json_adapter import _get_structured_outputs_response_format
from ugst_dspy.signatures.decompose import DecomposeGoalSignature, bounded_signature
signature = bounded_signature(DecomposeGoalSignature, items, text)
schema = _get_structured_outputs_response_format(signature).model_json_schema()
model = outlines.from_transformers(transformers.AutoModelForCausalLM.from_pretrained(folder),
                                   transformers.AutoTokenizer.from_pretrained(folder))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started = time.perf_counter()
outlines.Generator(model, outlines.types.JsonSchema(schema, whitespace_pattern=r"[ ]?"))
print(json.dumps({"seconds": time.perf_counter() - started, "rss_before_mb": before,
                  "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def goal_sets() -> dict[str, list[str]]:
    from ugst_dspy.envs.datafiles import PACKAGED_DATA
    from ugst_dspy.envs.multiwoz_goals import generate_multiwoz_goals

    def instructions(name: str) -> list[str]:
        path = PACKAGED_DATA / "tau_bench" / name
        return [json.loads(line)["instruction"] for line in path.read_text().splitlines() if line.strip()]

    synthetic = " ".join(f"Task {i} is to " + " ".join(f"item{i}w{j}" for j in range(40))[: 400 - 16] + "."
                         for i in range(26))
    return {
        "tau-retail test (115)": instructions("retail_test.jsonl"),
        "tau-airline test (50)": instructions("airline_test.jsonl"),
        "multiwoz generated (150, seed 1)": [g.instruction for g in generate_multiwoz_goals(150, 1)],
        "synthetic 26 x 400 characters": [synthetic],
    }


def plans(sets: dict[str, list[str]]) -> tuple[list[list[Any]], set[Any], Any]:
    from ugst_dspy.modules.goal_pieces import LOCAL_GRAMMAR_BUDGET, goal_bound, plan_pieces

    rows, local_bounds, whole_bounds = [], set(), set()
    for name, goals in sets.items():
        whole = [goal_bound(goal) for goal in goals]
        whole_bounds.update(whole)
        pieces = [plan_pieces(goal, LOCAL_GRAMMAR_BUDGET) for goal in goals]
        bounds = {piece.bound for plan in pieces for piece in plan}
        local_bounds.update(bounds)
        rows.append([name, max(b.max_items for b in whole), max(b.max_text for b in whole),
                     max(b.states for b in whole), sum(map(len, pieces)) / len(pieces), max(map(len, pieces)),
                     len(bounds), sum(b.states for b in bounds), max(b.states for b in bounds)])
    return rows, local_bounds, whole_bounds


def build_cost(items: int, text: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", BUILD, str(items), str(text), str(tiny_model())],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from ugst_dspy.modules.goal_pieces import LOCAL_GRAMMAR_BUDGET, Bound

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--whole", action="store_true", help="also build whole-goal bounds up to --max-states")
    parser.add_argument("--max-states", type=int, default=12000)
    args = parser.parse_args()
    rows, local, whole = plans(goal_sets())
    print(f"Bounds (local budget {LOCAL_GRAMMAR_BUDGET} states)")
    print(table(["goals", "whole: max items", "whole: max text", "whole: max states", "local calls/goal",
                 "local max calls", "local bounds", "their states", "largest"], rows))
    largest = max(local, key=lambda b: (b.states, b.max_text))
    targets = [("former fixed bound", Bound(14, 160)), ("largest local bound", largest)]
    if args.whole:
        targets += [("whole goal", b) for b in sorted(whole, key=lambda b: b.states) if b.states <= args.max_states]
    costs = []
    for label, bound in targets:
        cost = build_cost(bound.max_items, bound.max_text)
        costs.append({"label": label, "max_items": bound.max_items, "max_text": bound.max_text,
                      "states": bound.states, **cost})
        print(f"  {label} {bound.max_items} x {bound.max_text}: {cost}", flush=True)
    print(table(["bound", "items x text", "states", "build s", "index MB"],
                [[c["label"], f"{c['max_items']} x {c['max_text']}", c["states"], c["seconds"],
                  round(c["rss_peak_mb"] - c["rss_before_mb"])] for c in costs]))
    header = ["goals", "whole_max_items", "whole_max_text", "whole_max_states", "local_calls_per_goal",
              "local_max_calls", "local_bounds", "local_bound_states", "local_largest_states"]
    save("decompose_bounds", {"budget": LOCAL_GRAMMAR_BUDGET, "plans": [dict(zip(header, row)) for row in rows],
                              "builds": costs})


if __name__ == "__main__":
    main()
