"""``ugst evaluate``: the per-category success table, with failure diagnostics."""

from __future__ import annotations

from pathlib import Path

import typer

from ugst_dspy.conversation import Conversation
from ugst_dspy.files.conversations import iter_conversations
from ugst_dspy.metrics.diagnostics import diagnose_all
from ugst_dspy.metrics.success import success_table
from ugst_dspy.report.table import FORMATS, format_success_table
from ugst_dspy.rules import get_rules


def load_all(paths: list[Path]) -> list[Conversation]:
    """Conversations of several files; ``meta.file`` is set to the file's name when absent."""
    out: list[Conversation] = []
    for path in paths:
        for conversation in iter_conversations(path):
            conversation.meta.setdefault("file", path.name)
            out.append(conversation)
    return out


def evaluate(
    conversations: list[Path] = typer.Argument(..., help="Conversation files (JSON Lines)."),
    group_by: str = typer.Option(
        None, "--group-by", "-g", help="Meta field to group by, as a dotted path (e.g. models.simulator, file)."
    ),
    fmt: str = typer.Option("text", "--format", "-f", help=f"Output format: {', '.join(FORMATS)}."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the table here instead of standard output."),
    rules: str = typer.Option("default", help="Rule set that defines success."),
    diagnostics: bool = typer.Option(True, help="Count the deterministic failure classes."),
) -> None:
    """Per-category success rates (Prof., Pol., T.O., Req., Pref., Avg) of tracked conversations."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    loaded = load_all(conversations)
    rows = success_table(loaded, group_by, get_rules(rules))
    summary = diagnose_all(loaded) if diagnostics else None
    extra = {"diagnostics": {"counts": summary.counts(), "conversations": summary.by_class}} if summary else None
    text = format_success_table(rows, fmt, extra)
    if summary is not None and fmt in ("text", "markdown"):
        counts = ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in summary.counts().items())
        text += f"\n\nFailure diagnostics ({summary.total} conversations): {counts}"
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
