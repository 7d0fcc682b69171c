"""Passwords, sessions, rate limiting, access scope and decision snapshots (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from plateau.errors import PlateauError
from plateau.store import security
from plateau.store.decisions import save_snapshot, snapshots
from plateau.store.importer import import_files
from plateau.store.models import AuditEntry, LoginSession, Patient, User


def test_passwords_are_argon2id_hashed_and_checked(db, users):
    with db.session(write=True) as s:
        user = s.get(User, users["clin_a"])
        assert (
            user.password_hash.startswith("$argon2id$")
            and "clin-a-password" not in user.password_hash
        )
        assert security.authenticate(s, "clin_a", "clin-a-password", ip="1.2.3.4").id == user.id
    with db.session(write=True) as s:
        with pytest.raises(PlateauError, match="wrong password"):
            security.authenticate(s, "clin_a", "wrong-password", ip="1.2.3.4")
        with pytest.raises(PlateauError, match="wrong password"):
            security.authenticate(s, "nobody", "whatever-pass", ip="1.2.3.4")


def test_weak_or_invalid_users_are_refused(db):
    with db.session(write=True) as s:
        with pytest.raises(PlateauError, match="password"):
            security.create_user(s, "short", "123", "clinician")
        with pytest.raises(PlateauError, match="role"):
            security.create_user(s, "x_user", "long-enough-pass", "superuser")
        with pytest.raises(PlateauError, match="username"):
            security.create_user(s, "bad name!", "long-enough-pass", "clinician")


def test_login_rate_limit_counts_failures_in_the_audit_log(db, users):
    for _ in range(security.MAX_FAILURES_PER_CLIENT):
        with db.session(write=True) as s:
            with pytest.raises(PlateauError):
                security.authenticate(s, "clin_a", "wrong-password", ip="9.9.9.9")
    with db.session(write=True) as s:
        with pytest.raises(security.RateLimited):  # even the right password is refused for a while
            security.authenticate(s, "clin_a", "clin-a-password", ip="9.9.9.9")
    with db.session() as s:
        outcomes = [
            e.outcome for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "login"))
        ]
    assert (
        outcomes.count("failed") == security.MAX_FAILURES_PER_CLIENT
        and outcomes[-1] == "rate-limited"
    )


def test_a_stranger_cannot_lock_out_a_user_and_an_admin_can_unlock(db, users):
    """Failures from one address throttle that address for that account only."""
    for _ in range(security.MAX_FAILURES_PER_CLIENT + 3):
        with db.session(write=True) as s:
            with pytest.raises(PlateauError):
                security.authenticate(s, "admin", "guessing-wrong", ip="6.6.6.6")
    with db.session(write=True) as s:  # the stranger stays refused ...
        with pytest.raises(security.RateLimited):
            security.authenticate(s, "admin", "bone-marrow-ledger-1", ip="6.6.6.6")
    with db.session(write=True) as s:  # ... the admin at their own address is not
        assert security.authenticate(s, "admin", "bone-marrow-ledger-1", ip="10.1.1.1")
    # the clinician who mistyped five times at their own desk: an admin clears the counters
    for _ in range(security.MAX_FAILURES_PER_CLIENT):
        with db.session(write=True) as s:
            with pytest.raises(PlateauError):
                security.authenticate(s, "clin_a", "typo-password", ip="10.2.2.2")
    with db.session(write=True) as s:
        with pytest.raises(security.RateLimited):
            security.authenticate(s, "clin_a", "clin-a-password", ip="10.2.2.2")
    with db.session(write=True) as s:
        security.unlock(s, s.get(User, users["clin_a"]), actor=s.get(User, users["admin"]))
    with db.session(write=True) as s:
        assert security.authenticate(s, "clin_a", "clin-a-password", ip="10.2.2.2")
        assert s.scalar(
            select(AuditEntry).where(AuditEntry.action == "unlock", AuditEntry.username == "admin")
        )


@pytest.mark.parametrize(
    "username,password,why",
    [
        ("dr_who", "aaaaaaaaaa", "too easy"),
        ("username1", "username1!", "username"),
        ("dr_jones", "Password123", "too easy"),
        ("dr_smith", "qwertyuiop", "too easy"),
        ("dr_brown", "dr_brown-2025", "username"),
    ],
)
def test_the_password_policy_rejects_common_and_user_derived_passwords(db, username, password, why):
    with db.session(write=True) as s:
        with pytest.raises(PlateauError, match=f"password: .*{why}"):
            security.create_user(s, username, password, "clinician")
        assert security.create_user(s, username, "violet-tram-mountain-9", "clinician")


def test_user_administration_is_complete_and_audited(db, users):
    with db.session(write=True) as s:
        admin = s.get(User, users["admin"])
        target = s.get(User, users["clin_b"])
        security.start_session(s, target)
        security.set_teams(s, target, ["Team A", "Team C"], actor=admin, ip="10.0.0.1")
        security.set_role(s, target, "researcher", actor=admin, ip="10.0.0.1")
        security.reset_password(s, target, "new-harbour-kettle-77", actor=admin, ip="10.0.0.1")
        security.set_active(s, target, False, actor=admin, ip="10.0.0.1")
        with pytest.raises(PlateauError, match="last active administrator"):
            security.set_active(s, admin, False, actor=admin)
        with pytest.raises(PlateauError, match="too easy"):
            security.reset_password(s, target, "aaaaaaaaaaaa", actor=admin)
    with db.session(write=True) as s:
        target = s.get(User, users["clin_b"])
        assert (target.role, target.active) == ("researcher", False)
        assert sorted(t.name for t in target.teams) == ["Team A", "Team C"]
        assert s.scalars(select(LoginSession).where(LoginSession.user_id == target.id)).all() == []
        with pytest.raises(PlateauError):
            security.authenticate(s, "clin_b", "new-harbour-kettle-77", ip="1.1.1.1")
    with db.session() as s:
        done = [
            e.resource for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "admin"))
        ]
    assert {
        "change teams: clin_b",
        "change role: clin_b",
        "reset password: clin_b",
        "deactivate: clin_b",
        "end sessions: clin_b",
    } <= set(done)


def test_sessions_store_only_a_hash_and_expire(db, users):
    with db.session(write=True) as s:
        token, row = security.start_session(s, s.get(User, users["admin"]))
        assert row.token_sha256 != token and len(token) >= 40
        assert security.session_for_token(s, token).user_id == users["admin"]
        assert security.session_for_token(s, token + "x") is None
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with db.session(write=True) as s:
        assert security.session_for_token(s, token) is None
        security.end_session(s, token)
        assert s.scalar(select(LoginSession)) is None


def test_patient_scope_follows_care_teams(db, users, example_files):
    import_files(db, users["admin"], csv_files=example_files("patients"), team="Team A")
    with db.session() as s:
        count = {
            name: len(list(s.scalars(security.patient_scope(s, s.get(User, uid)))))
            for name, uid in users.items()
        }
    assert count == {"admin": 19, "clin_a": 19, "clin_b": 0, "researcher": 19}


def test_decision_snapshot_is_stored_audited_and_on_the_timeline(db, users, example_files):
    from plateau.store.monitoring import timeline

    import_files(db, users["admin"], csv_files=example_files(), team="Team A")
    with db.session(write=True) as s:
        patient = s.scalar(select(Patient).where(Patient.external_id == "P07"))
        row = save_snapshot(
            s,
            patient.id,
            {
                "date": "2025-01-01",
                "evidence_version": "abc123",
                "recommendation": "lenalidomide maintenance",
            },
            user=s.get(User, users["clin_a"]),
            ip="10.1.1.1",
        )
        assert row.decision_date == dt.date(2025, 1, 1) and row.evidence_version == "abc123"
        with pytest.raises(PlateauError, match="JSON"):
            save_snapshot(s, patient.id, {"bad": object()})
    with db.session() as s:
        patient = s.scalar(select(Patient).where(Patient.external_id == "P07"))
        assert [d.snapshot["recommendation"] for d in snapshots(s, patient.id)] == [
            "lenalidomide maintenance"
        ]
        tl = timeline(s, patient)
        assert tl["decision"]["evidence_version"] == "abc123"
        assert (
            tl["monitor"]["progression_date"] == "2025-06-01"
        )  # P07: confirmed PD in the worked examples
        entry = s.scalar(select(AuditEntry).where(AuditEntry.resource.like("decision%")))
        assert (entry.username, entry.patient_id, entry.ip, entry.action) == (
            "clin_a",
            patient.id,
            "10.1.1.1",
            "create",
        )


def test_one_snapshot_interface_for_memory_and_the_records_database(db, users, example_files):
    """The public aid's memory store and the patient's database store answer the same calls."""
    from plateau.decide.store import MemoryDecisionStore, snapshot_id
    from plateau.store.decisions import PatientDecisionStore

    import_files(db, users["admin"], csv_files=example_files("patients"), team="Team A")
    with db.session() as s:
        pid = s.scalar(select(Patient.id))
    snap = {"profile": {"age": 60}, "evidence_version": "abc", "date": "2025-01-01"}
    stores = [
        MemoryDecisionStore(max_entries=2),
        PatientDecisionStore(db, pid, user_id=users["clin_a"]),
    ]
    for store in stores:
        ident = store.save(snap)
        assert ident == snapshot_id(snap) and store.ids() == [ident]
        assert store.load(ident)["profile"] == {"age": 60}
        with pytest.raises(KeyError):
            store.load("0" * 16)
    memory = stores[0]
    for k in range(3):
        memory.save({**snap, "profile": {"age": 60 + k}})
    assert len(memory.ids()) == 2  # bounded


def test_password_hashes_use_owasp_argon2id_parameters_and_old_hashes_are_upgraded(db, users):
    """OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB (19456 KiB), t=2, p=1.  A hash made
    with other parameters (argon2-cffi's RFC 9106 default: m=65536, t=3, p=4) still verifies and
    is replaced by an OWASP-parameter hash at the next successful login."""
    from argon2 import PasswordHasher

    fresh = security.hash_password("a-new-long-password")
    assert fresh.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("clin-a-password")
    with db.session(write=True) as s:
        s.get(User, users["clin_a"]).password_hash = old
    user, _token = security.login(db, "clin_a", "clin-a-password", ip="1.2.3.4")
    assert user.id == users["clin_a"]
    with db.session() as s:
        stored = s.get(User, users["clin_a"]).password_hash
    assert stored != old and stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    # the upgraded hash still checks the same password and no other
    security.login(db, "clin_a", "clin-a-password", ip="1.2.3.4")
    with pytest.raises(PlateauError, match="wrong password"):
        security.login(db, "clin_a", "clin-a-passworD", ip="1.2.3.4")
