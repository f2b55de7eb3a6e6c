"""Attack on the own-certificate warning of ``ieb serve`` / ``ieb receive`` / ``ieb simulate
serve`` (session 6): it took the certificate file's order as the chain (each certificate's
issuer = the next one in the file). TLS does not: the first certificate is the leaf and the others
are a pool the chain is built from by issuer. A chain file whose intermediates are in another
order (``tsp`` after ``domain``: TLS works) made the check look up the leaf in the CRL of the
wrong CA, so a REVOKED own certificate started without the warning; an extra certificate in the
file that is not in our chain (an old, expired intermediate left in it) gave a false "eigen
certificaat ... is verlopen ... vervang het". Now the chain is linked by issuer from the leaf."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from ieb.cli import app
from ieb.transport.pki import load_certificates
from tests.cli.test_serve_own_certificate import folder  # noqa: F401 - the ieb init --simulator fixture

runner = CliRunner()


def _pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _expired_stranger() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "oude tussen-CA (niet meer gebruikt)")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(12345)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def _serve(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ran: list[Any] = []
    monkeypatch.setattr("ieb.service.Service.run", lambda self: ran.append(self))
    result = runner.invoke(app, ["serve", "--text-logs"])
    assert result.exit_code == 0, result.output
    assert len(ran) == 1  # it serves
    return [x for x in result.output.splitlines() if x.startswith("waarschuwing:")]


def test_a_revoked_certificate_is_named_whatever_the_order_of_the_intermediates(
    folder: Path,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain_file = folder / "pki" / "0363" / "chain.pem"
    leaf, tsp, domain = load_certificates(chain_file)
    chain_file.write_bytes(_pem([leaf, domain, tsp]))  # TLS builds the chain by issuer: it works
    assert runner.invoke(app, ["certs", "--crl", "pki", "--revoke", "0363"]).exit_code == 0
    (line,) = _serve(monkeypatch)
    assert "is ingetrokken" in line and f"serienummer {leaf.serial_number:x}" in line


def test_a_certificate_outside_our_chain_in_the_file_is_not_called_ours(
    folder: Path,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain_file = folder / "pki" / "0363" / "chain.pem"
    chain_file.write_bytes(chain_file.read_bytes() + _pem([_expired_stranger()]))
    assert runner.invoke(app, ["certs", "--crl", "pki"]).exit_code == 0
    assert _serve(monkeypatch) == []
