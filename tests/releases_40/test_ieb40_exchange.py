"""The 4.0 exchange in process: plan -> queue -> send to the GGk simulator -> the CAK answers WMO406
-> retour processing -> ledger, over two rounds of desired states with starts, stops, changed dates,
deletions and kostprijs, without a single rejection; a payload that is not XSD-valid gets Fo01
IB001 (issue 20, step 4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from ieb.ggk import build, new_di01
from ieb.ledger.planner import Period, plan
from ieb.ledger.retour import process_retours
from ieb.ledger.store import COUNTED_CAK, Ledger
from ieb.releases.ieb_4_0 import Wmo405, to_xml
from ieb.releases.ieb_4_0 import build as build_model
from ieb.simulator import CakSimulator
from ieb.simulator.server import GgkSimulator, _payload_level1
from ieb.store.db import open_database
from ieb.testing.inprocess import InProcessTransport
from ieb.transport.outbox import Outbox
from ieb.transport.sender import RetryPolicy, Sender
from ieb.validation import validate_bytes
from tests.migrated import migrated_sqlite_file, migrated_sqlite_url

D = dt.date
B1, B2, B3 = "999990019", "999990020", "999990032"


def _send_round(
    gemeente: sa.Engine,
    cak: sa.Engine,
    simulator: GgkSimulator,
    desired: dict[str, list[Period]],
    day: dt.date,
) -> list[str]:
    with gemeente.begin() as conn:
        planned = plan(Ledger(conn), "0363", desired, today=day, release="ieb-4.0")
        rows = []
        for m in planned.messages:
            assert validate_bytes(m.xml, today=day).valid
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
    idents = [m.delivery.identificatie for m in planned.messages]
    outcomes: list[str] = []
    done: set[str] = set()
    for _ in range(5):  # a person's next message waits until the earlier one is accepted
        Sender(Outbox(gemeente), InProcessTransport(simulator), policy=RetryPolicy()).drain(
            workers=1, timeout=60
        )
        simulator._queue.join()  # the CAK side has answered what it received
        with cak.connect() as conn:
            retours = conn.execute(
                sa.text(
                    "SELECT identificatie, retour_payload FROM deliveries WHERE retour_payload IS NOT NULL"
                )
            ).all()
        new = [(i, bytes(r)) for i, r in retours if i in idents and i not in done]
        done.update(i for i, _ in new)
        if new:
            processed = process_retours(Ledger(gemeente), [(f"r{i}.xml", r) for i, r in new], today=day)
            assert {o.bericht for o in processed} == {"WMO406"}
            outcomes += [o.outcome for o in processed]
        if len(done) == len(idents):
            break
    assert len(done) == len(idents)
    return outcomes


def test_two_desired_states_are_accepted_by_the_4_0_cak_without_rejection(tmp_path: Path) -> None:
    gemeente = open_database(migrated_sqlite_url(tmp_path / "g.sqlite"))
    cak = open_database(migrated_sqlite_url(tmp_path / "cak.sqlite"))
    first_day, second_day = D(2025, 11, 3), D(2025, 12, 1)
    simulator = GgkSimulator(cak, today=first_day)
    simulator.start()
    try:
        first = {
            B1: [Period(D(2025, 5, 1), D(2025, 8, 31), 57000, D(2025, 5, 1)), Period(D(2025, 10, 1))],
            B2: [Period(D(2025, 6, 1))],
            B3: [Period(D(2025, 9, 1), D(2025, 9, 30))],
        }
        assert _send_round(gemeente, cak, simulator, first, first_day) == ["accepted"] * 4
        second = {
            B1: [
                Period(D(2025, 5, 1), D(2025, 9, 30), 60000, D(2025, 5, 1)),
                Period(D(2025, 10, 15), D(2026, 1, 31)),
            ],
            B2: [],  # deleted
            B3: [Period(D(2025, 9, 1))],  # stop removed
        }
        simulator.cak.today = second_day
        outcomes = _send_round(gemeente, cak, simulator, second, second_day)
        assert outcomes and set(outcomes) == {"accepted"}
        cak_periods = Ledger(cak, counted=COUNTED_CAK).periods("0363")
        got = {b: [(p.start.datum, p.end) for p in ps] for (_, b), ps in cak_periods.items() if ps}
        assert got == {
            B1: [(D(2025, 5, 1), D(2025, 9, 30)), (D(2025, 10, 15), D(2026, 1, 31))],
            B3: [(D(2025, 9, 1), None)],
        }
        again = plan(Ledger(gemeente), "0363", second, today=second_day, release="ieb-4.0", record=False)
        assert again.messages == []
    finally:
        simulator.stop()
        cak.dispose()
        gemeente.dispose()


def test_an_xsd_invalid_4_0_payload_gets_fo01_ib001(tmp_path: Path) -> None:
    good = to_xml(
        build_model(
            Wmo405,
            afzender="0363",
            identificatie="X1",
            dagtekening=D(2025, 11, 3),
            bsn=B1,
            eb_start_nummer=1,
            eb_startdatum=D(2025, 5, 1),
            status_aanlevering="1",
        )
    )
    bad = good.replace(b"<wmo405:EbStartNummer>1<", b"<wmo405:EbStartNummer>x<")
    assert _payload_level1(bad) == []  # the GGk leaves it to the 4.0 CAK
    sim = CakSimulator(migrated_sqlite_file(tmp_path / "cak.sqlite"), today=D(2025, 11, 3))
    try:
        result = sim.process(bad)
        assert (result.verdict, result.retour, result.fo01_code) == ("no_retour", None, "IB001")
        assert result.reason is not None and "XSD" in result.reason
    finally:
        sim.close()
