"""`plateau decide`: absolute benefits and harms of each maintenance option for one patient.

``plateau decide --profile patient.json [--format table|json] [--horizon-years N]``

The JSON output is the decision snapshot (:meth:`plateau.decide.Decision.to_dict`):
``evidence_version`` and ``options``, each with ``option``, ``pfs`` and ``os`` at 1, 3, 5 years
(and the chosen horizon) with intervals, ``rmst_gain_months``, ``harms``, ``flags`` and
``sources``.  ``--save DIR`` also stores the snapshot (one JSON file) and prints its id.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from plateau.cli.root import app
from plateau.errors import PlateauError


def _cell(p: dict) -> str:
    from plateau.decide.results import people

    return f"{people(p['estimate'])} ({people(p['low'])}-{people(p['high'])})"


def _diff(p: dict) -> str:
    from plateau.decide.results import people

    return f"{people(p['estimate']):+d} ({people(p['low']):+d} to {people(p['high']):+d})"


@app.command("decide")
def decide_command(
    profile: Path = typer.Option(
        ..., "--profile", help="Patient profile (JSON); see examples/profiles/."
    ),
    format: str = typer.Option("table", "--format", help="table or json"),
    horizon_years: float | None = typer.Option(
        None,
        "--horizon-years",
        help="Extra horizon in years (0.5-15), also used for the restricted mean; default 5.",
    ),
    evidence: Path | None = typer.Option(
        None, "--evidence", help="Evidence folder/file (default: bundled)."
    ),
    n_sims: int = typer.Option(4000, "--n-sims", help="Simulations for the intervals."),
    seed: int = typer.Option(20240601, "--seed", help="Random seed (stored with the decision)."),
    save: Path | None = typer.Option(None, "--save", help="Also save the snapshot in this folder."),
    baseline_model: str = typer.Option(
        "flexible",
        "--baseline-model",
        help="flexible (spline/Weibull fitted to every control-arm landmark) or exponential "
        "(sensitivity analysis).",
    ),
    u_tox: float | None = typer.Option(
        None, "--u-tox", help="Q-TWiST utility of time with a grade >= 3 toxicity (default 0.5)."
    ),
    u_rel: float | None = typer.Option(
        None, "--u-rel", help="Q-TWiST utility of time after progression (default 0.5)."
    ),
    tox_months: float | None = typer.Option(
        None, "--tox-months", help="Months each grade >= 3 toxicity lasts (default 1)."
    ),
) -> None:
    """Absolute benefits (PFS, OS per 100 at 1, 3, 5 years), harms, burden and flags of each
    option."""
    from plateau.decide import DecisionStore, decide, load_profile
    from plateau.evidence import load_bundled, load_path

    if format not in ("table", "json"):
        raise PlateauError(f"--format: must be table or json (got {format!r})")
    patient = load_profile(profile)
    base = load_path(evidence) if evidence else load_bundled()
    decision = decide(
        patient,
        base,
        horizon_years=horizon_years,
        n_sims=n_sims,
        seed=seed,
        baseline_model=baseline_model,
        u_tox=u_tox,
        u_rel=u_rel,
        tox_months=tox_months,
    )
    snapshot = decision.to_dict()
    ident = DecisionStore(save).save(snapshot) if save else None
    if format == "json":
        if ident:
            snapshot = {"id": ident, **snapshot}
        typer.echo(json.dumps(snapshot, indent=2, ensure_ascii=False))
        return
    console = Console(width=140)
    console.print(f"[bold]{decision.derived['profile_summary']}[/]", highlight=False)
    console.print(
        f"Setting {decision.setting}; evidence version {decision.evidence_version[:12]}; "
        f"people per 100; 95% ranges from {decision.n_sims} simulations",
        highlight=False,
    )
    for outcome_key, title in (
        ("pfs", "Alive without progression, per 100"),
        ("os", "Alive, per 100"),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column("option")
        for h in decision.horizons_years:
            table.add_column(f"{h:g} y", justify="right")
        table.add_column(f"months gained in {decision.rmst_horizon_years:g} y", justify="right")
        table.add_column("HR (95% CI)", justify="right")
        for option in snapshot["options"]:
            out = option[outcome_key]
            if not out["available"]:
                table.add_row(
                    option["label"], *["-"] * len(decision.horizons_years), "-", "not available"
                )
                continue
            cells = []
            for h in out["horizons"]:
                cells.append(
                    _cell(h["without_per_100"])
                    if option["is_reference"]
                    else f"{_cell(h['with_per_100'])}\n{_diff(h['difference_per_100'])}"
                )
            rmst = out["rmst"]
            gain = (
                "-"
                if option["is_reference"]
                else f"{rmst['estimate']:.1f} ({rmst['low']:.1f} to {rmst['high']:.1f})"
            )
            hr = out["hazard_ratio"]
            hr_text = (
                "reference"
                if hr is None
                else f"{hr['estimate']:.2f} ({hr['ci_low']:.2f}-{hr['ci_high']:.2f})"
            )
            table.add_row(option["label"], *cells, gain, hr_text)
        console.print(table)
    u = snapshot["utilities"]
    table = Table(
        title=(
            f"Quality-adjusted months over {decision.rmst_horizon_years:g} y (Q-TWiST; u_TOX "
            f"{u['u_tox']:g}, u_REL {u['u_rel']:g}, {u['tox_months']:g} month per grade >= 3 event)"
        ),
        title_justify="left",
    )
    for col in ("option", "TOX", "TWiST", "REL", "Q-TWiST", "gain (95% range)", "gains for"):
        table.add_column(col, justify="left" if col == "option" else "right")
    for option in snapshot["options"]:
        q = option["qtwist"]
        if q is None:
            table.add_row(option["label"], *["-"] * 5, "not available")
            continue
        g, th = q["gain_months"], q["threshold"]
        table.add_row(
            option["label"],
            f"{q['tox_months']:.1f}",
            f"{q['twist_months']:.1f}",
            f"{q['rel_months']:.1f}",
            f"{q['qtwist_months']['estimate']:.1f}",
            "-" if g is None else f"{g['estimate']:+.1f} ({g['low']:+.1f} to {g['high']:+.1f})",
            "-" if th is None else f"{100 * th['share_of_grid_with_gain']:.0f}% of utilities",
        )
    console.print(table)
    for option in snapshot["options"]:
        for note in (option["qtwist"] or {}).get("notes", []):
            console.print(f"  {option['label']}: {note}", highlight=False)
    for outcome in ("PFS", "OS"):
        b = snapshot["baselines"][outcome]
        console.print(b.get("short_text") or b.get("reason"), highlight=False)
    for option in snapshot["options"]:
        if option["is_reference"]:
            continue
        console.print(f"[bold]{option['label']}[/]", highlight=False)
        for item in option["safety"]:
            rule = item["rule"]
            console.print(
                f"  {escape('[' + item['level'] + ']')} {item['topic']}: {item['advice']} "
                f"({rule['source']}, {rule['where']} [{rule['tag']}])",
                highlight=False,
            )
        for h in option["harms"]:
            projected = h.get("projected")
            extra = ""
            if projected:
                w = projected["with_per_100"]
                extra = (
                    f"; over {projected['horizon_years']:g} y for this patient "
                    f"~{w['estimate']:.0f} "
                    f"({w['low']:.0f}-{w['high']:.0f}) of 100"
                )
            console.print(f"  harm: {h['text']}{extra}; {h['citation']}", highlight=False)
        if option["harms_not_reported"]:
            console.print(
                f"  not reported in the matching trials: {', '.join(option['harms_not_reported'])}",
                highlight=False,
            )
        for f in option["flags"]:
            rule = f["rule"]
            console.print(
                f"  {escape('[' + f['level'] + ']')} {f['message']} ({rule['source']}, "
                f"{rule['where']} [{rule['tag']}])",
                highlight=False,
            )
    for item in snapshot["not_available"]:
        console.print(f"Not shown: {item['label']}: {item['reason']}", highlight=False)
    if ident:
        console.print(f"saved as {ident} in {save}", highlight=False)
