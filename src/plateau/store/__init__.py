"""plateau.store: the clinical-records database (SQLAlchemy 2 + Alembic; SQLite WAL or PostgreSQL).

* :func:`open_database` opens (creating or migrating) the database: ``Database.session()``.
* :mod:`~plateau.store.models`: users, care teams, patients, treatment lines and doses, labs
  (LOINC, UCUM), adverse events, QoL, decisions, alerts, imports, audit log.
* :mod:`~plateau.store.csv_io`, :mod:`~plateau.store.fhir_io` read imports;
  :func:`plateau.store.importer.apply` writes them atomically and idempotently;
  :func:`plateau.store.fhir_io.export_patient` exports a patient as a FHIR R4 Bundle.
* :mod:`~plateau.store.security`: argon2 passwords, sessions, rate limiting, access rules;
  :mod:`~plateau.store.audit`: the append-only audit log.
* :func:`plateau.store.decisions.save_snapshot`: store a decision-support snapshot.
"""

from plateau.store.db import DEFAULT_URL, Database, migrate, open_database

__all__ = ["DEFAULT_URL", "Database", "migrate", "open_database"]
