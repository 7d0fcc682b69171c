"""`plateau start`: the main job of the quick start.

Prints a one-line summary of the bundled evidence, then serves the web application on the
embedded defaults (bundled evidence, SQLite under ``var/``) at http://127.0.0.1:8000/.
``--overview`` prints the evidence overview table instead (one row per randomised comparison
with its agents, setting, arm sizes and the latest PFS (or EFS/TTP) and OS hazard ratios).
"""

from __future__ import annotations

from typing import Any

import typer

from plateau.cli.root import app
from plateau.cli.root import console as cli_console

_DISEASE_CONTROL = ("PFS", "EFS", "TTP")


def overview_rows(base) -> list[dict]:
    """Rows of the overview: trial x comparison with latest whole-population PFS/OS estimates.

    For disease control the first of PFS, EFS, TTP with a latest estimate is shown (its name
    is printed with it).  An HR is marked ``*`` when derived or approximate.
    """
    from plateau.cli.evidence import hr_text
    from plateau.evidence.vocabulary import label, labels

    rows = []
    for trial in base.trials:
        for comparison in trial.comparisons:
            latest: dict[str, Any] = {}
            for record in base.estimates(trial=trial.id, latest_only=True):
                if record.comparison.id == comparison.id and not record.estimate.outcome_detail:
                    latest.setdefault(record.estimate.outcome.value, record.estimate)
            pfs_name = next((o for o in _DISEASE_CONTROL if o in latest), None)
            pfs = latest.get(pfs_name) if pfs_name else None
            os_ = latest.get("OS")
            experimental = trial.arm(comparison.experimental_arm)
            control = trial.arm(comparison.control_arm)
            n = ""
            if experimental.n_randomised and control.n_randomised:
                n = f"{experimental.n_randomised} v {control.n_randomised}"
            rows.append(
                {
                    "trial": trial.id,
                    "trial_id": trial.id,
                    "comparison": f"{label('treatment', experimental.treatment)} vs "
                    f"{label('treatment', control.treatment)}",
                    "kind": label("comparison_kind", comparison.kind),
                    "agents": labels("agent", trial.tested_agents(comparison)),
                    "setting": label("setting", trial.comparison_setting(comparison)),
                    "n": n,
                    "pfs_label": pfs_name or "",
                    "pfs": (hr_text(pfs) or ("no HR" if pfs else "")),
                    "os": (hr_text(os_) or ("no HR" if os_ else "")),
                }
            )
    return rows


@app.command()
def start(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    overview: bool = typer.Option(
        False, "--overview", help="Print the evidence overview table and exit."
    ),
) -> None:
    """Run plateau's main job: the web app on the bundled evidence (or --overview)."""
    from plateau.evidence import load_bundled

    base = load_bundled()
    if overview:
        print_overview(base)
        return
    from plateau.cli.serve import serve

    typer.echo(
        f"plateau: {len(base)} trials, evidence version {base.version[:12]}. "
        "Decision support, not a prescription."
    )
    serve(host=host, port=port, evidence=None, database_url=None, trusted_proxy=[], workers=1)


def print_overview(base) -> None:
    from rich.table import Table

    console = cli_console()
    table = Table(
        title="plateau: randomised maintenance trials in newly diagnosed myeloma",
        caption=(
            f"{len(base)} trials; evidence version {base.version[:12]}. HR experimental vs control "
            "(< 1 favours experimental), latest report, 95% CI; * derived or approximate; "
            "'no HR' = only medians/rates/p-values. Decision support, not a prescription. "
            "Details: plateau evidence show TRIAL."
        ),
        show_lines=False,
    )
    for column in (
        "trial",
        "comparison",
        "kind",
        "agents tested",
        "setting",
        "n",
        "PFS (else EFS, TTP) HR",
        "OS HR",
    ):
        table.add_column(column, overflow="fold")
    for row in overview_rows(base):
        pfs = (
            f"{row['pfs_label']} {row['pfs']}"
            if row["pfs"] and row["pfs_label"] != "PFS"
            else row["pfs"]
        )
        table.add_row(
            row["trial"],
            row["comparison"],
            row["kind"],
            row["agents"],
            row["setting"],
            row["n"],
            pfs,
            row["os"],
        )
    console.print(table)
