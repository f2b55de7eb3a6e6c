"""Certificate revocation (CRLs): the files are checked when read (unreadable, expired, badly
signed, unknown issuer: a configuration error naming the file), a revoked peer is refused in the
real mutual-TLS handshake on both sides and as a WS-Security signer, a CA without a CRL is refused
(the whole chain is checked), and a replaced CRL file is picked up by a running receiver."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from ieb.cli import app
from ieb.ggk import du01_for, new_di01, wrap_soap
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import revocation, tls
from ieb.transport.client import GgkClient, TransportError
from ieb.transport.outbox import ledger_tables, open_ledger
from ieb.transport.revocation import CertificateRevokedError, CrlError, load_crls
from ieb.transport.server import HttpsServer, InboxEntry, Receiver
from ieb.transport.tls import TlsFiles, check_crls, client_context, server_context
from ieb.transport.wssec import CertificateError, sign_envelope, verify_envelope
from tests.migrated import migrated_sqlite_url

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    """The WS-Security check consults the CRLs installed in this process: start and end empty."""
    revocation._uninstall_all()
    yield
    revocation._uninstall_all()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK", "0599"])


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("foreign"), ["0363"], label="vreemd TEST")


def _files(pki: TestPki, code: str, crl: Path | tuple[Path, ...] | None) -> TlsFiles:
    party = pki.party(code)
    return TlsFiles(party.chain, party.key, pki.roots, crl=crl)


def _trusted(pki: TestPki) -> list:
    return [pki.ca_certificate("root"), pki.ca_certificate("domain"), pki.ca_certificate("tsp")]


# ------------------------------------------------------------------------------ reading the files


def test_a_good_folder_pem_bundles_and_der_files_are_read(pki: TestPki, tmp_path: Path) -> None:
    folder = pki.write_crls(["0599"], directory=tmp_path / "crl")
    crls = load_crls([folder], _trusted(pki))
    assert len(crls.crls) == 3 and crls.next_update > NOW
    tsp = crls.for_issuer(pki.ca_certificate("tsp"))
    assert tsp is not None and pki.party("0599").certificate().serial_number in tsp.serials
    # one PEM file with all three, and a DER file
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"".join(p.read_bytes() for p in sorted(folder.iterdir())))
    der = tmp_path / "tsp.crl"
    der.write_bytes(pki.issue_crl("tsp").public_bytes(serialization.Encoding.DER))
    assert len(load_crls([bundle, der], _trusted(pki)).crls) == 4


@pytest.mark.parametrize(
    "kind, message",
    [
        ("expired", "is verlopen"),
        ("future", "pas geldig vanaf"),
        ("bad-signature", "handtekening klopt niet"),
        ("unknown-issuer", "geen bekende CA"),
        ("garbage", "geen leesbare CRL"),
        ("pem-without-crl", "geen leesbare CRL"),
    ],
)
def test_an_unusable_crl_is_a_configuration_error_naming_the_file(
    pki: TestPki, foreign: TestPki, tmp_path: Path, kind: str, message: str
) -> None:
    path = tmp_path / f"{kind}.crl.pem"
    if kind == "expired":
        crl = pki.issue_crl(
            "tsp", this_update=NOW - dt.timedelta(days=3), next_update=NOW - dt.timedelta(hours=1)
        )
    elif kind == "future":
        crl = pki.issue_crl("tsp", this_update=NOW + dt.timedelta(days=1))
    elif kind == "bad-signature":
        crl = pki.issue_crl("tsp", signing_key=foreign.ca_key("tsp"))
    elif kind == "unknown-issuer":
        crl = foreign.issue_crl("tsp")
    if kind == "garbage":
        path.write_bytes(b"\x00\x01 dit is geen CRL")
    elif kind == "pem-without-crl":
        path.write_bytes(pki.root_cert.read_bytes())
    else:
        path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(CrlError, match=message) as err:
        load_crls([path], _trusted(pki))
    assert str(path) in str(err.value) and err.value.location == str(path) and err.value.code == "CONFIG"
    # the context factories refuse the same file: nothing starts with it
    with pytest.raises(CrlError, match=message):
        server_context(_files(pki, "0363", path))


def test_a_missing_path_and_an_empty_folder_are_refused(pki: TestPki, tmp_path: Path) -> None:
    with pytest.raises(CrlError, match="bestaat niet"):
        check_crls(_files(pki, "0363", tmp_path / "nergens"))
    (tmp_path / "leeg").mkdir()
    with pytest.raises(CrlError, match="geen CRL-bestanden"):
        check_crls(_files(pki, "0363", tmp_path / "leeg"))


# ---------------------------------------------------------------------- the mutual-TLS handshake


class _Handled:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, envelope: object, entry: InboxEntry) -> str:
        self.calls.append(entry.referentienummer)
        return "ok"


def _du01() -> object:
    return du01_for(new_di01(b"<x/>", "WMO401", "0363"), b"<y/>")


@pytest.fixture
def receiver_factory(pki: TestPki, tmp_path: Path) -> Iterator:
    started: list[tuple[HttpsServer, sa.Engine]] = []

    def start(crl: Path | None) -> tuple[HttpsServer, _Handled]:
        engine = open_ledger(migrated_sqlite_url(tmp_path / f"r{len(started)}.sqlite"))
        handled = _Handled()
        allowed = {pki.party("GGK").oin, pki.party("0599").oin}
        receiver = Receiver(engine, organisatie="0363", allowed_oins=allowed, handler=handled)
        server = HttpsServer(receiver, _files(pki, "0363", crl), threads=2).start()
        started.append((server, engine))
        return server, handled

    yield start
    for server, engine in started:
        server.stop()
        engine.dispose()


def _send(url: str, files: TlsFiles) -> None:
    with GgkClient(url, tls=files) as client:
        client.send(_du01())  # type: ignore[arg-type]


def test_a_revoked_client_is_refused_in_the_handshake_and_logged(
    pki: TestPki, tmp_path: Path, receiver_factory, caplog: pytest.LogCaptureFixture
) -> None:
    crl = pki.write_crls(["0599"], directory=tmp_path / "crl")
    server, handled = receiver_factory(crl)
    _send(server.url, _files(pki, "GGK", None))  # not revoked: accepted
    assert len(handled.calls) == 1
    caplog.set_level(logging.DEBUG, logger="ieb.transport.server")  # past the rate limit: DEBUG
    with pytest.raises(TransportError):
        _send(server.url, _files(pki, "0599", None))
    assert len(handled.calls) == 1  # the revoked peer reached nothing

    def refused_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if "REVOKED" in r.getMessage().upper()]

    # the server logs the refusal in its own connection thread, which may run after the client has
    # seen the handshake fail: wait for that line (an upper bound, not a timing assumption)
    waited = threading.Event()
    for _ in range(200):
        if refused_lines():
            break
        waited.wait(0.05)
    refused = refused_lines()
    assert refused and all("BEGIN" not in m and "PRIVATE" not in m for m in refused)


def test_a_revoked_server_is_refused_by_the_client(pki: TestPki, tmp_path: Path, receiver_factory) -> None:
    server, handled = receiver_factory(None)
    crl = pki.write_crls(["0363"], directory=tmp_path / "crl")  # the receiver's own certificate
    with pytest.raises(TransportError) as err:
        _send(server.url, _files(pki, "GGK", crl))
    assert "revoked" in str(err.value.__cause__) or "revoked" in str(err.value)
    assert handled.calls == []
    _send(server.url, _files(pki, "GGK", pki.write_crls([], directory=tmp_path / "leeg")))
    assert len(handled.calls) == 1


def test_the_client_names_the_revocation_not_the_roots(
    pki: TestPki, tmp_path: Path, receiver_factory
) -> None:
    """A revoked server certificate and a chain without its CRLs are told as such (a trial run got
    "sluit niet aan op de vertrouwde roots; oplossing: zet de root ... in organisatie.ca", which
    sends the operator the wrong way); both stay permanent, the technical text at the end."""
    from ieb.transport.errors import PermanentSendError, describe

    server, handled = receiver_factory(None)
    crl = pki.write_crls(["0363"], directory=tmp_path / "crl")
    with pytest.raises(PermanentSendError) as err:
        _send(server.url, _files(pki, "GGK", crl))
    line = describe(err.value)
    assert "is ingetrokken volgens de CRL's in tls.crl" in line and "organisatie.ca" not in line
    assert "certificate revoked" in line and "_WatchedPool" not in line  # the detail, without urllib3
    only_tsp = tmp_path / "only-tsp"
    only_tsp.mkdir()
    shutil.copy(pki.write_crls([], directory=tmp_path / "all") / "tsp.crl.pem", only_tsp)
    with pytest.raises(PermanentSendError) as err:
        _send(server.url, _files(pki, "GGK", only_tsp))
    assert "geen CRL voor een CA in de keten" in str(err.value) and "tls.crl" in (err.value.hint or "")
    assert handled.calls == []


def test_a_peer_alert_certificate_revoked_is_permanent_and_named() -> None:
    """Our certificate revoked by the receiver's CRL: TLS 1.3 reports it as the peer's alert (when
    it arrives before the connection is dropped); it was a transient "verbinding verbroken"."""
    import ssl

    import requests

    from ieb.transport.client import _classify
    from ieb.transport.errors import PermanentSendError

    alert = ssl.SSLError(
        1, "[SSL: SSLV3_ALERT_CERTIFICATE_REVOKED] sslv3 alert certificate revoked (_ssl.c:2580)"
    )
    error = _classify(requests.exceptions.SSLError(alert), "https://ggk.test/x", "ref-1")
    assert isinstance(error, PermanentSendError)
    assert "weigert ons certificaat: het is ingetrokken" in str(error) and "organisatie.cert" in (
        error.hint or ""
    )


def test_the_whole_chain_is_checked(pki: TestPki, tmp_path: Path, receiver_factory) -> None:
    """A revoked TSP CA refuses every certificate it issued; a CA without a CRL fails closed."""
    server, handled = receiver_factory(pki.write_crls(["tsp"], directory=tmp_path / "tsp-revoked"))
    with pytest.raises(TransportError):
        _send(server.url, _files(pki, "GGK", None))
    only_tsp = tmp_path / "only-tsp"
    only_tsp.mkdir()
    shutil.copy(pki.write_crls([], directory=tmp_path / "all") / "tsp.crl.pem", only_tsp)
    server2, handled2 = receiver_factory(only_tsp)  # no CRL of the root and the domain CA
    with pytest.raises(TransportError):
        _send(server2.url, _files(pki, "GGK", None))
    assert handled.calls == [] and handled2.calls == []


def test_a_replaced_crl_file_is_picked_up_by_the_running_receiver(
    pki: TestPki,
    tmp_path: Path,
    receiver_factory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(tls, "CRL_CHECK_SECONDS", 0.0)  # look at the files on every connection
    folder = pki.write_crls([], directory=tmp_path / "crl")
    server, handled = receiver_factory(folder)
    _send(server.url, _files(pki, "0599", None))
    assert len(handled.calls) == 1
    # cron replaces the folder's files: 0599 is revoked from now on, without a restart
    pki.write_crls(["0599"], directory=folder, this_update=NOW)
    with pytest.raises(TransportError):
        _send(server.url, _files(pki, "0599", None))
    assert len(handled.calls) == 1
    # a broken replacement is logged and the CRLs in use stay in force
    caplog.set_level(logging.ERROR, logger="ieb.transport.tls")
    (folder / "tsp.crl.pem").write_bytes(b"kapot")
    with pytest.raises(TransportError):
        _send(server.url, _files(pki, "0599", None))
    assert any(
        "niet in gebruik genomen" in r.getMessage() and "tsp.crl.pem" in r.getMessage()
        for r in caplog.records
    )
    _send(server.url, _files(pki, "GGK", None))
    assert len(handled.calls) == 2
    # logged once per version of the files, not at every look
    assert sum("niet in gebruik genomen" in r.getMessage() for r in caplog.records) == 1


def test_contexts_without_crls_check_nothing_extra(pki: TestPki) -> None:
    ctx = client_context(_files(pki, "GGK", None))
    assert not ctx.verify_flags & 0x4  # X509_V_FLAG_CRL_CHECK
    assert revocation.installed() == []


# ------------------------------------------------------------------------------ WS-Security


def test_a_revoked_signer_is_refused_by_the_ws_security_check(pki: TestPki, tmp_path: Path) -> None:
    party = pki.party("0599")
    envelope = wrap_soap(_du01())  # type: ignore[arg-type]
    signed = sign_envelope(envelope, key_pem=party.key.read_bytes(), cert_pem=party.cert.read_bytes())
    roots = pki.roots.read_bytes()
    inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()

    def verify() -> object:
        return verify_envelope(signed, trusted_roots=roots, intermediates=inter, require_addressing=False)

    verify()  # no CRLs installed: accepted (and its chain is now cached)
    client_context(_files(pki, "GGK", pki.write_crls([], directory=tmp_path / "none")))
    verify()  # CRLs installed, 0599 not on them
    client_context(
        _files(pki, "GGK", pki.write_crls(["0599"], directory=tmp_path / "revoked", this_update=NOW))
    )
    with pytest.raises(CertificateError, match="ingetrokken") as err:
        verify()  # refused although its chain was cached before
    assert "revoked.crl" not in str(err.value) and "tsp.crl.pem" in str(err.value)
    # the registry's own check names the serial number, never key material
    chain = (
        party.certificate(),
        pki.ca_certificate("tsp"),
        pki.ca_certificate("domain"),
        pki.ca_certificate("root"),
    )
    with pytest.raises(CertificateRevokedError, match=f"{party.certificate().serial_number:x}"):
        revocation.check_chain(chain, NOW)


# ------------------------------------------------------------------------------------ config


def test_ieb_toml_tls_crl_an_expired_file_stops_the_command_with_exit_2(pki: TestPki, tmp_path: Path) -> None:
    expired = tmp_path / "crl" / "tsp.crl.pem"
    expired.parent.mkdir()
    expired.write_bytes(
        pki.issue_crl(
            "tsp", this_update=NOW - dt.timedelta(days=3), next_update=NOW - dt.timedelta(hours=1)
        ).public_bytes(serialization.Encoding.PEM)
    )
    g = pki.party("0363")
    config = tmp_path / "ieb.toml"
    config.write_text(
        f'database = "sqlite:///{tmp_path / "ieb.sqlite"}"\ngemeenten = ["0363"]\n'
        f'[organisatie]\ncert = "{g.chain}"\nkey = "{g.key}"\nca = "{pki.roots}"\n'
        f'[ggk]\nendpoint = "https://127.0.0.1:9/ggk0210/OntvangAsynchroon"\n'
        f'[tls]\ncrl = ["crl"]\n'
    )
    result = CliRunner().invoke(app, ["send", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert str(expired) in result.output and "is verlopen" in result.output
    assert not (tmp_path / "ieb.sqlite").exists() or _empty_outbox(tmp_path / "ieb.sqlite")


def _empty_outbox(db: Path) -> bool:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return (
                conn.execute(sa.select(sa.func.count()).select_from(ledger_tables().outbox)).scalar_one() == 0
            )
    finally:
        engine.dispose()


def test_simulator_toml_crl_a_badly_signed_file_stops_the_simulator_with_exit_2(
    pki: TestPki, foreign: TestPki, tmp_path: Path
) -> None:
    bad = tmp_path / "tsp.crl.pem"
    bad.write_bytes(
        pki.issue_crl("tsp", signing_key=foreign.ca_key("tsp")).public_bytes(serialization.Encoding.PEM)
    )
    g = pki.party("GGK")
    config = tmp_path / "simulator.toml"
    config.write_text(
        f'database = "sqlite:///{tmp_path / "cak.sqlite"}"\nport = 0\ncert = "{g.chain}"\nkey = "{g.key}"\n'
        f'ca = "{pki.roots}"\ncrl = ["tsp.crl.pem"]\ncallback = "https://127.0.0.1:9/ggk0210/OntvangAsynchroon"\n'
    )
    result = CliRunner().invoke(app, ["simulate", "serve", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert str(bad) in result.output and "handtekening klopt niet" in result.output
