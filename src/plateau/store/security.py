"""Users, passwords, login sessions, rate limiting and per-patient access rules.

* Passwords are hashed with Argon2id (``argon2-cffi``) at the OWASP Password Storage Cheat Sheet's
  recommended configuration: 19 MiB of memory, 2 iterations, 1 degree of parallelism
  (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html, section
  "Argon2id").  About 25 ms of one core per check instead of ~165 ms on four threads for the
  library's default RFC 9106 low-memory profile (64 MiB, 3 iterations, 4 lanes), which let a
  burst of logins starve every other request.  A stored hash made with other parameters is
  re-computed at the next successful login (outside the write transaction).
* A login creates a server-side session: the browser receives a random 256-bit token in an
  HTTP-only cookie; the database stores only its SHA-256, an expiry and the session's CSRF token.
* Login throttling counts failed logins in the audit log per (account, client address): after
  ``MAX_FAILURES_PER_CLIENT`` failures for one account from one address within ``WINDOW`` that
  address is refused for that account until the window passes; ``MAX_FAILURES_PER_IP`` failures
  from one address (any account) refuse that address.  A stranger elsewhere therefore cannot lock
  a clinician out (there is no account-wide lockout); an administrator can clear an account's
  counters (:func:`unlock`).
* Passwords: at least ``MIN_PASSWORD_LENGTH`` characters, not containing the username, and a
  zxcvbn score of at least ``MIN_PASSWORD_SCORE`` (rejects common, repeated, keyboard-pattern and
  user-derived passwords; Wheeler 2016, USENIX Security).
* Access: an **admin** sees every patient; a **clinician** sees the patients of the care teams
  they belong to; a **researcher** sees every patient but only de-identified (pseudonym, days
  since the start of maintenance, no name, identifier, birth date or calendar dates) and can
  neither import nor export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import threading
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from plateau.errors import PlateauError
from plateau.store.models import (
    ROLES,
    AuditEntry,
    CareTeam,
    LoginSession,
    Patient,
    TeamMember,
    User,
    utcnow,
)
from plateau.store.permissions import AccessDenied as AccessDenied  # re-exported
from plateau.store.permissions import allowed

#: OWASP's recommended Argon2id configuration (m=19 MiB, t=2, p=1); see the module docstring
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
SESSION_LIFETIME = dt.timedelta(hours=8)
WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_CLIENT = 5
MAX_FAILURES_PER_IP = 20
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
MIN_PASSWORD_SCORE = 3
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,80}$")
_DUMMY_HASH = HASHER.hash("plateau-timing-equaliser")
#: Argon2 is memory- and CPU-hard on purpose: at most one check per core at a time, so a burst of
#: logins queues instead of slowing every check (and the rest of the server) down together
_HASH_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


class RateLimited(PlateauError):
    """Too many failed logins (answered 429)."""


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password_strength(password: str, username: str = "") -> None:
    """Raise PlateauError naming the field unless ``password`` passes the policy."""
    from zxcvbn import zxcvbn

    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PlateauError(f"password: at least {MIN_PASSWORD_LENGTH} characters are required")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PlateauError(f"password: at most {MAX_PASSWORD_LENGTH} characters")
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        raise PlateauError("password: must not contain the username")
    result = zxcvbn(password, user_inputs=[name, "plateau", "myeloma"] if name else ["plateau"])
    if result["score"] < MIN_PASSWORD_SCORE:
        hint = (result.get("feedback") or {}).get("warning") or "too easy to guess"
        raise PlateauError(
            f"password: too easy to guess ({hint.rstrip('.')}); use a longer passphrase"
        )


def create_user(
    session: Session, username: str, password: str, role: str, teams: Sequence[str] = ()
) -> User:
    """Create a user (teams are created when missing).  Raises PlateauError naming the field."""
    if not _USERNAME.match(username or ""):
        raise PlateauError("username: 2-80 characters among letters, digits and _ . @ -")
    if role not in ROLES:
        raise PlateauError(f"role: unknown role {role!r}; allowed: {', '.join(ROLES)}")
    check_password_strength(password, username)
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise PlateauError(f"username: {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role, active=True)
    for name in teams:
        user.teams.append(get_or_create_team(session, name))
    session.add(user)
    session.flush()
    return user


def get_or_create_team(session: Session, name: str) -> CareTeam:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise PlateauError("team: a care-team name of 1-120 characters is required")
    team = session.scalar(select(CareTeam).where(CareTeam.name == name))
    if team is None:
        team = CareTeam(name=name)
        session.add(team)
        session.flush()
    return team


def user_count(session: Session) -> int:
    return session.scalar(select(func.count(User.id))) or 0


def _last_unlock(session: Session, username: str) -> dt.datetime | None:
    return session.scalar(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.action == "unlock", AuditEntry.resource == f"login of {username}"[:200]
        )
    )


def recent_failures(session: Session, *, username: str, ip: str) -> tuple[int, int]:
    """Failed logins within ``WINDOW``: (for this account from this address, from this address)."""
    since = utcnow() - WINDOW
    unlocked = _last_unlock(session, username)
    if unlocked is not None:
        unlocked = unlocked if unlocked.tzinfo else unlocked.replace(tzinfo=dt.UTC)
    base = select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "login", AuditEntry.outcome == "failed", AuditEntry.at >= since
    )
    mine = base.where(AuditEntry.username == username, AuditEntry.ip == ip)
    if unlocked is not None and unlocked > since:
        mine = mine.where(AuditEntry.at > unlocked)
    by_client = session.scalar(mine) or 0
    by_ip = session.scalar(base.where(AuditEntry.ip == ip)) or 0
    return by_client, by_ip


def authenticate(session: Session, username: str, password: str, *, ip: str) -> User:
    """Check a login; records the attempt in the audit log.  Raises RateLimited or PlateauError."""
    from plateau.store.audit import record

    username = (username or "").strip()[:80]
    by_client, by_ip = recent_failures(session, username=username, ip=ip)
    if by_client >= MAX_FAILURES_PER_CLIENT or by_ip >= MAX_FAILURES_PER_IP:
        record(session, None, "login", "login", ip=ip, outcome="rate-limited", username=username)
        raise RateLimited(
            "too many failed logins from this address: wait 15 minutes, or ask an "
            "administrator to unlock the account"
        )
    user = session.scalar(select(User).where(User.username == username))
    ok = False
    try:
        ok = (
            HASHER.verify(user.password_hash if user else _DUMMY_HASH, password or "")
            and user is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user.active:
        record(session, None, "login", "login", ip=ip, outcome="failed", username=username)
        raise PlateauError("login: unknown user or wrong password")
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record(session, user, "login", "login", ip=ip)
    return user


def login(db, username: str, password: str, *, ip: str) -> tuple[User, str]:
    """Check a login and open a session: ``(user, cookie token)``.  Raises RateLimited or
    PlateauError; every attempt is audited.

    The slow Argon2 verification runs OUTSIDE any write transaction (a read, then the hash check,
    then a short write), so logins never hold the database's write lock while hashing.
    """
    from plateau.store.audit import record

    username = (username or "").strip()[:80]
    with db.session() as session:
        by_client, by_ip = recent_failures(session, username=username, ip=ip)
        row = session.execute(
            select(User.id, User.password_hash, User.active).where(User.username == username)
        ).first()
    limited = by_client >= MAX_FAILURES_PER_CLIENT or by_ip >= MAX_FAILURES_PER_IP
    ok = False
    rehashed = None
    if not limited:
        try:
            with _HASH_SLOTS:
                ok = HASHER.verify(row.password_hash if row else _DUMMY_HASH, password or "")
            ok = bool(ok and row is not None and row.active)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if ok and HASHER.check_needs_rehash(row.password_hash):
            with _HASH_SLOTS:  # hashed here, never inside the write transaction below
                rehashed = (row.password_hash, hash_password(password))
    with db.session(write=True) as session:
        if limited or not ok:
            record(
                session,
                None,
                "login",
                "login",
                ip=ip,
                outcome="rate-limited" if limited else "failed",
                username=username,
            )
        else:
            user = session.get(User, row.id)
            if rehashed and user.password_hash == rehashed[0]:  # not changed meanwhile
                user.password_hash = rehashed[1]
            record(session, user, "login", "login", ip=ip)
            token, _row = start_session(session, user)
            return user, token
    if limited:
        raise RateLimited(
            "too many failed logins from this address: wait 15 minutes, or ask an "
            "administrator to unlock the account"
        )
    raise PlateauError("login: unknown user or wrong password")


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User) -> tuple[str, LoginSession]:
    """Open a login session; returns the cookie token (shown once, stored hashed) and the row."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_sha256=_sha(token),
        csrf_token=secrets.token_urlsafe(32),
        user_id=user.id,
        expires_at=utcnow() + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    return token, row


