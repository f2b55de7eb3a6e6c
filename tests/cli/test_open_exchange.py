"""Every command opens the exchange one way: :func:`ieb.cli._retour_core.open_exchange` (typer-free,
raises :class:`Usage`); the typer commands' :func:`ieb.cli._exchange.exchange_for` only prints its
line and exits 2. Before, the two had their own copies of the same try block."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.cli._retour_core import open_exchange
from ieb.cli._validate_core import Usage


def test_a_wrong_release_is_the_same_usage_error_in_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Usage) as caught:
        open_exchange(None, str(tmp_path / "g.sqlite"), release="ieb-9")
    assert caught.value.option == "--release"
    (tmp_path / "heen.xml").write_bytes(b"<x/>")
    result = CliRunner().invoke(app, ["queue", "heen.xml", "--db", "g.sqlite", "--release", "ieb-9"])
    assert result.exit_code == 2
    assert result.stderr == caught.value.line() + "\n"
    assert result.stderr.startswith("fout: --release: onbekende release 'ieb-9'; kies uit ieb-")


def test_no_configuration_for_a_command_that_needs_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in __import__("os").environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(name)
    with pytest.raises(
        Usage, match=r"geen ieb.toml gevonden .*maak er een met `ieb init` \(nodig: database\)"
    ):
        open_exchange(None, needs="database")
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 2 and result.stderr.startswith("fout: geen ieb.toml gevonden"), result.output
