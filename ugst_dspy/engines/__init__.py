"""Local model engines: the embedded default model, transformers + Outlines as a DSPy engine, test models.

Importing this package loads no model library; torch, transformers, outlines and dspy load on first use.
(``spec`` and ``scripted`` are imported from their own modules.)
"""

from ugst_dspy.engines.chat import request_chat
from ugst_dspy.engines.embedder import SentenceEmbedder
from ugst_dspy.engines.embedded import (
    EMBEDDED_NAME,
    cache_dir,
    embedded_gguf_path,
    embedded_model_dir,
    gguf_model_name,
    is_model_dir,
    list_models,
    models_dir,
    prepare_embedded_model,
    prepare_gguf_model,
)
from ugst_dspy.engines.local import TransformersEngine, canonical_json, local_lm, model_name_for
from ugst_dspy.engines.meter import UsageMeter
from ugst_dspy.engines.schema_bounds import bound_schema
from ugst_dspy.engines.tiny import make_tiny_model

__all__ = [
    "SentenceEmbedder",
    "EMBEDDED_NAME",
    "TransformersEngine",
    "UsageMeter",
    "bound_schema",
    "cache_dir",
    "canonical_json",
    "embedded_gguf_path",
    "embedded_model_dir",
    "gguf_model_name",
    "is_model_dir",
    "list_models",
    "local_lm",
    "make_tiny_model",
    "model_name_for",
    "models_dir",
    "prepare_embedded_model",
    "prepare_gguf_model",
    "request_chat",
]
