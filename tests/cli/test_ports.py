"""Ports another program holds (a shared machine): ``ieb init --simulator`` picks free ones when its
defaults are taken, ``ieb simulate serve``, ``ieb receive`` and ``ieb demo`` say in Dutch which port
is taken and where to choose another (no "Address already in use" from the server library); so
does ``ieb serve``, which checks its ports before it starts."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app

runner = CliRunner()
ENGLISH = re.compile(r"Address already in use|No socket could be created|Errno")


def _hold(port: int = 0) -> socket.socket | None:
    """A listening socket on 127.0.0.1:``port`` (0 = any), or None when another program already
    holds that port (then it is taken all the same)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    s.listen()
    return s


@pytest.fixture
def held() -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    yield sockets
    for s in sockets:
        s.close()


def _port_in(path: Path, key: str) -> int:
    found = re.search(rf"^{key}\s*=\s*\"?(?:https://127\.0\.0\.1:)?(\d+)", path.read_text(), re.M)
    assert found, path.read_text()
    return int(found.group(1))


def test_init_simulator_moves_off_taken_default_ports_and_says_so(
    tmp_path: Path, held: list[socket.socket]
) -> None:
    held.extend(s for s in (_hold(8443), _hold(9443)) if s is not None)  # taken either way now
    result = runner.invoke(app, ["init", "--simulator", "-g", "0363", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    receiver = _port_in(tmp_path / "ieb.toml", "port")
    simulator = _port_in(tmp_path / "simulator.toml", "port")
    assert 8443 < receiver < 8643 and 9443 < simulator < 9643
    # both files name the same two ports: the endpoint is the simulator, the callback the receiver
    assert _port_in(tmp_path / "ieb.toml", "endpoint") == simulator
    assert _port_in(tmp_path / "simulator.toml", "callback") == receiver
    assert (
        f"poort 8443 op 127.0.0.1 is in gebruik door een ander programma; de configuratie gebruikt poort {receiver} (kies zelf een andere met --receiver-port)"
        in result.output
    )
    assert (
        f"poort 9443 op 127.0.0.1 is in gebruik door een ander programma; de configuratie gebruikt poort {simulator} (kies zelf een andere met --simulator-port)"
        in result.output
    )


def test_init_simulator_keeps_a_taken_port_the_user_chose_with_a_warning(
    tmp_path: Path, held: list[socket.socket]
) -> None:
    s = _hold()
    assert s is not None
    held.append(s)
    port = s.getsockname()[1]
    args = ["init", "--simulator", "-g", "0363", "--dir", str(tmp_path), "--simulator-port", str(port)]
    result = runner.invoke(app, [*args, "--receiver-port", str(port + 1 if port < 65535 else port - 1)])
    assert result.exit_code == 0, result.output
    assert _port_in(tmp_path / "simulator.toml", "port") == port
    assert f"let op: poort {port} op 127.0.0.1 is nu in gebruik door een ander programma" in result.output
    assert "--simulator-port" in result.output


def test_init_simulator_over_an_existing_folder_refuses_without_port_notes(
    tmp_path: Path, held: list[socket.socket]
) -> None:
    """Nothing is written, so no "de configuratie gebruikt poort ..." before the refusal."""
    (tmp_path / "ieb.toml").write_text("# van eerder\n")
    held.extend(s for s in (_hold(8443), _hold(9443)) if s is not None)  # taken either way now
    result = runner.invoke(app, ["init", "--simulator", "-g", "0363", "--dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"fout: bestaat al: {tmp_path / 'ieb.toml'} (gebruik --force om te overschrijven)" in result.output
    assert "poort" not in result.output, result.output
    assert (tmp_path / "ieb.toml").read_text() == "# van eerder\n"


def test_init_refuses_one_port_for_both_servers(tmp_path: Path) -> None:
    args = ["init", "--simulator", "-g", "0363", "--dir", str(tmp_path)]
    result = runner.invoke(app, [*args, "--receiver-port", "9443", "--simulator-port", "9443"])
    assert result.exit_code == 2
    assert "de ontvanger en de simulator kunnen niet allebei poort 9443 gebruiken" in result.output
    assert not (tmp_path / "ieb.toml").exists()


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of ``ieb init --simulator`` (test PKI, ieb.toml, simulator.toml)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IEB_CONFIG", raising=False)
    result = runner.invoke(app, ["init", "--simulator", "-g", "0363"])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_simulate_serve_on_a_taken_port_names_it_and_the_option(
    configured: Path, held: list[socket.socket]
) -> None:
    s = _hold()
    assert s is not None
    held.append(s)
    port = s.getsockname()[1]
    result = runner.invoke(app, ["simulate", "serve", "--config", "simulator.toml", "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"fout: poort {port} op 127.0.0.1 is al in gebruik door een ander programma" in result.output
    assert "--port, of port in simulator.toml" in result.output
    assert not ENGLISH.search(result.output), result.output


def test_receive_on_a_taken_port_names_it_and_the_setting(
    configured: Path, held: list[socket.socket]
) -> None:
    s = _hold()
    assert s is not None
    held.append(s)
    port = s.getsockname()[1]
    toml = configured / "ieb.toml"
    toml.write_text(re.sub(r"^port = \d+", f"port = {port}", toml.read_text(), count=1, flags=re.M))
    result = runner.invoke(app, ["receive"])
    assert result.exit_code == 2, result.output
    assert f"fout: poort {port} op 127.0.0.1 is al in gebruik door een ander programma" in result.output
    assert "receiver.port in ieb.toml" in result.output
    assert not ENGLISH.search(result.output), result.output


def test_serve_on_a_taken_port_names_it_and_the_setting_in_the_same_words_as_receive(
    configured: Path, held: list[socket.socket]
) -> None:
    s = _hold()
    assert s is not None
    held.append(s)
    port = s.getsockname()[1]
    toml = configured / "ieb.toml"
    toml.write_text(re.sub(r"^port = \d+", f"port = {port}", toml.read_text(), count=1, flags=re.M))
    result = runner.invoke(app, ["serve", "--text-logs"])
    assert result.exit_code == 2, result.output
    assert (
        f"fout: [CONFIG] poort {port} op 127.0.0.1 is al in gebruik door een ander programma" in result.output
    )
    assert "receiver.port in ieb.toml (en callback in simulator.toml)" in result.output
    assert not ENGLISH.search(result.output), result.output


def test_demo_says_in_dutch_when_a_free_port_was_taken_meanwhile(
    monkeypatch: pytest.MonkeyPatch, held: list[socket.socket]
) -> None:
    import ieb.testing.demo as demo

    s = _hold()
    assert s is not None
    held.append(s)
    monkeypatch.setattr(demo, "free_port", lambda host="127.0.0.1": s.getsockname()[1])  # the race, forced
    result = runner.invoke(app, ["demo", "--count", "1", "--json"])
    assert result.exit_code == 2, result.output
    assert "is intussen bezet door een ander programma; oplossing: start de demo opnieuw" in result.output
    assert not ENGLISH.search(result.output), result.output
