"""Errors of the ledger, the planner and retour processing (all :class:`ieb.errors.IebError`)."""

from __future__ import annotations

from ieb.store.errors import DatabaseVersionError, StoreError

__all__ = [
    "DatabaseVersionError",
    "DuplicateRetourError",
    "LedgerError",
    "PlanningError",
    "PreflightError",
    "RetourInputError",
    "UnknownRetourError",
]


class LedgerError(StoreError):
    """Something about the ledger's contents (a :class:`~ieb.store.errors.StoreError`).

    :class:`DatabaseVersionError` lives on the storage floor (:mod:`ieb.store.errors`) and is
    re-exported here under its old name.
    """


class RetourInputError(LedgerError):
    """A retour file is unreadable, invalid or not a retour (``location`` names the file)."""


class UnknownRetourError(RetourInputError):
    """A retour answers a heenbericht the ledger does not know (Afzender + BerichtIdentificatie)."""


class DuplicateRetourError(RetourInputError):
    """A heenbericht already has a different retour; the ledger keeps the first one."""


class PlanningError(LedgerError):
    """The desired state cannot be reached within the rules; ``issues`` says why, one Dutch line
    per problem and person (``Bsn ******006: OP291 (9102): ...``)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.issues: list[str] = list(problems or [])


class PreflightError(PlanningError):
    """A planned message would be rejected (in-message rules or history rules); nothing was queued."""
