"""Issue 22 (RECV round 9): the receiver's PostgreSQL store makes its one statement once per kept
set of connections (``KeptPgConnections.new_entry_statement``) instead of looking it up per
message; the SQL and the parameters sent are exactly what the per-message lookups gave (a frozen
copy of the round-8 lines below). Rows on a real PostgreSQL: ``test_receiver_postgresql_path.py``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from ieb.store.schema import inbox as inbox_table
from ieb.transport import inbox
from ieb.transport.audit import AuditTrail

_ENGINE = sa.create_engine("postgresql+psycopg://ieb@127.0.0.1:1/never")  # never connects


def _round8(
    values: dict[str, Any], rows: list[dict[str, Any]], audit_table: sa.Table
) -> tuple[str, tuple[Any, ...]]:
    """The statement and parameters as ``store_processed_postgresql`` made them per message (round 8)."""
    dialect = inbox._positional(_ENGINE.dialect)
    insert_sql, insert_params = inbox._converted(
        inbox._pg_insert_ignore(inbox_table, tuple(values), dialect), values
    )
    audit_insert = inbox._pg_insert(audit_table, tuple(rows[0]), dialect)
    audit_params = [p for r in rows for p in inbox._converted(audit_insert, r)[1]]
    return inbox._pg_store_new(insert_sql, audit_insert.sql, len(rows)), (*insert_params, *audit_params)


_text = st.one_of(st.none(), st.text(max_size=40))


@settings(max_examples=200, deadline=None)
@given(
    referentienummer=st.text(min_size=1, max_size=40),
    cross_ref=_text,
    berichtcode=st.sampled_from(["Di01", "Du01", "Lk01"]),
    functie=_text,
    zender=_text,
    peer_oin=_text,
    raw=st.binary(max_size=64),
    detail=st.text(max_size=60),
    seconds=st.integers(min_value=0, max_value=2_000_000_000),
)
def test_the_statement_made_once_sends_what_the_lookups_per_message_sent(
    referentienummer: str,
    cross_ref: str | None,
    berichtcode: str,
    functie: str | None,
    zender: str | None,
    peer_oin: str | None,
    raw: bytes,
    detail: str,
    seconds: int,
) -> None:
    at = dt.datetime.fromtimestamp(seconds, dt.UTC)
    audit = AuditTrail()
    kept = inbox.KeptPgConnections(_ENGINE)
    for _ in range(2):  # made on the first message, the same objects on the next
        values = inbox._row(
            referentienummer, cross_ref, berichtcode, functie, zender, peer_oin, raw, at, True
        )
        event = {"referentienummer": referentienummer, "cross_ref_nummer": cross_ref, "functie": functie}
        rows = inbox._processed_audit_rows(audit, berichtcode, event, peer_oin, detail, logged=False)
        new_entry, audit_insert, sql = kept.new_entry_statement(audit.table, values, rows)
        params = new_entry.params(values)
        for r in rows:
            params += audit_insert.params(r)
        assert (sql, params) == _round8(values, rows, audit.table)


def test_another_audit_table_gets_its_own_statement() -> None:
    """The statement is made for the audit table it is asked for (a receiver with another one)."""
    audit = AuditTrail()
    other = audit.table.to_metadata(sa.MetaData(), name="audit_elders")
    kept = inbox.KeptPgConnections(_ENGINE)
    values = inbox._row("R1", None, "Di01", None, None, None, b"x", dt.datetime.now(dt.UTC), True)
    event = {"referentienummer": "R1", "cross_ref_nummer": None, "functie": None}
    rows = inbox._processed_audit_rows(audit, "Di01", event, None, "verwerkt", logged=False)
    first = kept.new_entry_statement(audit.table, values, rows)[2]
    second = kept.new_entry_statement(other, values, rows)[2]
    assert "INSERT INTO audit " in first and "INSERT INTO audit_elders " in second
    assert second == _round8(values, rows, other)[0]
