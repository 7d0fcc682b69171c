"""Records that stay safe under real use, on SQLite and PostgreSQL: implausible input rejected
with row and field, lab corrections versioned, alerts never deleted (state machine, audited,
stable identity), no leak of other teams' identifiers or team names through import errors."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from plateau.store import alerts as A
from plateau.store.importer import import_files
from plateau.store.models import Alert, AuditEntry, LabResult, LabResultVersion, User
from plateau.store.records import ImportRejected

PATIENT = b"patient_id,maintenance_start,agent,dose_mg\nX1,2025-01-01,lenalidomide,10\n"


def _labs(*rows: str) -> tuple[str, bytes]:
    return ("labs.csv", ("patient_id,date,analyte,value,unit\n" + "\n".join(rows) + "\n").encode())


@pytest.mark.parametrize(
    "files,where",
    [
        ({"labs": _labs("X1,2999-01-01,serum_m_protein,1.0,g/dL")}, "labs.csv"),
        ({"labs": _labs("X1,1677-09-22,serum_m_protein,1.0,g/dL")}, "labs.csv"),
        (
            {
                "doses": (
                    "doses.csv",
                    b"patient_id,date,action,dose\nX1,2099-12-31,change,25\n",
                )
            },
            "doses.csv",
        ),
        (
            {
                "patients": (
                    "p.csv",
                    b"patient_id,maintenance_start,agent,dose_mg\nX2,2262-04-11,lenalidomide,10\n",
                )
            },
            "p.csv",
        ),
    ],
    ids=["lab-future", "lab-1677", "dose-2099", "start-2262"],
)
def test_implausible_dates_are_rejected_naming_row_and_field(db, users, table_counts, files, where):
    import_files(db, users["admin"], csv_files={"patients": ("p.csv", PATIENT)}, team="Team A")
    before = table_counts(db)
    with pytest.raises(ImportRejected) as caught:
        import_files(db, users["admin"], csv_files=files, team="Team A")
    text = " | ".join(caught.value.problems)
    assert where in text and "field '" in text
    assert "implausible date" in text or "unparseable date" in text
    assert table_counts(db) == before  # nothing written


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31"])
def test_fhir_dates_far_out_are_rejected(db, users, table_counts, date):
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "identifier": [{"value": "F1"}],
                    "birthDate": date,
                }
            }
        ],
    }
    before = table_counts(db)
    with pytest.raises(ImportRejected) as caught:
        import_files(
            db, users["admin"], fhir=("b.json", json.dumps(bundle).encode()), team="Team A"
        )
    assert any("entry 0" in p for p in caught.value.problems), caught.value.problems
    assert table_counts(db) == before


def test_fhir_huge_numbers_are_a_clear_error(db, users):
    text = (
        '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
        '{"resourceType": "Observation", "valueQuantity": {"value": ' + "9" * 5000 + "}}}]}"
    )
    with pytest.raises(ImportRejected) as caught:
        import_files(db, users["admin"], fhir=("b.json", text.encode()), team="Team A")
    assert any("b.json" in p for p in caught.value.problems)


def test_a_lab_correction_keeps_the_earlier_value(db, users):
    files = {
        "patients": ("p.csv", PATIENT),
        "labs": _labs("X1,2025-02-01,serum_m_protein,1.5,g/dL"),
    }
    import_files(db, users["admin"], csv_files=files, team="Team A")
    import_files(
        db,
        users["admin"],
        csv_files={"labs": _labs("X1,2025-02-01,serum_m_protein,1.2,g/dL")},
    )
    import_files(
        db,
        users["admin"],
        csv_files={"labs": _labs("X1,2025-02-01,serum_m_protein,1.1,g/dL")},
    )
    with db.session() as s:
        lab = s.scalar(select(LabResult))
        history = list(s.scalars(select(LabResultVersion).order_by(LabResultVersion.id)))
    assert lab.value == pytest.approx(1.1)
    assert [h.value for h in history] == pytest.approx([1.5, 1.2])
    assert all(h.lab_result_id == lab.id and h.replaced_by_batch for h in history)


def test_import_errors_do_not_tell_another_teams_patient_from_an_unknown_one(
    db, users, example_files
):
    import_files(db, users["clin_a"], csv_files=example_files("patients"), team="Team A")
    answers = []
    for ext in ("P01", "NOBODY-123"):  # P01 belongs to Team A; NOBODY-123 does not exist
        with pytest.raises(ImportRejected) as caught:
            import_files(
                db,
                users["clin_b"],
                csv_files={"labs": _labs(f"{ext},2025-07-01,serum_m_protein,0.4,g/dL")},
            )
        answers.append([p.replace(ext, "<id>") for p in caught.value.problems])
    assert answers[0] == answers[1]
    teams = []
    for team in ("Team A", "No Such Team"):
        with pytest.raises(ImportRejected) as caught:
            import_files(db, users["clin_b"], csv_files=example_files("patients"), team=team)
        teams.append([p.replace(team, "<t>") for p in caught.value.problems])
    assert teams[0] == teams[1]


def _progression_import(db, users, start: str = "2025-01-01"):
    patients = f"patient_id,maintenance_start,agent,dose_mg\nX1,{start},lenalidomide,10\n"
    labs = _labs(
        "X1,2024-12-15,serum_m_protein,2.0,g/dL",
        "X1,2025-03-01,serum_m_protein,0.8,g/dL",
        "X1,2025-04-01,serum_m_protein,0.7,g/dL",
        "X1,2025-06-01,serum_m_protein,1.5,g/dL",
        "X1,2025-07-01,serum_m_protein,1.9,g/dL",
    )
    return import_files(
        db,
        users["admin"],
        csv_files={"patients": ("p.csv", patients.encode()), "labs": labs},
        team="Team A",
    )


def test_alerts_are_a_state_machine_that_never_deletes(db, users):
    _progression_import(db, users)
    with db.session() as s:
        alerts = list(s.scalars(select(Alert)))
        assert alerts and all(a.status == "open" for a in alerts)
        n = len(alerts)
        first = alerts[0]
        assert first.fingerprint == A.identity(first.patient_id, first.rule, first.date)
    # a user acknowledges then resolves; each transition audited
    with db.session(write=True) as s:
        user = s.get(User, users["clin_a"])
        alert = s.get(Alert, first.id)
        A.transition(s, alert, "acknowledged", user=user, ip="10.0.0.9")
        with pytest.raises(Exception, match="cannot become"):
            A.transition(s, alert, "open", user=user)
    with db.session() as s:
        log = [
            e.resource
            for e in s.scalars(select(AuditEntry).where(AuditEntry.resource.like("alert %")))
        ]
    assert f"alert {first.id}: open -> acknowledged" in log
    # rewording the engine's message keeps the alert and its acknowledgement
    with db.session(write=True) as s:
        row = {
            "patient_id": first.patient_id,
            "rule": first.rule,
            "date": first.date.isoformat() if first.date else None,
            "message": "reworded message",
            "severity": first.severity,
        }
        others = [
            {
                "patient_id": a.patient_id,
                "rule": a.rule,
                "date": a.date.isoformat() if a.date else None,
                "message": a.message,
                "severity": a.severity,
            }
            for a in s.scalars(select(Alert).where(Alert.id != first.id))
        ]
        A.sync(s, [first.patient_id], [row, *others])
    with db.session() as s:
        again = s.get(Alert, first.id)
        assert again.status == "acknowledged" and again.message == "reworded message"
        assert s.scalar(select(func.count(Alert.id))) == n
    # the engine stops raising them (data changed): superseded, audited, never deleted
    with db.session(write=True) as s:
        A.sync(s, [first.patient_id], [])
    with db.session() as s:
        states = {a.status for a in s.scalars(select(Alert))}
        assert states == {"superseded"}
        assert s.scalar(select(func.count(Alert.id))) == n
        superseded = s.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.resource.like("% -> superseded"))
        )
        assert superseded == n


def test_a_mistyped_start_date_supersedes_instead_of_deleting(db, users):
    _progression_import(db, users)
    with db.session() as s:
        before = {a.id: a.status for a in s.scalars(select(Alert))}
    # a mistyped (but plausible) start creates a second line; the progression alert survives
    _progression_import(db, users, start="2025-05-20")
    with db.session() as s:
        after = {a.id: a.status for a in s.scalars(select(Alert))}
    assert set(before) <= set(after)


def test_the_inbox_pages_sorts_and_groups_in_sql(db, users):
    _progression_import(db, users)
    with db.session(write=True) as s:
        pid = s.scalar(select(Alert.patient_id))
        for k in range(30):  # 30 repeated high alerts of one rule, 5 of another
            s.add(
                Alert(
                    patient_id=pid,
                    fingerprint=f"fp-{k}",
                    date=__import__("datetime").date(2025, 1, 1)
                    + __import__("datetime").timedelta(days=k),
                    severity="high" if k < 30 else "low",
                    message=f"m{k}",
                    rule="r-repeat",
                    tag="C1",
                    status="open",
                )
            )
        for k in range(5):
            s.add(
                Alert(
                    patient_id=pid,
                    fingerprint=f"lo-{k}",
                    date=__import__("datetime").date(2025, 2, 1),
                    severity="low",
                    message="low",
                    rule=f"r-low-{k}",
                    tag="C2",
                    status="open",
                )
            )
    with db.session() as s:
        admin = s.get(User, users["admin"])
        page = A.inbox(s, admin, status="open", per_page=3)
        assert page.total_alerts >= 35 and page.total_groups >= 6
        repeat = next(g for g in page.groups if g.rule == "r-repeat")
        assert repeat.count == 30 and repeat.message == "m29"  # newest first
        assert [g.severity for g in page.groups][0] == "high"
        low = A.inbox(s, admin, status="open", severity="low", per_page=2, page=2)
        assert all(g.severity == "low" for g in low.groups) and len(low.groups) == 2
        clin_b = s.get(User, users["clin_b"])
        assert A.inbox(s, clin_b).total_alerts == 0  # another team's alerts are not visible


def test_the_patient_list_pages_with_a_notice_instead_of_stopping_silently(
    db, users, example_files
):
    from plateau.store.patients import patient_page

    import_files(db, users["admin"], csv_files=example_files("patients"), team="Team A")
    with db.session() as s:
        admin = s.get(User, users["admin"])
        first = patient_page(s, admin, per_page=5)
        last = patient_page(s, admin, per_page=5, page=4)
        res = patient_page(s, s.get(User, users["researcher"]), per_page=50)
    assert first.total == 19 and first.pages == 4 and len(first.rows) == 5
    assert first.notice == "patients 1-5 of 19 (page 1 of 4)"
    assert len(last.rows) == 4 and last.notice.startswith("patients 16-19 of 19")
    with db.session() as s:
        seen = {
            r["label"]
            for page in range(1, 5)
            for r in patient_page(s, s.get(User, users["admin"]), per_page=5, page=page).rows
        }
    assert len(seen) == 19
    # researchers: the pseudonym is the row's reference; no internal id, no date
    assert all(str(r["id"]).startswith("R-") and r["id"] == r["label"] for r in res.rows)
    assert res.notice == ""
