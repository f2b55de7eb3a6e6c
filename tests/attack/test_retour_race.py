"""Attack: two processes apply retours to the same heenbericht at once on PostgreSQL (``ieb serve``
receiving the CAK's retour while a clerk runs ``ieb retour`` on a corrected one, or two ``ieb
retour`` runs). Applying a retour reads the heenbericht's row (has it a retour already? the same
one or another?) and then updates it; on PostgreSQL nothing serialised the two, so both read "no
retour yet" and both wrote: the second retour silently replaced the first (a lost update; a
different second retour must be refused, ``DuplicateRetourError``), and the same retour twice was
reported as applied twice instead of once and once ``dubbel``. SQLite serialises writers (``BEGIN
IMMEDIATE``) and is checked as well. The two transactions are made to overlap: each waits (at most
a few seconds) in ``set_retours`` until the other has read its rows too."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ieb.ledger import retour as retour_module
from ieb.ledger.errors import RetourInputError
from ieb.ledger.store import Ledger
from ieb.store.db import open_database
from ieb.store.schema import deliveries

PG = os.environ.get("IEB_TEST_POSTGRES_URL")
TEMPLATE = (Path(__file__).resolve().parents[1] / "core/samples/valid/wmo402-accepted.xml").read_bytes()
DAY = dt.date(2026, 6, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ieb.sqlite'}"
        return
    if not PG:
        pytest.skip("IEB_TEST_POSTGRES_URL is not set")
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    name = "ieb_attack_" + uuid.uuid4().hex[:10]
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _retour(identificatie_retour: str, code: str | None) -> bytes:
    data = (
        TEMPLATE.replace(b"AMS-0001", b"B1")
        .replace(b"2026-05-20", DAY.isoformat().encode())
        .replace(b"2026-05-21", DAY.isoformat().encode())
        .replace(b"CAK-77", identificatie_retour.encode())
    )
    if code is not None:  # a header RetourCode: rejected
        codes = f"<wmo402:RetourCodes><wmo402:RetourCode>{code}</wmo402:RetourCode></wmo402:RetourCodes>"
        data = data.replace(b"</wmo402:XsdVersieRetour>", b"</wmo402:XsdVersieRetour>" + codes.encode())
    return data


def _overlapping(
    url: str, files: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Any], Any]:
    engine = open_database(url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(deliveries).values(
                afzender="0363",
                identificatie="B1",
                dagtekening=DAY,
                bericht="WMO401",
                bsn="999900006",
                eb_start_nummer=1,
                status="1",
                datum=dt.date(2026, 5, 1),
                outcome="pending",
                release="ieb-1.0",
            )
        )
    engines = [engine, open_database(url)]
    both_read = threading.Barrier(2)
    real = Ledger.set_retours

    def set_retours(self: Ledger, conn: sa.Connection, items: Any) -> None:
        try:
            both_read.wait(timeout=3)  # the other one has read the row too (unless it must wait)
        except threading.BrokenBarrierError:
            pass
        real(self, conn, items)

    monkeypatch.setattr(Ledger, "set_retours", set_retours)
    results: list[Any] = [None, None]

    def run(i: int) -> None:
        try:
            results[i] = retour_module.process_retours(Ledger(engines[i]), [files[i]], today=DAY)[0]
        except RetourInputError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        row = conn.execute(sa.select(deliveries.c.outcome, deliveries.c.retour_identificatie)).one()
    for e in engines:
        e.dispose()
    return results, row


def test_a_second_different_retour_at_once_is_refused_not_written_over(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [("accepted.xml", _retour("CAK-1", None)), ("rejected.xml", _retour("CAK-2", "9102"))]
    results, row = _overlapping(url, files, monkeypatch)
    applied = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(applied) == 1 and len(refused) == 1, results
    assert "heeft al een andere retour" in str(refused[0])
    # the row holds the retour that was applied, and only that one
    assert (row.outcome, row.retour_identificatie) == (
        applied[0].outcome,
        "CAK-1" if applied[0].source == "accepted.xml" else "CAK-2",
    )


def test_the_same_retour_twice_at_once_is_applied_once(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _retour("CAK-1", None)
    results, row = _overlapping(url, [("a.xml", data), ("b.xml", data)], monkeypatch)
    assert sorted(r.duplicate for r in results) == [False, True], results
    assert (row.outcome, row.retour_identificatie) == ("accepted", "CAK-1")
