"""Issue 19, done-means: a second release pack, shipped under tests/ and registered by the test, runs
validate -> plan -> queue -> send to the in-process simulator -> retour -> ledger without engine edits.

``tst-1.0`` (tests/fixtures/pack_tst) has two messages (TST001 heen, TST002 its retour), its own
XSDs, one in-message rule of its own (TST01) and a delivery mapping with ONE record per period
(start and stop together), unlike iEb 1.0: the planner, the history rules, the CAK simulator, the
retour writer hook and the ledger's retour processing all work through the pack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree

from ieb.codec import from_xml, to_xml
from ieb.ledger.history import Delivery, MemoryHistory, check_history, roles
from ieb.ledger.planner import Period, plan
from ieb.ledger.retour import process_retours
from ieb.ledger.store import COUNTED_CAK, Ledger
from ieb.releases import default_registry
from ieb.simulator import CakSimulator
from ieb.store.db import open_database
from ieb.validation import validate_bytes
from tests.fixtures.pack_tst import PACK, Tst001, Tst002
from tests.migrated import migrated_memory_engine, migrated_sqlite_file, migrated_sqlite_url

TODAY = dt.date(2026, 6, 15)
BSN = "999900006"
OTHER = "999900018"
THIRD = "999900031"


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    default_registry.register(PACK, replace=True)
    try:
        yield
    finally:
        with default_registry._lock:  # the registry has no public unregister (yet)
            default_registry._packs.pop(PACK.name, None)


def _heen(**values: object) -> bytes:
    base: dict[str, object] = {
        "afzender": "0363",
        "identificatie": "T-1",
        "dagtekening": TODAY,
        "bsn": BSN,
        "eb_start_nummer": 1,
        "eb_startdatum": dt.date(2026, 5, 1),
    }
    base.update(values)
    return to_xml(Tst001.build(**base))  # type: ignore[arg-type]


def test_validate_finds_the_release_and_its_own_rule() -> None:
    ok = validate_bytes(_heen(eb_stopdatum=dt.date(2026, 5, 31)), today=TODAY)
    assert ok.valid, ok.issues
    assert (ok.release, ok.bericht) == ("tst-1.0", "TST001")
    bad = validate_bytes(_heen(eb_stopdatum=dt.date(2026, 4, 30)), today=TODAY)
    assert [i.code for i in bad.issues] == ["TST01"] and bad.level == 2
    wrong = validate_bytes(_heen().replace(b"<tst001:Bsn>", b"<tst001:Bsn>x"), today=TODAY)
    assert not wrong.valid and wrong.level == 1


def test_roles_and_history_rules_come_from_the_pack() -> None:
    assert roles("TST001").start == "TST001" and roles("TST001").stop is None
    first = Delivery.from_message(from_xml(_heen(eb_stopdatum=dt.date(2026, 5, 31)), today=TODAY))
    assert first.is_start and first.stopdatum == dt.date(2026, 5, 31) and first.klasse == "Periode"
    history = MemoryHistory([first])
    (period,) = history.periods_of("0363", BSN)
    assert period.end == dt.date(2026, 5, 31)
    again = Delivery("TST001", "0363", "T-2", TODAY, BSN, 1, "1", dt.date(2026, 5, 1))
    assert [i.code for i in check_history(again, history)] == ["TR102"]
    overlap = Delivery("TST001", "0363", "T-3", TODAY, BSN, 2, "1", dt.date(2026, 5, 20))
    assert [i.code for i in check_history(overlap, history)] == ["OP291"]
    after = Delivery("TST001", "0363", "T-4", TODAY, BSN, 2, "1", dt.date(2026, 6, 1))
    assert check_history(after, history) == []


def test_plan_is_minimal_and_idempotent_on_one_record_per_period(tmp_path: Path) -> None:
    ledger = Ledger(open_database(migrated_sqlite_url(tmp_path / "g.sqlite")))
    try:
        with_stop = {BSN: [Period(dt.date(2026, 5, 1), dt.date(2026, 5, 31))]}
        preview = plan(ledger, "0363", with_stop, today=TODAY, release="tst-1.0", record=False)
        assert [(m.bericht, m.delivery.status, m.delivery.stopdatum) for m in preview.messages] == [
            ("TST001", "1", dt.date(2026, 5, 31))
        ]  # start and stop in ONE record: the mapping's whole change beats the planner's two hops
        assert b"<tst001:EbStopdatum>2026-05-31</tst001:EbStopdatum>" in preview.messages[0].xml
        desired = {BSN: [Period(dt.date(2026, 5, 1))]}
        first = plan(ledger, "0363", desired, today=TODAY, release="tst-1.0")
        assert [(m.bericht, m.delivery.status) for m in first.messages] == [("TST001", "1")]
        assert plan(ledger, "0363", desired, today=TODAY, release="tst-1.0").messages == []
        moved = {BSN: [Period(dt.date(2026, 4, 1))]}
        change = plan(ledger, "0363", moved, today=TODAY, release="tst-1.0")
        assert [(m.delivery.status, m.delivery.datum) for m in change.messages] == [
            ("2", dt.date(2026, 4, 1))
        ]
        gone = plan(ledger, "0363", {BSN: []}, today=TODAY, release="tst-1.0")
        assert [(m.delivery.status, m.delivery.datum) for m in gone.messages] == [("3", dt.date(2026, 4, 1))]
        with ledger.engine.connect() as conn:
            releases = conn.execute(sa.text("SELECT DISTINCT release FROM deliveries")).scalars().all()
        assert releases == ["tst-1.0"]
    finally:
        ledger.close()


def test_a_record_with_start_and_stop_survives_the_ledger(tmp_path: Path) -> None:
    ledger = Ledger(open_database(migrated_sqlite_url(tmp_path / "g.sqlite")))
    try:
        desired = {BSN: [Period(dt.date(2026, 5, 1), dt.date(2026, 5, 31))]}
        assert len(plan(ledger, "0363", desired, today=TODAY, release="tst-1.0").messages) == 1
        assert plan(ledger, "0363", desired, today=TODAY, release="tst-1.0").messages == []
    finally:
        ledger.close()


def test_simulator_answers_with_the_packs_retour_writer(tmp_path: Path) -> None:
    sim = CakSimulator(migrated_sqlite_file(tmp_path / "cak.sqlite"), today=TODAY)
    try:
        ok = sim.process(_heen(eb_stopdatum=dt.date(2026, 5, 31)))
        assert ok.verdict == "accepted" and ok.retour is not None
        retour = from_xml(ok.retour, today=TODAY)
        assert isinstance(retour, Tst002) and retour.header.retour_codes == ()
        same_key = sim.process(_heen(identificatie="T-2"))
        assert same_key.verdict == "rejected" and same_key.codes == ("9102",)
        schema = etree.XMLSchema(etree.parse(str(PACK.message("TST002").schema_path)))
        assert schema.validate(etree.fromstring(same_key.retour or b""))
        technical = sim.process(_heen(identificatie="T-3", eb_stopdatum=dt.date(2026, 4, 1)))
        assert technical.verdict == "technical" and technical.codes == ("0001",)
        assert b"<tst002:Afzender>0363</tst002:Afzender>" in (technical.retour or b"")
        unreadable = sim.process(b"\xef\xbb\xbf" + _heen(identificatie="T-4"))  # OP192 by its BOM
        assert unreadable.verdict == "technical" and b"T-4" in (unreadable.retour or b"")
        assert [p.eb_start_nummer for p in sim.periods("0363")[("0363", BSN)]] == [1]
    finally:
        sim.close()


def test_validate_plan_queue_send_retour_ledger_in_process(tmp_path: Path) -> None:
    """The whole loop over the GGk simulator's app, with the pack's messages only."""
    from ieb.ggk import build, new_di01
    from ieb.simulator.server import GgkSimulator
    from ieb.testing.inprocess import InProcessTransport
    from ieb.transport.outbox import Outbox
    from ieb.transport.sender import RetryPolicy, Sender

    gemeente = open_database(migrated_sqlite_url(tmp_path / "g.sqlite"))
    cak = open_database(migrated_sqlite_url(tmp_path / "cak.sqlite"))
    simulator = GgkSimulator(cak, today=TODAY)
    simulator.start()
    try:
        desired = {
            BSN: [Period(dt.date(2026, 5, 1))],
            OTHER: [Period(dt.date(2026, 6, 1))],
            THIRD: [Period(dt.date(2026, 4, 1))],
        }
        with gemeente.begin() as conn:  # plan and queue in one transaction
            planned = plan(Ledger(conn), "0363", desired, today=TODAY, release="tst-1.0")
            rows = []
            for m in planned.messages:
                assert validate_bytes(m.xml, today=TODAY).valid
                di01 = new_di01(m.xml, m.bericht, "0363")
                rows.append(
                    {
                        "envelope": build(di01),
                        "referentienummer": di01.referentienummer,
                        "afzender": "0363",
                        "functie": m.bericht,
                        "payload": m.xml,
                        "bericht_identificatie": m.delivery.identificatie,
                    }
                )
            Outbox(gemeente).enqueue_many(rows, conn=conn)
        assert [m.bericht for m in planned.messages] == ["TST001"] * 3
        sent = Sender(Outbox(gemeente), InProcessTransport(simulator), policy=RetryPolicy()).drain(
            workers=1, timeout=30
        )
        assert sent.acknowledged == 3
        simulator._queue.join()  # the CAK side has answered every message
        with cak.connect() as conn:
            retours = (
                conn.execute(
                    sa.text("SELECT retour_payload FROM deliveries WHERE retour_payload IS NOT NULL")
                )
                .scalars()
                .all()
            )
        assert len(retours) == 3
        outcomes = process_retours(
            Ledger(gemeente), [(f"r{n}.xml", bytes(r)) for n, r in enumerate(retours)], today=TODAY
        )
        assert sorted(o.outcome for o in outcomes) == ["accepted"] * 3
        assert {o.bericht for o in outcomes} == {"TST002"}
        cak_periods = Ledger(cak, counted=COUNTED_CAK).periods("0363")
        assert {b: [(p.start.datum, p.end) for p in ps] for (_, b), ps in cak_periods.items()} == {
            BSN: [(dt.date(2026, 5, 1), None)],
            OTHER: [(dt.date(2026, 6, 1), None)],
            THIRD: [(dt.date(2026, 4, 1), None)],
        }
        again = plan(Ledger(gemeente), "0363", desired, today=TODAY, release="tst-1.0", record=False)
        assert again.messages == []  # the ledger holds what the CAK accepted: nothing to send
    finally:
        simulator.stop()
        cak.dispose()
        gemeente.dispose()


def test_an_unknown_message_or_a_pack_without_mapping_is_a_clear_error() -> None:
    import dataclasses

    from ieb.errors import ConfigurationError, UnknownMessageError
    from ieb.ledger.history import message_row

    with pytest.raises(UnknownMessageError, match="XYZ999"):
        message_row("XYZ999")
    bare = dataclasses.replace(PACK, delivery=None)
    with pytest.raises(ConfigurationError, match="leveringsafbeelding"):
        plan(Ledger(migrated_memory_engine()), "0363", {}, today=TODAY, release=bare)
