"""Fault settings: any spec string gives a FaultConfig or the project's own error naming the setting."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ieb.errors import IebError
from ieb.simulator.faults import FAULT_KINDS, FaultConfig, FaultConfigError
from tests.migrated import migrated_sqlite_url


@pytest.mark.parametrize(
    ("spec", "setting"),
    [
        ("seed=x", "seed"),
        ("latency=nan", "latency"),
        ("drop=", "drop"),
        ("http503=2", "http503"),
        ("fo01_code=ZZZ", "fo01_code"),
        ("latency_max=1e9", "latency_min"),
        ("http503=0.5,drop=0.5", "http503"),
    ],
)
def test_bad_settings_are_named(spec: str, setting: str) -> None:
    with pytest.raises(FaultConfigError) as info:
        FaultConfig.parse(spec)
    assert info.value.location == setting
    assert isinstance(info.value, IebError) and isinstance(info.value, ValueError)
    again = pickle.loads(pickle.dumps(info.value))
    assert isinstance(again, FaultConfigError) and again.message == info.value.message


def test_fo01_code_must_be_a_ggk_code() -> None:
    assert FaultConfig.parse("fo01=1,fo01_code=IB213").fo01_code == "IB213"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [*FAULT_KINDS, "seed", "latency_min", "latency_max", "fo01_code", "demo", "none", "x"]
            ),
            st.text(max_size=8),
        ),
        max_size=4,
    ).map(lambda parts: ",".join(f"{k}={v}" if k not in ("demo", "none") else k for k, v in parts))
)
def test_any_spec_parses_or_raises_our_error(spec: str) -> None:
    try:
        config = FaultConfig.parse(spec)
    except FaultConfigError:
        return
    for kind in FAULT_KINDS:
        assert 0.0 <= getattr(config, kind) <= 1.0


# ---------------------------------------------------------------- the GGk retries for hours


@pytest.mark.slow  # ~6-18 s: the default run stays under 5 minutes on 2 cores
def test_the_ggk_side_keeps_offering_a_retour_for_hours_of_receiver_downtime(tmp_path: Path) -> None:
    """Issue 21: the simulator used to give a retour up after 85-100 s; now three simulated hours
    of a receiver that is down cost nothing: the retour arrives once the receiver is back."""
    import datetime as dt
    import socket
    import time

    import sqlalchemy as sa

    from ieb.codec import to_xml
    from ieb.ggk import new_di01
    from ieb.messages import Wmo401
    from ieb.simulator.server import SimulatorService
    from ieb.testing.pki import create_test_pki
    from ieb.transport.client import GgkClient
    from ieb.transport.outbox import ledger_tables, open_ledger
    from ieb.transport.server import HttpsServer, Receiver
    from ieb.transport.tls import TlsFiles

    pki = create_test_pki(tmp_path / "pki", ["0363", "GGK"])

    def tls(code: str) -> TlsFiles:
        p = pki.party(code)
        return TlsFiles(p.chain, p.key, pki.roots)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    now = [dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)]
    sim = SimulatorService(
        db=migrated_sqlite_url(tmp_path / "cak.sqlite"),
        tls=tls("GGK"),
        callback_url=f"https://127.0.0.1:{port}/ggk0210/OntvangAsynchroon",
        allowed_oins={pki.party("0363").oin},
        clock=lambda: now[0],
    )
    sim.server.start()
    sim.app.start()  # the callback sender is driven by hand below
    receiver_engine = open_ledger(migrated_sqlite_url(tmp_path / "gemeente.sqlite"))
    try:
        day = dt.date(2026, 3, 2)
        payload = to_xml(
            Wmo401.build(
                afzender="0363",
                identificatie="1",
                dagtekening=day,
                bsn="999900006",
                eb_start_nummer=1,
                eb_startdatum=day.replace(day=1),
            )
        )
        di01 = new_di01(payload, "WMO401", "0363")
        with GgkClient(sim.url, tls=tls("0363")) as client:
            client.send(di01)
        for _ in range(200):
            if sim.app.outbox.counts()["pending"] == 1:
                break
            time.sleep(0.05)
        assert sim.app.outbox.counts()["pending"] == 1  # the CAK's retour waits for the gemeente
        for _ in range(18):  # 3 simulated hours, the receiver down (connection refused)
            now[0] += dt.timedelta(minutes=10)
            sim.sender.drain(workers=1, timeout=0.3)
        counts = sim.app.outbox.counts()
        assert counts["dead"] == 0 and counts["pending"] == 1
        [row] = _outbox_rows(sim.engine)
        assert int(row["attempts"]) >= 18  # tried every time it was due, never gave up
        receiver = Receiver(receiver_engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
        with HttpsServer(receiver, tls("0363"), port=port, threads=2):
            now[0] += dt.timedelta(minutes=11)
            result = sim.sender.drain(workers=1, timeout=10)
        assert result.acknowledged == 1
        inbox = ledger_tables().inbox
        with receiver_engine.connect() as conn:
            got = conn.execute(sa.select(inbox.c.cross_ref_nummer)).scalars().all()
        assert got == [di01.referentienummer]
    finally:
        sim.server.stop()
        sim.app.stop()
        sim.client.close()
        sim.engine.dispose()
        receiver_engine.dispose()


def _outbox_rows(engine: object) -> list[dict[str, object]]:
    import sqlalchemy as sa

    from ieb.transport.outbox import ledger_tables

    t = ledger_tables().outbox
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return [dict(r._mapping) for r in conn.execute(sa.select(t))]


def test_max_in_row_caps_request_faults_in_a_row() -> None:
    """The retry budget of scenario herlevering: never more than ``max_in_row`` faults in a row,
    so a sender with max_in_row + 1 attempts per message always gets through."""
    from ieb.conformance.scenarios import HERLEVERING_IN_ROW
    from ieb.simulator.faults import FaultInjector

    assert FaultConfig.parse("seed=7,lost_ack=0.6,max_in_row=3").max_in_row == 3
    for seed in range(20):
        injector = FaultInjector(
            FaultConfig.parse(f"seed={seed},lost_ack=0.6,max_in_row={HERLEVERING_IN_ROW}")
        )
        run = longest = 0
        for _ in range(2000):
            run = run + 1 if injector.request_fault() else 0
            longest = max(longest, run)
        assert longest == HERLEVERING_IN_ROW
    uncapped = FaultInjector(FaultConfig.parse("seed=7,lost_ack=0.6"))
    run = longest = 0
    for _ in range(2000):
        run = run + 1 if uncapped.request_fault() else 0
        longest = max(longest, run)
    assert longest > HERLEVERING_IN_ROW  # without the cap a run of faults outlasts a short budget
    with pytest.raises(FaultConfigError):
        FaultConfig(max_in_row=-1)


def test_the_injected_fo01_is_a_transient_code() -> None:
    from ieb.transport.faults import FaultKind, classify

    assert classify(FaultConfig().fo01_code).kind == FaultKind.TRANSIENT
