"""The GGk + CAK simulator over mutual TLS: Fo01 codes, Bv03, retours, fault injection."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree

from ieb.codec import to_xml
from ieb.ggk import Du01, EnvelopeChecks, Fo01, new_di01, soap_envelope, unwrap_soap
from ieb.ggk.codec import envelope_to_element
from ieb.messages import Wmo401
from ieb.simulator.cak import CakConfig
from ieb.simulator.faults import FaultConfig, FaultInjector
from ieb.simulator.server import SimulatorService, _payload_level1
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import GgkClient, make_session
from ieb.transport.outbox import ledger_tables, open_ledger
from ieb.transport.server import HttpsServer, Receiver
from ieb.transport.tls import TlsFiles
from tests.migrated import migrated_sqlite_url


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def _tls(pki: TestPki, code: str) -> TlsFiles:
    p = pki.party(code)
    return TlsFiles(p.chain, p.key, pki.roots)


def wmo401(bsn: str = "999900006") -> bytes:
    today = dt.date.today()
    return to_xml(
        Wmo401.build(
            afzender="0363",
            identificatie=str(int(bsn[-4:]) + 1),
            dagtekening=today,
            bsn=bsn,
            eb_start_nummer=1,
            eb_startdatum=today.replace(day=1),
        )
    )


class Setup:
    def __init__(self, pki: TestPki, tmp: Path, faults: FaultConfig | None) -> None:
        self.engine = open_ledger(migrated_sqlite_url(tmp / "gemeente.sqlite"))
        self.receiver = Receiver(self.engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
        self.server = HttpsServer(self.receiver, _tls(pki, "0363"), threads=4).start()
        self.sim = SimulatorService(
            db=migrated_sqlite_url(tmp / "cak.sqlite"),
            tls=_tls(pki, "GGK"),
            callback_url=self.server.url,
            allowed_oins={pki.party("0363").oin},
            faults=faults,
        )
        self.client: GgkClient | None = None

    def start(self, pki: TestPki) -> None:
        self.sim.start()
        self.client = GgkClient(self.sim.url, tls=_tls(pki, "0363"))

    @property
    def c(self) -> GgkClient:
        assert self.client is not None
        return self.client

    def answers(self, refs: set[str], timeout: float = 30.0) -> dict[str, object]:
        t = ledger_tables().inbox
        deadline = time.monotonic() + timeout
        found: dict[str, object] = {}
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(t).where(t.c.cross_ref_nummer.in_(refs))).all()
            found = {r.cross_ref_nummer: unwrap_soap(bytes(r.envelope)) for r in rows}
            if set(found) >= refs:
                break
            time.sleep(0.05)
        return found

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        self.sim.stop()
        self.server.stop()
        self.engine.dispose()


@pytest.fixture
def setup(pki: TestPki, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Setup]:
    faults = getattr(request, "param", None)
    s = Setup(pki, tmp_path, faults)
    s.start(pki)
    yield s
    s.stop()


def test_valid_message_gets_bv03_then_a_du01_with_the_retour(setup: Setup) -> None:
    di01 = new_di01(wmo401(), "WMO401", "0363")
    result = setup.c.send(di01)
    assert result.bv03.cross_refnummer == di01.referentienummer
    answer = setup.answers({di01.referentienummer})[di01.referentienummer]
    assert isinstance(answer, Du01) and answer.functie == "WMO402"
    assert answer.stuurgegevens.zender.organisatie == "CAK"
    assert b"WMO402" in answer.payload.upper() or b"wmo402" in answer.payload
    setup.c.send(di01)  # redelivery: acknowledged, not processed again
    time.sleep(0.3)
    assert setup.sim.app.stats.redeliveries == 1
    assert setup.sim.app.stats.cak_duplicates == 0


def _post_raw(setup: Setup, pki: TestPki, di01_element: etree._Element) -> int:
    body = etree.tostring(soap_envelope(di01_element), xml_declaration=True, encoding="UTF-8")
    session = make_session(_tls(pki, "0363"))
    try:
        return session.post(
            setup.sim.url, data=body, headers={"Content-Type": "text/xml"}, timeout=10
        ).status_code
    finally:
        session.close()


def test_envelope_problems_are_acknowledged_and_answered_with_fo01(setup: Setup, pki: TestPki) -> None:
    cases: dict[str, str] = {}
    bad_zender = new_di01(wmo401(), "WMO401", "Gemeente X")
    cases[bad_zender.referentienummer] = "IB213"
    bad_ontvanger = new_di01(wmo401(), "WMO401", "0363", ontvanger="SVB")
    cases[bad_ontvanger.referentienummer] = "IB210"
    bad_functie = new_di01(wmo401(), "WMO403", "0363")
    cases[bad_functie.referentienummer] = "IB240"
    invalid_payload = new_di01(
        b'<Bericht xmlns="http://www.istandaarden.nl/ieb/1_0/wmo401/schema"><Header><BerichtCode>470'
        b"</BerichtCode></Header></Bericht>",
        "WMO401",
        "0363",
    )
    setup.sim.app.cak.config = CakConfig(level1="none")  # IV032: the GGk refuses the payload itself
    cases[invalid_payload.referentienummer] = "StUF055"
    for di01 in (bad_zender, bad_ontvanger, bad_functie, invalid_payload):
        assert setup.c.send(di01).bv03.cross_refnummer == di01.referentienummer
    # IB009: a referentienummer that is not a UUID v4 (sent raw; our own models refuse to build it)
    not_uuid = new_di01(wmo401(), "WMO401", "0363")
    element = envelope_to_element(not_uuid)
    ref_el = element.find(".//{http://www.egem.nl/StUF/StUF0301}referentienummer")
    assert ref_el is not None
    ref_el.text = "REF-2024-000001"
    assert _post_raw(setup, pki, element) == 200
    cases["REF-2024-000001"] = "IB009"
    answers = setup.answers(set(cases))
    got = {ref: a.body.code for ref, a in answers.items() if isinstance(a, Fo01)}
    assert got == cases


def test_level1_decides_who_answers_an_xsd_invalid_payload(setup: Setup) -> None:
    """level1="retour" (IV028, the default): the CAK answers with a header-only retour with 0001
    carrying the heenbericht's own Identificatie; level1="none" (IV032): the GGk refuses it (StUF055)."""
    invalid = wmo401().replace(b"<wmo401:EbStartNummer>1<", b"<wmo401:EbStartNummer>een<")
    assert invalid != wmo401()
    first = new_di01(invalid, "WMO401", "0363")
    setup.c.send(first)
    answer = setup.answers({first.referentienummer})[first.referentienummer]
    assert isinstance(answer, Du01)
    assert b"<ieb:Identificatie>7</ieb:Identificatie>" in answer.payload and b">0001<" in answer.payload
    setup.sim.app.cak.config = CakConfig(level1="none")
    second = new_di01(invalid, "WMO401", "0363")
    setup.c.send(second)
    answer = setup.answers({second.referentienummer})[second.referentienummer]
    assert isinstance(answer, Fo01) and answer.body.code == "StUF055"
    assert "EbStartNummer" in setup.sim.app.stats.causes[second.referentienummer]


