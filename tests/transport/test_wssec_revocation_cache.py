"""The WS-Security chain check remembers a passed revocation check (issue 22), but a signer's
chain is checked against the CRLs again whenever they change (a new generation installed: a
refreshed file, another CA's CRL) and when a CRL the check consulted has expired; between those
moments the verdict could not differ, so it is not recomputed per message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from ieb.ggk import new_di01, wrap_soap
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import revocation, wssec
from ieb.transport.tls import TlsFiles, client_context

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


def _install(pki: TestPki, folder: Path) -> None:
    """Install the CRLs of ``folder`` the way a TLS context with ``tls.crl`` does."""
    client_context(TlsFiles(pki.party("GGK").chain, pki.party("GGK").key, pki.roots, crl=folder))


class _Counting:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = revocation.check_chain

        def counted(*args: object, **kwargs: object) -> revocation.ChainStamp:
            self.calls += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(revocation, "check_chain", counted)


def test_a_signer_is_checked_once_per_crl_generation(
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

    counting = _Counting(monkeypatch)
    _install(pki, pki.write_crls([], directory=tmp_path / "good"))
    for _ in range(5):
        verify()
    assert counting.calls == 1  # five messages, one generation: checked once
    _install(pki, pki.write_crls([], directory=tmp_path / "refreshed", this_update=NOW))
    verify()
    verify()
    assert counting.calls == 2  # a refreshed CRL set: checked again, once
    _install(pki, pki.write_crls(["0599"], directory=tmp_path / "revoked", this_update=NOW))
    for _ in range(2):  # refused every time: a failure is never remembered
        with pytest.raises(wssec.CertificateError, match="ingetrokken"):
            verify()
    assert counting.calls == 4
    revocation._uninstall_all()  # no CRLs at all: the TLS side decides, accepted here
    verify()
    assert counting.calls == 5


def test_an_expired_crl_refuses_a_remembered_chain(pki: TestPki, tmp_path: Path) -> None:
    next_update = NOW + dt.timedelta(hours=2)
    _install(pki, pki.write_crls([], directory=tmp_path / "crl", next_update=next_update))
    leaf = pki.party("0599").certificate()
    roots = x509.load_pem_x509_certificates(pki.roots.read_bytes())
    inter = x509.load_pem_x509_certificates(pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes())
    chain = wssec._verify_chain(leaf, roots, inter, NOW)
    assert wssec._verify_chain(leaf, roots, inter, next_update - dt.timedelta(seconds=1)) == chain
    with pytest.raises(wssec.CertificateError, match="verlopen"):  # the stamp ran out with the CRL
        wssec._verify_chain(leaf, roots, inter, next_update)


def test_a_stamp_is_current_only_within_its_generation_and_validity() -> None:
    stamp = revocation.check_chain((), NOW)
    assert stamp.valid_until is None and revocation.stamp_current(stamp, NOW + dt.timedelta(days=999))
    later = revocation.ChainStamp(stamp.generation, NOW)
    assert revocation.stamp_current(later, NOW - dt.timedelta(seconds=1))
    assert not revocation.stamp_current(later, NOW)
    revocation._uninstall_all()
    assert not revocation.stamp_current(stamp, NOW)
