"""The exchange commands as a user meets them: help, version, errors without tracebacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app

COMMANDS = [
    "init",
    "plan",
    "queue",
    "send",
    "serve",
    "status",
    "requeue",
    "retour",
    "report",
    "receive",
    "demo",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_python_placeholders(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=80, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output and "list[" not in result.output, result.output


def test_status_format_lists_its_choices_and_version() -> None:
    runner = CliRunner()
    assert "text|json" in runner.invoke(app, ["status", "--help"], env={"COLUMNS": "100"}).output
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and re.match(r"ieb \d+\.\d+", version.output)


def test_status_and_report_refuse_a_database_that_does_not_exist(tmp_path: Path) -> None:
    runner = CliRunner()
    for args in (["status", "--format", "json"], ["report", "--out", str(tmp_path / "r.html")]):
        result = runner.invoke(app, [*args, "--db", str(tmp_path / "typo.sqlite")])
        assert result.exit_code == 2 and "bestaat niet" in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "typo.sqlite").exists()


def test_send_without_an_endpoint_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["send"])
    assert result.exit_code == 2 and "ggk.endpoint" in result.output


def test_init_writes_a_commented_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--dir", str(tmp_path), "-g", "0363"]).exit_code == 0
    text = (tmp_path / "ieb.toml").read_text()
    assert text.count("#") > 10 and 'gemeenten = ["0363"]' in text
    again = runner.invoke(app, ["init", "--dir", str(tmp_path), "-g", "0363"])
    assert again.exit_code == 2 and "--force" in again.output


def test_requeue_without_arguments_is_an_error(tmp_path: Path) -> None:
    from ieb.ledger import open_database

    open_database(f"sqlite:///{tmp_path / 'ieb.sqlite'}").dispose()
    result = CliRunner().invoke(app, ["requeue", "--db", str(tmp_path / "ieb.sqlite")])
    assert result.exit_code == 1 and "--dead" in result.output


def test_ctrl_c_stops_send_and_releases_its_leases(tmp_path: Path) -> None:
    """``ieb send`` against a peer that never answers: Ctrl-C ends it within one attempt's deadline
    and the message is ``pending`` again, not held by a dead lease."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import sqlalchemy as sa

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IEB_")}
    env["PYTHONPATH"] = str(root)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts TCP, never speaks TLS
    port = listener.getsockname()[1]
    try:
        subprocess.run(
            [sys.executable, "-m", "ieb", "init", "--simulator", "-g", "0363", "--simulator-port", str(port)],
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [sys.executable, "-m", "ieb", "plan", "gewenst.csv", "--queue"],
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
        )
        env |= {
            "IEB_GGK__CONNECT_TIMEOUT": "3",
            "IEB_GGK__OPERATION_TIMEOUT": "3",
            "IEB_RETRY__LEASE_SECONDS": "600",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "ieb", "send"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'ieb.sqlite'}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(sa.text("SELECT count(*) FROM outbox WHERE status='sending'")).scalar_one():
                    break
            time.sleep(0.1)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert time.monotonic() - started < 10
        assert proc.returncode == 130, (out, err)
        assert b"Traceback" not in err and b"leases vrijgegeven" in err
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT status, locked_by FROM outbox")).all()
        engine.dispose()
        assert rows and all(r.status == "pending" and r.locked_by is None for r in rows), rows
    finally:
        listener.close()


