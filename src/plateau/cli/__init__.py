"""plateau's command line (Typer + Rich).

The root app lives in :mod:`plateau.cli.root`; each command group lives in its own module of
this package (importing ``app`` from ``root``) and is attached here by importing it.  Errors a
user can cause print as one red line (exit code 1), never a traceback.
"""

from __future__ import annotations

import sys

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
from plateau.cli.root import app, err_console
from plateau.errors import PlateauError

__all__ = ["app", "main"]


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
