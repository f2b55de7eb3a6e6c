"""An unknown ``release`` in ieb.toml is refused by every command that opens the exchange, naming
the setting, the file and the known releases (found by a newcomer trial: ``release = "ieb-2.0"``
was accepted by ``ieb status`` and ``ieb send``; only ``ieb plan`` refused it, without saying where
the name came from)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.config import load_config
from ieb.errors import ConfigurationError
from ieb.exchange import Exchange


def _config(tmp_path: Path, release: str) -> Path:
    path = tmp_path / "ieb.toml"
    path.write_text(f'release = "{release}"\ngemeenten = ["0363"]\ndatabase = "sqlite:///ledger.sqlite"\n')
    return path


def test_an_unknown_release_is_refused_naming_the_setting_and_the_known_ones(tmp_path: Path) -> None:
    path = _config(tmp_path, "ieb-2.0")
    with pytest.raises(ConfigurationError) as caught:
        Exchange(load_config(path))
    assert "release = 'ieb-2.0'" in caught.value.message
    assert "ieb-1.0" in caught.value.message and "ieb-4.0" in caught.value.message
    assert caught.value.code == "CONFIG" and caught.value.location == str(path)


@pytest.mark.parametrize("release", ["ieb-1.0", "ieb-4.0"])
def test_a_known_release_is_accepted(tmp_path: Path, release: str) -> None:
    Exchange(load_config(_config(tmp_path, release))).close()


def test_ieb_status_refuses_an_unknown_release_with_exit_2(tmp_path: Path) -> None:
    path = _config(tmp_path, "ieb-2.0")
    result = CliRunner().invoke(app, ["status", "--config", str(path)])
    assert result.exit_code == 2
    assert "release = 'ieb-2.0'" in result.output and str(path) in result.output