def test_send_to_a_ggk_that_is_down_stops_after_one_round_and_says_why(tmp_path: Path) -> None:
    """``ieb send`` with nothing listening on the GGk port: every failure is printed with the next
    attempt, the run stops after one round (exit 1) with a Dutch "GGk niet bereikbaar" and an
    oplossing, no library text up front, and the messages stay pending for a later run."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import sqlalchemy as sa

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IEB_")}
    env["PYTHONPATH"] = str(root)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens here: connection refused
    run = {"cwd": tmp_path, "env": env, "check": True, "capture_output": True}
    subprocess.run(
        [sys.executable, "-m", "ieb", "init", "--simulator", "-g", "0363", "--simulator-port", str(port)],
        **run,
    )
    subprocess.run([sys.executable, "-m", "ieb", "plan", "gewenst.csv", "--queue"], **run)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "ieb", "send"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.monotonic() - started < 60, proc.stderr
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    err = proc.stderr
    assert "Traceback" not in err
    assert "volgende poging over" in err
    assert f"GGk niet bereikbaar op URL: https://127.0.0.1:{port}" in err, err
    assert "GGk weigert de verbinding" in err and "oplossing:" in err
    assert "_WatchedPool" not in err and "Max retries exceeded" not in err
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ieb.sqlite'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM outbox GROUP BY status")).all()
    engine.dispose()
    assert {status for status, _ in rows} == {"pending"}, rows


def test_serve_checks_config_certificates_and_port_before_its_banner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A taken port, a missing certificate or an empty folder: ``ieb serve`` says what is wrong
    in Dutch with an oplossing, prints no banner first and creates no database."""
    import socket

    for key in [k for k in __import__("os").environ if k.startswith("IEB_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        assert (
            runner.invoke(app, ["init", "--simulator", "-g", "0363", "--receiver-port", str(port)]).exit_code
            == 0
        )
        result = runner.invoke(app, ["serve", "--text-logs"])
    finally:
        taken.close()
    assert result.exit_code == 2, result.output
    assert "ieb serve: ontvanger op" not in result.output
    assert (
        f"poort {port}" in result.output
        and "al in gebruik" in result.output
        and "oplossing:" in result.output
    )
    assert not (tmp_path / "ieb.sqlite").exists()
    (tmp_path / "pki" / "0363" / "chain.pem").unlink()
    for command in (["serve"], ["send"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2 and "organisatie.cert" in result.output, result.output
        assert "ieb serve: ontvanger op" not in result.output
    assert not (tmp_path / "ieb.sqlite").exists()


def test_status_says_why_a_pending_message_is_stuck_and_when_it_is_tried_again(tmp_path: Path) -> None:
    """After a failed ``ieb send`` (nothing listens), ``ieb status`` shows the last error and the
    next attempt of each open message; the JSON adds ``retrying`` next to the contract's keys."""
    import json
    import os
    import socket
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IEB_")}
    env["PYTHONPATH"] = str(root)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "timeout": 120}
    ieb = [sys.executable, "-m", "ieb"]
    subprocess.run(
        [*ieb, "init", "--simulator", "-g", "0363", "--simulator-port", str(port)], check=True, **run
    )
    subprocess.run([*ieb, "plan", "gewenst.csv", "--queue"], check=True, **run)
    assert subprocess.run([*ieb, "send"], **run).returncode == 1
    text = subprocess.run([*ieb, "status"], check=True, **run).stdout
    assert "Wacht op een nieuwe poging" in text, text
    assert "laatste fout: GGk weigert de verbinding" in text and "volgende poging over" in text, text
    data = json.loads(subprocess.run([*ieb, "status", "--format", "json"], check=True, **run).stdout)
    assert {"outbox", "dead_letters", "overdue_list"} <= set(data)
    assert data["retrying"] and all(r["attempts"] > 0 and r["next_attempt_at"] for r in data["retrying"])
    assert "GGk weigert de verbinding" in data["retrying"][0]["reason"]


def test_without_ieb_toml_the_commands_point_to_ieb_init_and_config_errors_are_precise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    for key in [k for k in os.environ if k.startswith("IEB_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    (tmp_path / "gewenst.csv").write_text("bsn,start\n999900006,2026-06-01\n")
    for command in (["status"], ["plan", "gewenst.csv"], ["send"], ["serve"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "geen ieb.toml gevonden" in result.output and "ieb init" in result.output, result.output
    assert not (tmp_path / "ieb.sqlite").exists()
    folder = runner.invoke(app, ["status", "--config", str(tmp_path)])
    assert folder.exit_code == 2 and "is een map, geen bestand" in folder.output, folder.output
    device = runner.invoke(app, ["status", "--config", "/dev/null"])
    assert device.exit_code == 2 and "geen gewoon bestand" in device.output, device.output
    assert runner.invoke(app, ["init", "--simulator", "-g", "0363"]).exit_code == 0
    monkeypatch.setenv("IEB_RECEIVER__PORT", "80000")
    bad = runner.invoke(app, ["serve"])
    assert bad.exit_code == 2 and "omgevingsvariabele IEB_RECEIVER__PORT" in bad.output, bad.output
    assert "ieb.toml klopt niet" not in bad.output


def test_simulate_serve_names_the_setting_of_a_missing_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    for key in [k for k in os.environ if k.startswith("IEB_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--simulator", "-g", "0363"]).exit_code == 0
    text = (tmp_path / "simulator.toml").read_text().replace("pki/GGK/chain.pem", "pki/GGK/chian.pem")
    (tmp_path / "sim-bad.toml").write_text(text)
    result = runner.invoke(app, ["simulate", "serve", "--config", "sim-bad.toml"])
    assert result.exit_code == 2, result.output
    assert "cert in sim-bad.toml" in result.output and "chian.pem bestaat niet" in result.output
    assert "Errno" not in result.output


def test_send_summary_is_dutch_for_a_person_and_json_for_a_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--simulator", "-g", "0363"]).exit_code == 0
    text = runner.invoke(app, ["send"])
    assert text.exit_code == 0, text.output
    assert "verstuurd en bevestigd: 0" in text.output and "nog open: 0" in text.output
    assert "acknowledged=" not in text.output
    as_json = runner.invoke(app, ["send", "--json"])
    assert as_json.exit_code == 0
    report = json.loads(as_json.output.strip().splitlines()[-1])
    assert set(report) == {"acknowledged", "failed", "dead", "requeued", "lease_lost", "open", "seconds"}


@pytest.mark.slow  # a simulator process and three ieb processes: ~9 s
def test_a_permanent_error_says_the_messages_stay_in_the_outbox(tmp_path: Path) -> None:
    """``ieb send`` stopped by a blijvende fout (here: the simulator's answer exceeds
    ``ggk.max_answer_bytes``) prints "opnieuw klaargezet" in its summary; the clerk is told in one
    line that those messages stay unsent in the outbox until the next ``ieb send`` (nothing is tried
    again by itself), and the outbox indeed holds them, pending."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import sqlalchemy as sa

    from ieb.testing.demo import free_port

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IEB_")}
    env["PYTHONPATH"] = str(root)
    port = free_port()
    run = {"cwd": tmp_path, "env": env, "check": True, "capture_output": True}
    subprocess.run(
        [sys.executable, "-m", "ieb", "init", "--simulator", "-g", "0363", "--simulator-port", str(port)],
        **run,
    )
    subprocess.run([sys.executable, "-m", "ieb", "plan", "gewenst.csv", "--queue"], **run)
    log = (tmp_path / "sim.log").open("wb")
    sim = subprocess.Popen(
        [sys.executable, "-m", "ieb", "simulate", "serve", "--config", "simulator.toml"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(600):  # until the simulator listens (a condition, not a clock: 60 s at most)
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert sim.poll() is None, (tmp_path / "sim.log").read_text()
            time.sleep(0.1)
        proc = subprocess.run(
            [sys.executable, "-m", "ieb", "send"],
            cwd=tmp_path,
            env=env | {"IEB_GGK__MAX_ANSWER_BYTES": "64"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        sim.terminate()
        sim.wait(timeout=30)
        log.close()
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "gestopt: blijvende fout: " in proc.stderr and "Traceback" not in proc.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ieb.sqlite'}")
    with engine.connect() as conn:
        pending = conn.execute(sa.text("SELECT count(*) FROM outbox WHERE status = 'pending'")).scalar_one()
    engine.dispose()
    assert pending > 0
    assert (
        f"{pending} bericht(en) blijven onverstuurd in de outbox staan; ze gaan mee met de volgende "
        "`ieb send` nadat de fout is opgelost" in proc.stderr
    ), proc.stderr
