"""The ``ugst`` entry point: one Typer app, each command in a module of its own.

Bad input ends with exit code 2 and one line on stderr, ``ugst: error: <reason>``; ``UGST_DEBUG=1`` shows
the traceback instead.
"""

from __future__ import annotations

import os
import sys

import typer

from ugst_dspy.cli import (
    convert,
    decompose,
    evaluate,
    export,
    goals,
    grpo,
    models,
    optimize,
    report,
    schema,
    serve,
    sft,
    simulate,
    track,
)
from ugst_dspy.config import apply_offline_defaults
from ugst_dspy.errors import UgstError, error_line

app = typer.Typer(
    name="ugst",
    help="Goal-aligned LLM user simulators with User Goal State Tracking (UGST).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("simulate")(simulate.simulate)
app.command("track")(track.track)
app.command("decompose")(decompose.decompose)
app.command("evaluate")(evaluate.evaluate)
app.command("report")(report.report)
app.command("optimize")(optimize.optimize)
app.command("sft")(sft.sft)
app.command("grpo")(grpo.grpo)
app.command("export")(export.export)
app.command("convert")(convert.convert)
app.command("schema")(schema.schema)
app.command("serve")(serve.serve)
app.add_typer(models.models_app, name="models")
app.add_typer(goals.goals_app, name="goals")



@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the package version and exit."),
) -> None:
    if version:
        from ugst_dspy import __version__

        typer.echo(__version__)
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    apply_offline_defaults()
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="ugst", standalone_mode=False)
    except typer.Exit as stop:
        return stop.exit_code
    except typer.Abort:
        print("ugst: interrupted", file=sys.stderr)
        return 130
    except (UgstError, OSError) as err:
        if os.environ.get("UGST_DEBUG"):
            raise
        print(error_line(err), file=sys.stderr)
        return 2
    except Exception as err:
        # click's usage errors (typer vendors its own click, so match on the interface, not the class)
        if not (hasattr(err, "format_message") and hasattr(err, "exit_code")):
            raise
        context = getattr(err, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        print(error_line(err.format_message(), hint), file=sys.stderr)
        return int(err.exit_code)
    return result if isinstance(result, int) else 0


def run() -> None:  # console-script target
    code = main()
    if code == 130:  # interrupted: what was written is kept; do not wait for model calls still in flight
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
