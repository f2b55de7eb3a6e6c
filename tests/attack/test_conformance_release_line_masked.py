"""Attack on ``ieb conformance run`` / ``list`` naming the release and where it came from (session
7): the line ``release ieb-4.0 (uit <path of ieb.toml>)`` printed the path as it is, so a folder
named after a client (``.../999999990/ieb.toml``) put a full BSN on stderr, where ``ieb status``,
``ieb retour`` and every ``fout:`` line mask it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app

runner = CliRunner()


@pytest.mark.parametrize("how", ["found", "--config"])
def test_the_release_line_masks_a_bsn_in_the_path_of_ieb_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    folder = tmp_path / "999999990"
    folder.mkdir()
    result = runner.invoke(app, ["init", "-g", "0363", "--dir", str(folder), "--release", "ieb-4.0"])
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("IEB_CONFIG", raising=False)
    monkeypatch.delenv("IEB_RELEASE", raising=False)
    if how == "found":
        monkeypatch.chdir(folder)
        args = ["conformance", "list"]
    else:
        monkeypatch.chdir(tmp_path)
        args = ["conformance", "list", "--config", str(folder / "ieb.toml")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "release ieb-4.0 (uit " in result.stderr, result.stderr
    assert "999999990" not in result.stderr and "******990" in result.stderr, result.stderr
