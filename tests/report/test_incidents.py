"""Incidents in ``ieb report``: ``ieb serve`` records its starts and stops in the audit table; a
start without a stop before it is a restart after a crash; refused deliveries form one incident up
to the next delivery; messages that needed several attempts are a delay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from ieb.config import IebConfig
from ieb.exchange import Exchange
from ieb.report import read_incidents
from ieb.service import Service
from ieb.testing.pki import create_test_pki
from ieb.transport.audit import AuditTrail
from tests.exchange.conftest import make_config
from tests.migrated import migrated_sqlite_url


def test_ieb_serve_records_its_starts_and_stops(tmp_path: Path) -> None:
    pki = create_test_pki(tmp_path / "pki", ["0363", "GGK"])
    ex = Exchange(make_config(pki, tmp_path / "ieb.sqlite", endpoint="https://127.0.0.1:9/nergens"))
    try:
        for _ in range(2):
            service = Service(ex)
            service.start()
            service.stop()
        incidents = read_incidents(ex.engine)
    finally:
        ex.close()
    assert [i.soort for i in incidents] == ["dienst gestart", "dienst gestopt"] * 2
    assert incidents[1].tot == incidents[2].van and incidents[3].tot is None  # down between the runs
    assert incidents[0].reden.startswith("pid ")


def _at(ex: Exchange, when: str) -> None:
    with ex.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit SET at = :w WHERE id = (SELECT max(id) FROM audit)"), {"w": when})


def test_a_crash_a_refusal_and_a_delay_are_incidents(tmp_path: Path) -> None:
    ex = Exchange(IebConfig(database=migrated_sqlite_url(tmp_path / "ieb.sqlite"), gemeenten=["0363"]))
    audit = AuditTrail(ex.engine)
    try:
        audit.record("out", "service", outcome="gestart", detail="pid 1")
        _at(ex, "2026-03-01 08:00:00")
        audit.record("out", "service", outcome="gestart", detail="pid 2")  # no stop: pid 1 crashed
        _at(ex, "2026-03-02 09:00:00")
        for n in range(3):
            audit.record(
                "out",
                "delivery",
                referentienummer=f"r{n}",
                outcome="failed",
                detail="Fo03 weigering 999900006",
            )
            _at(ex, f"2026-03-03 10:0{n}:00")
        audit.record("out", "delivery", referentienummer="r9", outcome="acknowledged")
        _at(ex, "2026-03-03 12:00:00")
        ex.plan_and_queue([{"bsn": "999900006", "start": "2026-02-01"}], today=dt.date(2026, 2, 20))
        with ex.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE outbox SET status='acknowledged', attempts=4, acknowledged_at='2026-03-04 10:00:00'"
                )
            )
        incidents = read_incidents(ex.engine)
        assert read_incidents(ex.engine, gemeente="0599")[-1].soort != "verzending vertraagd"
    finally:
        ex.close()
    kinds = [i.soort for i in incidents]
    assert kinds == [
        "dienst gestart",
        "herstart na onderbreking",
        "dienst gestart",
        "verzending mislukt",
        "verzending vertraagd",
    ], kinds
    failed = incidents[3]
    assert failed.aantal == 3 and failed.tot == dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC)
    assert "999900006" not in failed.reden and "Fo03" in failed.reden
    assert incidents[4].aantal == 1 and "4" in incidents[4].reden
