"""`plateau start`: the main job of the quick start."""

from __future__ import annotations

from plateau.cli import app


@app.command()
def start() -> None:
    """Run plateau's main job (the quick start's first command)."""
    from rich.console import Console

    Console().print("plateau: the evidence base is being built; see `plateau --help`.")
