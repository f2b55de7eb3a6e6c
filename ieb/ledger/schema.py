"""Moved to :mod:`ieb.store.schema` (the storage floor); this name stays for one release."""

from __future__ import annotations

from ieb.store.schema import (
    DELIVERY_OUTCOMES,
    FIRST_RELEASE,
    INBOX_STATUSES,
    OUTBOX_STATUSES,
    audit,
    counters,
    deliveries,
    eb_start_nummers,
    inbox,
    metadata,
    outbox,
)

__all__ = [
    "DELIVERY_OUTCOMES",
    "FIRST_RELEASE",
    "INBOX_STATUSES",
    "OUTBOX_STATUSES",
    "audit",
    "counters",
    "deliveries",
    "eb_start_nummers",
    "inbox",
    "metadata",
    "outbox",
]
