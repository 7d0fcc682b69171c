"""`plateau serve`: the web application on the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import typer

from plateau.cli.root import app


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    evidence: Path | None = typer.Option(
        None, help="Folder or file of evidence to serve instead of the bundled base."
    ),
    database_url: str | None = typer.Option(
        None, help="SQLAlchemy URL; default SQLite under ./var/."
    ),
    trusted_proxy: list[str] = typer.Option(
        [],
        help="Address of a reverse proxy whose X-Forwarded-For is trusted (repeatable); "
        "none by default.",
    ),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="Worker processes (uvicorn workers; use about one per CPU core). The database is "
        "created or migrated once before they start.",
    ),
) -> None:
    """Serve the plateau web app (evidence, analyses, decision aid, monitoring)."""
    import uvicorn

    from plateau.web.app import (
        WebSettings,
        create_app,
        prepare_workers,
        server_config,
        server_options,
    )

    settings = WebSettings(
        evidence_path=evidence,
        database_url=database_url,
        extra={"trusted_proxies": list(trusted_proxy)},
    )
    if workers == 1:
        web_app = create_app(settings)
        typer.echo(f"plateau is serving on http://{host}:{port}/  (Ctrl+C to stop)")
        uvicorn.Server(server_config(web_app, host, port)).run()
        return
    target = prepare_workers(settings)
    typer.echo(
        f"plateau is serving on http://{host}:{port}/ with {workers} worker processes  "
        "(Ctrl+C to stop)"
    )
    uvicorn.run(target, factory=True, **server_options(host=host, port=port, workers=workers))
