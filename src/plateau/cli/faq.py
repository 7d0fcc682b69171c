"""`plateau faq ...`: the living FAQ: list, show, check staleness, render, sign off."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from plateau.cli.root import app

faq_app = typer.Typer(
    name="faq",
    help="The living clinical FAQ: answers whose numbers come from the live evidence.",
    no_args_is_help=True,
)
app.add_typer(faq_app, name="faq")

EVIDENCE_HELP = (
    "Evidence to use instead of the bundled base: a folder of YAML/JSON trial files, one file, "
    "or a CSV (as `plateau evidence validate` takes it)."
)
LIBRARY_HELP = "FAQ library folder (one Markdown file per entry) instead of the bundled one."
THRESHOLD_HELP = "Relative change of a referenced number that makes an entry stale (0.10 = 10%)."


def _faq(library: Path | None, evidence: Path | None, threshold: float = 0.10):
    from plateau.faq import Faq

    return Faq.open(library, evidence, threshold=threshold)


@faq_app.command("list")
def list_(
    library: Path = typer.Option(None, "--library", help=LIBRARY_HELP),
    evidence: Path = typer.Option(None, "--evidence", help=EVIDENCE_HELP),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    category: str = typer.Option(None, "--category", help="Only this category."),
) -> None:
    """List the entries with their category, author and review status."""
    from plateau.errors import PlateauError
    from plateau.faq import CATEGORY_LABELS

    if fmt not in ("table", "json"):
        raise PlateauError(f"--format: {fmt!r} is not table or json")
    if category is not None and category not in CATEGORY_LABELS:
        raise PlateauError(f"--category: {category!r}; known: {', '.join(CATEGORY_LABELS)}")
    faq = _faq(library, evidence)
    rows = []
    for status in faq.statuses():
        e = faq.entry(status.entry_id)
        if category and e.meta.category.value != category:
            continue
        r = status.review
        rows.append(
            {
                "id": e.id,
                "question": e.meta.question,
                "category": e.meta.category.value,
                "author": e.meta.author.name,
                "written": e.meta.written.isoformat(),
                "last_review": r.date.isoformat() if r else None,
                "status": status.status,
            }
        )
    if fmt == "json":
        typer.echo(
            json.dumps({"evidence_version": faq.evidence_version, "entries": rows}, indent=1)
        )
        return
    table = Table(title=f"FAQ ({len(rows)} entries; evidence {faq.evidence_version[:12]})")
    for col in ("id", "category", "status", "last review", "question"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["id"], r["category"], r["status"], r["last_review"] or "", r["question"])
    Console(width=160).print(table)


@faq_app.command("show")
def show(
    entry_id: str = typer.Argument(..., help="Entry id (the file name without .md)."),
    library: Path = typer.Option(None, "--library", help=LIBRARY_HELP),
    evidence: Path = typer.Option(None, "--evidence", help=EVIDENCE_HELP),
) -> None:
    """Show one entry as text: the answer with live numbers, their sources, its status."""
    from plateau.faq import render_text

    faq = _faq(library, evidence)
    typer.echo(render_text(faq.render(entry_id)))
    status = faq.status(entry_id)
    typer.echo(f"Status: {status.status}")
    for change in status.changes:
        typer.echo(change.text())


@faq_app.command("render")
def render(
    entry_id: str = typer.Argument(None, help="Entry id; all entries when omitted."),
    library: Path = typer.Option(None, "--library", help=LIBRARY_HELP),
    evidence: Path = typer.Option(None, "--evidence", help=EVIDENCE_HELP),
    fmt: str = typer.Option("markdown", "--format", help="markdown, html or json."),
    out: Path = typer.Option(None, "--out", help="Write to this file instead of stdout."),
) -> None:
    """Render entries with their live numbers (Markdown, HTML fragment or JSON)."""
    from plateau.errors import PlateauError
    from plateau.faq import render_text

    if fmt not in ("markdown", "html", "json"):
        raise PlateauError(f"--format: {fmt!r} is not markdown, html or json")
    faq = _faq(library, evidence)
    ids = [entry_id] if entry_id else list(faq.library.entries)
    rendered = [faq.render(i) for i in ids]
    if fmt == "json":
        text = json.dumps([r.to_dict() for r in rendered], indent=1)
    elif fmt == "html":
        text = "\n".join(
            f'<article id="{r.entry.id}"><h2>{r.entry.meta.question}</h2>{r.html}</article>'
            for r in rendered
        )
    else:
        text = "\n\n".join(render_text(r) for r in rendered)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {out}")
    else:
        typer.echo(text)


@faq_app.command("check")
def check(
    library: Path = typer.Option(None, "--library", help=LIBRARY_HELP),
    evidence: Path = typer.Option(None, "--evidence", help=EVIDENCE_HELP),
    threshold: float = typer.Option(0.10, "--threshold", help=THRESHOLD_HELP),
    fmt: str = typer.Option("text", "--format", help="text or json."),
    allow_unreviewed: bool = typer.Option(
        False, "--allow-unreviewed", help="Do not fail on entries never signed off."
    ),
) -> None:
    """Validate the library on the evidence and list stale entries; exit 1 if any.

    An entry is stale when a number it refers to moved by more than the threshold, its 95%
    interval now includes (or no longer includes) no effect, or the trials or reports behind it
    changed since its last review (``last_review`` in its file).
    """
    from plateau.faq import NOT_REVIEWED

    faq = _faq(library, evidence, threshold)
    statuses = faq.statuses()
    failing = [
        s for s in statuses if s.stale and not (allow_unreviewed and s.status == NOT_REVIEWED)
    ]
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "evidence_version": faq.evidence_version,
                    "threshold": threshold,
                    "entries": len(statuses),
                    "stale": [s.to_dict() for s in failing],
                },
                indent=1,
            )
        )
    else:
        typer.echo(
            f"{len(statuses)} entries checked on evidence {faq.evidence_version[:12]}: "
            f"{len(statuses) - len(failing)} current, {len(failing)} need review"
        )
        for s in failing:
            typer.echo(f"\n{s.entry_id}: {s.status}")
            for change in s.changes:
                typer.echo("  " + change.text().replace("\n", "\n  "))
    if failing:
        sys.exit(1)


@faq_app.command("sign-off")
def sign_off(
    entry_ids: list[str] = typer.Argument(None, help="Entries to sign off (default: all)."),
    name: str = typer.Option(..., "--name", help="Reviewer's name."),
    role: str = typer.Option(..., "--role", help="Reviewer's role, e.g. consultant haematologist."),
    affiliation: str = typer.Option(..., "--affiliation", help="Reviewer's affiliation."),
    note: str = typer.Option(None, "--note", help="Review note."),
    library: Path = typer.Option(None, "--library", help=LIBRARY_HELP),
    evidence: Path = typer.Option(None, "--evidence", help=EVIDENCE_HELP),
) -> None:
    """Record a review in the entry files (``last_review``: date, reviewer, fingerprints).

    For maintainers of a library under version control; sign-offs in the web app are stored in
    the records database with an audit entry.
    """
    from plateau.errors import PlateauError
    from plateau.faq import write_last_review
    from plateau.faq.model import make_person, placeholder_reason

    reviewer = make_person(name, role, affiliation, origin="plateau faq sign-off")
    if note is not None and placeholder_reason(note):
        raise PlateauError(f"plateau faq sign-off: --note: {placeholder_reason(note)}")
    faq = _faq(library, evidence)
    for entry_id in entry_ids or list(faq.library.entries):
        review = faq.new_review(entry_id, reviewer, note=note)
        write_last_review(faq.entry(entry_id), review)
        typer.echo(f"signed off {entry_id} on evidence {faq.evidence_version[:12]}")


@faq_app.command("sync-reviews")
def sync_reviews(
    database_url: str = typer.Option(
        None, "--database-url", help="Records database (default: PLATEAU_DATABASE_URL or var/)."
    ),
    library: Path = typer.Option(None, "--library", help=LIBRARY_HELP),
) -> None:
    """Copy the newest sign-off of each entry from the records database into its file.

    Web sign-offs live in the records database; this writes them to the entries'
    ``last_review`` (with their fingerprints) so that ``plateau faq check`` sees them in CI.
    Only sign-offs newer than the file's own review are copied.
    """
    from plateau.faq import load_library, write_last_review
    from plateau.store import open_database
    from plateau.store.faq_reviews import latest_reviews

    lib = load_library(library)
    db = open_database(database_url)
    try:
        with db.session() as session:
            reviews = latest_reviews(session)
    finally:
        db.dispose()
    copied = 0
    for entry_id, (review, _origin) in sorted(reviews.items()):
        if entry_id not in lib.entries:
            typer.echo(f"skipped {entry_id}: not in {lib.path}")
            continue
        entry = lib.entries[entry_id]
        current = entry.meta.last_review
        if current is not None and (current == review or current.date > review.date):
            continue
        write_last_review(entry, review)
        copied += 1
        typer.echo(f"{entry_id}: last_review from the records database ({review.date})")
    typer.echo(f"{copied} entr{'y' if copied == 1 else 'ies'} updated")
