"""The CRL watch told a new CRL file by its mtime and size only: a CRL replaced by rename within the
same tick of the file system's clock, with the same size, was missed and the old one stayed in
force. The stamp now holds the device and inode too (``revocation.file_stamp``)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import revocation, tls
from ieb.transport.revocation import CertificateRevokedError
from ieb.transport.tls import TlsFiles, client_context


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    revocation._uninstall_all()
    yield
    revocation._uninstall_all()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["GGK", "0363", "0599"])


def _chain(pki: TestPki, code: str) -> tuple:
    return (
        pki.party(code).certificate(),
        pki.ca_certificate("tsp"),
        pki.ca_certificate("domain"),
        pki.ca_certificate("root"),
    )


def _pad(paths: list[Path]) -> None:
    """Make the files the same size (newlines after the PEM block are ignored by the reader)."""
    size = max(p.stat().st_size for p in paths)
    for p in paths:
        p.write_bytes(p.read_bytes() + b"\n" * (size - p.stat().st_size))


def test_a_crl_renamed_over_the_old_one_with_its_size_and_mtime_is_read(
    pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tls, "CRL_CHECK_SECONDS", 0.0)  # look at the files on every poll
    folder = pki.write_crls(["0363"], directory=tmp_path / "crl")
    fresh = pki.write_crls(["0599"], directory=tmp_path / "fresh")
    old_file, new_file = folder / "tsp.crl.pem", fresh / "tsp.crl.pem"
    _pad([old_file, new_file])
    for name in ("root.crl.pem", "domain.crl.pem"):  # only the TSP CA's CRL changes
        shutil.copy2(folder / name, fresh / name)
    party = pki.party("GGK")
    ctx = client_context(TlsFiles(party.chain, party.key, pki.roots, crl=folder))
    watch = ctx._crl_watch  # type: ignore[attr-defined]
    assert watch is not None
    now = dt.datetime.now(dt.UTC)
    revocation.check_chain(_chain(pki, "0599"), now)
    with pytest.raises(CertificateRevokedError):
        revocation.check_chain(_chain(pki, "0363"), now)

    # cron: the new CRL next to the old one, same mtime (one clock tick) and size, renamed over it
    before = old_file.stat()
    os.utime(new_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(new_file, old_file)
    after = old_file.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    assert after.st_ino != before.st_ino

    watch.poll()
    with pytest.raises(CertificateRevokedError, match="ingetrokken"):
        revocation.check_chain(_chain(pki, "0599"), now)
    revocation.check_chain(_chain(pki, "0363"), now)


def test_the_stamp_names_device_and_inode(tmp_path: Path) -> None:
    f = tmp_path / "a.crl"
    f.write_bytes(b"x")
    st = f.stat()
    assert revocation.file_stamp(f) == (str(f), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
