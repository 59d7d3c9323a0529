"""``ugst report``: conversations -> one self-contained HTML report, optionally PNG charts for papers."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ugst_dspy.cli.evaluate import load_all
from ugst_dspy.files.appender import refuse_input_as_output
from ugst_dspy.files.atomic import write_text_atomic
from ugst_dspy.metrics.diagnostics import DEFAULT_STUCK_TURNS
from ugst_dspy.report.html import DEFAULT_TITLE, render_report
from ugst_dspy.rules import get_rules


def report(
    conversations: list[Path] = typer.Argument(..., help="Conversation files (JSON Lines)."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="Where to write the HTML report."),
    group_by: Optional[str] = typer.Option(
        None, "--group-by", "-g", help="Meta field to group by, as a dotted path (e.g. models.simulator, file)."
    ),
    title: Optional[str] = typer.Option(None, "--title", help="Title of the report (default: the file names)."),
    annotate: bool = typer.Option(
        False, "--annotate", help="Annotation mode: set each status by hand and export the result as JSONL."
    ),
    png: Optional[Path] = typer.Option(
        None, "--png", help="Also write PNG charts into this folder (needs matplotlib: the 'report' extra)."
    ),
    rules: str = typer.Option("default", help="Rule set that defines success."),
    stuck_turns: int = typer.Option(
        DEFAULT_STUCK_TURNS, "--stuck-turns", min=1,
        help="Misprioritisation: turns with an ATTEMPTED objective and no other objective moving.",
    ),
) -> None:
    """A self-contained HTML report: the success table and chart, and each conversation's goal-state timeline."""
    rule_set = get_rules(rules)
    refuse_input_as_output(out, conversations)
    loaded = load_all(conversations, group_by).conversations
    names = [path.name for path in conversations]
    heading = title or f"{DEFAULT_TITLE}: {', '.join(names)}"
    html = render_report(loaded, group_by, rule_set, heading, annotate=annotate, sources=names,
                         stuck_turns=stuck_turns)
    write_text_atomic(out, html)
    size = out.stat().st_size / 1e6
    typer.echo(f"wrote {out} ({len(loaded)} conversations, {size:.1f} MB)", err=True)
    if png is not None:
        from ugst_dspy.report.plots import write_pngs

        for path in write_pngs(loaded, png, group_by, rule_set):
            typer.echo(f"wrote {path}", err=True)
