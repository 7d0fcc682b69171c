"""The root Typer app of the command line; every command module registers on it."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from plateau import __version__

app = typer.Typer(
    name="plateau",
    help="Maintenance therapy in multiple myeloma: evidence, meta-analysis, decisions, monitoring. "
    "Decision support, not a prescription.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)

#: width of tables written to a pipe or file: wide enough that no table is folded
PIPE_WIDTH = 400


def console(*, stderr: bool = False) -> Console:
    """A Rich console for command output.

    On a terminal it uses the terminal's width; written to a pipe or a file (``| less``,
    ``> out.txt``) it does not fold tables at Rich's default 80 columns but uses
    ``$COLUMNS`` if set, else :data:`PIPE_WIDTH`.
    """
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty() or os.environ.get("COLUMNS"):
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"plateau {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Show the version and exit.",
    ),
) -> None:
    """plateau: maintenance therapy in multiple myeloma, from the evidence to the bedside."""
