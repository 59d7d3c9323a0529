"""Constrained decoding: valid rate and time of the status and decomposition schemas, with and without
Outlines, on the tiny random model and the embedded SmolLM2.

For each model and schema, N greedy generations through the local engine with the schema (constrained)
and N/10 without it (plain generation), the prompt numbered so each is a different input, sent from 8
threads so the engine batches them; each output is parsed as JSON and validated against the schema. Then
up to 20 of each run one at a time for the seconds per call. The table gives the valid rate, the seconds
per call alone and batched, and how often the unconstrained output fails to parse.

    python -m bench.constrained                      # 1,000 per schema on the tiny model; 40 status, 8 decompositions on SmolLM2
    python -m bench.constrained --tiny 200 --embedded 0
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from bench.common import save, table, tiny_model

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"reason": {"type": "string"}, "status": {"enum": ["INCOMPLETE", "ATTEMPTED", "COMPLETE"]}},
    "required": ["reason", "status"],
    "additionalProperties": False,
}


GOAL = "You are Yusuf Rossi in 19122. Exchange the keyboard for a clicky one; you prefer RGB. You are detail-oriented."


def decomposition_bound() -> Any:
    """The bound DecomposeGoal gives this goal's decomposition (it follows the goal: 8 items of 128 characters)."""
    from ugst_dspy.modules.goal_pieces import goal_bound

    return goal_bound(GOAL)


def decomposition_schema() -> dict[str, Any]:
    from ugst_dspy.signatures.decompose import decomposition_type

    bound = decomposition_bound()
    return decomposition_type(bound.max_items, bound.max_text).model_json_schema()


PROMPTS = {
    "status": "Judge the task objective 'Exchange the keyboard' after: User: I want a clicky keyboard. "
              "Agent: Done, exchanged. Answer as JSON with reason and status.",
    "decomposition": f"Decompose this user goal into sub-components as JSON: {GOAL}",
}


def request(prompt: str, schema: dict[str, Any] | None, max_tokens: int) -> Any:
    from dspy.lm15 import Config, Message, Request

    config: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0.0}
    if schema is not None:
        config["response_format"] = {"type": "json_schema", "schema": schema, "name": "out", "strict": True}
    return Request(model="local/bench", messages=(Message.user(prompt),), config=Config(**config))


def _generate(engine: Any, name: str, schema: dict[str, Any] | None, n: int, max_tokens: int,
              threads: int) -> tuple[list[str], float]:
    """``n`` greedy generations of the prompt numbered 0..n-1 from ``threads`` threads; texts, wall seconds."""
    from concurrent.futures import ThreadPoolExecutor

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        texts = list(pool.map(lambda i: engine.complete(request(f"{PROMPTS[name]} (case {i})", schema, max_tokens))
                              .message.parts[0].text, range(n)))
    return texts, time.perf_counter() - started


def _check(texts: list[str], schema: dict[str, Any]) -> tuple[int, int]:
    """(parsed, valid) counts."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    parsed = valid = 0
    for text in texts:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            continue
        parsed += 1
        valid += validator.is_valid(value)
    return parsed, valid


def measure(engine: Any, name: str, schema: dict[str, Any], n: int, free: int, timed: int,
            max_tokens: int) -> dict[str, Any]:
    """``n`` constrained and ``free`` unconstrained generations from 8 threads (the engine batches them),
    then ``timed`` of each one at a time for the seconds per call."""
    out: dict[str, Any] = {}
    for mode, sent, count in (("constrained", schema, n), ("unconstrained", None, free)):
        if sent is not None:
            _generate(engine, name, sent, 1, max_tokens, threads=1)  # warm up: the schema's index is built once
        texts, seconds = _generate(engine, name, sent, count, max_tokens, threads=8)
        parsed, valid = _check(texts, schema)
        # one call from 8 threads already ran alone (a SmolLM2 free decomposition takes a minute)
        single = seconds if count == 1 and timed == 1 else _generate(engine, name, sent, timed, max_tokens, threads=1)[1]
        out[mode] = {"calls": count, "valid": valid, "parsed": parsed, "batched_seconds_per_call": seconds / count,
                     "timed_calls": timed, "seconds_per_call": single / max(timed, 1)}
    return out


def run(tiny: int, embedded: int) -> dict[str, Any]:
    from ugst_dspy.engines.embedded import embedded_model_dir
    from ugst_dspy.engines.local import TransformersEngine

    results: dict[str, Any] = {}
    for label, folder, n, options in (
        ("tiny", tiny_model(), tiny, {"max_string_length": 16, "max_items": 3}),
        ("embedded", embedded_model_dir() if embedded else None, embedded, {}),
    ):
        if not n or folder is None:
            continue
        engine = TransformersEngine(folder, **options)
        for name, schema in (("status", STATUS_SCHEMA), ("decomposition", decomposition_schema())):
            if name == "decomposition" and label == "embedded":
                n = max(1, n // 5)  # SmolLM2 writes to every bound
            free, timed = max(1, n // 10), max(1, min(20, n // 10))
            # a decomposition gets the tokens its bound may need, as DecomposeGoal gives it
            tokens = 96 if name == "status" else decomposition_bound().worst_case_tokens()
            results[f"{label}/{name}"] = measure(engine, name, schema, n, free, timed, tokens)
            print(f"  {label}/{name}: {results[f'{label}/{name}']}", flush=True)
    return results


def render(results: dict[str, Any]) -> str:
    rows = []
    for key, r in results.items():
        c, u = r["constrained"], r["unconstrained"]
        rows.append([key, c["calls"], f"{100 * c['valid'] / c['calls']:.1f}%", c["seconds_per_call"],
                     c["batched_seconds_per_call"], u["calls"], f"{100 * u['valid'] / u['calls']:.1f}%",
                     f"{100 * (1 - u['parsed'] / u['calls']):.1f}%", u["seconds_per_call"]])
    head = ["model/schema", "constrained calls", "valid", "s/call alone", "s/call, 8 threads batched",
            "free calls", "valid (free)", "unparseable (free)", "s/call alone (free)"]
    return table(head, rows)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", type=int, default=1000, help="generations per schema on the tiny model")
    parser.add_argument("--embedded", type=int, default=40, help="generations per schema on SmolLM2")
    args = parser.parse_args(argv)
    results = run(args.tiny, args.embedded)
    print(render(results))
    save("constrained", {"results": results})
    return results


if __name__ == "__main__":
    main()
