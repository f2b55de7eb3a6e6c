"""``ieb opschonen``: message contents and logs past the term go, the ledger stays whole: after a
year (tests/report/soak.py) and opschonen, the planner plans exactly what it plans on an untouched
copy, the CAK accepts it, and a late duplicate retour of an emptied message is still recognised."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ieb.cli import app
from ieb.config import IebConfig
from ieb.exchange import Exchange
from ieb.simulator.cak import CakConfig, CakSimulator
from ieb.store import open_database
from ieb.store.retention import opschonen
from tests.migrated import migrated_sqlite_url
from tests.report import soak

#: long after the soak year AND after the machine clock that stamped outbox and audit rows
LATER = dt.date(2099, 1, 1)
ROUND = dt.date(soak.YEAR + 1, 1, 5)  # the next monthly round


@pytest.fixture
def year(tmp_path_factory: pytest.TempPathFactory, soak_year: soak.Soak) -> soak.Soak:
    """A copy of the session's soak year per test: two tests run opschonen on it, so a shared copy
    made the file's results depend on the order (the attacker, session 7)."""
    return soak.copy(soak_year, tmp_path_factory.mktemp("soak-opschonen") / "year")


def _sizes(db: Path) -> tuple[int, int, int, int]:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM deliveries WHERE length(payload) > 0),"
                " (SELECT count(*) FROM deliveries), (SELECT count(*) FROM audit),"
                " (SELECT count(*) FROM outbox WHERE envelope IS NOT NULL)"
            )
        ).one()
    engine.dispose()
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def _next_month(year: soak.Soak) -> list[dict[str, str]]:
    """The desired state of the round after the year: one stop, one withdrawal, one new start, the
    December people of Amsterdam (rejected 8848) again."""
    records = soak._records(year.persons)
    running = [r for r in records if not r["stop"] and r["start"] < "2021-06-01"]
    running[0]["stop"] = dt.date(soak.YEAR, 12, 31).isoformat()
    running[1]["start"] = ""  # withdraw
    records.append({"gemeente": "0599", "bsn": "999999990", "start": "2021-12-15", "stop": ""})
    return records


def _plan(config: IebConfig, records: list[dict[str, str]]) -> list[tuple[object, ...]]:
    ex = Exchange(config)
    try:
        preview = ex.plan(records, today=ROUND)
        assert not preview.problems, preview.problems
        return [
            (
                m.delivery.afzender,
                m.delivery.bericht,
                m.delivery.bsn,
                m.delivery.eb_start_nummer,
                m.delivery.status,
                m.delivery.datum,
                m.xml,
            )
            for m in preview.messages
        ]
    finally:
        ex.close()


def test_after_opschonen_the_ledger_plans_what_it_planned_before(year: soak.Soak, tmp_path: Path) -> None:
    from ieb.testing.demo import demo_bsns

    assert "999999990" not in demo_bsns(400)  # the new person is nobody of the year
    copy = tmp_path / "kopie.sqlite"
    shutil.copyfile(year.db, copy)
    before = _sizes(year.db)
    counted = opschonen(open_database(f"sqlite:///{year.db}"), LATER, dry_run=True)
    assert _sizes(year.db) == before  # --dry-run changes nothing
    done = opschonen(open_database(f"sqlite:///{year.db}"), LATER)
    assert (done.berichten, done.audit, done.outbox) == (counted.berichten, counted.audit, counted.outbox)
    assert done.berichten > 0 and done.audit > 0 and done.outbox > 0
    after = _sizes(year.db)
    assert after[1] == before[1]  # every delivery row stays: numbers, dates, statuses, outcomes
    assert after[0] == done.bewaard_laatste + done.open_bewaard  # only the last accepted state keeps its XML
    assert after[2] == 0 and after[3] == 0
    again = opschonen(open_database(f"sqlite:///{year.db}"), LATER)
    assert (again.berichten, again.outbox, again.inbox, again.audit) == (0, 0, 0, 0)  # idempotent

    records = _next_month(year)
    untouched = IebConfig(database=f"sqlite:///{copy}", gemeenten=list(soak.GEMEENTEN))
    planned = _plan(year.config, records)
    assert planned == _plan(untouched, records)
    kinds = {(b, s) for _g, b, _bsn, _nr, s, _d, _x in planned}
    assert ("WMO401", "1") in kinds and ("WMO403", "1") in kinds and any(s == "3" for _b, s in kinds)
    # nothing planned twice for a person the ledger knows: the same state again plans nothing new
    assert _plan(year.config, soak._records(year.persons)) == _plan(untouched, soak._records(year.persons))


def test_after_opschonen_the_cak_accepts_the_next_round_and_old_retours_stay_duplicates(
    year: soak.Soak, tmp_path: Path
) -> None:
    opschonen(open_database(f"sqlite:///{year.db}"), LATER)
    ex = Exchange(year.config)
    cak_engine = open_database(f"sqlite:///{year.cak_db}")
    try:
        queued = ex.plan_and_queue(_next_month(year), today=ROUND)
        assert len(queued) > 0
        cak = CakSimulator(cak_engine, CakConfig(release="ieb-1.0"), today=ROUND)
        soak._answer(ex, cak, tmp_path / "retouren", ROUND, {})
        status = ex.status(today=ROUND)
        assert status.deliveries["pending"] == 0
        assert status.rejections["open"] == 0, status.still_wrong  # December's 8848 fixed too
        # a retour of January that arrives again is recognised, not applied a second time
        old = sorted((year.db.parent / "retouren" / f"{soak.YEAR}-01").glob("*.xml"))[0]
        done, failed = ex.process_retour_files([old], today=ROUND)
        assert not failed and done[0].duplicate, (done, failed)
    finally:
        ex.close()
        cak_engine.dispose()


