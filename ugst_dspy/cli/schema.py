"""``ugst schema KIND``: print a JSON Schema."""

from __future__ import annotations

import json

import typer

from ugst_dspy.schemas import SCHEMAS, get_schema


def schema(
    kind: str = typer.Argument(..., help=f"Which schema: {', '.join(SCHEMAS)}."),
) -> None:
    """Print the JSON Schema of a goal state or of a record in a goal, decomposition or conversation file."""
    typer.echo(json.dumps(get_schema(kind), indent=2))
