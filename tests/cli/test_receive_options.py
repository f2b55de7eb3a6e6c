"""``ieb receive --organisatie`` and ``--allow-oin`` (and ``ieb simulate serve --allow-oin``): the
gemeentecode is checked against the organisation's certificate (``check_organisatie``) and taken
from a test certificate when not given; every OIN must be 20 digits (``check_oin``); exit 2 otherwise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.testing.pki import TestPki, create_test_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def _config(pki: TestPki, folder: Path, *, gemeenten: str = "[]") -> Path:
    org, ggk = pki.party("0363"), pki.party("GGK")
    path = folder / "ieb.toml"
    path.write_text(
        f'database = "{folder / "ieb.sqlite"}"\n'
        f"gemeenten = {gemeenten}\n"
        "[organisatie]\n"
        f'oin = "{org.oin}"\ncert = "{org.chain}"\nkey = "{org.key}"\nca = "{pki.roots}"\n'
        '[receiver]\nhost = "127.0.0.1"\nport = 0\n'
        f'allowed_oins = ["{ggk.oin}"]\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("bad", ["123", "0000009900000036300A", "000000990000003630000"])
def test_receive_refuses_an_oin_that_is_not_20_digits(bad: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["receive", "--config", str(tmp_path / "none.toml"), "--allow-oin", bad])
    assert result.exit_code == 2, result.output
    assert "--allow-oin" in result.output and "20 cijfers" in result.output
    assert not (tmp_path / "ieb.sqlite").exists()


def test_simulate_serve_refuses_an_oin_that_is_not_20_digits() -> None:
    result = CliRunner().invoke(app, ["simulate", "serve", "--allow-oin", "0363"])
    assert result.exit_code == 2, result.output
    assert "--allow-oin" in result.output and "geen OIN" in result.output


@pytest.mark.parametrize(
    ("organisatie", "message"),
    [("0599", "past niet bij het certificaat"), ("363", "geen gemeentecode")],
)
def test_receive_checks_organisatie_against_the_certificate(
    pki: TestPki, tmp_path: Path, organisatie: str, message: str
) -> None:
    config = _config(pki, tmp_path)
    result = CliRunner().invoke(app, ["receive", "--config", str(config), "--organisatie", organisatie])
    assert result.exit_code == 2, result.output
    assert "--organisatie" in result.output and message in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_receive_refuses_an_organisatie_not_in_the_config(pki: TestPki, tmp_path: Path) -> None:
    config = _config(pki, tmp_path, gemeenten='["0599"]')
    result = CliRunner().invoke(app, ["receive", "--config", str(config), "--organisatie", "0363"])
    assert result.exit_code == 2, result.output
    assert "staat niet in ieb.toml" in result.output


def _receive(config: Path, *args: str) -> tuple[int, str]:
    """Run ``ieb receive`` until it listens, then stop it with SIGTERM; exit code and stderr."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ieb", "receive", "--config", str(config), *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "luistert op" in line:
                proc.send_signal(signal.SIGTERM)
                break
        rest = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, "".join(lines) + rest


def test_receive_takes_the_gemeente_from_a_test_certificate(pki: TestPki, tmp_path: Path) -> None:
    config = _config(pki, tmp_path)  # no gemeenten in ieb.toml
    code, err = _receive(config, "--allow-oin", pki.party("GGK").oin)
    assert code == 0, err
    assert "ontvanger voor gemeente 0363" in err and "luistert op https://127.0.0.1:" in err


def test_receive_with_a_matching_organisatie(pki: TestPki, tmp_path: Path) -> None:
    code, err = _receive(_config(pki, tmp_path, gemeenten='["0363"]'), "--organisatie", "0363")
    assert code == 0, err
    assert "ontvanger voor gemeente 0363" in err
