"""The root Typer app of the command line; every command module registers on it."""

from __future__ import annotations

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
