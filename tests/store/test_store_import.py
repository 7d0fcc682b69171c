"""CSV and FHIR import: atomic, idempotent, every problem listed; FHIR export round trip."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from plateau.store import fhir_io
from plateau.store.importer import apply, import_files
from plateau.store.models import AdverseEvent, LabResult, Patient, User
from plateau.store.records import ImportRejected


def test_csv_import_of_the_examples_then_reimport_creates_nothing(
    db, users, example_files, table_counts
):
    first = import_files(db, users["admin"], csv_files=example_files(), team="Team A")
    assert first.created["patients"] == 19
    labs_rows = len(example_files("labs")["labs"][1].decode().strip().splitlines()) - 1
    assert first.created["labs"] == labs_rows
    counts = table_counts(db)
    again = import_files(db, users["admin"], csv_files=example_files(), team="Team A")
    assert sum(again.created.values()) == 0 and sum(again.updated.values()) == 0
    assert again.unchanged == sum(first.created.values())
    after = table_counts(db)
    assert {k: v for k, v in after.items() if k != "import_batches"} == {
        k: v for k, v in counts.items() if k != "import_batches"
    }
    assert after["import_batches"] == counts["import_batches"] + 1


def test_units_are_converted_and_loinc_stored(db, users):
    files = {
        "patients": (
            "p.csv",
            b"patient_id,maintenance_start,agent,dose_mg\nX1,2025-01-01,lenalidomide,10\n",
        ),
        "labs": (
            "l.csv",
            b"patient_id,date,analyte,value,unit\nX1,2025-01-01,serum_m_protein,12,g/L\n"
            b"X1,2025-01-01,kappa_flc,250,mg/L\n",
        ),
    }
    import_files(db, users["clin_a"], csv_files=files, team="Team A")
    with db.session() as s:
        labs = {r.analyte: r for r in s.scalars(select(LabResult))}
    assert (
        labs["serum_m_protein"].value == pytest.approx(1.2)
        and labs["serum_m_protein"].unit == "g/dL"
    )
    assert labs["serum_m_protein"].loinc == "33358-3"
    assert labs["kappa_flc"].value == pytest.approx(25.0) and labs["kappa_flc"].loinc == "36916-5"


def test_bad_csv_lists_every_bad_row_and_writes_nothing(db, users, example_files, table_counts):
    import_files(db, users["admin"], csv_files=example_files("patients"), team="Team A")
    before = table_counts(db)
    labs = (
        b"patient_id,date,analyte,value,unit\n"
        b"P01,2025-07-01,serum_m_protein,0.4,g/dL\n"  # good
        b"P01,2025-13-01,serum_m_protein,0.4,g/dL\n"  # bad date
        b"P02,2025-07-01,hemoglobin,80,g/dL\n"  # impossible value
        b"P03,2025-07-01,kappa_flc,3,furlongs\n"  # bad unit
        b"NOPE,2025-07-01,serum_m_protein,1,g/dL\n"
    )  # unknown patient
    events = b"patient_id,date,term,grade\nP01,2025-07-01,not_a_term,2\n"
    with pytest.raises(ImportRejected) as caught:
        import_files(
            db,
            users["admin"],
            csv_files={"labs": ("labs.csv", labs), "events": ("events.csv", events)},
            team="Team A",
        )
    problems = caught.value.problems
    assert any("row 2 (line 3), field 'date'" in p for p in problems)
    assert any("row 3 (line 4), field 'value'" in p and "hemoglobin" in p for p in problems)
    assert any("row 4 (line 5), field 'unit'" in p for p in problems)
    assert any("events.csv: row 1" in p and "term" in p for p in problems)
    assert any("'NOPE'" in p for p in problems)
    assert len(problems) == 5
    assert table_counts(db) == before


def test_clinician_cannot_write_to_another_teams_patient(db, users, example_files, table_counts):
    import_files(db, users["clin_a"], csv_files=example_files("patients"), team="Team A")
    before = table_counts(db)
    labs = b"patient_id,date,analyte,value,unit\nP01,2025-07-01,serum_m_protein,0.4,g/dL\n"
    with pytest.raises(ImportRejected, match="not in your care teams"):
        import_files(db, users["clin_b"], csv_files={"labs": ("labs.csv", labs)}, team="Team B")
    with pytest.raises(ImportRejected, match="is not one of your care teams"):
        import_files(db, users["clin_b"], csv_files=example_files("patients"), team="Team A")
    with pytest.raises(ImportRejected, match="researcher may not import"):
        import_files(db, users["researcher"], csv_files=example_files("patients"), team="Team A")
    assert table_counts(db) == before


def test_a_corrected_value_updates_the_row(db, users):
    p = ("p.csv", b"patient_id,maintenance_start,agent,dose_mg\nX1,2025-01-01,lenalidomide,10\n")

    def lab(v):
        return (
            "l.csv",
            f"patient_id,date,analyte,value,unit\nX1,2025-02-01,serum_m_protein,{v},g/dL\n".encode(),
        )

    import_files(db, users["admin"], csv_files={"patients": p, "labs": lab(1.1)}, team="Team A")
    result = import_files(db, users["admin"], csv_files={"labs": lab(1.3)})
    assert result.updated["labs"] == 1 and result.created["labs"] == 0
    with db.session() as s:
        assert [r.value for r in s.scalars(select(LabResult))] == [pytest.approx(1.3)]


def _bundle_of(db, external_id: str) -> dict:
    with db.session() as s:
        patient = s.scalar(select(Patient).where(Patient.external_id == external_id))
        return fhir_io.export_patient(s, patient)


def _patient_data(db, external_id: str):
    with db.session() as s:
        patient = s.scalar(select(Patient).where(Patient.external_id == external_id))
        labs = sorted(
            (r.date, r.analyte, round(r.value, 9), r.unit)
            for r in s.scalars(select(LabResult).where(LabResult.patient_id == patient.id))
        )
        events = sorted(
            (r.date, r.term, r.grade)
            for r in s.scalars(select(AdverseEvent).where(AdverseEvent.patient_id == patient.id))
        )
        return (
            labs,
            events,
            patient.diagnosis_date,
            [(ln.agent, ln.start_date) for ln in patient.lines],
        )


def test_fhir_export_then_import_into_an_empty_database_round_trips(
    db, users, example_files, tmp_path
):
    from plateau.store import open_database
    from plateau.store.security import create_user

    import_files(db, users["admin"], csv_files=example_files(), team="Team A")
    bundle = _bundle_of(db, "P16")  # other units, thalidomide, an adverse event
    codes_used = {
        c["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        for c in e["resource"]["code"]["coding"]
        if c["system"] == "http://loinc.org"
    }
    assert "33358-3" in codes_used
    other = open_database(f"sqlite:///{tmp_path / 'other.sqlite'}")
    with other.session(write=True) as s:
        uid = create_user(s, "admin2", "admin-password-2", "admin", ["Team Z"]).id
    summary = import_files(
        other, uid, fhir=("p16.json", json.dumps(bundle).encode()), team="Team Z"
    )
    assert summary.created["patients"] == 1
    assert _patient_data(other, "P16") == _patient_data(db, "P16")
    again = import_files(other, uid, fhir=("p16.json", json.dumps(bundle).encode()), team="Team Z")
    assert sum(again.created.values()) == 0
    other.dispose()


def test_bad_fhir_bundle_lists_every_bad_entry(db, users, table_counts):
    before = table_counts(db)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:a",
                "resource": {"resourceType": "Patient", "identifier": [{"value": "F1"}]},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "subject": {"reference": "urn:uuid:a"},
                    "effectiveDateTime": "2025-01-01",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                    "valueQuantity": {
                        "value": 12,
                        "code": "mmol/L",
                        "system": "http://unitsofmeasure.org",
                    },
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "subject": {"reference": "urn:uuid:zz"},
                    "effectiveDateTime": "2025-01-01",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "99999-9"}]},
                    "valueQuantity": {"value": 1, "code": "g/dL"},
                }
            },
            {
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {"code": "AMB"},
                }
            },
            {
                "resource": {"resourceType": "Observation", "status": "final"}
            },  # no code: schema error
        ],
    }
    data = fhir_io.read_bundle("b.json", json.dumps(bundle))
    assert any("entry 4 (Observation), field 'code'" in p for p in data.problems)
    bundle["entry"].pop()
    data = fhir_io.read_bundle("b.json", json.dumps(bundle))
    problems = data.problems
    assert any(
        "entry 1 (Observation), field 'valueQuantity.code'" in p and "mmol/L" in p for p in problems
    )
    assert any("entry 2 (Observation), field 'subject'" in p for p in problems)
    assert any("entry 2 (Observation), field 'code'" in p and "99999-9" in p for p in problems)
    assert any("entry 3 (Encounter)" in p for p in problems)
    with db.session(write=True) as s:
        with pytest.raises(ImportRejected):
            apply(s, data, s.get(User, users["admin"]), team="Team A")
    assert table_counts(db) == before


def test_fhir_medication_and_condition_import(db, users):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:p",
                "resource": {
                    "resourceType": "Patient",
                    "id": "x",
                    "gender": "female",
                    "identifier": [{"system": "urn:mrn", "value": "M-7"}],
                },
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "subject": {"reference": "Patient/x"},
                    "onsetDateTime": "2024-03-02",
                    "code": {
                        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C90.00"}]
                    },
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "status": "completed",
                    "subject": {"reference": "urn:uuid:p"},
                    "medicationCodeableConcept": {"text": "Lenalidomide 10 mg capsule"},
                    "effectivePeriod": {"start": "2025-01-01", "end": "2025-03-01"},
                    "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg"}}]}],
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "status": "on-hold",
                    "intent": "order",
                    "subject": {"reference": "urn:uuid:p"},
                    "authoredOn": "2025-03-01",
                    "medicationCodeableConcept": {"coding": [{"display": "lenalidomide"}]},
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "subject": {"reference": "urn:uuid:p"},
                    "onsetDateTime": "2025-02-20",
                    "code": {
                        "coding": [{"system": "urn:plateau:ctcae-v5-term", "code": "diarrhea"}]
                    },
                    "severity": {"coding": [{"system": "urn:plateau:ctcae-v5-grade", "code": "3"}]},
                }
            },
        ],
    }
    summary = import_files(
        db, users["clin_a"], fhir=("b.json", json.dumps(bundle).encode()), team="Team A"
    )
    assert summary.created == {
        "patients": 1,
        "lines": 1,
        "doses": 3,
        "labs": 0,
        "events": 1,
        "qol": 0,
    }
    with db.session() as s:
        p = s.scalar(select(Patient).where(Patient.external_id == "M-7"))
        assert (p.sex, p.diagnosis_date.isoformat()) == ("F", "2024-03-02")
        assert sorted((d.date.isoformat(), d.action, d.dose or 0) for d in p.lines[0].doses) == [
            ("2025-01-01", "start", 10.0),
            ("2025-03-01", "hold", 0),
            ("2025-03-01", "stop", 0),
        ]


@pytest.mark.parametrize("resource_type", ["", "Nope", 5, None])
def test_fhir_entry_with_bad_resource_type_is_a_named_problem(resource_type):
    """A Bundle entry whose resourceType is empty, unknown or not a string is listed as a
    problem naming the entry (found by fuzzing: it used to raise KeyError out of fhir.resources)."""
    import json

    from plateau.store.fhir_io import read_bundle

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": resource_type}}],
    }
    data = read_bundle("b.json", json.dumps(bundle))
    assert len(data.problems) == 1
    assert data.problems[0].startswith("b.json: entry 0, field 'resource.resourceType'")


def _rejected(db, user, **kw) -> list[str]:
    with pytest.raises(ImportRejected) as caught:
        import_files(db, user, **kw)
    return caught.value.problems


def test_every_csv_import_problem_names_file_row_and_field(db, users, table_counts):
    """Lab, event, QoL and patient rows: a problem found after reading (implausible date,
    conflicting repeat, unknown or foreign patient) names the file, the row (and its line) and the
    field, like the problems found while reading; nothing is written."""
    patients = (
        "patients.csv",
        b"patient_id,maintenance_start,agent,dose_mg,diagnosis_date\n"
        b"X1,2025-01-01,lenalidomide,10,2024-06-01\n"
        b"X2,2025-01-01,lenalidomide,10,1850-06-01\n",  # row 2: implausible diagnosis date
    )
    good = ("patients.csv", b"\n".join(patients[1].split(b"\n")[:2]) + b"\n")
    import_files(db, users["admin"], csv_files={"patients": good}, team="Team A")
    before = table_counts(db)
    labs = (
        b"patient_id,date,analyte,value,unit\n"
        b"X1,2025-02-01,serum_m_protein,1.1,g/dL\n"  # row 1: good
        b"X1,1890-02-01,serum_m_protein,1.1,g/dL\n"  # row 2: implausible date
        b"X1,2025-02-01,hemoglobin,12,g/dL\n"  # row 3: good
        b"X1,2025-02-01,serum_m_protein,1.4,g/dL\n"  # row 4: conflicts with row 1
        b"NOPE,2025-02-01,serum_m_protein,1.0,g/dL\n"  # row 5: unknown patient
        b"NOPE,2025-03-01,serum_m_protein,1.0,g/dL\n"  # row 6: same unknown patient
    )
    events = (
        b"patient_id,date,term,grade\n"
        b"X1,2025-02-01,fatigue,1\n"
        b"X1,1880-02-01,fatigue,2\n"  # row 2: implausible date
        b"X1,2025-03-01,fatigue,1\n"
        b"X1,2025-03-01,fatigue,3\n"  # row 4: conflicts with row 3
    )
    problems = _rejected(
        db,
        users["admin"],
        csv_files={"labs": ("labs.csv", labs), "events": ("events.csv", events)},
    )
    expected = [
        "labs.csv: row 2 (line 3), field 'date': implausible date 1890-02-01",
        "labs.csv: row 4 (line 5), field 'value': conflicting value '1.4'",
        "labs.csv: row 5 (line 6), field 'patient_id' (and 1 more row(s) naming this patient): "
        "patient 'NOPE' is not in your care teams",
        "events.csv: row 2 (line 3), field 'date': implausible date 1880-02-01",
        "events.csv: row 4 (line 5), field 'grade': conflicts with row(s) 3",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected), problems
    assert table_counts(db) == before

    # the patients file: its rows too
    problems = _rejected(db, users["admin"], csv_files={"patients": patients}, team="Team A")
    assert problems == [
        "patients.csv: row 2 (line 3), field 'diagnosis_date': implausible date 1850-06-01 "
        "(expected 1900-01-01 to " + problems[0].rsplit(" to ", 1)[1]
    ]
    # a clinician importing for another team's patient: the row that names it
    items = ",".join(f"q{i}" for i in range(1, 31))
    qlq = f"patient_id,date,{items}\nX1,2025-02-01,{','.join(['2'] * 30)}\n".encode()
    problems = _rejected(db, users["clin_b"], csv_files={"qlq": ("qlq.csv", qlq)}, team="Team B")
    assert problems == [
        "qlq.csv: row 1 (line 2), field 'patient_id': patient 'X1' is not in your care teams "
        "and not in this import"
    ]
    assert table_counts(db) == before


def test_fhir_import_problems_found_after_reading_name_entry_and_field(db, users, table_counts):
    """A FHIR entry naming another team's patient, or an implausible date: the entry and the
    field; nothing written."""
    import_files(
        db,
        users["clin_a"],
        csv_files={
            "patients": (
                "p.csv",
                b"patient_id,maintenance_start,agent,dose_mg\nA1,2025-01-01,lenalidomide,10\n",
            )
        },
        team="Team A",
    )
    before = table_counts(db)
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"identifier": {"value": "A1"}},
        "effectiveDateTime": "2025-02-01",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "valueQuantity": {"value": 12, "unit": "g/dL", "code": "g/dL"},
    }
    old = {**obs, "effectiveDateTime": "1899-02-01"}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": obs}, {"resource": old}],
    }
    problems = _rejected(
        db, users["clin_b"], fhir=("b.json", json.dumps(bundle).encode()), team="Team B"
    )
    starts = [
        "b.json: entry 0 (Observation), field 'subject' (and 1 more row(s) naming this patient): "
        "patient 'A1' is not in your care teams",
        "b.json: entry 1 (Observation), field 'effectiveDateTime': implausible date 1899-02-01",
    ]
    for start in starts:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == 2, problems
    assert table_counts(db) == before


def test_conflicting_repeats_name_the_field_that_differs():
    from plateau.store.csv_io import read_csv

    events = (
        b"patient_id,date,term,grade,with_pain\n"
        b"X1,2025-03-01,fatigue,1,no\nX1,2025-03-01,fatigue,1,yes\n"
    )
    items = ",".join(f"q{i}" for i in range(1, 31))
    answers = ["2"] * 30
    qlq = (
        f"patient_id,date,{items}\nX1,2025-02-01,{','.join(answers)}\n"
        f"X1,2025-02-01,{','.join(answers[:4] + ['3'] + answers[5:])}\n"
    ).encode()
    problems = read_csv({"events": ("ev.csv", events), "qlq": ("q.csv", qlq)}).problems
    assert problems == [
        "ev.csv: row 2 (line 3), field 'with_pain': conflicts with row(s) 1 (same "
        "patient_id=X1, date=2025-03-01, term=fatigue, different with_pain)",
        "q.csv: row 2 (line 3), field 'q5': conflicts with row(s) 1 (same patient_id=X1, "
        "date=2025-02-01, different q5)",
    ]
