"""Attack on ``ieb certs --crl`` (session 7: the ``[tls] crl`` advice only for a file that does not
name the folder yet, ``ieb.cli.certs._missing_crl_settings``): a ``crl`` entry in ieb.toml or
simulator.toml through a symlink loop made ``Path.resolve`` raise RuntimeError ("Symlink loop",
Python < 3.13), which the check did not catch: the CRLs were written, then the command ended in a
traceback instead of its summary. An entry that cannot be resolved names no folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IEB_CONFIG", raising=False)
    monkeypatch.delenv("IEB_TLS__CRL", raising=False)
    result = runner.invoke(app, ["init", "--simulator", "-g", "0363"])
    assert result.exit_code == 0, result.output
    os.symlink("lus", tmp_path / "lus")  # a link to itself
    return tmp_path


@pytest.mark.parametrize("which", ["ieb.toml", "simulator.toml"])
def test_a_crl_entry_through_a_symlink_loop_gets_the_advice_not_a_traceback(folder: Path, which: str) -> None:
    """The looped entry is in ``which``; the other file names the folder (so the advice is for
    ``which`` alone)."""
    entry = {"ieb.toml": "\ncrl = []\n", "simulator.toml": '\n# crl = ["pki/crl"]\n'}
    for name, old in entry.items():
        toml = folder / name
        text = toml.read_text()
        assert old in text
        value = '"lus/tsp.crl.pem"' if name == which else '"pki/crl"'
        toml.write_text(text.replace(old, f"\ncrl = [{value}]\n", 1))
    result = runner.invoke(app, ["certs", "--crl", "pki"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output
    assert f"{which} noemt deze map nog niet" in result.output, result.output
    assert "ververs vóór " in result.output