def session_for_token(session: Session, token: str | None) -> LoginSession | None:
    if not token or len(token) > 200:
        return None
    row = session.scalar(  # with its user in the same query (every request asks)
        select(LoginSession)
        .options(joinedload(LoginSession.user))
        .where(LoginSession.token_sha256 == _sha(token))
    )
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
    if expires <= utcnow() or not row.user.active:
        return None
    return row


def end_session(session: Session, token: str | None) -> None:
    if token:
        row = session.scalar(  # with its user in the same query (every request asks)
            select(LoginSession)
            .options(joinedload(LoginSession.user))
            .where(LoginSession.token_sha256 == _sha(token))
        )
        if row is not None:
            session.delete(row)


def team_ids(session: Session, user: User) -> set[int]:
    return set(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user.id)))


def patient_scope(session: Session, user: User):
    """A ``select(Patient)`` restricted to what ``user`` may see."""
    query = select(Patient)
    if allowed(user.role, "patients.all"):
        return query
    if allowed(user.role, "patients.team"):
        return query.where(Patient.care_team_id.in_(team_ids(session, user) or {-1}))
    return query.where(Patient.id == -1)


def can_see(session: Session, user: User, patient: Patient) -> bool:
    if allowed(user.role, "patients.all"):
        return True
    return allowed(user.role, "patients.team") and patient.care_team_id in team_ids(session, user)


