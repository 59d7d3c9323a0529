"""Engines: llama.cpp (``LlamaCppEngine``) against transformers (``TransformersEngine``) on the same model.

For each (model, engine) row, through the engine's own ``complete`` (a DSPy lm15 request, as every role sends):

- **prompt tok/s**: a fixed prompt (the first ``--prompt-chars`` characters of the τ-retail policy, to be
  summarised), ``max_tokens=1``, nothing of it seen before (llama.cpp's prefix cache emptied first); the
  median of ``--repeats`` runs.
- **generation tok/s**: a fixed short prompt, greedy, ``--gen-tokens`` new tokens: the time of that call
  minus the time of the same call with ``max_tokens=1`` (both with the prompt already seen), per generated
  token after the first; the median of ``--repeats`` pairs.
- **JSON gen tok/s**: the same, decoding constrained to a JSON schema of one string of at least 250
  characters through the engine's own mechanism (a llama.cpp grammar; an Outlines index for transformers,
  whose strings are bounded to 300 characters, so it may stop before ``--gen-tokens``: the tokens it made
  are shown).
- **agent prompt, cold and reused**: the τ-bench retail agent's step prompt exactly as
  :class:`~ugst_dspy.agents.dspy_agent.DSPyToolAgent` builds it (the real policy as instructions, the tool
  catalogue, JSONAdapter's formatting; ~3,500 tokens), ``max_tokens=1`` and no schema, so the time is the
  prompt's processing. Cold: nothing cached. Then another role's call (the user simulator's prompt, as in a
  run between two agent turns), then the agent's prompt of the next turn (the same prompt extended by one
  user-agent turn): "reused" is that call's time. "computed" counts the tokens llama.cpp had to evaluate
  (prompt minus the prefix it resumed from); transformers has no prefix cache and computes all of them.

llama.cpp runs the GGUF itself (Q4); transformers runs the converted float32 checkpoint of the same GGUF
(``embedded_checkpoint``). One model is loaded at a time, and only one engine runs at a time.

    python -m bench.engines                                  # SmolLM2 both engines, Qwen on llama.cpp
    python -m bench.engines --models smollm2 --repeats 1
    python -m bench.engines --transformers-qwen              # also Qwen on transformers (converts 6 GB, slow)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from bench.common import save, table

GEN_PROMPT = "Write a long, detailed story about a lighthouse keeper and a storm. Do not stop early."
USER_1 = "Hi, I'm Yusuf Rossi, zip code 19122. I want to exchange the mechanical keyboard from a delivered order."
AGENT_1 = "Thank you, Yusuf. I found your account. Which order is it, and which keyboard would you like instead?"
USER_2 = "It's order #W2378156. I'd like one with clicky switches, and also exchange the smart thermostat."
SKIPPED_QWEN_TRANSFORMERS = (
    "skipped: converting the GGUF into a float32 checkpoint (6.2 GB) and loading it take minutes "
    "(85 s to load the GGUF alone, STACK-NOTES), and at ~3.5 gen tok/s and two cold ~3.5k-token agent "
    "prompts the row alone would take several more; run with --transformers-qwen"
)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# at least 250 characters (~60 tokens), so the answer cannot close early; transformers bounds strings to 300
STORY_SCHEMA = {"type": "object", "properties": {"story": {"type": "string", "minLength": 250}}, "required": ["story"]}


def request(system: str | None, user: str, max_tokens: int, schema: dict[str, Any] | None = None) -> Any:
    from dspy.lm15 import Config, Message, Request

    response_format = {"type": "json_schema", "schema": schema, "name": "answer"} if schema else None
    return Request(model="bench", system=system, messages=(Message.user(user),),
                   config=Config(max_tokens=max_tokens, temperature=0.0, response_format=response_format))


def chat_request(messages: list[dict[str, str]], max_tokens: int) -> Any:
    """A request from an adapter's formatted messages (a system message, then the user message)."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else None
    rest = messages[1:] if system is not None else messages
    assert len(rest) == 1 and rest[0]["role"] == "user", "one user message expected"
    return request(system, rest[0]["content"], max_tokens)


