"""Who may do what: ONE table of role x action, used by the store and the web layer alike.

Every access decision in the records system is ``allowed(role, action)``; there is no other
role comparison.  A role absent from the table (or a new role not yet given rows) may do nothing.

Actions
    ``patients.all``        see every patient (else only the patients of the user's care teams)
    ``patients.team``       see the patients of the user's care teams
    ``records.identified``  see identifying data (name, identifier, calendar dates); without it
                            a user sees only the researcher projection
                            (:mod:`plateau.store.projection`)
    ``records.import``      import CSV / FHIR data
    ``records.export``      export a patient's identified record (FHIR)
    ``alerts.transition``   acknowledge / resolve alerts
    ``users.manage``        create, deactivate, change role or team, reset passwords, end sessions
    ``audit.read``          read the audit log
    ``teams.all``           import into any care team (else only the user's own)
    ``faq.sign_off``        sign off living-FAQ entries (the reviewer role; no patient data)
"""

from __future__ import annotations

from plateau.errors import PlateauError

ACTIONS = (
    "patients.all",
    "patients.team",
    "records.identified",
    "records.import",
    "records.export",
    "alerts.transition",
    "users.manage",
    "audit.read",
    "teams.all",
    "faq.sign_off",
)

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(ACTIONS) - {"faq.sign_off"},
    "clinician": frozenset(
        {
            "patients.team",
            "records.identified",
            "records.import",
            "records.export",
            "alerts.transition",
        }
    ),
    "researcher": frozenset({"patients.all"}),
    "reviewer": frozenset({"faq.sign_off"}),
}


class AccessDenied(PlateauError):
    """The user may not see or change this resource (answered 403, or 404 for another team's
    patient)."""


def allowed(role: str | None, action: str) -> bool:
    """Whether ``role`` may perform ``action`` (unknown actions are a programming error)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return action in PERMISSIONS.get(role or "", frozenset())


def require(role: str | None, action: str) -> None:
    """Raise :class:`AccessDenied` naming the role and the action unless it is allowed."""
    if not allowed(role, action):
        raise AccessDenied(f"role: {role} may not do this ({action})")


def roles_with(action: str) -> tuple[str, ...]:
    return tuple(r for r, acts in PERMISSIONS.items() if action in acts)
