"""Attack on the CRL reading (ieb/transport/revocation.py): a CRL folder is listed
(:func:`crl_files`) and then each file is stamped and read by its NAME, three separate looks. A
file that disappears between the listing and the read (a CA refresh script renaming or removing
files) raised a bare ``FileNotFoundError`` out of :func:`load_crls` instead of a
:class:`CrlError` naming the file: a traceback at start-up, and out of the TLS/WS-Security CRL
poll (which only expects a ConfigurationError) into a connection. A file swapped for a FIFO named
``*.crl.pem`` in that moment made the read block for ever, holding the CRL watch's lock, so every
new connection hung. A FIFO given as the CRL path was called "bestaat niet".

Now the file is opened once, non-blocking; only a regular file is read, at most
``MAX_CRL_BYTES``, and the stamp comes from the same open file."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import revocation
from ieb.transport.tls import TlsFiles, check_crls

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["GGK", "0599"])


@pytest.fixture(autouse=True)
def _fresh() -> Any:
    revocation._uninstall_all()
    yield
    revocation._uninstall_all()


def _files(pki: TestPki, folder: Path) -> TlsFiles:
    party = pki.party("GGK")
    return TlsFiles(party.chain, party.key, pki.roots, crl=folder)


def _listed_then(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    """The folder is listed as it is, then ``change`` happens before a file is read."""
    real = revocation.crl_files

    def listed(sources: Any) -> list[Path]:
        found = real(sources)
        change(found)
        return found

    monkeypatch.setattr(revocation, "crl_files", listed)


def test_a_file_removed_after_the_listing_is_a_crl_error_naming_it(
    pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = pki.write_crls(directory=tmp_path / "crl")
    _listed_then(monkeypatch, lambda found: found[0].unlink())
    with pytest.raises(revocation.CrlError, match="niet te lezen") as info:
        check_crls(_files(pki, folder))
    assert "domain.crl.pem" in str(info.value)


def test_a_file_swapped_for_a_fifo_after_the_listing_does_not_hang(
    pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = pki.write_crls(directory=tmp_path / "crl")

    def to_fifo(found: list[Path]) -> None:
        found[0].unlink()
        os.mkfifo(found[0])

    _listed_then(monkeypatch, to_fifo)
    result: list[BaseException | None] = []

    def load() -> None:
        try:
            check_crls(_files(pki, folder))
            result.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            result.append(exc)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(60)  # the fixed read returns at once; only a hanging one waits this out
    if reader.is_alive():  # unblock the reader before failing (a writer opens the FIFO)
        with open(folder / "domain.crl.pem", "wb"):
            pass
        reader.join(10)
        pytest.fail("load_crls hangs on a FIFO")
    (error,) = result
    assert isinstance(error, revocation.CrlError), error
    assert "geen gewoon bestand" in str(error) and "domain.crl.pem" in str(error)


def test_a_fifo_given_as_the_crl_is_named_for_what_it_is(pki: TestPki, tmp_path: Path) -> None:
    fifo = tmp_path / "ca.crl.pem"
    os.mkfifo(fifo)
    with pytest.raises(revocation.CrlError, match="geen gewoon bestand"):
        check_crls(_files(pki, fifo))


def test_the_stamp_of_the_load_is_the_one_the_watch_compares(pki: TestPki, tmp_path: Path) -> None:
    """The stamp now comes from the opened file: it must equal what the watch computes by name
    for unchanged files, or every poll would read the CRLs again."""
    folder = pki.write_crls(directory=tmp_path / "crl")
    crls = check_crls(_files(pki, folder))
    assert crls is not None
    assert crls.stamp == tuple(revocation.file_stamp(p) for p in revocation.crl_files([folder]))
