"""Constrained decoding: valid rate and time of the status and decomposition schemas, with and without
Outlines, on the tiny random model and the embedded SmolLM2.

For each model and schema, N generations through the local engine with the schema (constrained) and N
without it (the same prompt, plain generation); each output is parsed as JSON and validated against the
schema. The table gives the valid rate and the mean seconds per call for both, and how often the
unconstrained output fails to parse.

    python -m bench.constrained                      # 1,000 per schema on the tiny model, 20 on SmolLM2
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


def decomposition_schema() -> dict[str, Any]:
    from ugst_dspy.signatures.decompose import Decomposition

    return Decomposition.model_json_schema()


PROMPTS = {
    "status": "Judge the task objective 'Exchange the keyboard' after: User: I want a clicky keyboard. "
              "Agent: Done, exchanged. Answer as JSON with reason and status.",
    "decomposition": "Decompose this user goal into sub-components as JSON: You are Yusuf Rossi in 19122. "
                     "Exchange the keyboard for a clicky one; you prefer RGB. You are detail-oriented.",
}


def request(prompt: str, schema: dict[str, Any] | None, max_tokens: int, seed: int) -> Any:
    from dspy.lm15 import Config, Message, Request

    config: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0.7, "seed": seed}
    if schema is not None:
        config["response_format"] = {"type": "json_schema", "schema": schema, "name": "out", "strict": True}
    return Request(model="local/bench", messages=(Message.user(prompt),), config=Config(**config))


def measure(engine: Any, name: str, schema: dict[str, Any], n: int, max_tokens: int) -> dict[str, Any]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    out: dict[str, Any] = {}
    for mode, sent in (("constrained", schema), ("unconstrained", None)):
        valid = parsed = 0
        started = time.perf_counter()
        for i in range(n):
            text = engine.complete(request(PROMPTS[name], sent, max_tokens, i)).message.parts[0].text
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                continue
            parsed += 1
            valid += validator.is_valid(value)
        out[mode] = {"calls": n, "valid": valid, "parsed": parsed,
                     "seconds_per_call": (time.perf_counter() - started) / max(n, 1)}
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
            results[f"{label}/{name}"] = measure(engine, name, schema, n, 96 if name == "status" else 768)
            print(f"  {label}/{name}: {results[f'{label}/{name}']}", flush=True)
    return results


def render(results: dict[str, Any]) -> str:
    rows = []
    for key, r in results.items():
        c, u = r["constrained"], r["unconstrained"]
        rows.append([key, c["calls"], f"{100 * c['valid'] / c['calls']:.1f}%", c["seconds_per_call"],
                     f"{100 * u['valid'] / u['calls']:.1f}%", f"{100 * (1 - u['parsed'] / u['calls']):.1f}%",
                     u["seconds_per_call"]])
    head = ["model/schema", "calls", "valid (constrained)", "s/call (constrained)", "valid (free)",
            "unparseable (free)", "s/call (free)"]
    return table(head, rows)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", type=int, default=1000, help="generations per schema on the tiny model")
    parser.add_argument("--embedded", type=int, default=20, help="generations per schema on SmolLM2")
    args = parser.parse_args(argv)
    results = run(args.tiny, args.embedded)
    print(render(results))
    save("constrained", {"results": results})
    return results


if __name__ == "__main__":
    main()
