"""The ``ugst`` entry point: one Typer app, each command in a module of its own.

Bad input ends with exit code 2 and one line on stderr, ``ugst: error: <reason>``; ``UGST_DEBUG=1`` shows
the traceback instead.
"""

from __future__ import annotations

import os
import sys

import click
import typer

from ugst_dspy.cli import convert, evaluate, schema
from ugst_dspy.errors import UgstError

app = typer.Typer(
    name="ugst",
    help="Goal-aligned LLM user simulators with User Goal State Tracking (UGST).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("schema")(schema.schema)
app.command("evaluate")(evaluate.evaluate)
app.command("convert")(convert.convert)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the package version and exit.", is_eager=True),
) -> None:
    if version:
        from ugst_dspy import __version__

        typer.echo(__version__)
        raise typer.Exit()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="ugst", standalone_mode=False)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Abort:
        print("ugst: interrupted", file=sys.stderr)
        return 130
    except (UgstError, OSError) as err:
        if os.environ.get("UGST_DEBUG"):
            raise
        print(f"ugst: error: {one_line(err)}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


def one_line(err: BaseException) -> str:
    text = str(err) if not isinstance(err, OSError) or not err.filename else f"{err.filename}: {err.strerror}"
    return " ".join(text.split())


def run() -> None:  # console-script target
    sys.exit(main())
