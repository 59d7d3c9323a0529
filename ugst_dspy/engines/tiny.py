"""A tiny randomly initialised chat model for tests: fast, deterministic, useless for anything else.

A 2-layer Llama (hidden 64, 4 heads, 2 key/value heads, intermediate 128; ~3 M parameters, almost all in
the embedding) with SmolLM2's tokenizer and chat template, so every code path of a real model (chat
template, Outlines' vocabulary index, TRL) runs in a fraction of a second per call. Its outputs are random
text; only constrained (schema-bounded) outputs are meaningful to check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ugst_dspy.extras import require

TINY = "the tiny test model"

TINY_CONFIG: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
    "tie_word_embeddings": True,
}


def embedded_tokenizer() -> Any:
    """SmolLM2's tokenizer: from the converted embedded folder when it exists (fast), else from the GGUF."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers = require("transformers", "local", "SmolLM2's tokenizer")

    from ugst_dspy.engines.embedded import embedded_gguf_path, embedded_model_dir, is_model_dir

    folder = embedded_model_dir(prepare=False)
    if is_model_dir(folder):
        return transformers.AutoTokenizer.from_pretrained(folder)
    gguf = embedded_gguf_path()
    return transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


def make_tiny_model(out_dir: str | Path, seed: int = 0, tokenizer: Any = None) -> Path:
    """Save a randomly initialised tiny Llama with SmolLM2's tokenizer into ``out_dir``; return it.

    The weights depend only on ``seed`` (the global torch RNG is left as it was). ``tokenizer`` defaults to
    :func:`embedded_tokenizer`.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch = require("torch", "local", TINY)
    transformers = require("transformers", "local", TINY)

    tok = tokenizer if tokenizer is not None else embedded_tokenizer()
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    config = transformers.LlamaConfig(
        vocab_size=len(tok),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=pad,
        **TINY_CONFIG,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = transformers.LlamaForCausalLM(config)
    model.generation_config.pad_token_id = pad
    model.generation_config.eos_token_id = tok.eos_token_id
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
