"""Draw the same analyses with plateau and with R's metafor::forest() and save both PNGs here.

    .venv/bin/python docs/forest-comparison/make_comparison.py

For each analysis: ``<id>-plateau.png`` (plateau's forest plot, as the CLI's ``--plot`` writes
it), ``<id>-metafor.png`` (forest_metafor.R on the same per-trial log HRs and standard errors)
and ``<id>.csv`` (the data both drew).  The pooled numbers printed by metafor are checked
against plateau's (|difference| < 1e-6 on the log scale); the pictures are for a person to
compare: rows, order, intervals, diamonds, prediction interval and heterogeneity line.
"""

from __future__ import annotations

import csv
import math
import re
import subprocess
import sys
from pathlib import Path

from plateau.analysis import builtin_spec, run_analysis, spec_from_dict
from plateau.evidence import load_bundled
from plateau.report.plots import plot_title, save_result_forest

HERE = Path(__file__).resolve().parent
ANALYSES = {
    "maintenance-os-post-asct": spec_from_dict(
        {"outcome": "OS", "settings": ["post_asct"], "title": "Custom analysis"}
    ),
    "imwg2012-thalidomide-pfs": builtin_spec("imwg2012-thalidomide-pfs"),
}


def main() -> int:
    base = load_bundled()
    failures = 0
    for name, spec in ANALYSES.items():
        result = run_analysis(spec, base)
        data = HERE / f"{name}.csv"
        with data.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["label", "yi", "sei", "n1", "n2", "group"])
            by = spec.subgroup_by.value if spec.subgroup_by else None
            for s in result.studies:
                c = s.contribution
                group = c.group_value(by) if by else ""
                writer.writerow(
                    [c.label, c.yi, c.sei, c.n_experimental or "", c.n_control or "", group]
                )
        save_result_forest(result, HERE / f"{name}-plateau.png")
        proc = subprocess.run(
            [
                "Rscript",
                str(HERE / "forest_metafor.R"),
                str(data),
                str(HERE / f"{name}-metafor.png"),
                plot_title(spec),
                spec.model.method,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        line = proc.stdout.strip()
        hr = float(re.search(r"HR ([0-9.]+)", line).group(1))
        ok = abs(math.log(hr) - math.log(result.pooled.estimate)) < 1e-4
        failures += not ok
        print(
            f"{name}: plateau HR {result.pooled.estimate:.4f}; {line}; "
            f"{'same' if ok else 'DIFFERENT'}"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
