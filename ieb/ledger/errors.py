"""Errors of the ledger, the planner and retour processing (all :class:`ieb.errors.IebError`)."""

from __future__ import annotations

from collections.abc import Sequence

from ieb.store.errors import DatabaseVersionError, StoreError
from ieb.tabular import RowIssue

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
    """The desired state cannot be reached within the rules; ``issues`` says why, one
    :class:`ieb.tabular.RowIssue` per problem and person: ``line`` (of the desired-state file, when
    the planner was told the lines), ``column`` (the field), ``message`` (Dutch, the Bsn masked:
    ``Bsn ******006: stop 2026-01-01 ligt voor start 2026-02-01``) and ``code`` (the rule code,
    ``TR328`` or ``OP291, retourcode 9102``). A plain string given as a problem becomes an issue
    without line or code. ``str()`` is the message followed by one readable line per issue."""

    def __init__(self, message: str, problems: Sequence[RowIssue | str] | None = None) -> None:
        super().__init__(message)
        self.issues: list[RowIssue] = [
            p if isinstance(p, RowIssue) else RowIssue(None, None, str(p)) for p in problems or ()
        ]
        #: messages already committed before the refusal (a streamed plan: earlier chunks), else 0
        self.committed = 0

    def __str__(self) -> str:
        head = super().__str__()
        if not self.issues:
            return head
        return "\n".join([head, *(f"  - {i}" for i in self.issues)])


class PreflightError(PlanningError):
    """A planned message would be rejected (in-message rules or history rules); nothing was queued."""
