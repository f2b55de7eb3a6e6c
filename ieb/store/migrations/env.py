"""Alembic environment: always run programmatically with a connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from ieb.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via open_database()
    raise RuntimeError("ieb migrations run through ieb.ledger.open_database(), not the alembic command")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
