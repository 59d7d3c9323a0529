"""``ugst models``: the models in the cache; preparing the embedded model (or a GGUF file) once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

models_app = typer.Typer(help="Cached local models: list them, prepare the embedded one.", no_args_is_help=True)


@models_app.command("list")
def list_cached() -> None:
    """List the converted models in the cache, with their size."""
    from ugst_dspy.engines.embedded import EMBEDDED_NAME, embedded_gguf_path, list_models, models_dir

    found = list_models()
    typer.echo(f"cache: {models_dir()}")
    if not any(item["name"] == EMBEDDED_NAME for item in found):
        typer.echo(f"embedded  {EMBEDDED_NAME}  not prepared yet (source {embedded_gguf_path().name}; "
                   "`ugst models prepare` or first use converts it)")
    for item in found:
        state = "ready" if item["complete"] else "incomplete"
        label = "embedded" if item["name"] == EMBEDDED_NAME else "local"
        typer.echo(f"{label:9} {item['name']}  {item['size'] / 1e6:.0f} MB  {state}  {item['path']}")


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
