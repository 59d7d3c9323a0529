"""``ugst models``: the models in the cache; preparing the embedded model (or a GGUF file) once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

models_app = typer.Typer(help="Cached local models: list them, prepare the embedded one.", no_args_is_help=True)


@models_app.command("list")
def list_cached() -> None:
    """The embedded models (installed or not, and the engine they run on), then the converted models in the cache."""
    from ugst_dspy.engines.catalog import CATALOG, DEFAULT_EMBEDDED, installed
    from ugst_dspy.engines.embedded import list_models, models_dir
    from ugst_dspy.engines.llamacpp import llamacpp_available

    engine = "llama.cpp" if llamacpp_available() else "transformers (llama-cpp-python not installed)"
    typer.echo(f"embedded models (GGUF engine: {engine}):")
    for model in CATALOG.values():
        tag = " (default)" if model.name == DEFAULT_EMBEDDED else ""
        where = "installed" if installed(model) else f"not installed: {model.install}"
        typer.echo(f"  embedded:{model.name}{tag}  {model.title}  {where}")
    found = [item for item in list_models() if item["name"] != "gguf"]
    typer.echo(f"converted checkpoints in {models_dir()}:" + ("" if found else " none yet"))
    for item in found:
        state = "ready" if item["complete"] else "incomplete"
        typer.echo(f"  {item['name']}  {item['size'] / 1e6:.0f} MB  {state}  {item['path']}")


@models_app.command("prepare")
def prepare(
    gguf: Annotated[Optional[Path], typer.Argument(help="A GGUF file to convert (default: the embedded model).")] = None,
    force: Annotated[bool, typer.Option(help="Convert again even if the folder exists.")] = False,
) -> None:
    """Convert the embedded SmolLM2-135M-Instruct (or a GGUF file) into a checkpoint folder in the cache."""
    from ugst_dspy.engines.embedded import prepare_embedded_model, prepare_gguf_model
    from ugst_dspy.errors import UgstError

    if gguf is not None and not gguf.is_file():
        raise UgstError(f"{gguf}: no such GGUF file")
    folder = prepare_gguf_model(gguf, force=force) if gguf else prepare_embedded_model(force=force)
    typer.echo(str(folder))
