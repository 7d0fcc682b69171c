"""`plateau analyze` and `plateau report`: evidence synthesis from the command line."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console, JustifyMethod
from rich.table import Table

from plateau.cli.root import app
from plateau.errors import PlateauError


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _load_base(evidence: Path | None):
    from plateau.evidence import load_bundled, load_path

    return load_path(evidence) if evidence else load_bundled()


@app.command()
def analyze(
    outcome: str = typer.Option(
        "PFS",
        help="PFS (disease control: PFS, else EFS, else TTP), EFS, TTP, "
        "OS, PFS2, CR, VGPR_or_better, MRD_negativity, ORR.",
    ),
    agent: list[str] = typer.Option(
        [], help="Agent tested by the comparison (repeatable), e.g. lenalidomide."
    ),
    setting: list[str] = typer.Option(
        [],
        help="post-ASCT, non-transplant or mixed (repeatable). Mixed-population trials enter a "
        "post-ASCT or non-transplant analysis with their subgroup for it, else whole (flagged).",
    ),
    no_mixed: bool = typer.Option(
        False,
        "--no-mixed",
        help="Sensitivity: drop mixed-population trials that have no estimate for the setting.",
    ),
    age_group: list[str] = typer.Option(
        [], "--age-group", help="younger, older or all (repeatable)."
    ),
    comparison: list[str] = typer.Option(
        [],
        "--comparison",
        help="Comparison kinds (repeatable); default maintenance_vs_control and add_on.",
    ),
    by: str | None = typer.Option(
        None,
        "--by",
        help="Subgroups: agent, setting, age_group, "
        "randomisation_point, comparison_kind, control_type.",
    ),
    method: str = typer.Option(
        "REML", help="tau² estimator: EE, DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM."
    ),
    test: str = typer.Option("z", help="z, knha (Hartung-Knapp) or adhoc."),
    strict_pfs: bool = typer.Option(False, "--strict-pfs", help="PFS only (no EFS/TTP fallback)."),
    latest_only: bool = typer.Option(False, help="Sensitivity: latest reports only."),
    no_approximate: bool = typer.Option(
        False,
        help="Sensitivity: no approximate HRs (from medians, p-values, x-year rates or an HR "
        "without CI).",
    ),
    no_packages: bool = typer.Option(
        False, help="Sensitivity: no induction + maintenance packages."
    ),
    no_active_controls: bool = typer.Option(
        False, help="Sensitivity: observation/placebo controls only."
    ),
    primary_only: bool = typer.Option(False, help="Sensitivity: primary sources only."),
    spec_file: Path | None = typer.Option(
        None,
        "--spec",
        help="Analysis spec file (.yaml, .toml, .json); overrides the options above.",
    ),
    builtin: str | None = typer.Option(None, help="Run a built-in analysis by id (see --list)."),
    list_builtin: bool = typer.Option(False, "--list", help="List the built-in analyses and exit."),
    plot: Path | None = typer.Option(None, help="Write the forest plot (.svg, .png or .pdf)."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json."),
    evidence: Path | None = typer.Option(
        None, help="Use this evidence folder/file instead of the bundled base."
    ),
) -> None:
    """Pool the evidence for one question and print the result (table or JSON)."""
    from plateau.analysis import (
        builtin_spec,
        builtin_specs,
        load_spec,
        run_analysis,
        spec_from_dict,
    )

    if list_builtin:
        for spec in builtin_specs().values():
            typer.echo(f"{spec.id:34s} {spec.title}")
        return
    if spec_file:
        spec = load_spec(spec_file)
    elif builtin:
        spec = builtin_spec(builtin)
    else:
        normalised_outcome = outcome.strip()
        if normalised_outcome.upper() == "PFS" and not strict_pfs:
            normalised_outcome = "disease_control"
        elif normalised_outcome.upper() in ("PFS", "EFS", "TTP", "OS", "PFS2", "ORR", "CR"):
            normalised_outcome = normalised_outcome.upper()
        data = {
            "outcome": normalised_outcome,
            "agents": [a.strip().lower() for a in agent],
            "settings": [s.strip().lower().replace("-", "_") for s in setting],
            "age_groups": [a.strip().lower() for a in age_group],
            "model": {"method": method, "test": test},
            "sensitivity": {
                "latest_only": latest_only,
                "exclude_approximate": no_approximate,
                "exclude_packages": no_packages,
                "exclude_active_controls": no_active_controls,
                "primary_sources_only": primary_only,
                "exclude_mixed_population": no_mixed,
            },
            "title": "Custom analysis",
        }
        if comparison:
            data["comparison_kinds"] = [c.strip().lower().replace("-", "_") for c in comparison]
        if by:
            data["subgroup_by"] = by.strip().lower().replace("-", "_")
        data["settings"] = [
            {"post_asct": "post_asct", "postasct": "post_asct"}.get(s, s) for s in data["settings"]
        ]
        spec = spec_from_dict(data, origin="options")
    base = _load_base(evidence)
    result = run_analysis(spec, base)
    if plot:
        if not result.studies:
            raise PlateauError("no trial matches the selection: nothing to plot")
        from plateau.report.plots import save_result_forest

        save_result_forest(result, plot)
    if output == OutputFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
        return
    _print_table(result, plot)


def _print_table(result, plot: Path | None) -> None:
    console = Console()
    spec = result.spec
    console.print(
        f"[bold]{spec.title}[/] — {spec.outcome_label}, {spec.model.method}/{spec.model.test}"
    )
    table = Table(show_lines=False)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("Trial", "left"),
        ("Outcome", "left"),
        ("N", "right"),
        (f"{result.measure} (95% CI)", "right"),
        ("Weight", "right"),
        ("Note", "left"),
    )
    for col, justify in columns:
        table.add_column(col, justify=justify)
    for s in result.studies:
        c = s.contribution
        flags = [
            "approximate" if c.approximate else "",
            "earlier report" if c.earlier_report else "",
            "mixed population" if c.mixed_population else "",
            c.population if c.setting_subgroup else "",
            "longer vs shorter" if c.direction_normalised else "",
        ]
        note = ", ".join(f for f in flags if f)
        table.add_row(
            c.label,
            c.outcome,
            f"{c.n_experimental or '?'}/{c.n_control or '?'}",
            f"{c.estimate:.2f} ({s.ci_low:.2f}-{s.ci_high:.2f})",
            f"{s.weight_percent:.1f}%",
            note,
        )
    console.print(table)
    console.print(result.summary(), highlight=False)
    if result.excluded:
        console.print("[dim]--format json lists every excluded trial with its reason[/]")
    if plot:
        console.print(f"forest plot written to {plot}")


@app.command()
def report(
    out: Path = typer.Option(Path("out/report"), help="Output folder."),
    pdf: bool = typer.Option(True, help="Also write report.pdf (WeasyPrint)."),
    evidence: Path | None = typer.Option(
        None, help="Use this evidence folder/file instead of the bundled base."
    ),
) -> None:
    """Write the living evidence report (HTML, PDF, JSON) for every built-in analysis."""
    from rich.progress import Progress

    from plateau.report.living import write_report

    base = _load_base(evidence)
    with Progress(transient=True) as progress:
        progress.add_task("running the built-in analyses and drawing plots", total=None)
        paths = write_report(base, out, pdf=pdf)
    for kind, path in paths.items():
        typer.echo(f"{kind}: {path}")
    typer.echo(f"evidence version {base.version}")
