"""Serving models over HTTP: a vLLM server as a child process and DSPy clients for it.

Importing this package loads neither dspy nor torch; ``vllm_lm`` imports dspy when called.
"""

from ugst_dspy.serving.provider import register_vllm_provider, served_models, vllm_lm
from ugst_dspy.serving.vllm_server import VLLMServer, find_vllm_python

__all__ = ["VLLMServer", "find_vllm_python", "register_vllm_provider", "served_models", "vllm_lm"]
