"""Fuzzed CSV and FHIR imports: never a crash, never a partial write (hypothesis, modest
budgets)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plateau.store.importer import import_files
from plateau.store.records import ImportRejected

FUZZ = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

GOOD_LAB_ROW = "P01,2025-07-01,serum_m_protein,0.4,g/dL"
cell = st.one_of(
    st.sampled_from(
        [
            "",
            "P01",
            "P02",
            "NEW",
            "2025-07-01",
            "2025-02-30",
            "serum_m_protein",
            "kappa_flc",
            "hemoglobin",
            "g/dL",
            "mg/L",
            "-1",
            "1e308",
            "nan",
            "inf",
            "positive",
            '"',
            ",",
            "1",
            "0.5",
            "9999999",
        ]
    ),
    st.text(max_size=8),
)
row = st.lists(cell, min_size=0, max_size=7).map(lambda cells: ",".join(cells))


def _attempt(db, user_id, **kwargs):
    try:
        return import_files(db, user_id, **kwargs)
    except ImportRejected as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return None


@FUZZ
@given(
    rows=st.lists(row, max_size=6),
    header=st.sampled_from(
        ["patient_id,date,analyte,value,unit", "patient_id,date,analyte,value", "", "x,y"]
    ),
    keep_good=st.booleans(),
    raw=st.binary(max_size=40),
)
def test_fuzzed_csv_never_crashes_nor_writes_partially(seeded, rows, header, keep_good, raw):
    db, uid, table_counts = seeded
    before = table_counts(db)
    text = "\n".join([header, *([GOOD_LAB_ROW] if keep_good else []), *rows]) + "\n"
    result = _attempt(db, uid, csv_files={"labs": ("labs.csv", text.encode() + raw)}, team="Team A")
    after = table_counts(db)
    if result is None:
        assert after == before
    else:  # accepted: every row was valid, so what is stored grew by exactly what was created
        assert after["lab_results"] == before["lab_results"] + result.created["labs"]


json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, width=32),
    st.sampled_from(
        [
            "",
            "Patient",
            "Observation",
            "final",
            "2025-01-01",
            "urn:uuid:a",
            "http://loinc.org",
            "718-7",
            "g/dL",
            "Patient/a",
        ]
    ),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "resourceType",
                    "code",
                    "coding",
                    "system",
                    "value",
                    "valueQuantity",
                    "subject",
                    "reference",
                    "status",
                    "effectiveDateTime",
                    "identifier",
                    "resource",
                    "fullUrl",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)

GOOD_ENTRIES = [
    {
        "fullUrl": "urn:uuid:a",
        "resource": {"resourceType": "Patient", "identifier": [{"value": "FZ1"}]},
    },
    {
        "resource": {
            "resourceType": "Observation",
            "status": "final",
            "subject": {"reference": "urn:uuid:a"},
            "effectiveDateTime": "2025-01-01",
            "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
            "valueQuantity": {"value": 11.5, "code": "g/dL", "system": "http://unitsofmeasure.org"},
        }
    },
]


@FUZZ
@given(extra=st.lists(json_value, max_size=3), keep_good=st.booleans(), mangle=st.integers(0, 3))
def test_fuzzed_fhir_never_crashes_nor_writes_partially(seeded, extra, keep_good, mangle):
    db, uid, table_counts = seeded
    before = table_counts(db)
    entries = [json.loads(json.dumps(e)) for e in GOOD_ENTRIES] if keep_good else []
    entries += [{"resource": e} if mangle % 2 else e for e in extra]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    text = json.dumps(bundle)
    if mangle == 3:
        text = text[: len(text) // 2]
    result = _attempt(db, uid, fhir=("b.json", text.encode()), team="Team A")
    after = table_counts(db)
    if result is None:
        assert after == before
    else:
        assert after["lab_results"] == before["lab_results"] + result.created["labs"]


import pytest  # noqa: E402


@pytest.fixture
def seeded(db, users, example_files, table_counts):
    import_files(db, users["admin"], csv_files=example_files("patients", "labs"), team="Team A")
    return db, users["clin_a"], table_counts
