"""Issue 26 item 3: the simulator and ``ieb serve`` rehearse a month ahead with a clock setting
(``--vandaag`` / ``clock``); everything that judges dates uses it, and it is shown in /health."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from urllib.parse import urlsplit

from typer.testing import CliRunner

from ieb.cli import app
from ieb.codec import to_xml
from ieb.config import load_config, load_simulator_config
from ieb.conformance.harness import SimulatorHarness
from ieb.messages import Wmo401
from ieb.testing.pki import create_test_pki
from ieb.transport.client import make_session
from tests.migrated import migrated_sqlite_url

#: a month ahead of any real date this suite runs on: its Dagtekening would be 8848 today
REHEARSAL = dt.date(2099, 1, 5)


def _start(identificatie: str, day: dt.date) -> bytes:
    return to_xml(
        Wmo401.build(
            afzender="0363",
            identificatie=identificatie,
            dagtekening=day,
            bsn="999900006",
            eb_start_nummer=1,
            eb_startdatum=day.replace(day=1),
        )
    )


def test_simulator_judges_dates_by_the_rehearsal_day_and_shows_it(tmp_path: Path) -> None:
    pki = create_test_pki(tmp_path / "pki", ["0363", "GGK"])
    with SimulatorHarness(tmp_path, pki=pki, today=REHEARSAL) as sim:
        ref = sim.send(_start("OEFEN-1", REHEARSAL))
        [answer] = sim.wait({ref})
        assert answer.accepted, answer.codes  # no 8848: the CAK's "today" is the rehearsal day
        assert f"<wmo402:DagtekeningRetour>{REHEARSAL.isoformat()}<".encode() in answer.retour
        session = make_session(sim.tls)
        try:
            base = urlsplit(sim.endpoint)
            health = session.get(f"{base.scheme}://{base.netloc}/health", timeout=10).json()
        finally:
            session.close()
        assert health["vandaag"] == REHEARSAL.isoformat() and health["oefenklok"] is True
        sim.set_today(None)  # the real date again: the same Dagtekening now lies in the future
        ref = sim.send(_start("OEFEN-2", REHEARSAL))
        [answer] = [a for a in sim.wait({ref}) if a.cross_refnummer == ref]
        assert "8848" in answer.codes


def test_clock_setting_in_simulator_toml_and_the_options(tmp_path: Path) -> None:
    toml = tmp_path / "simulator.toml"
    toml.write_text('clock = "2099-01-05"\n', encoding="utf-8")
    assert load_simulator_config(toml).clock == REHEARSAL
    ieb_toml = tmp_path / "ieb.toml"
    ieb_toml.write_text('clock = "2099-01-05"\n', encoding="utf-8")
    assert load_config(ieb_toml).clock == REHEARSAL
    (tmp_path / "zonder.toml").write_text("", encoding="utf-8")
    assert load_config(tmp_path / "zonder.toml").clock is None  # the real date by default
    runner = CliRunner()
    for command in (["simulate", "serve", "--help"], ["serve", "--help"]):
        result = runner.invoke(app, command, env={"COLUMNS": "200"})
        assert "--vandaag" in result.output, result.output
    result = runner.invoke(app, ["simulate", "serve", "--vandaag", "5-1-2099", "--config", str(toml)])
    assert result.exit_code == 2 and "--vandaag" in result.output


def test_serve_and_simulator_rehearse_a_month_ahead_together(tmp_path: Path) -> None:
    """The whole cycle on the rehearsal day: plan with Dagtekening 2099-01-05, ieb serve with
    ``clock`` sends, the simulator (same clock) accepts, serve processes the retours; /health of
    both says which day they rehearse."""
    from ieb.exchange import Exchange
    from ieb.service import Service
    from ieb.simulator.server import SimulatorService
    from ieb.testing.demo import demo_bsns, free_port
    from ieb.testing.pki import create_test_pki
    from ieb.transport.tls import TlsFiles
    from tests.exchange.conftest import make_config

    pki = create_test_pki(tmp_path / "pki", ["0363", "GGK"])
    ggk, org = pki.party("GGK"), pki.party("0363")
    rport = free_port()
    simulator = SimulatorService(
        db=migrated_sqlite_url(tmp_path / "cak.sqlite"),
        tls=TlsFiles(ggk.chain, ggk.key, pki.roots),
        callback_url=f"https://127.0.0.1:{rport}/ggk0210/OntvangAsynchroon",
        allowed_oins={org.oin},
        callback_workers=2,
        today=REHEARSAL,
    ).start()
    config = make_config(pki, tmp_path / "ieb.sqlite", endpoint=simulator.url)
    config.receiver.port = rport
    config.clock = REHEARSAL
    ex = Exchange(config)
    service = Service(ex)
    try:
        service.start()
        first = REHEARSAL.replace(day=1).isoformat()
        ex.queue(ex.plan([{"bsn": b, "start": first} for b in demo_bsns(2)], today=REHEARSAL))
        service.wake.set()
        deadline = time.monotonic() + 60
        while ex.status(today=REHEARSAL).deliveries["accepted"] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ex.status(today=REHEARSAL).deliveries["accepted"] == 2
        health = service.health()
        assert health["vandaag"] == REHEARSAL.isoformat() and health["oefenklok"] is True
    finally:
        service.stop()
        simulator.stop()
        ex.close()
