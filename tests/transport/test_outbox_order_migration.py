"""Revision 0004_outbox_order: ``outbox.person`` is added, filled for the rows of an existing
database from their deliveries, and dropped again by the downgrade."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from ieb.store.db import _alembic_config, open_database
from ieb.transport.outbox import person_key


def test_existing_outbox_rows_get_their_person_and_the_downgrade_drops_it(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'old.sqlite'}", upgrade=False)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0003_release")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO deliveries (afzender, identificatie, dagtekening, bericht, bsn, eb_start_nummer,"
                    " status, datum, outcome, release) VALUES ('0363', '7', '2024-06-01', 'WMO401', '999900006',"
                    " 1, '1', '2024-01-01', 'pending', 'ieb-1.0')"
                )
            )
            for ref, ident in (("a", "7"), ("b", None)):
                conn.execute(
                    sa.text(
                        "INSERT INTO outbox (referentienummer, afzender, functie, bericht_identificatie, status,"
                        " attempts, created_at, updated_at) VALUES (:r, '0363', 'WMO401', :i, 'pending', 0,"
                        " '2024-06-01 00:00:00', '2024-06-01 00:00:00')"
                    ),
                    {"r": ref, "i": ident},
                )
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0004_outbox_order")
        with engine.connect() as conn:
            got = dict(conn.execute(sa.text("SELECT referentienummer, person FROM outbox")).all())
        assert got == {"a": person_key("0363", "999900006"), "b": None}
        assert "999900006" not in str(got["a"])
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0003_release")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("outbox")}
        assert "person" not in columns
    finally:
        engine.dispose()
