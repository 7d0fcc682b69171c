"""Bad inputs (exact messages), --skip-bad-rows, and the CLI on the example CSVs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from plateau.errors import PlateauError
from plateau.monitor import io as mio
from plateau.rules import units as U

EX = Path(__file__).resolve().parents[2] / "examples" / "monitor"
HDR = "patient_id,date,analyte,value,unit\n"


@pytest.mark.parametrize(
    "row,message",
    [
        (
            "P1,2025-01-01,serum_mprotein,1.0,g/dL",
            "labs.csv: row 1 (line 2), field 'analyte': unknown analyte 'serum_mprotein' (known: "
            + ", ".join(U.ANALYTE_NAMES)
            + ")",
        ),
        (
            "P1,2025-01-01,anc,-1,10*9/L",
            "labs.csv: row 1 (line 2), field 'value': impossible value -1 10*9/L for anc: negative",
        ),
        (
            "P1,2025-01-01,hemoglobin,80,g/dL",
            "labs.csv: row 1 (line 2), field 'value': impossible value 80 g/dL for hemoglobin: "
            "outside the plausible range 0-25 g/dL",
        ),
        (
            "P1,2025-01-01,serum_m_protein,1.0,mg/mL",
            "labs.csv: row 1 (line 2), field 'unit': unknown unit 'mg/mL' for serum_m_protein "
            "(accepted: 'g/dL', 'g/L')",
        ),
        (
            "P1,2025-13-01,anc,1.0,10*9/L",
            "labs.csv: row 1 (line 2), field 'date': unparseable date '2025-13-01' (expected "
            "YYYY-MM-DD)",
        ),
        (
            "P1,2025-01-01,serum_ife,maybe,",
            "labs.csv: row 1 (line 2), field 'value': 'maybe' is not positive/negative for "
            "serum_ife",
        ),
    ],
)
def test_bad_input_messages(row, message):
    with pytest.raises(PlateauError) as exc:
        mio.read_labs(io.StringIO(HDR + row + "\n"))
    assert str(exc.value) == message


def test_skip_bad_rows_reports_and_keeps_the_rest():
    text = (
        HDR
        + "P1,2025-01-01,anc,1.0,10*9/L\nP1,2025-01-02,anc,-1,10*9/L\n"
        + "P1,x,anc,1,10*9/L\nP1,2025-01-03,anc,2,/uL\n"
    )
    with pytest.raises(
        PlateauError, match=r"row 2 \(line 3\).*\(1 more bad row\(s\); use --skip-bad-rows"
    ):
        mio.read_labs(io.StringIO(text))
    t = mio.read_labs(io.StringIO(text), skip_bad_rows=True)
    assert [(b.row, b.field) for b in t.bad_rows] == [(2, "value"), (3, "date")]
    assert t.frame["value"].tolist() == pytest.approx([1.0, 0.002])  # 2 /uL = 0.002 x10^9/L


def test_unit_conversions():
    t = mio.read_labs(
        io.StringIO(
            HDR + "A,2025-01-01,serum_m_protein,12,g/L\nA,2025-01-01,kappa_flc,250,mg/L\n"
            "A,2025-01-01,creatinine,88.42,umol/L\nA,2025-01-01,calcium,2.5,mmol/L\n"
            "A,2025-01-01,platelets,150000,/uL\nA,2025-01-01,urine_m_protein,0.5,g/24h\n"
        )
    )
    assert t.frame["value"].tolist() == pytest.approx([1.2, 25.0, 1.0, 10.0195, 150.0, 500.0])


def test_missing_column_and_bad_patient_agent():
    with pytest.raises(PlateauError, match="labs.csv: missing column\\(s\\) 'unit'"):
        mio.read_labs(io.StringIO("patient_id,date,analyte,value\nP,2025-01-01,anc,1\n"))
    with pytest.raises(
        PlateauError,
        match="patients.csv: row 1 \\(line 2\\), field 'agent': unknown agent 'aspirin'",
    ):
        mio.read_patients(
            io.StringIO("patient_id,maintenance_start,agent,dose_mg\nP,2025-01-01,aspirin,10\n")
        )
    with pytest.raises(
        PlateauError,
        match="grade '5' is not defined for fatigue in CTCAE v5.0 \\(defined: 1, 2, 3\\)",
    ):
        mio.read_events(io.StringIO("patient_id,date,term,grade\nP,2025-01-01,fatigue,5\n"))


def _cli(args, capsys):
    from plateau.cli import main

    try:
        main(args)
    except SystemExit as e:
        code = e.code
    else:
        code = 0
    return code, capsys.readouterr()


def test_cli_assess_json_on_examples(capsys):
    code, out = _cli(
        [
            "monitor",
            "assess",
            "--labs",
            str(EX / "labs.csv"),
            "--patients",
            str(EX / "patients.csv"),
            "--events",
            str(EX / "events.csv"),
            "--qol",
            str(EX / "qlq.csv"),
        ],
        capsys,
    )
    assert code == 0
    data = json.loads(out.out)
    assert len(data) == 19
    required = {
        "patient_id",
        "baseline_date",
        "measurable_by",
        "assessments",
        "best_response",
        "best_response_date",
        "progression_date",
        "ctcae",
        "dose_actions",
        "alerts",
        "unconfirmed_rules_used",
    }
    assert all(required <= set(p) for p in data)
    by = {p["patient_id"]: p for p in data}
    assert by["P07"]["progression_date"] == "2025-06-01"
    assert any(
        a["message"].startswith("global health status fell beyond the MID on 2025-03-15")
        for a in by["P05"]["alerts"]
    )
    assert any(
        a["message"] == "grade 4 neutropenia on 2025-02-01: hold lenalidomide per label"
        for a in by["P05"]["alerts"]
    )


def test_cli_table_and_diagnosis_baseline(capsys):
    code, out = _cli(
        [
            "monitor",
            "assess",
            "--labs",
            str(EX / "labs.csv"),
            "--patients",
            str(EX / "patients.csv"),
            "--baseline",
            "diagnosis",
            "--format",
            "table",
        ],
        capsys,
    )
    assert code == 0 and "baseline = diagnosis" in out.out and "P10" in out.out


def test_cli_bad_row_error_and_skip(tmp_path, capsys):
    f = tmp_path / "labs.csv"
    f.write_text(
        HDR
        + "P1,2025-01-01,serum_m_protein,2,g/dL\nP1,2025-02-01,foo,1,g/dL\n"
        + "P1,2025-03-01,serum_m_protein,1,g/dL\n"
    )
    code, out = _cli(["monitor", "assess", "--labs", str(f), "--baseline", "diagnosis"], capsys)
    assert (
        code == 1 and "labs.csv: row 2 (line 3), field 'analyte': unknown analyte 'foo'" in out.err
    )
    code, out = _cli(
        ["monitor", "assess", "--labs", str(f), "--baseline", "diagnosis", "--skip-bad-rows"],
        capsys,
    )
    assert code == 0 and "skipped bad row: labs.csv: row 2 (line 3)" in out.err
    assert json.loads(out.out)[0]["assessments"][0]["response"] == "PR"


def test_cli_qol(capsys):
    code, out = _cli(["monitor", "qol", "--responses", str(EX / "qlq.csv")], capsys)
    assert code == 0
    data = json.loads(out.out)
    p5 = next(p for p in data["patients"] if p["patient_id"] == "P05")
    assert p5["questionnaires"][2]["scores"]["QL2"] == pytest.approx(
        66.6667, abs=1e-4
    )  # q29=5, q30 missing
    assert any(c["scale"] == "QL2" and c["status"] == "decline" for c in p5["changes"])
