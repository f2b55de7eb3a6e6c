"""The storage floor: every table of ``ieb``, the database engine and the Alembic migrations.

One database holds the ledger (``deliveries``, ``eb_start_nummers``, ``counters``) and the
transport's ``outbox``, ``inbox`` and ``audit`` of one party. The floor knows tables and
connections only; what a row means belongs to the ledger and the transport, which import it.

* :func:`open_database` - an engine on SQLite (default) or PostgreSQL, migrated in place;
  raises :class:`DatabaseVersionError` (a :class:`StoreError`) for a newer or foreign database.
* :mod:`ieb.store.schema` - the tables on one :data:`~ieb.store.schema.metadata`.
* :mod:`ieb.store.migrations` - the Alembic revisions (run only through :func:`open_database`).
"""

from __future__ import annotations

from ieb.store.db import DEFAULT_DB, database_url, head_revision, open_database, schema_revision
from ieb.store.errors import DatabaseVersionError, StoreError

__all__ = [
    "DEFAULT_DB",
    "DatabaseVersionError",
    "StoreError",
    "database_url",
    "head_revision",
    "open_database",
    "schema_revision",
]
