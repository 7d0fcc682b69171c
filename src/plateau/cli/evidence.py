"""`plateau evidence ...`: list, show, validate and export the evidence base."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from plateau.cli.root import app
from plateau.cli.root import console as cli_console
from plateau.errors import EvidenceError
from plateau.evidence.vocabulary import format_ratio_ci, label, labels, parse, parse_many

evidence_app = typer.Typer(
    name="evidence",
    help="The cited evidence base: list, show, validate and export trials.",
    no_args_is_help=True,
)
app.add_typer(evidence_app, name="evidence")

PATH_HELP = (
    "Evidence to use instead of the bundled base: a folder of YAML/JSON trial files, one "
    "file, or a CSV."
)


def _base(path: Path | None):
    from plateau.evidence import load_bundled, load_path

    return load_path(path) if path is not None else load_bundled()


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def hr_text(estimate) -> str:
    """``0.50 (0.35–0.71)`` or ``0.56`` (no CI) or ``""``; ``*`` marks derived/approximate."""
    if estimate is None or estimate.hr is None:
        return ""
    if estimate.has_hr_ci:
        text = format_ratio_ci(estimate.hr, estimate.ci_low, estimate.ci_high)
    else:
        text = format_ratio_ci(estimate.hr, no_ci="")
    if estimate.derived or estimate.approximate:
        text += "*"
    return text


def _description(trial) -> str:
    """The trial's name where it says more than its id (``ALLG MM6`` for ``ALLG_MM6`` does not)."""

    def key(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    name = trial.name
    for prefix in (trial.acronym, trial.id.replace("_", " "), trial.id):
        if prefix and name.startswith(prefix):
            rest = name[len(prefix) :].strip()
            if rest.startswith("(") and rest.endswith(")"):
                rest = rest[1:-1]
            return rest
    return "" if key(name) == key(trial.id) else name


@evidence_app.command("list")
def list_(
    agent: list[str] = typer.Option(
        None, "--agent", help="Agent tested by a comparison (repeatable)."
    ),
    setting: str = typer.Option(
        None, help="post-ASCT, non-transplant or mixed (any case; post_asct works too)."
    ),
    age_group: str = typer.Option(None, "--age-group", help="younger, older or all."),
    kind: list[str] = typer.Option(
        None,
        "--kind",
        help="Comparison kind (repeatable): maintenance_vs_control, maintenance_vs_active, "
        "head_to_head, add_on, induction_maintenance_package, duration_strategy, other.",
    ),
    outcome: list[str] = typer.Option(
        None,
        "--outcome",
        help="With --estimates: outcome as reported (repeatable). PFS means PFS only here; "
        "ask for PFS, EFS and TTP to see every disease-control estimate.",
    ),
    estimates: bool = typer.Option(False, "--estimates", help="List estimates instead of trials."),
    all_reports: bool = typer.Option(
        False, "--all-reports", help="With --estimates: include superseded reports."
    ),
    subgroups: bool = typer.Option(
        False, "--subgroups", help="With --estimates: include subgroup estimates."
    ),
    path: Path = typer.Option(None, "--path", help=PATH_HELP),
) -> None:
    """List trials (or estimates) matching the filters."""
    base = _base(path)
    console = cli_console()
    filters = dict(
        agent=parse_many("agent", agent, field="--agent") or None,
        setting=parse("setting", setting, field="--setting") if setting else None,
        age_group=parse("age_group", age_group, field="--age-group") if age_group else None,
        comparison_kind=parse_many("comparison_kind", kind, field="--kind") or None,
    )
    outcome = parse_many("outcome", outcome, field="--outcome")
    if estimates:
        rows = base.estimates(
            outcome=outcome or None,
            latest_only=not all_reports,
            include_subgroups=subgroups,
            **filters,
        )
        table = Table(title=f"{len(rows)} estimates", show_lines=False)
        for column in (
            "trial",
            "comparison",
            "kind",
            "outcome",
            "HR (95% CI)",
            "p",
            "medians (mo)",
            "report",
            "status",
            "source",
        ):
            table.add_column(column)
        for r in rows:
            e = r.estimate
            medians = ""
            if (
                e.median_experimental is not None
                or e.median_control is not None
                or e.median_experimental_not_reached
                or e.median_control_not_reached
            ):
                x = "NR" if e.median_experimental_not_reached else _fmt(e.median_experimental)
                k = "NR" if e.median_control_not_reached else _fmt(e.median_control)
                medians = f"{x} vs {k}"
            outcome_text = (
                label("outcome", e.outcome)
                + (f" [{e.subgroup}]" if e.subgroup else "")
                + (f" ({e.outcome_detail})" if e.outcome_detail else "")
            )
            table.add_row(
                r.trial.id,
                r.comparison.id,
                label("comparison_kind", r.comparison.kind),
                outcome_text,
                hr_text(e),
                e.p_value or "",
                medians,
                e.report,
                label("status", e.status),
                f"{r.source.id} ({r.source.kind.value})",
            )
        console.print(table)
        return
    comparisons = list(base._comparisons(**filters))
    trial_ids = []
    for t, _, _, _ in comparisons:
        if t.id not in trial_ids:
            trial_ids.append(t.id)
    table = Table(title=f"{len(trial_ids)} trials (evidence version {base.version[:12]})")
    for column in (
        "trial",
        "description",
        "setting",
        "age",
        "randomised",
        "comparisons",
        "n",
        "estimates",
    ):
        table.add_column(column, justify="right" if column in ("n", "estimates") else "left")
    for trial_id in trial_ids:
        t = base.trial(trial_id)
        kinds = sorted({c.kind.value for c in t.comparisons})
        n = sum(a.n_randomised for a in t.arms if a.n_randomised) or t.n_randomised_total
        table.add_row(
            t.id,
            _description(t),
            label("setting", t.setting),
            label("age_group", t.age_group),
            label("randomisation_point", t.randomisation_point),
            labels("comparison_kind", kinds, sep="; "),
            _fmt(n),
            str(len(t.estimates)),
        )
    console.print(table)


def _arm_text(a, side: str) -> str:
    """Events/n, percent and rate per 100 patient-years of one arm of an adverse-event row."""
    events, n, pct = (
        getattr(a, f"events_{side}"),
        getattr(a, f"n_{side}"),
        getattr(a, f"percent_{side}"),
    )
    parts = []
    if events is not None:
        parts.append(f"{events}" + (f"/{n}" if n else ""))
    if pct is not None:
        parts.append(f"{_fmt(pct)}%")
    rate = getattr(a, f"rate_per_100_patient_years_{side}")
    if rate is not None:
        parts.append(f"{_fmt(rate)}/100 py")
    return " ".join(parts)


@evidence_app.command("show")
def show(
    trial: str = typer.Argument(..., help="Trial id, e.g. CALGB100104."),
    path: Path = typer.Option(None, "--path", help=PATH_HELP),
) -> None:
    """Show one trial: arms, comparisons, estimates, adverse events and sources."""
    from plateau.evidence import citation

    base = _base(path)
    t = base.trial(trial)
    console = cli_console()
    console.print(
        f"[bold]{t.name}[/] ({t.id})"
        + (f"  registry: {', '.join(t.registry_ids)}" if t.registry_ids else "")
    )
    console.print(
        f"setting {label('setting', t.setting)}"
        + (f" ({t.setting_detail})" if t.setting_detail else "")
        + f"; age {label('age_group', t.age_group)}"
        + (f" ({t.age_description})" if t.age_description else "")
        + f"; randomised {label('randomisation_point', t.randomisation_point)}"
        + (f" ({t.randomisation_detail})" if t.randomisation_detail else "")
    )
    if t.notes:
        console.print(f"notes: {t.notes}")
    arms = Table(title="arms")
    for column in ("id", "treatment", "agents", "regimen", "n randomised"):
        arms.add_column(column)
    for a in t.arms:
        arms.add_row(
            a.id,
            label("treatment", a.treatment),
            labels("agent", a.agents),
            a.regimen,
            f"{a.n_randomised} ({a.n_source})" if a.n_randomised else "",
        )
    console.print(arms)
    comps = Table(title="comparisons")
    for column in ("id", "experimental vs control", "kind", "control", "tests"):
        comps.add_column(column)
    for c in t.comparisons:
        comps.add_row(
            c.id,
            f"{c.experimental_arm} vs {c.control_arm}",
            label("comparison_kind", c.kind),
            label("control_type", c.control_type),
            labels("agent", t.tested_agents(c)),
        )
    console.print(comps)
    est = Table(title="estimates (HR: experimental vs control; * derived or approximate)")
    for column in (
        "#",
        "comparison",
        "outcome",
        "HR (95% CI)",
        "p",
        "medians",
        "rates",
        "report",
        "status",
        "source",
    ):
        est.add_column(column)
    for i, e in enumerate(t.estimates):
        medians = ""
        if (
            e.median_experimental is not None
            or e.median_control is not None
            or e.median_experimental_not_reached
        ):
            medians = (
                f"{'NR' if e.median_experimental_not_reached else _fmt(e.median_experimental)} vs "
                f"{'NR' if e.median_control_not_reached else _fmt(e.median_control)}"
            )
        rates = ""
        if e.rate_experimental is not None:
            rates = (
                f"{_fmt(e.rate_experimental)}% vs {_fmt(e.rate_control)}% at "
                f"{_fmt(e.rate_timepoint_months)} mo"
            )
        elif e.percent_experimental is not None:
            rates = f"{_fmt(e.percent_experimental)}% vs {_fmt(e.percent_control)}%"
        outcome_text = (
            label("outcome", e.outcome)
            + (f" [{e.subgroup}]" if e.subgroup else "")
            + (f" ({e.outcome_detail})" if e.outcome_detail else "")
        )
        est.add_row(
            str(i),
            e.comparison,
            outcome_text,
            hr_text(e),
            e.p_value or "",
            medians,
            rates,
            e.report,
            label("status", e.status),
            e.source,
        )
    console.print(est)
    if t.adverse_events:
        aes = Table(title="adverse events (experimental vs control)")
        for column in ("comparison", "term", "grade", "experimental", "control", "source"):
            aes.add_column(column)
        for a in t.adverse_events:
            aes.add_row(
                a.comparison,
                label("adverse_event", a.term) + (f" [{a.subgroup}]" if a.subgroup else ""),
                a.grade,
                _arm_text(a, "experimental") or (a.statement or ""),
                _arm_text(a, "control"),
                a.source,
            )
        console.print(aes)
    sources = Table(title="sources")
    for column in ("id", "kind", "citation", "where"):
        sources.add_column(column)
    for s in t.sources:
        sources.add_row(s.id, label("source_kind", s.kind), citation(s), s.location or "")
    console.print(sources)


@evidence_app.command("validate")
def validate(
    path: Path = typer.Argument(
        None, help="Folder, YAML/JSON file or CSV (default: the bundled base)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Validate evidence; exit code 1 on any error (warnings are listed, not fatal)."""
    from plateau.evidence import BUNDLED_DIR, check_path

    report, _ = check_path(path if path is not None else BUNDLED_DIR)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        out = Console(stderr=False, highlight=False, soft_wrap=True)
        for issue in report.errors:
            out.print(f"[bold red]ERROR[/] {issue}")
        for issue in report.warnings:
            out.print(f"[yellow]WARNING[/] {issue}")
        colour = "green" if report.ok else "red"
        out.print(f"[{colour}]{report.summary()}[/]")
    if not report.ok:
        raise typer.Exit(1)


@evidence_app.command("export")
def export(
    format: str = typer.Option(
        "json",
        "--format",
        "-f",
        help="json or csv (lossless, re-loadable), or rows "
        "(flat CSV of latest estimates joined with trial and arm information).",
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Output file (default: standard output)."),
    path: Path = typer.Option(None, "--path", help=PATH_HELP),
) -> None:
    """Export the evidence base as JSON, as the CSV record table, or as flat estimate rows."""
    import csv
    import io

    from plateau.evidence import to_csv, to_json

    base = _base(path)
    if format == "json":
        text = to_json(base)
    elif format == "csv":
        text = to_csv(base)
    elif format == "rows":
        rows = [r.to_dict() for r in base.estimates(latest_only=False, include_subgroups=True)]
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        text = buffer.getvalue()
    else:
        raise EvidenceError(f"--format {format!r} is not one of: json, csv, rows")
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        Console(stderr=True).print(
            f"wrote {out} ({len(base)} trials, evidence version {base.version[:12]})"
        )