def agent_messages() -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]]:
    """The agent's step prompt at turn 1 and turn 2 (as DSPyToolAgent builds them), and the user simulator's
    prompt of turn 2 in between (as the state-steered simulator of the main job builds it)."""
    import dspy

    from ugst_dspy.agents.base import tool_catalogue
    from ugst_dspy.agents.dspy_agent import DSPyToolAgent, agent_view
    from ugst_dspy.conversation import Turn
    from ugst_dspy.envs.registry import make_env
    from ugst_dspy.files.goals import read_goals
    from ugst_dspy.envs.registry import default_goals_path
    from ugst_dspy.modules.simulators import StateSteeredSimulator
    from ugst_dspy.rules import DEFAULT_RULES

    env = make_env("tau-retail")
    agent = DSPyToolAgent()
    signature = agent.signature_for(env)
    adapter = dspy.JSONAdapter()
    tools = tool_catalogue(env.schemas)

    def agent_prompt(turns: list[Turn], message: str) -> list[dict[str, str]]:
        inputs = {"tools": tools, "conversation": agent_view(turns, message), "tool_results": "(none yet)"}
        return adapter.format(signature, demos=[], inputs=inputs)

    first = agent_prompt([], USER_1)
    turns = [Turn(user=USER_1, agent=AGENT_1)]
    second = agent_prompt(turns, USER_2)
    goal = read_goals(default_goals_path("tau-retail"), limit=1)[0].instruction
    state = DEFAULT_RULES.new_state(["You are Yusuf Rossi in 19122."], ["You are detail-oriented."],
                                    ["Exchange the mechanical keyboard for one with clicky switches."])
    simulator = StateSteeredSimulator()
    between = adapter.format(simulator.respond.signature, demos=[], inputs=simulator.inputs(goal, turns, state))
    return first, between, second


def policy_prompt(chars: int) -> str:
    from ugst_dspy.envs.registry import make_env

    policy = make_env("tau-retail").policy
    return "Summarise this policy in three sentences.\n\n" + policy[:chars]


# -- engines -------------------------------------------------------------------------------------------


def make_engine(model: str, kind: str, threads: int | None = None) -> Any:
    if kind == "llamacpp":
        from ugst_dspy.engines.catalog import embedded_model, gguf_path
        from ugst_dspy.engines.llamacpp import LlamaCppEngine

        entry = embedded_model(model)
        return LlamaCppEngine(gguf_path(entry.name), name=f"llamacpp-{entry.name}", seed=0, n_threads=threads)
    from ugst_dspy.engines.embedded import embedded_checkpoint
    from ugst_dspy.engines.local import TransformersEngine

    return TransformersEngine(embedded_checkpoint(model), seed=0)


def forget(engine: Any) -> None:
    """Empty llama.cpp's prefix cache and its evaluated context, so the next prompt is computed cold."""
    if not hasattr(engine, "cache_bytes"):
        return
    import llama_cpp

    llm = engine.load()
    llm.reset()
    if engine.cache_bytes:
        llm.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=engine.cache_bytes))


