"""Errors of the storage floor: opening the database and its schema version."""

from __future__ import annotations

from ieb.errors import IebError

__all__ = ["DatabaseVersionError", "StoreError"]


class StoreError(IebError):
    """Something about the database itself: it cannot be opened, or its schema is not ours.

    :class:`ieb.ledger.errors.LedgerError` (the ledger's contents) is a subclass, so
    ``except LedgerError`` keeps catching what it caught before the storage floor existed.
    """


class DatabaseVersionError(StoreError):
    """The database was written by a newer (or foreign) version of ``ieb``; nothing was changed."""
