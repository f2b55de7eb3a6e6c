"""Alembic migrations of the ledger/transport database. Run by :func:`ieb.store.db.open_database`."""
