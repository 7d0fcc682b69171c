"""plateau's command line (Typer + Rich).

The root app lives here; each command group lives in its own module of this package and
is registered in :func:`_register`.  Errors a user can cause print as one red line
(exit code 1), never a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from plateau import __version__
from plateau.errors import PlateauError

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


def _register() -> None:
    """Attach the command groups (one module each)."""
    from plateau.cli import (
        admin,  # noqa: F401  (defines `plateau admin ...`)
        analyze,  # noqa: F401  (defines `plateau analyze` and `plateau report`)
        decide,  # noqa: F401  (defines `plateau decide`)
        evidence,  # noqa: F401  (defines `plateau evidence ...`)
        faq,  # noqa: F401  (defines `plateau faq ...`)
        monitor,  # noqa: F401  (defines `plateau monitor ...`)
        nma,  # noqa: F401  (defines `plateau nma`)
        serve,  # noqa: F401  (defines `plateau serve`)
        start,  # noqa: F401  (defines `plateau start`)
    )


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``plateau`` console script."""
    try:
        app(args=argv, standalone_mode=True)
    except PlateauError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        err_console.print(
            f"[bold red]error:[/] {exc.strerror or exc}: {exc.filename}", highlight=False
        )
        sys.exit(1)
