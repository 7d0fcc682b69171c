"""`plateau nma`: network meta-analysis of a pairwise CSV file.

The CSV has one row per pair of arms with the columns ``study, treat1, treat2, TE, seTE``
(netmeta's pairwise format; TE is treat1 versus treat2 on the analysis scale, e.g. log HR; a
multi-arm study gives all of its pairs).  Column names are matched case-insensitively.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import typer

from plateau.cli.root import app
from plateau.cli.root import console as cli_console
from plateau.errors import PlateauError

COLUMNS = ("study", "treat1", "treat2", "TE", "seTE")


def read_pairs_csv(path: Path) -> dict[str, list]:
    """Read a pairwise NMA CSV; errors name the file, the line and the column."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            raise PlateauError(f"{path}: empty file; expected a header {','.join(COLUMNS)}")
        lookup = {name.strip().lower(): name for name in reader.fieldnames if name}
        missing = [c for c in COLUMNS if c.lower() not in lookup]
        if missing:
            raise PlateauError(
                f"{path}: missing column(s) {', '.join(missing)}; "
                f"expected {','.join(COLUMNS)} (found {','.join(reader.fieldnames)})"
            )
        out: dict[str, list] = {c: [] for c in COLUMNS}
        for line, row in enumerate(reader, start=2):
            if all((v or "").strip() == "" for v in row.values()):
                continue
            for c in COLUMNS:
                raw = (row.get(lookup[c.lower()]) or "").strip()
                if c in ("TE", "seTE"):
                    try:
                        value = float(raw)
                    except ValueError:
                        raise PlateauError(
                            f"{path}, line {line}: column {c} is not a number: {raw!r}"
                        ) from None
                    if not math.isfinite(value):
                        raise PlateauError(
                            f"{path}, line {line}: column {c} is not finite: {raw!r}"
                        )
                    out[c].append(value)
                else:
                    if raw == "":
                        raise PlateauError(f"{path}, line {line}: column {c} is empty")
                    out[c].append(raw)
    if not out["study"]:
        raise PlateauError(f"{path}: no data rows")
    return out


@app.command("nma")
def nma_command(
    input: Path | None = typer.Option(
        None,
        "--input",
        "-i",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Pairwise CSV: study,treat1,treat2,TE,seTE (all pairs of multi-arm studies). "
        "Without it, --setting runs a bundled myeloma network.",
    ),
    setting: str | None = typer.Option(
        None,
        "--setting",
        help="Bundled 'which maintenance?' network: post-ASCT or non-transplant "
        "(with --outcome PFS or OS).",
    ),
    outcome: str = typer.Option(
        "PFS",
        "--outcome",
        help="With --setting: PFS (each trial's PFS, else EFS, else TTP; said per edge) or OS.",
    ),
    reference: str | None = typer.Option(
        None, help="Reference treatment (default: the first in the file)."
    ),
    random: bool = typer.Option(
        True, "--random/--common", help="Random effects (default) or common effect."
    ),
    method: str = typer.Option(
        "REML", help="tau2 estimator for random effects: REML, ML or DL (netmeta's default)."
    ),
    level: float = typer.Option(0.95, help="Confidence level."),
    small_values: str = typer.Option(
        "desirable", help="'desirable' (e.g. log HR) or 'undesirable': P-score direction."
    ),
    format: str = typer.Option("table", "--format", "-f", help="Output: table or json."),
) -> None:
    """Network meta-analysis (contrast-based, multi-arm aware): league table, P-scores, Q split."""
    from plateau.meta.network import connected_components, nma, node_split

    if format not in ("table", "json"):
        raise PlateauError(f"--format must be 'table' or 'json', got {format!r}")
    if input is None and setting is None:
        raise PlateauError(
            "give --input PAIRS.csv, or --setting post-ASCT|non-transplant for a bundled network"
        )
    if input is None:
        assert setting is not None
        _bundled_network(setting, outcome, format, method)
        return
    cols = read_pairs_csv(input)
    try:
        result = nma(
            cols["study"],
            cols["treat1"],
            cols["treat2"],
            cols["TE"],
            cols["seTE"],
            reference=reference,
            random=random,
            method=method,
            level=level,
            small_values=small_values,
        )
    except PlateauError as exc:
        # the engine counts data rows from 1; in the file they sit one line below the header
        message = re.sub(r"\brow (\d+)", lambda m: f"line {int(m.group(1)) + 1}", str(exc))
        raise PlateauError(f"{input}: {message}") from None
    splits = node_split(result)
    if format == "json":
        out = result.to_dict()
        out["components"] = [list(c) for c in connected_components(result.data)]
        out["node_split"] = splits.to_dict()["splits"]
        out["input"] = str(input)
        typer.echo(json.dumps(out, indent=2))
        return

    from rich.table import Table

    console = cli_console()
    pct = round(level * 100)
    title = (
        f"{'Random' if random else 'Common'}-effects NMA"
        f"{' (' + result.method + ')' if random else ''}: {len(result.treatments)} treatments, "
        f"{result.n_studies} studies"
    )
    t = Table(title=title)
    for c in ("treatment", f"vs {result.reference}", f"{pct}% CI", "P-score"):
        t.add_column(c, justify="left" if c == "treatment" else "right")
    for name, p in result.ranking():
        i = result.treatments.index(name)
        if name == result.reference:
            t.add_row(name, "reference", "", f"{p:.3f}")
        else:
            t.add_row(
                name,
                f"{result.effect[i]:.3f}",
                f"{result.ci_low[i]:.3f} to {result.ci_high[i]:.3f}",
                f"{p:.3f}",
            )
    console.print(t)
    d = result.decomposition
    console.print(f"tau2 = {result.tau2:.4f}   I2 = {100 * result.i2:.1f}%", highlight=False)
    console.print(d.summary(), highlight=False)
    console.print("League table (row versus column, analysis scale):", highlight=False)
    console.print(result.league.summary(), highlight=False, soft_wrap=True)
    console.print(splits.summary(), highlight=False)
    for comp in result.excluded_components:
        console.print(
            f"Not connected to {result.reference} (not analysed): {', '.join(comp)}",
            highlight=False,
        )


