"""ieb serve's pieces over real HTTPS on loopback: /health and /metrics, permanent faults that stop
`ieb send` at once with what to fix, WUS signing against the simulator, an idle simulator that
does not poll, and the HTML report as headless Chromium renders it."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ieb.exchange import Exchange
from ieb.report import write_report
from ieb.service import Service
from ieb.simulator.server import SimulatorService
from ieb.testing.demo import demo_bsns, free_port
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import make_session
from ieb.transport.tls import TlsFiles
from tests.exchange.conftest import make_config
from tests.migrated import migrated_sqlite_url
from tests.pgdb import create_database

TODAY = dt.date.today()
FIRST = TODAY.replace(day=1)


def _simulator(pki: TestPki, tmp_path: Path, callback_port: int, *, sign: bool = False) -> SimulatorService:
    from ieb.transport.client import WusSigning

    ggk = pki.party("GGK")
    signing = WusSigning.from_files(ggk.key, ggk.chain, pki.roots) if sign else None
    return SimulatorService(
        db=migrated_sqlite_url(tmp_path / "cak.sqlite"),
        tls=TlsFiles(ggk.chain, ggk.key, pki.roots),
        callback_url=f"https://127.0.0.1:{callback_port}/ggk0210/OntvangAsynchroon",
        allowed_oins={pki.party("0363").oin},
        signing=signing,
        callback_workers=2,
    )


def _wait(predicate: object, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_serve_health_metrics_and_accepted_retours(pki: TestPki, tmp_path: Path) -> None:
    rport = free_port()
    simulator = _simulator(pki, tmp_path, rport).start()
    config = make_config(pki, tmp_path / "ieb.sqlite", endpoint=simulator.url)
    config.receiver.port = rport
    ex = Exchange(config)
    service = Service(ex)
    try:
        service.start()
        ex.queue(ex.plan([{"bsn": b, "start": FIRST.isoformat()} for b in demo_bsns(3)], today=TODAY))
        service.wake.set()
        assert _wait(lambda: ex.status().deliveries["accepted"] == 3), ex.status().as_json()
        org = pki.party("0363")
        session = make_session(TlsFiles(org.chain, org.key, pki.roots))
        base = f"https://127.0.0.1:{rport}"
        health = session.get(f"{base}/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        metrics = session.get(f"{base}/metrics", timeout=10).text
        assert re.search(r'ieb_outbox_messages\{status="acknowledged"\} 3\.0', metrics), metrics
        assert re.search(r'ieb_sends_total\{outcome="acknowledged"\} 3\.0', metrics)
        assert re.search(r'ieb_retours_total\{code="-",outcome="accepted"\} 3\.0', metrics)
        assert 'ieb_deliveries{outcome="accepted"} 3.0' in metrics
    finally:
        service.stop()
        simulator.stop()
        ex.close()
    assert service.health()["status"] == "failing"  # stopped


def test_a_certificate_that_does_not_chain_stops_send_at_once(pki: TestPki, tmp_path: Path) -> None:
    foreign = create_test_pki(tmp_path / "foreign", ["GGK"], label="vreemd")
    rport = free_port()
    simulator = SimulatorService(
        db=migrated_sqlite_url(tmp_path / "cak.sqlite"),
        tls=TlsFiles(foreign.party("GGK").chain, foreign.party("GGK").key, pki.roots),
        callback_url=f"https://127.0.0.1:{rport}/x",
    ).start()
    ex = Exchange(make_config(pki, tmp_path / "ieb.sqlite", endpoint=simulator.url))
    try:
        ex.queue(ex.plan([{"bsn": b, "start": FIRST.isoformat()} for b in demo_bsns(3)], today=TODAY))
        started = time.monotonic()
        outcomes: list[str] = []
        result = ex.send(workers=1, on_result=lambda m, o, r: outcomes.append(o))
        assert time.monotonic() - started < 10
        assert result.permanent is not None and "organisatie.ca" in (result.permanent.hint or "")
        assert outcomes == ["permanent"]  # stopped at the first, not minutes of retries
        counts = ex.outbox().counts()
        assert counts["pending"] == 3 and counts["dead"] == 0  # nothing lost, ready after the fix
    finally:
        simulator.stop()
        ex.close()


def test_send_with_wus_signing_against_the_simulator(pki: TestPki, tmp_path: Path) -> None:
    simulator = _simulator(pki, tmp_path, free_port(), sign=True).start()
    config = make_config(pki, tmp_path / "ieb.sqlite", endpoint=simulator.url)
    config.ggk.sign = True
    ex = Exchange(config)
    try:
        ex.queue(ex.plan([{"bsn": demo_bsns(1)[0], "start": FIRST.isoformat()}], today=TODAY))
        result = ex.send(workers=1, timeout=30)
        assert result.acknowledged == 1 and result.permanent is None
    finally:
        simulator.stop()
        ex.close()


def test_an_idle_simulator_does_not_poll(pki: TestPki, tmp_path: Path) -> None:
    import resource

    simulator = _simulator(pki, tmp_path, free_port()).start()
    try:
        time.sleep(0.5)
        before = resource.getrusage(resource.RUSAGE_SELF)
        time.sleep(3.0)
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        simulator.stop()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 0.3, f"{cpu:.2f} s CPU in 3 s idle"  # was a 20 ms database poll per worker


def test_report_renders_in_headless_chromium(pki: TestPki, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("LET OP: chromium ontbreekt; het HTML-rapport is niet in een browser getoond")
    ex = Exchange(make_config(pki, tmp_path / "ieb.sqlite"))
    old = TODAY - dt.timedelta(days=80)
    b = demo_bsns(2)
    ex.queue(
        ex.plan(
            [{"bsn": b[0], "start": FIRST.isoformat()}, {"bsn": b[1], "start": old.isoformat()}], today=TODAY
        )
    )
    with ex.engine.begin() as conn:  # one rejected by the CAK with a retourcode
        conn.exec_driver_sql(
            "UPDATE deliveries SET outcome='rejected', retour_codes='9102' WHERE id = (SELECT min(id) FROM deliveries)"
        )
    out = write_report(ex, tmp_path / "rapport.html", today=TODAY)
    ex.close()
    dom = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--dump-dom",
            out.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert "<svg" in dom and 'class="bar"' in dom, dom[:2000]
    assert re.search(r'data-key="rejected">1<', dom) and re.search(r'data-key="pending">1<', dom)
    assert 'data-code="9102"' in dom and "plan opnieuw" in dom  # the code with plain-Dutch advice
    assert "nog niet verstuurd" in dom or "te laat klaargezet" in dom  # the overdue list
    assert b[1] not in dom and b[1][-3:] in dom  # masked BSN
    assert "http://" not in dom.replace("http://www.w3.org", "") and "https://" not in dom  # no network


def test_tls_handshake_failures_are_logged_not_silenced(
    pki: TestPki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import socket

    from ieb.service.logs import TlsHandshakeFilter, setup_logging
    from ieb.transport.server import HttpsServer
    from ieb.transport.tls import client_context

    foreign = create_test_pki(tmp_path / "foreign", ["GGK"], label="vreemd")
    setup_logging(json_lines=True)
    server_log = logging.getLogger("ieb.transport.server")
    org = pki.party("0363")

    def app(environ: dict, start_response: object) -> list[bytes]:  # type: ignore[type-arg]
        start_response("200 OK", [("Content-Length", "2")])  # type: ignore[operator]
        return [b"ok"]

    server = HttpsServer(app, TlsFiles(org.chain, org.key, pki.roots)).start()
    try:
        f = foreign.party("GGK")
        ctx = client_context(TlsFiles(f.chain, f.key, pki.roots))
        with caplog.at_level(logging.DEBUG, logger="ieb.transport.server"):
            with socket.create_connection(("127.0.0.1", server.port)) as raw:
                try:
                    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                        s.recv(100)
                except OSError:
                    pass
            assert _wait(lambda: any("TLS-handshake" in r.getMessage() for r in caplog.records), 5)
    finally:
        server.stop()
        root = logging.getLogger()
        for h in [h for h in root.handlers if getattr(h, "_ieb", False)]:
            root.removeHandler(h)
        for flt in [x for x in server_log.filters if isinstance(x, TlsHandshakeFilter)]:
            server_log.removeFilter(flt)
        server_log.setLevel(logging.NOTSET)
    record = next(r for r in caplog.records if "TLS-handshake" in r.getMessage())
    assert record.levelno == logging.WARNING and "certificaat" in record.getMessage()


def test_json_logs_mask_bsns() -> None:
    import logging

    from ieb.service.logs import JsonFormatter
    from ieb.transport.audit import BsnMaskingFilter

    record = logging.LogRecord(
        "ieb.service", logging.WARNING, "x", 1, "Bsn %s afgewezen", ("999900006",), None
    )
    BsnMaskingFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "999900006" not in line and '"level": "WARNING"' in line and "006" in line


def test_two_serve_processes_on_one_postgresql_share_the_work(pki: TestPki, tmp_path: Path) -> None:
    import os

    pg = os.environ.get("IEB_TEST_POSTGRES_URL")
    if not pg:
        pytest.skip("LET OP: IEB_TEST_POSTGRES_URL ontbreekt; twee ieb serve op PostgreSQL niet getest")
    url = create_database(pg, "ieb_serve_")
    rport = free_port()
    simulator = _simulator(pki, tmp_path, rport).start()
    services, exchanges = [], []
    n = 40
    try:
        for i in range(2):
            config = make_config(pki, tmp_path / "unused.sqlite", endpoint=simulator.url)
            config.database = url
            config.receiver.port = rport if i == 0 else free_port()
            ex = Exchange(config)
            exchanges.append(ex)
            services.append(Service(ex).start())
        exchanges[0].plan_and_queue(
            [{"bsn": b, "start": FIRST.isoformat()} for b in demo_bsns(n)], today=TODAY
        )
        for s in services:
            s.wake.set()
        assert _wait(lambda: exchanges[1].status().deliveries["accepted"] == n, 90), (
            exchanges[1].status().as_json()
        )
    finally:
        for s in services:
            s.stop()
        simulator.stop()
        for ex in exchanges:
            ex.close()
    acked = [
        sum(
            x.value
            for x in s.metrics.sends.collect()[0].samples
            if x.labels.get("outcome") == "acknowledged" and x.name.endswith("_total")
        )
        for s in services
    ]
    assert sum(acked) == n, acked  # every message acknowledged exactly once over both
    assert simulator.app.stats.cak_duplicates == 0 and simulator.app.stats.redeliveries == 0


def test_signer_oins_decides_whose_signature_on_an_answer_counts(pki: TestPki, tmp_path: Path) -> None:
    """The attacker (session 7): ``ieb send`` with ``[ggk] sign`` accepted an answer signed by ANY
    certificate under the trusted roots (``WusSigning.peer_oins`` was never set from ieb.toml). With
    ``[ggk] signer_oins`` only those OINs' signatures count: the simulator signs as the GGK party."""
    simulator = _simulator(pki, tmp_path, free_port(), sign=True).start()
    try:
        for name, oins, accepted in (
            ("other", [pki.party("0599").oin], False),
            ("ggk", [pki.party("GGK").oin], True),
        ):
            config = make_config(pki, tmp_path / f"{name}.sqlite", endpoint=simulator.url)
            config.ggk.sign = True
            config.ggk.signer_oins = oins
            ex = Exchange(config)
            try:
                ex.queue(ex.plan([{"bsn": demo_bsns(1)[0], "start": FIRST.isoformat()}], today=TODAY))
                result = ex.send(workers=1, timeout=30)
                if accepted:
                    assert result.acknowledged == 1 and result.permanent is None, result
                else:
                    assert result.acknowledged == 0, result
                    assert result.permanent is not None and "OIN" in str(result.permanent), result
            finally:
                ex.close()
    finally:
        simulator.stop()
