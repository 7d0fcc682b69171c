"""`plateau analyze` and `plateau report`: evidence synthesis from the command line."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import JustifyMethod
from rich.table import Table

from plateau.cli.root import app
from plateau.cli.root import console as cli_console
from plateau.errors import PlateauError


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _load_base(evidence: Path | None):
    from plateau.evidence import load_bundled, load_path

    return load_path(evidence) if evidence else load_bundled()


OUTCOME_HELP = (
    "PFS (default) means disease control: each trial's PFS, else its EFS, else its TTP, and "
    "the table says which was used; add --strict-pfs for PFS only. Or EFS, TTP, OS, PFS2, CR, "
    "VGPR_or_better, MRD_negativity, ORR."
)
OUTCOMES = ("PFS", "EFS", "TTP", "OS", "PFS2", "CR", "VGPR_or_better", "MRD_negativity", "ORR")
BY_CHOICES = (
    "agent",
    "setting",
    "age_group",
    "randomisation_point",
    "comparison_kind",
    "control_type",
)


def _choice(field: str, text: str, choices) -> str:
    """``text`` as one of ``choices`` (case and -/_ ignored), else an error with did-you-mean."""
    from plateau.evidence.vocabulary import did_you_mean

    def key(value: str) -> str:
        return value.lower().replace("-", "_")

    for choice in choices:
        if key(text.strip()) == key(choice):
            return choice
    hint = did_you_mean(text, choices)
    suggestion = f"; did you mean {hint!r}?" if hint else ""
    raise PlateauError(
        f"{field}: unknown value {text!r}{suggestion} (choose from: {', '.join(choices)})"
    )


def options_spec_data(
    *,
    outcome: str = "PFS",
    strict_pfs: bool = False,
    agents=(),
    settings=(),
    age_groups=(),
    comparisons=(),
    by: str | None = None,
    method: str = "REML",
    test: str = "z",
    sensitivity: dict | None = None,
) -> dict:
    """The analysis spec of ``plateau analyze``'s options.  Every value is read with the
    vocabulary (``post-ASCT``, ``Lenalidomide``, ``head-to-head`` ...) and a typo is an error
    with "did you mean"."""
    from plateau.analysis.spec import METHODS, TESTS
    from plateau.evidence.vocabulary import parse_many

    chosen = _choice("--outcome", outcome, (*OUTCOMES, "disease_control"))
    if chosen == "PFS" and not strict_pfs:
        chosen = "disease_control"
    data: dict = {
        "outcome": chosen,
        "agents": parse_many("agent", agents, field="--agent"),
        "settings": parse_many("setting", settings, field="--setting"),
        "age_groups": parse_many("age_group", age_groups, field="--age-group"),
        "model": {
            "method": _choice("--method", method, METHODS),
            "test": _choice("--test", test, TESTS),
        },
        "sensitivity": dict(sensitivity or {}),
        "title": "Custom analysis",
    }
    if comparisons:
        data["comparison_kinds"] = parse_many("comparison_kind", comparisons, field="--comparison")
    if by:
        data["subgroup_by"] = _choice("--by", by, BY_CHOICES)
    return data


@app.command()
def analyze(
    outcome: str = typer.Option("PFS", help=OUTCOME_HELP),
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
        help="Comparison kinds (repeatable; default maintenance_vs_control and add_on): "
        "maintenance_vs_control, maintenance_vs_active, head_to_head, add_on, "
        "induction_maintenance_package, duration_strategy, other.",
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
    strict_pfs: bool = typer.Option(
        False, "--strict-pfs", help="With --outcome PFS: PFS only (no EFS/TTP fallback)."
    ),
    latest_only: bool = typer.Option(
        False, "--latest-only", help="Sensitivity: latest reports only."
    ),
    no_approximate: bool = typer.Option(
        False,
        "--no-approximate",
        help="Sensitivity: no approximate HRs (from medians, p-values, x-year rates or an HR "
        "without CI).",
    ),
    no_packages: bool = typer.Option(
        False, "--no-packages", help="Sensitivity: no induction + maintenance packages."
    ),
    no_active_controls: bool = typer.Option(
        False, "--no-active-controls", help="Sensitivity: observation/placebo controls only."
    ),
    primary_only: bool = typer.Option(
        False, "--primary-only", help="Sensitivity: primary sources only."
    ),
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
        specs = builtin_specs()
        if builtin not in specs:
            from plateau.evidence.vocabulary import did_you_mean

            hint = did_you_mean(builtin, list(specs))
            raise PlateauError(
                f"--builtin: unknown analysis {builtin!r}"
                + (f"; did you mean {hint!r}?" if hint else "")
                + " (plateau analyze --list shows them)"
            )
        spec = builtin_spec(builtin)
    else:
        data = options_spec_data(
            outcome=outcome,
            strict_pfs=strict_pfs,
            agents=agent,
            settings=setting,
            age_groups=age_group,
            comparisons=comparison,
            by=by,
            method=method,
            test=test,
            sensitivity={
                "latest_only": latest_only,
                "exclude_approximate": no_approximate,
                "exclude_packages": no_packages,
                "exclude_active_controls": no_active_controls,
                "primary_sources_only": primary_only,
                "exclude_mixed_population": no_mixed,
            },
        )
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
    from plateau.evidence.vocabulary import format_ratio_ci
    from plateau.report.plots import arm_labels, plot_title

    console = cli_console()
    spec = result.spec
    console.print(
        f"[bold]{plot_title(spec)}[/] ({spec.model.method}/{spec.model.test})", highlight=False
    )
    if spec.outcome == "disease_control":
        console.print(
            "Outcome: disease control, i.e. each trial's "
            + ", else ".join(spec.disease_control_order)
            + " (the Outcome column says which); --strict-pfs for PFS only.",
            highlight=False,
        )
    experimental, control = arm_labels(result)
    table = Table(show_lines=False)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("Trial", "left"),
        ("Outcome", "left"),
        (f"{experimental} events/N", "right"),
        (f"{control} events/N", "right"),
        (f"{result.measure} (95% CI)", "right"),
        ("Weight", "right"),
        ("Note", "left"),
    )
    for col, justify in columns:
        table.add_column(col, justify=justify)

    def arm(events, n) -> str:
        if n is None:
            return "–"
        return f"{events}/{n}" if events is not None else f"–/{n}"

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
            c.primary_label or c.label,
            c.outcome,
            arm(c.display_events[0], c.n_experimental),
            arm(c.display_events[1], c.n_control),
            format_ratio_ci(c.estimate, s.ci_low, s.ci_high),
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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from plateau.analysis import builtin_specs
    from plateau.report.living import write_report

    base = _load_base(evidence)
    steps = len(builtin_specs()) + 2 + (1 if pdf else 0)  # analyses, networks, published, PDF
    with Progress(
        TextColumn("[bold]report[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=cli_console(stderr=True),
    ) as progress:
        task = progress.add_task("starting", total=steps)
        seen = {"n": 0}

        def step(text: str) -> None:
            if seen["n"]:
                progress.advance(task)
            seen["n"] += 1
            progress.update(task, description=text)

        paths = write_report(base, out, pdf=pdf, progress=step)
        progress.update(task, completed=steps, description="done")
    for kind, path in paths.items():
        typer.echo(f"{kind}: {path}")
    typer.echo(f"evidence version {base.version}")
