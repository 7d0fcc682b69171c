"""Bad input: one clear error naming the file, row and field (or the cause), never a traceback."""

from __future__ import annotations

import io

import pytest

from plateau.errors import PlateauError
from plateau.monitor import io as mio

LABS = "patient_id,date,analyte,value,unit\nP1,2024-01-05,hemoglobin,11.5,g/dL\n"


def test_latin1_file_is_read(tmp_path):
    f = tmp_path / "labs.csv"
    text = (
        "patient_id,date,analyte,value,unit,comment\nMüller-Ç,2024-01-05,hemoglobin,11.5,g/dL,réf\n"
    )
    f.write_bytes(text.encode("latin-1"))
    frame = mio.read_labs(f).frame
    assert frame["patient_id"].tolist() == ["Müller-Ç"]


def test_utf16_file_is_read(tmp_path):
    f = tmp_path / "labs.csv"
    f.write_bytes(LABS.encode("utf-16"))  # with BOM, as spreadsheet programs write it
    frame = mio.read_labs(f).frame
    assert frame["value"].tolist() == [11.5]


def test_semicolon_separator_is_named_as_the_cause(tmp_path):
    f = tmp_path / "labs.csv"
    f.write_text(LABS.replace(",", ";"))
    with pytest.raises(PlateauError, match=r"labs.csv: the header is separated by semicolon"):
        mio.read_labs(f)


def test_conflicting_duplicate_values_are_rejected_naming_both_rows():
    text = LABS + "P1,2024-01-05,hemoglobin,9.8,g/dL\n"
    with pytest.raises(PlateauError) as e:
        mio.read_labs(io.StringIO(text))
    msg = str(e.value)
    assert "row 2 (line 3), field 'value'" in msg and "row 1 (line 2) has '11.5'" in msg


def test_identical_duplicate_is_one_result_even_in_another_unit():
    text = LABS + "P1,2024-01-05,hemoglobin,115,g/L\n"
    frame = mio.read_labs(io.StringIO(text)).frame
    assert frame["value"].tolist() == [11.5]


def test_future_date_is_rejected():
    text = "patient_id,date,analyte,value,unit\nP1,2099-01-05,hemoglobin,11.5,g/dL\n"
    with pytest.raises(PlateauError, match=r"field 'date': date '2099-01-05' is in the future"):
        mio.read_labs(io.StringIO(text))


@pytest.mark.parametrize(
    "agent,dose",
    [("lenalidomide", 100), ("bortezomib", 2.6), ("ixazomib", 8), ("lenalidomide", 1)],
)
def test_dose_outside_the_label_range_is_rejected(agent, dose):
    text = f"patient_id,maintenance_start,agent,dose_mg\nP1,2024-01-05,{agent},{dose}\n"
    with pytest.raises(PlateauError, match=rf"field 'dose_mg': dose {dose} .* outside the label"):
        mio.read_patients(io.StringIO(text))


@pytest.mark.parametrize(
    "agent,dose", [("lenalidomide", 2.5), ("lenalidomide", 15), ("bortezomib", 1.3)]
)
def test_label_doses_are_accepted(agent, dose):
    text = f"patient_id,maintenance_start,agent,dose_mg\nP1,2024-01-05,{agent},{dose}\n"
    assert mio.read_patients(io.StringIO(text)).frame["dose_mg"].tolist() == [dose]


def test_absurd_reference_limit_is_rejected():
    text = "patient_id,date,analyte,value,unit,lln,uln\nP1,2024-01-05,creatinine,1.0,mg/dL,,0.01\n"
    with pytest.raises(PlateauError, match=r"field 'uln': implausible reference limit uln 0.01"):
        mio.read_labs(io.StringIO(text))
    ok = "patient_id,date,analyte,value,unit,lln,uln\nP1,2024-01-05,creatinine,90,umol/L,,106\n"
    assert mio.read_labs(io.StringIO(ok)).frame["uln"].round(3).tolist() == [1.199]


def test_undecodable_file_gives_one_line_error(tmp_path):
    f = tmp_path / "labs.csv"
    f.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(PlateauError) as e:
        mio.read_labs(f)
    assert str(e.value).startswith("labs.csv:") and "\n" not in str(e.value)


@pytest.mark.parametrize(
    "column,value,message",
    [
        (
            "stop_date",
            "2024-12-31",
            "stop_date '2024-12-31' is before maintenance_start '2025-01-01'",
        ),
        (
            "diagnosis_date",
            "2025-02-01",
            "diagnosis_date '2025-02-01' is after maintenance_start '2025-01-01'",
        ),
    ],
)
def test_patient_dates_out_of_order_are_rejected_naming_row_and_field(column, value, message):
    """Maintenance cannot stop before it starts, nor start before the diagnosis: the row and
    field are named and nothing is assessed (a stop before the start used to remove every dose
    action silently)."""
    text = (
        "patient_id,maintenance_start,agent,dose_mg," + column + "\n"
        "P1,2025-01-01,lenalidomide,10,\n"
        "P2,2025-01-01,lenalidomide,10," + value + "\n"
    )
    with pytest.raises(PlateauError) as info:
        mio.read_patients(io.StringIO(text), name="patients.csv")
    said = str(info.value)
    assert "patients.csv" in said and "row 2" in said and f"field '{column}'" in said
    assert message in said