def test_too_large_envelope_gets_ib007(pki: TestPki, tmp_path: Path) -> None:
    s = Setup(pki, tmp_path, None)
    s.sim.app.checks = EnvelopeChecks(max_bytes=3000, payload_validator=_payload_level1)
    s.start(pki)
    try:
        di01 = new_di01(wmo401() + b"<!--" + b"x" * 4000 + b"-->", "WMO401", "0363")
        s.c.send(di01)
        answer = s.answers({di01.referentienummer})[di01.referentienummer]
        assert isinstance(answer, Fo01) and answer.body.code == "IB007"
    finally:
        s.stop()


@pytest.mark.parametrize("setup", [FaultConfig(seed=5, fo01=1.0)], indirect=True)
def test_injected_fo01(setup: Setup) -> None:
    di01 = new_di01(wmo401(), "WMO401", "0363")
    setup.c.send(di01)
    answer = setup.answers({di01.referentienummer})[di01.referentienummer]
    assert isinstance(answer, Fo01) and answer.body.code == "IB103"


def test_fault_config_parse_and_seeded_decisions() -> None:
    cfg = FaultConfig.parse("demo,seed=3,fo01=0.5")
    assert cfg.seed == 3 and cfg.fo01 == 0.5 and cfg.http503 == FaultConfig.demo().http503
    with pytest.raises(ValueError):
        FaultConfig.parse("nonsense=1")
    with pytest.raises(ValueError):
        FaultConfig(http503=0.6, drop=0.5)
    a, b = FaultInjector(cfg), FaultInjector(cfg)
    assert [a.request_fault() for _ in range(200)] == [b.request_fault() for _ in range(200)]
    assert not FaultConfig().active and cfg.active