def identified(user: User) -> bool:
    """Whether ``user`` may see identifying data (name, identifier, dates)."""
    return allowed(user.role, "records.identified")


# ---- user administration (every change audited with the acting user) ---------------------------


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == (username or "").strip()[:80]))
    if user is None:
        raise PlateauError(f"username: no user {username[:80]!r}")
    return user


def _active_admins(session: Session) -> int:
    return sum(
        1
        for u in session.scalars(select(User).where(User.active.is_(True)))
        if allowed(u.role, "users.manage")
    )


def _audit_admin(session, actor, what: str, target: User, ip: str, detail: str = "") -> None:
    from plateau.store.audit import record

    record(
        session,
        actor,
        "admin",
        f"{what}: {target.username}"[:200],
        ip=ip,
        detail=detail,
        username=None if actor else "cli",
    )


def end_sessions(session: Session, target: User, *, actor: User | None, ip: str = "") -> int:
    """End every login session of ``target`` (e.g. a stolen laptop); returns how many."""
    rows = list(session.scalars(select(LoginSession).where(LoginSession.user_id == target.id)))
    for row in rows:
        session.delete(row)
    _audit_admin(session, actor, "end sessions", target, ip, f"{len(rows)} session(s)")
    return len(rows)


def set_active(
    session: Session, target: User, active: bool, *, actor: User | None, ip: str = ""
) -> None:
    """Deactivate (sessions end, login refused; nothing deleted) or reactivate a user."""
    if not active and allowed(target.role, "users.manage") and target.active:
        if _active_admins(session) <= 1:
            raise PlateauError("active: the last active administrator cannot be deactivated")
    target.active = active
    _audit_admin(session, actor, "activate" if active else "deactivate", target, ip)
    if not active:
        end_sessions(session, target, actor=actor, ip=ip)


def set_role(
    session: Session, target: User, role: str, *, actor: User | None, ip: str = ""
) -> None:
    if role not in ROLES:
        raise PlateauError(f"role: unknown role {role!r}; allowed: {', '.join(ROLES)}")
    if (
        allowed(target.role, "users.manage")
        and not allowed(role, "users.manage")
        and target.active
        and _active_admins(session) <= 1
    ):
        raise PlateauError("role: the last active administrator cannot lose that role")
    before = target.role
    target.role = role
    _audit_admin(session, actor, "change role", target, ip, f"{before} -> {role}")
    end_sessions(session, target, actor=actor, ip=ip)  # new rights from the next login


def set_teams(
    session: Session, target: User, teams: list[str], *, actor: User | None, ip: str = ""
) -> None:
    before = sorted(t.name for t in target.teams)
    target.teams = [get_or_create_team(session, name) for name in teams]
    after = sorted(t.name for t in target.teams)
    _audit_admin(session, actor, "change teams", target, ip, f"{before} -> {after}")


def reset_password(
    session: Session, target: User, password: str, *, actor: User | None, ip: str = ""
) -> None:
    check_password_strength(password, target.username)
    target.password_hash = hash_password(password)
    _audit_admin(session, actor, "reset password", target, ip)
    end_sessions(session, target, actor=actor, ip=ip)


def unlock(session: Session, target: User, *, actor: User | None, ip: str = "") -> None:
    """Clear the account's failed-login counters (every address)."""
    from plateau.store.audit import record

    record(
        session,
        actor,
        "unlock",
        f"login of {target.username}"[:200],
        ip=ip,
        username=None if actor else "cli",
    )
