"""Alembic migrations of the ledger/transport database. Run by :func:`ieb.ledger.db.open_database`."""
