"""The Wlz tables on SQLite and PostgreSQL: what an upload remembers, signals stored once (also
after a crash mid-run), decisions, the overlay, purge and the summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.config import IebConfig
from ieb.exchange import Exchange
from ieb.testing.demo import demo_bsns
from ieb.wlz import WlzError, WlzSignalen

B = demo_bsns(5)
D = dt.date


@pytest.fixture
def ex(ledger_db_url: str) -> Exchange:
    exchange = Exchange(IebConfig(database=ledger_db_url, gemeenten=["0363"]))
    exchange.queue(
        exchange.plan(
            [{"bsn": b, "start": "2026-01-01"} for b in B[:3]]
            + [{"bsn": B[3], "start": "2026-01-01", "stop": "2026-03-31"}],
            today=D(2026, 5, 1),
        )
    )
    return exchange


def _count(ex: Exchange, table: str) -> int:
    with ex.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_uploads_remember_what_they_held_and_report_what_ended_since(ex: Exchange, tmp_path: Path) -> None:
    wlz = WlzSignalen.for_exchange(ex)
    first = wlz.upload(tmp_path / "u1.csv", peildatum=D(2026, 5, 1))
    assert (first.lopend, first.beeindigd) == (3, 0)  # the period that ended in March is not sent
    # the first person's eigen bijdrage stops; a second upload names it once with its einddatum
    desired = [{"bsn": B[0], "start": "2026-01-01", "stop": "2026-05-15"}]
    ex.queue(ex.plan(desired, today=D(2026, 5, 20)))
    second = wlz.upload(tmp_path / "u2.csv", peildatum=D(2026, 6, 1))
    assert (second.lopend, second.beeindigd) == (2, 1)
    assert f"0363;{B[0]};;01-01-2026;15-05-2026" in (tmp_path / "u2.csv").read_text()
    third = wlz.upload(tmp_path / "u3.csv", peildatum=D(2026, 7, 1))
    assert (third.lopend, third.beeindigd) == (2, 0)  # reported once
    assert _count(ex, "wlz_uploads") == 3 and _count(ex, "wlz_uploaded") == 3 + 3 + 2
    ex.close()


def test_signals_are_stored_once_even_after_a_crash_mid_run(
    ex: Exchange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ieb.wlz.service as service

    wlz = WlzSignalen.for_exchange(ex)
    report = tmp_path / "s.csv"
    report.write_text("bsn;ingangsdatum\n" + "".join(f"{b};01-05-2026\n" for b in B))
    real = service.propose
    calls = {"n": 0}

    def crash(**kw: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("stroomstoring")
        return real(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "propose", crash)
    with pytest.raises(RuntimeError):
        wlz.signalen(report, ontvangen=D(2026, 6, 1))
    assert _count(ex, "wlz_signals") == 0  # one transaction: nothing half-stored
    monkeypatch.setattr(service, "propose", real)
    assert wlz.signalen(report, ontvangen=D(2026, 6, 1)).counts() == {
        "stop": 3,
        "doorlopen": 0,
        "geen": 2,
        "dubbel": 0,
        "geweigerd": 0,
    }
    assert wlz.signalen(report, ontvangen=D(2026, 6, 2)).counts()["dubbel"] == 5
    assert _count(ex, "wlz_signals") == 5

    # decisions, the overlay, the summary and the purge
    wlz.besluit(B[0], akkoord=True)
    wlz.besluit(B[1], doorlopen=True)
    with pytest.raises(WlzError, match=r"geen open Wlz-signaal voor Bsn \*{6}"):
        wlz.besluit(B[1], stop=D(2026, 5, 31))
    with pytest.raises(WlzError, match="precies één"):
        wlz.besluit(B[2])
    with pytest.raises(WlzError, match=r"stopdatum 2025-12-31 ligt voor de start .*2026-01-01.*TR328"):
        wlz.besluit(B[2], stop=D(2025, 12, 31))  # would delete the start at the CAK
    assert wlz.accepted_stops() == {("0363", B[0]): D(2026, 4, 30)}
    out = wlz.overlay([{"bsn": B[0], "start": "2026-01-01"}, {"bsn": B[1], "start": "2026-01-01"}])
    assert [dict(r) for r in out] == [
        {"bsn": B[0], "start": "2026-01-01", "stop": "2026-04-30"},
        {"bsn": B[1], "start": "2026-01-01"},
    ]
    s = wlz.summary(today=D(2026, 6, 11))
    assert (s["open"], s["besloten"], s["geen_actie"], s["oudste_open_dagen"]) == (1, 2, 2, 10)
    assert s["open_list"][0]["bsn"] == "******" + B[2][-3:]
    purged = wlz.opschonen(D(2026, 6, 2))
    assert (purged.signalen, purged.open_bewaard) == (4, 1)
    assert wlz.accepted_stops() == {("0363", B[0]): D(2026, 4, 30)}  # decisions stay
    with ex.engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*) FROM wlz_signals WHERE naam IS NOT NULL")).scalar_one() == 0
        )
    ex.close()
