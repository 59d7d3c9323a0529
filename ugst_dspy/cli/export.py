"""``ugst export CHECKPOINT --out DIR``: a self-contained Hugging Face folder plus the simulator program."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def export(
    checkpoint: Annotated[Path, typer.Argument(help="An `ugst sft`/`ugst grpo` output folder, or one of its checkpoint-N folders.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="The folder to write (must be new or empty).")],
    program: Annotated[Optional[Path], typer.Option("--program", help="Program file to pack instead of the one the checkpoint was trained with.")] = None,
    evaluation: Annotated[Optional[list[Path]], typer.Option("--evaluation", help="Conversations simulated with the model, summed up in the model card (repeatable).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing non-empty --out (never the checkpoint, its run folder or a LoRA base model).")] = False,
) -> None:
    """Export a checkpoint: full safetensors weights (LoRA merged), tokenizer with chat template, generation
    config, model card, and the simulator program as ugst_program.json, so that
    `ugst simulate --simulator-model DIR` and vLLM can use the folder as it is."""
    from ugst_dspy.extras import check
    from ugst_dspy.optimizers.export import checkpoint_kind, export_checkpoint
    from ugst_dspy.optimizers.quiet import quiet_training

    check(("torch", "transformers"), "local", "ugst export")
    checkpoint_kind(checkpoint)  # a missing or wrong checkpoint fails before anything loads
    with quiet_training():
        folder = export_checkpoint(checkpoint, out, program=program, evaluation=evaluation or (), overwrite=overwrite)
    typer.echo(str(folder))
    typer.echo(f"use it with: ugst simulate --simulator-model {folder}   (or: ugst serve {folder})", err=True)
