"""Storing what arrives, race-free: the receiver's inbox writes.

:func:`store_envelope` inserts an arriving envelope in the ledger's ``inbox`` and commits, with
every "have we seen this?" question answered by a unique constraint, never by a SELECT followed
by an INSERT (two redeliveries arriving at the same moment on two threads or two processes cannot
both pass such a check):

* the ``referentienummer`` is unique: a second arrival of the same envelope is a ``redelivery``
  (acknowledged, not processed again);
* ``retour_of`` (the crossRefnummer of a Du01) is unique: only the first retour for a heenbericht
  gets it; a later, different retour is stored with status ``duplicate`` and not processed.

Both use ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL), so no statement fails and no
transaction is aborted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ieb.transport.audit import AuditTrail

__all__ = ["StoredEnvelope", "store_envelope"]


@dataclass(frozen=True)
class StoredEnvelope:
    """The outcome of :func:`store_envelope`: ``status`` is ``received`` (new, to process),
    ``duplicate`` (a second retour for the same heenbericht) or ``redelivery`` (seen before);
    ``id`` is the new inbox row (None for a redelivery)."""

    id: int | None
    status: str


_INSERTS: dict[tuple[str, str], Any] = {}


def _insert_ignore(conn: Connection, table: sa.Table, values: dict[str, Any]) -> int | None:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` with ``values`` as parameters (the
    statement is built once per dialect: building ``.values(**row)`` per call cost more than the
    insert itself)."""
    key = (conn.dialect.name, table.name)
    stmt = _INSERTS.get(key)
    if stmt is None:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(table).on_conflict_do_nothing().returning(table.c.id)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table).on_conflict_do_nothing().returning(table.c.id)
        _INSERTS[key] = stmt
    new_id = conn.execute(stmt, values).scalar_one_or_none()
    return int(new_id) if new_id is not None else None


def store_envelope(
    engine: Engine | Connection,
    *,
    referentienummer: str,
    cross_ref_nummer: str | None,
    berichtcode: str,
    functie: str | None,
    zender: str | None,
    peer_oin: str | None,
    raw: bytes,
    received_at: Any,
    audit: AuditTrail | None = None,
    processed: bool = False,
    processed_detail: str | None = None,
) -> StoredEnvelope:
    """Insert an arrived envelope in the inbox and commit (see the module docstring). Given a
    :class:`~sqlalchemy.engine.Connection` instead of an engine, write inside the caller's
    transaction (the caller commits; the receiver stores and marks a request in one transaction).
    ``processed``: a new entry is stored as ``processed`` at once (there is nothing to process; the
    status returned is still ``received``). ``processed_detail``: with ``processed``, a new entry
    also gets its "processed" audit row (this detail, outcome ``processed``), written with the
    "received" one in one ``executemany`` (issue 22: one statement less per message)."""
    from ieb.store.schema import inbox as t

    values: dict[str, Any] = {
        "referentienummer": referentienummer,
        "cross_ref_nummer": cross_ref_nummer,
        "berichtcode": berichtcode,
        "functie": functie,
        "zender": (zender or "")[:32] or None,
        "peer_oin": peer_oin,
        "envelope": raw,
        "status": "processed" if processed else "received",
        "received_at": received_at,
        "processed_at": received_at if processed else None,
        "retour_of": cross_ref_nummer if berichtcode == "Du01" and cross_ref_nummer else None,
    }
    if isinstance(engine, Connection):
        return _store(engine, t, values, audit, processed_detail if processed else None)
    from ieb.transport.outbox import write_lock

    with write_lock(engine), engine.begin() as conn:
        return _store(conn, t, values, audit, processed_detail if processed else None)


def _store(
    conn: Connection,
    t: sa.Table,
    values: dict[str, Any],
    audit: AuditTrail | None,
    processed_detail: str | None = None,
) -> StoredEnvelope:
    referentienummer, berichtcode = values["referentienummer"], values["berichtcode"]
    cross_ref_nummer, functie, peer_oin = values["cross_ref_nummer"], values["functie"], values["peer_oin"]
    new_id = _insert_ignore(conn, t, values)
    status = "received"
    if new_id is None:
        seen = conn.execute(
            sa.select(t.c.id).where(t.c.referentienummer == referentienummer)
        ).scalar_one_or_none()
        if seen is None and values["retour_of"] is not None:
            new_id = _insert_ignore(
                conn, t, values | {"retour_of": None, "status": "duplicate", "processed_at": None}
            )
            status = "duplicate" if new_id is not None else "redelivery"
        else:
            status = "redelivery"
    if audit is None:
        return StoredEnvelope(new_id, status)
    detail = (
        f"peer OIN {peer_oin}"
        if status != "redelivery"
        else "al ontvangen; bevestigd zonder opnieuw te verwerken"
    )
    if processed_detail is not None and status == "received":
        event = {
            "referentienummer": referentienummer,
            "cross_ref_nummer": cross_ref_nummer,
            "functie": functie,
        }
        audit.record_many(
            "in",
            berichtcode,
            [event | {"detail": detail}, event | {"detail": processed_detail, "outcome": "processed"}],
            outcome="received",
            conn=conn,
        )
        return StoredEnvelope(new_id, status)
    audit.record(
        "in",
        berichtcode,
        referentienummer=referentienummer,
        cross_ref_nummer=cross_ref_nummer,
        functie=functie,
        outcome=status,
        detail=detail,
        conn=conn,
    )
    return StoredEnvelope(new_id, status)
