"""The test PKI: 4-level chain, OIN and organizationIdentifier, chain verification, real mutual TLS."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ieb.testing import pki
from ieb.testing.pki import CertificateChainError, TestPki


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return pki.create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "CAK", "GGK"])


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """A second, independent PKI with the same names and OINs: it must not be trusted."""
    return pki.create_test_pki(tmp_path_factory.mktemp("other"), ["0363"])


def test_files_and_four_levels(test_pki: TestPki) -> None:
    for path in test_pki.files():
        assert path.is_file(), path
    for party in test_pki.parties.values():
        assert stat.S_IMODE(party.key.stat().st_mode) == 0o600
        chain = pki.load_certificates(party.chain)
        assert len(chain) == 3  # leaf, TSP CA, domain CA
    root, domain, tsp = (
        pki.load_certificates(p)[0] for p in (test_pki.root_cert, test_pki.domain_cert, test_pki.tsp_cert)
    )
    leaf = test_pki.party("0363").certificate()
    assert leaf.issuer == tsp.subject and tsp.issuer == domain.subject and domain.issuer == root.subject
    assert root.issuer == root.subject
    assert "TEST" in root.subject.rfc4514_string()
    assert len(pki.load_certificates(test_pki.ca_bundle)) == 3
    assert pki.load_certificates(test_pki.roots) == [root]


def test_oin_and_subject(test_pki: TestPki) -> None:
    leaf = test_pki.party("0363").certificate()
    assert pki.oin_from_certificate(leaf) == "00000099000000363000"
    assert pki.oin_from_certificate(test_pki.party("0363").cert.read_bytes()) == "00000099000000363000"
    assert pki.organization_identifier_from_certificate(leaf) == "NTRNL-99000363"
    assert pki.oin_from_certificate(test_pki.party("CAK").certificate()) == "00000099900000001000"
    assert leaf.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "NL"
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Gemeente 0363 (TEST)"
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "0363.ieb.test"
    for party in test_pki.parties.values():
        oin = pki.oin_from_certificate(party.certificate())
        assert oin == party.oin and oin is not None
        assert len(oin) == 20 and oin.startswith(pki.TEST_OIN_PREFIX) and oin.endswith("000")
    # a CA certificate carries no OIN
    assert pki.oin_from_certificate(pki.load_certificates(test_pki.root_cert)[0]) is None
    assert pki.organization_identifier_from_certificate(pki.load_certificates(test_pki.root_cert)[0]) is None


def test_oin_rule() -> None:
    assert pki.oin_for("0363") == "00000099000000363000"
    assert pki.oin_for("CAK") == "00000099900000001000"
    other = pki.oin_for("Zorgkantoor-X")
    assert len(other) == 20 and other.startswith("000000998") and other == pki.oin_for("Zorgkantoor-X")


def test_service_certificate_extensions(test_pki: TestPki) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    leaf = test_pki.party("CAK").certificate()
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    public = leaf.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048


def test_verify_chain_accepts_the_chain(test_pki: TestPki) -> None:
    party = test_pki.party("0363")
    roots = test_pki.root_certificates()
    path = pki.verify_chain(party.certificate(), test_pki.intermediate_certificates(), roots)
    assert len(path) == 4 and path[0] == party.certificate() and path[-1] == roots[0]
    # chain.pem (leaf first) as bytes, as a server presents it
    path = pki.verify_chain(
        party.chain.read_bytes(), party.chain.read_bytes(), test_pki.roots.read_bytes(), purpose="server"
    )
    assert len(path) == 4
    pki.verify_chain(
        party.certificate(),
        test_pki.intermediate_certificates(),
        roots,
        purpose="server",
        hostname="127.0.0.1",
    )


def test_verify_chain_rejects_certificates_outside_the_chain(test_pki: TestPki, other_pki: TestPki) -> None:
    stranger = other_pki.party("0363")
    assert pki.oin_from_certificate(stranger.certificate()) == "00000099000000363000"  # same OIN, other PKI
    roots = test_pki.root_certificates()
    for intermediates in (other_pki.intermediate_certificates(), test_pki.intermediate_certificates(), []):
        with pytest.raises(CertificateChainError):
            pki.verify_chain(stranger.certificate(), intermediates, roots)
    # missing intermediates, a wrong host name, and expiry are refused too
    mine = test_pki.party("0363").certificate()
    with pytest.raises(CertificateChainError):
        pki.verify_chain(mine, [], roots)
    with pytest.raises(CertificateChainError):
        pki.verify_chain(
            mine, test_pki.intermediate_certificates(), roots, purpose="server", hostname="example.org"
        )
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
    with pytest.raises(CertificateChainError):
        pki.verify_chain(mine, test_pki.intermediate_certificates(), roots, at=later)


def test_load_test_pki_reads_it_back(test_pki: TestPki) -> None:
    again = pki.load_test_pki(test_pki.directory)
    assert again == test_pki
    manifest = json.loads((test_pki.directory / "pki.json").read_text())
    assert {p["code"] for p in manifest["parties"]} == {"0363", "CAK", "GGK"}


def _serve_once(context: ssl.SSLContext, sock: socket.socket, seen: list[object]) -> None:
    conn, _ = sock.accept()
    try:
        with context.wrap_socket(conn, server_side=True) as tls:
            seen.append(tls.getpeercert(binary_form=True))
            tls.sendall(b"ok")
    except (ssl.SSLError, OSError) as exc:
        seen.append(exc)


def _handshake(server: TestPki, client_party: pki.Party, client_trust: Path) -> tuple[bytes | None, object]:
    ctx_server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(server.ca_bundle))
    ctx_server.verify_mode = ssl.CERT_REQUIRED
    ctx_server.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx_server.load_cert_chain(str(server.party("CAK").chain), str(server.party("CAK").key))
    ctx_client = ssl.create_default_context(cafile=str(client_trust))
    ctx_client.load_cert_chain(str(client_party.chain), str(client_party.key))
    seen: list[object] = []
    with socket.create_server(("127.0.0.1", 0)) as sock:
        thread = threading.Thread(target=_serve_once, args=(ctx_server, sock, seen), daemon=True)
        thread.start()
        answer: bytes | None = None
        try:
            with socket.create_connection(sock.getsockname(), timeout=5) as raw:
                with ctx_client.wrap_socket(raw, server_hostname="localhost") as tls:
                    answer = tls.recv(2)
        except (ssl.SSLError, OSError):
            answer = None
        thread.join(5)
    return answer, seen[0] if seen else None


def test_mutual_tls_on_loopback_reads_the_oin_and_rejects_a_foreign_client(
    test_pki: TestPki, other_pki: TestPki
) -> None:
    answer, peer = _handshake(test_pki, test_pki.party("0363"), test_pki.roots)
    assert answer == b"ok"
    assert isinstance(peer, bytes)
    assert pki.oin_from_certificate(peer) == "00000099000000363000"
    answer, peer = _handshake(test_pki, other_pki.party("0363"), test_pki.roots)
    assert answer is None
    assert isinstance(peer, ssl.SSLError)


def test_cli_certs(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ieb.cli import app

    result = CliRunner().invoke(
        app, ["certs", "--out", str(tmp_path), "--gemeente", "0363", "--gemeente", "0599"]
    )
    assert result.exit_code == 0, result.output
    assert "00000099000000599000" in result.output and "ca-bundle.pem" in result.output
    loaded = pki.load_test_pki(tmp_path)
    assert sorted(loaded.parties) == ["0363", "0599", "CAK", "GGK"]
    result = CliRunner().invoke(app, ["certs", "--out", str(tmp_path / "j"), "--json", "--party", "CAK"])
    assert result.exit_code == 0
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert [p["code"] for p in summary["parties"]] == ["CAK", "0363"]
    bad = CliRunner().invoke(app, ["certs", "--out", str(tmp_path / "x"), "--gemeente", "12"])
    assert bad.exit_code == 1


def test_the_test_pki_is_not_importable_from_transport() -> None:
    """The deprecated alias is gone (issue 19 item 8): production certificate checks stay in
    ieb.transport.pki, the test PKI generator is only in ieb.testing.pki."""
    import ieb.transport.pki as production

    for name in ("TestPki", "create_test_pki", "load_test_pki", "oin_for", "TEST_OIN_PREFIX"):
        assert not hasattr(production, name), name
    assert production.verify_chain is pki.verify_chain
