"""``ieb serve`` and ``ieb simulate serve`` started without a word when their OWN certificate was
revoked by the configured CRL (or expired, or not yet valid): the peers then refuse every
connection and the operator learns it from their logs. Now one warning line at start names the
certificate (subject, serial number) and the CRL, and the command keeps serving."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.testing.demo import free_port
from ieb.testing.pki import create_test_pki
from ieb.transport.revocation import load_crls, own_chain_problems

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``ieb init --simulator`` with free ports and the CRLs of its test PKI configured on both sides."""
    for key in [k for k in os.environ if k.startswith("IEB_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    args = ["init", "--simulator", "-g", "0363", "--receiver-port", str(free_port())]
    assert runner.invoke(app, [*args, "--simulator-port", str(free_port())]).exit_code == 0
    toml = tmp_path / "ieb.toml"
    toml.write_text(toml.read_text().replace("crl = []", 'crl = ["pki/crl"]'))
    sim = tmp_path / "simulator.toml"
    sim.write_text(sim.read_text().replace('# crl = ["pki/crl"]', 'crl = ["pki/crl"]'))
    return tmp_path


def _serial(folder: Path, code: str) -> str:
    from ieb.testing.pki import load_test_pki

    return f"{load_test_pki(folder / 'pki').party(code).certificate().serial_number:x}"


def test_ieb_serve_warns_once_about_its_revoked_certificate_and_serves(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Any] = []
    monkeypatch.setattr("ieb.service.Service.run", lambda self: ran.append(self))
    assert runner.invoke(app, ["certs", "--crl", "pki"]).exit_code == 0
    clean = runner.invoke(app, ["serve", "--text-logs"])
    assert clean.exit_code == 0 and "waarschuwing" not in clean.output, clean.output
    assert runner.invoke(app, ["certs", "--crl", "pki", "--revoke", "0363"]).exit_code == 0
    result = runner.invoke(app, ["serve", "--text-logs"])
    assert result.exit_code == 0, result.output
    assert len(ran) == 2  # it went on serving
    (line,) = [x for x in result.output.splitlines() if x.startswith("waarschuwing:")]
    assert "eigen certificaat" in line and "is ingetrokken" in line
    assert f"serienummer {_serial(folder, '0363')}" in line and "tsp.crl.pem" in line and "pki/crl" in line


def test_ieb_simulate_serve_warns_about_its_revoked_certificate_and_serves(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []

    def until_interrupted(stop: Any, name: str, url: str) -> None:
        served.append(url)
        stop()

    monkeypatch.setattr("ieb.cli.transport._serve_until_interrupted", until_interrupted)
    assert runner.invoke(app, ["certs", "--crl", "pki", "--revoke", "GGK"]).exit_code == 0
    result = runner.invoke(app, ["simulate", "serve", "--config", "simulator.toml"])
    assert result.exit_code == 0, result.output
    assert len(served) == 1
    (line,) = [x for x in result.output.splitlines() if x.startswith("waarschuwing:")]
    assert (
        f"serienummer {_serial(folder, 'GGK')}" in line and "is ingetrokken" in line and "tsp.crl.pem" in line
    )
    # the subject names its fields (it read `2.5.4.5=...,2.5.4.97=...`)
    assert (
        "serialNumber=00000099" in line and "organizationIdentifier=NTRNL-" in line and "2.5.4." not in line
    )


def test_ieb_receive_warns_about_its_revoked_certificate_and_serves(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []

    def until_interrupted(stop: Any, name: str, url: str) -> None:
        served.append(url)
        stop()

    monkeypatch.setattr("ieb.cli.transport._serve_until_interrupted", until_interrupted)
    assert runner.invoke(app, ["certs", "--crl", "pki", "--revoke", "0363"]).exit_code == 0
    result = runner.invoke(app, ["receive"])
    assert result.exit_code == 0, result.output
    assert len(served) == 1
    (line,) = [x for x in result.output.splitlines() if x.startswith("waarschuwing:")]
    assert f"serienummer {_serial(folder, '0363')}" in line and "is ingetrokken" in line


def test_an_expired_or_not_yet_valid_own_certificate_is_named(tmp_path: Path) -> None:
    pki = create_test_pki(tmp_path / "pki", ["0363"])
    leaf = pki.party("0363").certificate()
    chain = [leaf, pki.ca_certificate("tsp"), pki.ca_certificate("domain"), pki.ca_certificate("root")]
    inside = leaf.not_valid_before_utc + dt.timedelta(seconds=1)
    assert own_chain_problems(chain, None, inside) == []
    after = own_chain_problems(chain[:1], None, leaf.not_valid_after_utc + dt.timedelta(seconds=1))
    assert (
        len(after) == 1
        and "is verlopen sinds" in after[0]
        and f"serienummer {leaf.serial_number:x}" in after[0]
    )
    before = own_chain_problems(chain[:1], None, leaf.not_valid_before_utc - dt.timedelta(seconds=1))
    assert len(before) == 1 and "is pas geldig vanaf" in before[0]
    # revoked by the CRLs given (not by what the process has installed)
    now = dt.datetime.now(dt.UTC)
    crls = load_crls([pki.write_crls(["0363"], directory=tmp_path / "crl")], chain[1:], at=now)
    (revoked,) = own_chain_problems(chain, crls, now)
    assert "is ingetrokken" in revoked and "tsp.crl.pem" in revoked


def _interrupt(*_args: Any, **_kwargs: Any) -> None:
    raise KeyboardInterrupt  # Ctrl-C while the start-up lines are printed


def test_ctrl_c_during_the_start_up_lines_starts_no_server(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C arriving while the own-certificate warning was worked out (after the server had
    started, before the wait that stops it) left the server's non-daemon threads running: `ieb
    simulate serve` hung for good after Ctrl-C. The start-up lines now come before the start."""
    started: list[str] = []
    monkeypatch.setattr("ieb.simulator.server.SimulatorService.start", lambda self: started.append("sim"))
    monkeypatch.setattr("ieb.transport.httpd.HttpsServer.start", lambda self: started.append("receive"))
    monkeypatch.setattr("ieb.cli.transport._warn_own_certificate", _interrupt)
    assert runner.invoke(app, ["certs", "--crl", "pki"]).exit_code == 0
    for command in (["simulate", "serve", "--config", "simulator.toml"], ["receive"]):
        result = runner.invoke(app, command)
        assert result.exit_code != 0 and isinstance(result.exception, (KeyboardInterrupt, SystemExit))
    assert started == []


def test_ctrl_c_while_saying_where_it_listens_still_stops_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from ieb.cli import transport

    stopped: list[bool] = []
    monkeypatch.setattr(transport.typer, "echo", _interrupt)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        transport._serve_until_interrupted(lambda: stopped.append(True), "simulator", "https://127.0.0.1:1")
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])
    assert stopped == [True]


def test_a_second_ctrl_c_does_not_break_off_the_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    """`timeout -s INT` signals the process and its group (two SIGINTs), an impatient clerk presses
    Ctrl-C twice: the second KeyboardInterrupt broke off stop() halfway and the server's threads
    kept the process alive for good."""
    import signal

    from ieb.cli import transport

    stopped: list[bool] = []

    def stop() -> None:
        signal.raise_signal(signal.SIGINT)  # the second Ctrl-C, while stopping
        stopped.append(True)

    monkeypatch.setattr(transport.typer, "echo", lambda *_a, **_k: signal.raise_signal(signal.SIGINT))
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        transport._serve_until_interrupted(stop, "simulator", "https://127.0.0.1:1")
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])
    assert stopped == [True]
