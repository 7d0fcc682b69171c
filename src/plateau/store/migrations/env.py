"""Alembic environment: plateau runs migrations programmatically (see plateau.store.db.migrate).

The caller passes an open connection in ``config.attributes["connection"]``; the offline mode
(SQL script output) is not used.
"""

from alembic import context

from plateau.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI directly
    raise RuntimeError("run migrations with `plateau admin migrate` (plateau.store.db.migrate)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
