"""`plateau admin`: the clinical-records database and its users.

    plateau admin migrate [--database-url URL]          # create or upgrade the schema
    plateau admin create-user NAME --role clinician --team "Myeloma A" [--password-stdin]
    plateau admin user NAME (--deactivate | --activate | --role R | --team T ... | --reset-password
                             | --end-sessions | --unlock) [--password-stdin]
    plateau admin import --as NAME [--team T] \
        (--fhir bundle.json | --patients p.csv --labs l.csv ...)

The database is the embedded SQLite file ``var/plateau.sqlite`` unless ``--database-url`` or
``PLATEAU_DATABASE_URL`` names another (e.g. ``postgresql+psycopg://plateau@localhost/plateau``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from plateau.cli.root import app
from plateau.errors import PlateauError

admin_app = typer.Typer(
    help="Clinical-records database: migrations, users, imports.", no_args_is_help=True
)
app.add_typer(admin_app, name="admin")

URL_HELP = "SQLAlchemy URL; default PLATEAU_DATABASE_URL or sqlite:///var/plateau.sqlite."


@admin_app.command("migrate")
def migrate_cmd(database_url: str | None = typer.Option(None, help=URL_HELP)) -> None:
    """Create the database or upgrade it to the newest schema."""
    from plateau.store.db import current_revision, open_database

    db = open_database(database_url)
    typer.echo(f"{db.url}: schema at revision {current_revision(db.engine)}")
    db.dispose()


@admin_app.command("create-user")
def create_user_cmd(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(
        ..., help="admin, clinician, researcher (de-identified data) or reviewer (FAQ sign-off)."
    ),
    team: list[str] = typer.Option([], help="Care team (repeatable); created when new."),
    password_stdin: bool = typer.Option(
        False, help="Read the password from standard input (for scripts)."
    ),
    database_url: str | None = typer.Option(None, help=URL_HELP),
) -> None:
    """Create a user (the password is asked twice unless --password-stdin)."""
    from plateau.store import audit
    from plateau.store.db import open_database
    from plateau.store.security import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = open_database(database_url)
    with db.session(write=True) as session:
        create_user(session, username, password, role, list(team))
        audit.record(
            session, None, "create", f"user {username} ({role}) via command line", username="cli"
        )
    typer.echo(f"created {role} {username!r}" + (f" in {', '.join(team)}" if team else ""))
    db.dispose()


@admin_app.command("user")
def user_cmd(
    username: str = typer.Argument(..., help="The user to change."),
    deactivate: bool = typer.Option(False, help="Refuse logins and end sessions (never deleted)."),
    activate: bool = typer.Option(False, help="Allow logins again."),
    role: str | None = typer.Option(None, help="New role (ends the user's sessions)."),
    team: list[str] = typer.Option([], help="Set the care teams (repeatable)."),
    reset_password: bool = typer.Option(False, help="Set a new password (ends sessions)."),
    end_sessions: bool = typer.Option(False, help="End every login session of the user."),
    unlock: bool = typer.Option(False, help="Clear the user's failed-login counters."),
    password_stdin: bool = typer.Option(False, help="Read the new password from standard input."),
    database_url: str | None = typer.Option(None, help=URL_HELP),
) -> None:
    """Administer a user (audited as done from the command line)."""
    from plateau.store import security
    from plateau.store.db import open_database

    if activate and deactivate:
        raise PlateauError("give --activate or --deactivate, not both")
    password = None
    if reset_password:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    db = open_database(database_url)
    done = []
    try:
        with db.session(write=True) as session:
            target = security.find_user(session, username)
            if deactivate or activate:
                security.set_active(session, target, activate, actor=None, ip="cli")
                done.append("activated" if activate else "deactivated")
            if role:
                security.set_role(session, target, role, actor=None, ip="cli")
                done.append(f"role {role}")
            if team:
                security.set_teams(session, target, list(team), actor=None, ip="cli")
                done.append(f"teams {', '.join(team)}")
            if password is not None:
                security.reset_password(session, target, password, actor=None, ip="cli")
                done.append("password reset")
            if end_sessions:
                n = security.end_sessions(session, target, actor=None, ip="cli")
                done.append(f"{n} session(s) ended")
            if unlock:
                security.unlock(session, target, actor=None, ip="cli")
                done.append("failed logins cleared")
    finally:
        db.dispose()
    typer.echo(f"{username}: " + ("; ".join(done) if done else "nothing to do"))


@admin_app.command("import")
def import_cmd(
    as_user: str = typer.Option(
        ..., "--as", help="The user the import is recorded for (admin or clinician)."
    ),
    team: str | None = typer.Option(None, help="Care team of new patients."),
    fhir: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="FHIR R4 Bundle (JSON)."
    ),
    patients: Path | None = typer.Option(None, exists=True, dir_okay=False),
    labs: Path | None = typer.Option(None, exists=True, dir_okay=False),
    events: Path | None = typer.Option(None, exists=True, dir_okay=False),
    qlq: Path | None = typer.Option(None, exists=True, dir_okay=False),
    doses: Path | None = typer.Option(None, exists=True, dir_okay=False),
    database_url: str | None = typer.Option(None, help=URL_HELP),
) -> None:
    """Import CSV files (monitoring format) or a FHIR Bundle: all or nothing, idempotent."""
    from sqlalchemy import select

    from plateau.store.db import open_database
    from plateau.store.importer import import_files
    from plateau.store.models import User
    from plateau.store.records import ImportRejected

    csv_files = {
        k: (p.name, p.read_bytes())
        for k, p in (
            ("patients", patients),
            ("labs", labs),
            ("events", events),
            ("qlq", qlq),
            ("doses", doses),
        )
        if p
    }
    if fhir and csv_files:
        raise PlateauError("give either --fhir or CSV files, not both")
    db = open_database(database_url)
    with db.session() as session:
        user = session.scalar(select(User).where(User.username == as_user))
        if user is None:
            raise PlateauError(f"--as: no user {as_user!r}")
        user_id = user.id
    try:
        summary = import_files(
            db,
            user_id,
            csv_files=csv_files,
            fhir=(fhir.name, fhir.read_bytes()) if fhir else None,
            team=team,
            ip="cli",
        )
    except ImportRejected as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        raise PlateauError(
            f"import rejected, nothing written: {len(exc.problems)} problem(s) listed above"
        ) from None
    finally:
        db.dispose()
    typer.echo(summary.summary())