def _bundled_network(setting: str, outcome: str, format: str, method: str) -> None:
    """``plateau nma --setting post-ASCT --outcome PFS``: the bundled "which maintenance?"
    network with its ranking, the evidence behind each treatment and the league table."""
    from rich.table import Table

    from plateau.analysis.network import maintenance_network
    from plateau.evidence import load_bundled
    from plateau.evidence.vocabulary import format_ratio_ci, label, parse
    from plateau.report.networks import evidence_strength, league_table

    code = parse("setting", setting, field="--setting")
    wanted = outcome.strip().upper()
    if wanted not in ("PFS", "OS"):
        raise PlateauError(f"--outcome: bundled networks exist for PFS and OS, not {outcome!r}")
    base = load_bundled()
    network = maintenance_network(code, wanted, base=base, method=method)
    if format == "json":
        out = network.to_dict()
        out["evidence_strength"] = {
            k: {**v, "single_trial_edges": list(v["single_trial_edges"])}
            for k, v in evidence_strength(network, base).items()
        }
        typer.echo(json.dumps(out, indent=2))
        return
    console = cli_console()
    main = network.main
    console.print(
        f"[bold]Which maintenance {label('setting', code)}? {wanted}[/] "
        f"({len(network.studies)} studies, evidence version {base.version[:12]})",
        highlight=False,
    )
    if wanted == "PFS":
        console.print(
            "PFS: each trial's PFS, else EFS, else TTP (flagged per trial below).", highlight=False
        )
    if main is None or main.result is None:
        console.print("No connected network with an HR and CI.", highlight=False)
        return
    strength = evidence_strength(network, base)
    result = main.result
    vs = result.effects_vs(main.reference)
    table = Table(title=f"Ranking (HR vs {main.reference}; P-score) and what it rests on")
    for col in ("treatment", f"HR vs {main.reference} (95% CI)", "P-score", "evidence"):
        table.add_column(col, justify="right" if col == "P-score" else "left")
    for name, p in result.ranking():
        hr = "reference"
        if name in vs:
            hr = format_ratio_ci(
                math.exp(vs[name]["estimate"]),
                math.exp(vs[name]["ci_low"]),
                math.exp(vs[name]["ci_high"]),
            )
        caution = "" if name == main.reference else strength.get(name, {}).get("caution", "")
        table.add_row(name, hr, f"{p:.2f}", caution)
    console.print(table)
    console.print(
        "Rankings that rest on one trial, few patients or open-label designs are fragile: "
        "read the evidence column before the P-score.",
        highlight=False,
    )
    league = league_table(result)
    lt = Table(title="League table: HR of the column treatment vs the row treatment (95% CI)")
    for col in league[0]:
        lt.add_column(col or "")
    for row in league[1:]:
        lt.add_row(*row)
    console.print(lt)
    edges = Table(title="Trials behind each edge")
    for col in ("edge", "trial", "outcome", "HR (95% CI)", "flags"):
        edges.add_column(col)
    for (a, b), trials in sorted(network.edge_trials().items()):
        for t in trials:
            edges.add_row(
                f"{a} \u2013 {b}",
                t.trial_name,
                t.outcome,
                format_ratio_ci(t.hr, t.ci_low, t.ci_high),
                "; ".join(t.flags),
            )
    console.print(edges)