def evaluated_ids(engine: Any) -> list[int] | None:
    """The tokens in llama.cpp's context after the last call (prompt and completion); None for transformers."""
    if not hasattr(engine, "cache_bytes"):
        return None
    llm = engine.load()
    return [int(t) for t in llm.input_ids[: llm.n_tokens]]


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def timed(engine: Any, req: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    response = engine.complete(req)
    return time.perf_counter() - started, response


def load_engine(engine: Any) -> float:
    started = time.perf_counter()
    engine.load()
    return time.perf_counter() - started


def generation_rate(engine: Any, repeats: int, gen_tokens: int, schema: dict[str, Any] | None = None) -> tuple[float, int]:
    """Median generated tokens per second after the first, and the fewest tokens any call generated; with
    ``schema``, decoding constrained to it (as every role's JSON answer is)."""
    rates, produced = [], []
    engine.complete(request(None, GEN_PROMPT, 1, schema))  # the prompt (and schema) seen once
    for _ in range(repeats):
        one, _ = timed(engine, request(None, GEN_PROMPT, 1, schema))
        many, response = timed(engine, request(None, GEN_PROMPT, gen_tokens, schema))
        n = response.usage.output_tokens
        produced.append(n)
        rates.append((n - 1) / max(many - one, 1e-9))
    return statistics.median(rates), min(produced)


def measure_threads(model: str, threads: int, repeats: int, gen_tokens: int) -> dict[str, Any]:
    """Generation only (free and JSON), llama.cpp with ``n_threads`` set (prompts use ``n_threads_batch``, every core anyway)."""
    engine = make_engine(model, "llamacpp", threads)
    row: dict[str, Any] = {"model": model, "engine": f"llamacpp, n_threads={threads}", "gen_only": True,
                           "load_average_start": load_average()}
    try:
        row["load_s"] = load_engine(engine)
        engine.complete(request(None, "Hello.", 2))
        row["gen_tok_s"], row["gen_tokens"] = generation_rate(engine, repeats, gen_tokens)
        row["json_gen_tok_s"], row["json_gen_tokens"] = generation_rate(engine, repeats, gen_tokens, STORY_SCHEMA)
        row["load_average_end"] = load_average()
    finally:
        engine.close()
    return row


def measure(model: str, kind: str, repeats: int, gen_tokens: int, prompt_chars: int) -> dict[str, Any]:
    engine = make_engine(model, kind)
    row: dict[str, Any] = {"model": model, "engine": kind, "load_average_start": load_average()}
    try:
        row["load_s"] = load_engine(engine)
        if kind == "llamacpp":
            llm = engine.load()
            row["threads"] = [llm.n_threads, llm.n_threads_batch]  # generation, prompt
        else:
            import torch

            row["threads"] = [torch.get_num_threads()] * 2
        # warm-up: first call costs (grammar/generator set-up, allocations) kept out of the figures
        engine.complete(request(None, "Hello.", 2))

        rates = []
        for i in range(repeats):
            forget(engine)
            seconds, response = timed(engine, request(None, f"[{i}] " + policy_prompt(prompt_chars), 1))
            rates.append(response.usage.input_tokens / seconds)
            row["prompt_tokens"] = response.usage.input_tokens
        row["prompt_tok_s"] = statistics.median(rates)

        row["gen_tok_s"], row["gen_tokens"] = generation_rate(engine, repeats, gen_tokens)
        row["json_gen_tok_s"], row["json_gen_tokens"] = generation_rate(engine, repeats, gen_tokens, STORY_SCHEMA)

        first, between, second = agent_messages()
        forget(engine)
        cold_s, cold = timed(engine, chat_request(first, 1))
        first_ids = evaluated_ids(engine)
        between_s, between_r = timed(engine, chat_request(between, 1))
        reused_s, reused = timed(engine, chat_request(second, 1))
        second_ids = evaluated_ids(engine)
        row.update({
            "agent_prompt_tokens": cold.usage.input_tokens,
            "agent_cold_s": cold_s,
            "between_prompt_tokens": between_r.usage.input_tokens,
            "between_s": between_s,
            "agent_next_prompt_tokens": reused.usage.input_tokens,
            "agent_reused_s": reused_s,
        })
        if first_ids is not None and second_ids is not None:
            shared = common_prefix(first_ids[: cold.usage.input_tokens], second_ids)
            row["agent_next_computed_tokens"] = reused.usage.input_tokens - shared
        else:
            row["agent_next_computed_tokens"] = reused.usage.input_tokens
        row["load_average_end"] = load_average()
    finally:
        engine.close()
    return row


# -- table ---------------------------------------------------------------------------------------------

HEAD = ["model", "engine", "load s", "prompt tok/s", "gen tok/s", "JSON gen tok/s", "agent prompt tok", "agent cold s",
        "next-turn prompt tok (computed)", "agent reused s", "cold / reused", "load avg"]


def render(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        if "skipped" in r:
            lines.append([r["model"], r["engine"], r["skipped"], "", "", "", "", "", "", "", "", ""])
            continue
        if r.get("gen_only"):
            lines.append([r["model"], r["engine"], r["load_s"], "-", r["gen_tok_s"],
                          f"{r['json_gen_tok_s']:.1f} ({r['json_gen_tokens']} tok)", "-", "-", "-", "-", "-",
                          f"{r['load_average_start'][0]:.1f}-{r['load_average_end'][0]:.1f}"])
            continue
        label = f"{r['engine']} (threads {r['threads'][0]}/{r['threads'][1]})"
        lines.append([
            r["model"], label, r["load_s"], r["prompt_tok_s"], r["gen_tok_s"],
            f"{r['json_gen_tok_s']:.1f} ({r['json_gen_tokens']} tok)", r["agent_prompt_tokens"],
            r["agent_cold_s"], f"{r['agent_next_prompt_tokens']:,} ({r['agent_next_computed_tokens']:,})",
            r["agent_reused_s"], f"{r['agent_cold_s'] / r['agent_reused_s']:.1f}x",
            f"{r['load_average_start'][0]:.1f}-{r['load_average_end'][0]:.1f}",
        ])
    return table(HEAD, lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="smollm2,qwen", help="comma-separated: smollm2, qwen")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gen-tokens", type=int, default=128)
    parser.add_argument("--qwen-gen-tokens", type=int, default=64)
    parser.add_argument("--prompt-chars", type=int, default=2000, help="characters of the prompt tok/s prompt")
    parser.add_argument("--transformers-qwen", action="store_true", help="also run Qwen on transformers")
    parser.add_argument("--threads", type=int, default=0,
                        help="also measure llama.cpp generation with n_threads=N (0: not)")
    args = parser.parse_args(argv)
    rows = []
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        gen = args.qwen_gen_tokens if model == "qwen" else args.gen_tokens
        for kind in ("llamacpp", "transformers"):
            if model == "qwen" and kind == "transformers" and not args.transformers_qwen:
                rows.append({"model": model, "engine": kind, "skipped": SKIPPED_QWEN_TRANSFORMERS})
                continue
            print(f"  {model} on {kind}...", flush=True)
            rows.append(measure(model, kind, args.repeats, gen, args.prompt_chars))
            print(f"  {rows[-1]}", flush=True)
            if kind == "llamacpp" and args.threads:
                rows.append(measure_threads(model, args.threads, args.repeats, gen))
                print(f"  {rows[-1]}", flush=True)
    print(render(rows))
    from importlib import metadata

    result = {"settings": vars(args), "llama_cpp_python": metadata.version("llama-cpp-python"), "rows": rows}
    save("engines", result)
    return result


if __name__ == "__main__":
    main()
