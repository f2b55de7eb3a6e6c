"""Attack: the CRL files are refreshed (the signer is now revoked) while the peer keeps its TLS
connection open. A refreshed file was read, and installed for the WS-Security check, only when the
TLS context wrapped a NEW connection (``_CrlWatch.current``); on a keep-alive connection every next
signed message of the revoked signer was still accepted, for as long as the connection lived (the
chain cache of round 6 then kept its stamp, as nothing new was installed). The signature check now
looks at the CRL files itself, as often as a new connection would (``CRL_CHECK_SECONDS``)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ieb.ggk import new_di01, wrap_soap
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import revocation, tls, wssec
from ieb.transport.tls import TlsFiles, server_context

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["GGK", "0599"])


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    revocation._uninstall_all()
    wssec._chain_cache.clear()
    yield
    revocation._uninstall_all()
    wssec._chain_cache.clear()


def test_a_refreshed_crl_reaches_the_signature_check_without_a_new_connection(
    pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    party = pki.party("0599")
    signed = wssec.sign_envelope(
        wrap_soap(new_di01(b"<x/>", "WMO401", "0363")),
        key_pem=party.key.read_bytes(),
        cert_pem=party.cert.read_bytes(),
    )
    roots, inter = pki.roots.read_bytes(), pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()

    def verify() -> object:
        return wssec.verify_envelope(
            signed, trusted_roots=roots, intermediates=inter, require_addressing=False
        )

    folder = tmp_path / "crl"
    pki.write_crls([], directory=folder)
    ggk = pki.party("GGK")
    ctx = server_context(TlsFiles(ggk.chain, ggk.key, pki.roots, crl=folder))  # the receiver's, watching
    verify()  # accepted, and remembered

    revoked = pki.write_crls(["0599"], directory=tmp_path / "new", this_update=NOW)
    for path in sorted(folder.iterdir()):  # the operator refreshes the files in place
        path.unlink()
    for path in sorted(revoked.iterdir()):
        shutil.copy(path, folder / path.name)
    monkeypatch.setattr(tls, "CRL_CHECK_SECONDS", 0.0)  # (the time a new connection would wait too)

    with pytest.raises(wssec.CertificateError, match="ingetrokken"):  # no new connection was made
        verify()
    with pytest.raises(wssec.CertificateError, match="ingetrokken"):
        verify()
    assert ctx is not None
