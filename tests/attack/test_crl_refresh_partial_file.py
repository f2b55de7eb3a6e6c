"""Attack on ``ieb certs --crl`` (TestPki.write_crls with a refresh) while a sender or receiver
runs: each new CRL was written as ``<name>.nieuw`` INSIDE the CRL folder and then renamed over the
old one. A folder in ``[tls] crl`` is read as all its files except those starting with ``.``
(:func:`ieb.transport.revocation.crl_files`), so a reader at that moment (a new connection's CRL
check, the WS-Security poll, a process starting) read the half-written ``.nieuw`` file: a CrlError
("nieuwe CRL's niet in gebruik genomen", or a sender/receiver that would not start). Ctrl-C or a
kill between the write and the rename left the ``.nieuw`` file behind for good, and every later
start refused the CRL folder. The partial file now has a name the folder reader skips and is
removed when the refresh is interrupted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ieb.testing.pki as pki_module
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import revocation
from ieb.transport.tls import TlsFiles, check_crls


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["GGK", "0599"])


@pytest.fixture(autouse=True)
def _fresh() -> Any:
    revocation._uninstall_all()
    yield
    revocation._uninstall_all()


def _read_folder(pki: TestPki, folder: Path) -> tuple[list[str], str | None]:
    """What a sender or receiver starting now reads from the folder: the files, and the error."""
    names = [p.name for p in revocation.crl_files([folder])]
    party = pki.party("GGK")
    try:
        check_crls(TlsFiles(party.chain, party.key, pki.roots, crl=folder))
    except revocation.CrlError as exc:
        return names, str(exc)
    return names, None


def test_a_reader_during_the_refresh_never_sees_a_partial_crl(
    pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = pki.write_crls(directory=tmp_path / "crl")
    seen: list[tuple[list[str], str | None]] = []
    real = pki_module._write

    def slow_write(path: Path, data: bytes, **kwargs: Any) -> Path:
        real(path, data[: len(data) // 2], **kwargs)  # half of it on disk: a reader looks now
        seen.append(_read_folder(pki, folder))
        return real(path, data, **kwargs)

    monkeypatch.setattr(pki_module, "_write", slow_write)
    pki.write_crls(["0599"], directory=folder, keep=True)
    assert len(seen) == 3
    for names, error in seen:
        assert error is None
        assert names == ["domain.crl.pem", "root.crl.pem", "tsp.crl.pem"]
    monkeypatch.undo()
    assert _read_folder(pki, folder) == (["domain.crl.pem", "root.crl.pem", "tsp.crl.pem"], None)


@pytest.mark.parametrize("interrupted", ["write", "rename"])
def test_an_interrupted_refresh_leaves_no_file_behind(
    pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupted: str
) -> None:
    folder = pki.write_crls(directory=tmp_path / "crl")
    real_write, calls = pki_module._write, []

    def ctrl_c_write(path: Path, data: bytes, **kwargs: Any) -> Path:
        calls.append(path)
        if len(calls) == 2:  # the second CA's file: half of it written, then Ctrl-C
            real_write(path, data[: len(data) // 2], **kwargs)
            if interrupted == "write":
                raise KeyboardInterrupt
        return real_write(path, data, **kwargs)

    def ctrl_c_replace(src: Any, dst: Any) -> None:
        if len(calls) == 2:
            raise KeyboardInterrupt
        pki_module.os.rename(src, dst)

    monkeypatch.setattr(pki_module, "_write", ctrl_c_write)
    if interrupted == "rename":
        monkeypatch.setattr(pki_module.os, "replace", ctrl_c_replace)
    with pytest.raises(KeyboardInterrupt):
        pki.write_crls(["0599"], directory=folder, keep=True)
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == ["domain.crl.pem", "root.crl.pem", "tsp.crl.pem"]
    assert _read_folder(pki, folder)[1] is None
    # and the refresh done again completes
    pki.write_crls(["0599"], directory=folder, keep=True)
    assert _read_folder(pki, folder) == (["domain.crl.pem", "root.crl.pem", "tsp.crl.pem"], None)
