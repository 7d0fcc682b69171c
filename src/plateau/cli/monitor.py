"""`plateau monitor`: IMWG response, CTCAE grades, dose actions and QoL from CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from plateau.cli.root import app

monitor_app = typer.Typer(
    help="Maintenance monitoring: IMWG response/progression, CTCAE v5.0 grades, dose rules, "
    "QLQ-C30/MY20 quality of life (cited, table-driven rules).",
    no_args_is_help=True,
)
app.add_typer(monitor_app, name="monitor")


@monitor_app.command("assess")
def assess_cmd(
    labs: Path = typer.Option(
        ..., "--labs", help="labs.csv: patient_id,date,analyte,value,unit[,lln,uln]"
    ),
    patients: Path = typer.Option(
        None, "--patients", help="patients.csv: patient_id,maintenance_start,agent,dose_mg"
    ),
    events: Path = typer.Option(
        None, "--events", help="events.csv: patient_id,date,term,grade[,with_pain]"
    ),
    qol: Path = typer.Option(None, "--qol", help="qlq.csv (QLQ-C30/MY20 answers) for QoL alerts"),
    baseline: str = typer.Option(
        "diagnosis",
        "--baseline",
        help="IMWG response baseline: diagnosis (default; pre-treatment, one line of therapy) or "
        "maintenance (the maintenance-start view); every result says which was used",
    ),
    fmt: str = typer.Option("json", "--format", help="json or table"),
    skip_bad_rows: bool = typer.Option(
        False, "--skip-bad-rows", help="report bad rows and assess the rest"
    ),
    output: Path = typer.Option(
        None, "--output", "-o", help="write the result here instead of stdout"
    ),
) -> None:
    """Assess every patient in LABS; the JSON is a list with one object per patient."""
    from plateau.errors import PlateauError
    from plateau.monitor import engine, io
    from plateau.monitor.qol import assess_qol

    if baseline not in ("diagnosis", "maintenance"):
        raise PlateauError(f"--baseline must be 'diagnosis' or 'maintenance', not {baseline!r}")
    if fmt not in ("json", "table"):
        raise PlateauError(f"--format must be 'json' or 'table', not {fmt!r}")
    lab_t = io.read_labs(labs, skip_bad_rows=skip_bad_rows)
    pat_t = io.read_patients(patients, skip_bad_rows=skip_bad_rows) if patients else None
    ev_t = io.read_events(events, skip_bad_rows=skip_bad_rows) if events else None
    q_t = io.read_qlq(qol, skip_bad_rows=skip_bad_rows) if qol else None
    bad = (
        lab_t.bad_rows
        + (pat_t.bad_rows if pat_t else ())
        + (ev_t.bad_rows if ev_t else ())
        + (q_t.bad_rows if q_t else ())
    )
    qres = None
    if q_t is not None:
        starts = (
            dict(zip(pat_t.frame["patient_id"], pat_t.frame["maintenance_start"], strict=True))
            if pat_t
            else None
        )
        # QoL change is measured from the start of maintenance whichever IMWG baseline is used
        qres = assess_qol(q_t.frame, starts)
    result = engine.assess(
        lab_t.frame,
        pat_t.frame if pat_t else None,
        ev_t.frame if ev_t else None,
        qol=qres,
        config=engine.MonitorConfig(baseline=baseline),
        bad_rows=bad,
    )
    for b in bad:
        typer.echo(f"skipped bad row: {b}", err=True)
    text = json.dumps(result.to_dict(), indent=2) if fmt == "json" else result.summary()
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        typer.echo(text)


@monitor_app.command("qol")
def qol_cmd(
    responses: Path = typer.Option(
        ..., "--responses", help="qlq.csv: patient_id,date,q1..q30[,my1..my20]"
    ),
    patients: Path = typer.Option(
        None,
        "--patients",
        help="patients.csv: baseline = last questionnaire on or before maintenance_start",
    ),
    fmt: str = typer.Option("json", "--format", help="json or table"),
    skip_bad_rows: bool = typer.Option(
        False, "--skip-bad-rows", help="report bad rows and score the rest"
    ),
) -> None:
    """Score EORTC QLQ-C30 v3 (all scales, half rule) and QLQ-MY20; change from baseline against
    MIDs."""
    from plateau.errors import PlateauError
    from plateau.monitor import io
    from plateau.monitor.qol import assess_qol

    if fmt not in ("json", "table"):
        raise PlateauError(f"--format must be 'json' or 'table', not {fmt!r}")
    q_t = io.read_qlq(responses, skip_bad_rows=skip_bad_rows)
    starts = None
    if patients:
        p = io.read_patients(patients, skip_bad_rows=skip_bad_rows).frame
        starts = dict(zip(p["patient_id"], p["maintenance_start"], strict=True))
    res = assess_qol(q_t.frame, starts)
    for b in q_t.bad_rows:
        typer.echo(f"skipped bad row: {b}", err=True)
    if fmt == "json":
        out = res.to_dict()
        out["bad_rows"] = [b.to_dict() for b in q_t.bad_rows]
        typer.echo(json.dumps(out, indent=2))
    else:
        typer.echo(res.summary())