def test_open_items_keep_their_contents(tmp_path: Path) -> None:
    config = IebConfig(database=migrated_sqlite_url(tmp_path / "ieb.sqlite"), gemeenten=["0363"])
    ex = Exchange(config)
    try:
        ex.plan_and_queue([{"bsn": "999900006", "start": "2021-01-01"}], today=dt.date(2021, 1, 5))
        with ex.engine.begin() as conn:
            conn.execute(sa.text("UPDATE outbox SET status = 'dead', updated_at = '2021-01-05 10:00:00'"))
        result = opschonen(ex.engine, LATER)
        assert (result.berichten, result.outbox, result.open_bewaard) == (0, 0, 1)
        with ex.engine.connect() as conn:
            payload, envelope = conn.execute(
                sa.text("SELECT d.payload, o.envelope FROM deliveries d, outbox o")
            ).one()
        assert payload and envelope  # the unanswered message can still be requeued and resent
    finally:
        ex.close()


def test_the_command_takes_the_term_from_ieb_toml_and_refuses_a_short_one(
    year: soak.Soak, tmp_path: Path
) -> None:
    config = tmp_path / "ieb.toml"
    config.write_text(f'database = "{year.db}"\ngemeenten = ["0363"]\n\n[bewaren]\ndagen = 3650\n')
    runner = CliRunner()
    result = runner.invoke(app, ["opschonen", "--config", str(config), "--dry-run", "--today", "2031-06-01"])
    assert result.exit_code == 0, result.output
    assert "Ouder dan 2021-06-03" in result.output and "--dry-run" in result.output
    short = runner.invoke(app, ["opschonen", "--config", str(config), "--ouder-dan", "30"])
    assert (
        short.exit_code == 2
        and "--ouder-dan: 30 dagen is korter dan de kortste bewaartermijn (365" in short.output
    )
    recent = runner.invoke(
        app,
        [
            "opschonen",
            "--config",
            str(config),
            "--ouder-dan",
            "2031-01-01",
            "--dry-run",
            "--today",
            "2031-06-01",
        ],
    )
    assert recent.exit_code == 2 and "minder dan 365 dagen voor vandaag" in recent.output
    dutch = runner.invoke(
        app,
        [
            "opschonen",
            "--config",
            str(config),
            "--ouder-dan",
            "03-06-2021",
            "--dry-run",
            "--today",
            "2031-06-01",
        ],
    )
    assert dutch.exit_code == 0 and "Ouder dan 2021-06-03" in dutch.output  # the one parser: DD-MM-JJJJ too
    config.write_text(f'database = "{year.db}"\ngemeenten = ["0363"]\n\n[bewaren]\ndagen = 7\n')
    bad = runner.invoke(app, ["opschonen", "--config", str(config), "--dry-run"])
    assert (
        bad.exit_code == 2 and "bewaren.dagen: 7 dagen is korter dan de kortste bewaartermijn" in bad.output
    )


def test_opschonen_on_both_databases_keeps_the_plan_and_the_duplicate_check(
    ledger_db_url: str, tmp_path: Path
) -> None:
    config = IebConfig(database=ledger_db_url, gemeenten=["0363"])
    people = [{"bsn": b, "start": "2021-01-01"} for b in ("999900006", "999900018", "999900031")]
    first = dt.date(2021, 1, 5)
    ex = Exchange(config)
    cak_engine = open_database(migrated_sqlite_url(tmp_path / "cak.sqlite"))

    def planned() -> list[tuple[object, ...]]:
        messages = ex.plan(changed, today=dt.date(2021, 3, 5)).messages
        return [(m.delivery.bericht, m.delivery.bsn, m.delivery.eb_start_nummer, m.xml) for m in messages]

    try:
        ex.plan_and_queue(people, today=first)
        soak._answer(ex, CakSimulator(cak_engine, CakConfig(release="ieb-1.0")), tmp_path / "r", first, {})
        with ex.engine.begin() as conn:  # the CAK's answer for the third person was a rejection
            conn.execute(sa.text("UPDATE deliveries SET outcome = 'rejected' WHERE bsn = '999900031'"))
        changed = [dict(people[0], stop="2021-03-31"), people[1], people[2]]
        before = planned()
        result = opschonen(ex.engine, LATER)
        assert (result.berichten, result.bewaard_laatste) == (1, 2)  # two are the last accepted state
        with ex.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT bsn, payload, retour_payload FROM deliveries ORDER BY id")
            ).all()
        assert [
            (r.bsn, bool(r.payload), r.retour_payload is not None and len(r.retour_payload) > 0) for r in rows
        ] == [
            ("999900006", True, True),
            ("999900018", True, True),
            ("999900031", False, False),
        ]
        assert planned() == before and len(before) == 2  # the stop and the rejected start again
        old = sorted((tmp_path / "r").glob("*.xml"))[-1]  # the third person's retour comes again
        done, failed = ex.process_retour_files([old], today=dt.date(2021, 3, 5))
        assert not failed and done[0].duplicate
    finally:
        ex.close()
        cak_engine.dispose()
