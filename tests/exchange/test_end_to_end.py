"""The issue's "done means", as a user would run it: only the ``ieb`` command, in an empty folder,
over real HTTPS with mutual TLS on loopback, in separate processes.

    ieb init --simulator --gemeente 0363 --gemeente 0599
    ieb simulate serve --config simulator.toml &
    ieb serve &
    ieb plan gewenst.csv --queue
    ieb status --format json       -> every delivery accepted

then a second desired state (a stop, a changed start date, a deletion) the same way, and a
``kill -9`` of ``ieb serve`` in the middle of a larger run: after a restart nothing is lost and
nothing was sent twice (the CAK side holds every BerichtIdentificatie exactly once).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.testing.demo import demo_bsns, free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for key in [k for k in env if k.startswith("IEB_")]:
        del env[key]
    return env


def ieb(
    folder: Path, *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ieb", *args],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert result.returncode == 0, f"ieb {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result


def start(folder: Path, *args: str, log: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = (folder / log).open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "ieb", *args],
        cwd=folder,
        env=_env() | (env or {}),
        stdout=out,
        stderr=subprocess.STDOUT,
    )


#: short timeouts and leases through IEB_* overrides, so a killed sender's leases expire quickly
FAST = {"IEB_GGK__CONNECT_TIMEOUT": "2", "IEB_GGK__OPERATION_TIMEOUT": "3", "IEB_RETRY__LEASE_SECONDS": "6"}


def status(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(ieb(folder, "status", "--format", "json").stdout)


def wait_until_settled(folder: Path, expected: int, timeout: float = 90) -> dict:  # type: ignore[type-arg]
    """Poll the ledger (read-only) until ``expected`` deliveries have an answer and the outbox is empty."""
    engine = sa.create_engine(f"sqlite:///{folder / 'ieb.sqlite'}")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                answered = conn.execute(
                    sa.text("SELECT count(*) FROM deliveries WHERE outcome != 'pending'")
                ).scalar_one()
                open_rows = conn.execute(
                    sa.text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")
                ).scalar_one()
            if answered >= expected and open_rows == 0:
                break
            time.sleep(0.3)
    finally:
        engine.dispose()
    return status(folder)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung service fails the test below
            proc.kill()
            proc.wait()


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def _contract(data: dict) -> None:  # type: ignore[type-arg]
    assert set(data) >= {"gemeenten", "deliveries", "retourcodes", "outbox", "inbox_failed", "overdue"}
    assert set(data["deliveries"]) == {"pending", "accepted", "rejected", "technical", "not_assessed"}
    assert set(data["outbox"]) == {"pending", "sending", "acknowledged", "failed", "dead"}
    assert all(isinstance(v, int) for v in data["deliveries"].values())
    assert isinstance(data["inbox_failed"], int) and isinstance(data["overdue"], int)


#: the exchange runs the same in both releases (issue 20: iEb 4.0 is the default of ieb init)
RELEASES = pytest.mark.parametrize("release", ["ieb-1.0", "ieb-4.0"])


@RELEASES
def test_done_means_two_gemeenten_two_desired_states(folder: Path, release: str) -> None:
    rport, sport = free_port(), free_port()
    ieb(
        folder,
        "init",
        "--release",
        release,
        "--simulator",
        "--gemeente",
        "0363",
        "--gemeente",
        "0599",
        "--receiver-port",
        str(rport),
        "--simulator-port",
        str(sport),
    )
    assert {p.name for p in folder.iterdir()} >= {"ieb.toml", "simulator.toml", "pki", "gewenst.csv"}
    # read-only commands refuse a database that does not exist (and do not create one)
    refused = ieb(folder, "status", "--format", "json", check=False)
    assert refused.returncode == 2 and "bestaat niet" in refused.stderr
    assert not (folder / "ieb.sqlite").exists()
    sim = start(folder, "simulate", "serve", "--config", "simulator.toml", log="sim.log")
    serve = start(folder, "serve", log="serve.log")
    try:
        planned = ieb(folder, "plan", "gewenst.csv", "--queue")
        assert "4 bericht(en) gepland en in de outbox gezet" in planned.stdout
        assert "999900006" not in planned.stdout  # BSNs masked
        data = wait_until_settled(folder, 4)
        _contract(data)
        assert data["release"] == release
        assert data["gemeenten"] == ["0363", "0599"]
        assert data["deliveries"]["accepted"] == 4 and data["deliveries"]["pending"] == 0, data
        assert data["outbox"]["acknowledged"] == 4 and data["inbox_failed"] == 0

        b = demo_bsns(4)
        first = dt.date.today().replace(day=1)
        (folder / "gewenst2.csv").write_text(
            "gemeente,bsn,start,stop,kostprijs_cent,kostprijs_start\n"
            f"0363,{b[0]},{first},{first + dt.timedelta(days=19)},,\n"  # a stop
            f"0363,{b[1]},{first + dt.timedelta(days=4)},,,\n"  # a changed start date
            f"0599,{b[2]},,,,\n"  # deleted: no period at all
            f"0599,{b[3]},{first},,,\n"  # unchanged
        )
        planned = ieb(folder, "plan", "gewenst2.csv", "--queue")
        assert "3 bericht(en) gepland en in de outbox gezet" in planned.stdout, planned.stdout
        data = wait_until_settled(folder, 7)
        assert data["deliveries"]["accepted"] == 7 and data["deliveries"]["pending"] == 0, data
        # the same desired state again plans nothing
        again = ieb(folder, "plan", "gewenst2.csv")
        assert "0 bericht(en) gepland" in again.stdout
        health = serve.poll()
        assert health is None, (folder / "serve.log").read_text()
    finally:
        stop(serve)
        stop(sim)
    assert serve.returncode == 0, (folder / "serve.log").read_text()[-3000:]


@RELEASES
def test_kill_9_of_ieb_serve_mid_run_loses_nothing_and_sends_nothing_twice(
    folder: Path, release: str
) -> None:
    rport, sport = free_port(), free_port()
    ieb(
        folder,
        "init",
        "--release",
        release,
        "--simulator",
        "-g",
        "0363",
        "--receiver-port",
        str(rport),
        "--simulator-port",
        str(sport),
    )
    with (folder / "simulator.toml").open("a") as fh:  # every call takes 50-100 ms
        fh.write('faults = "latency=1,latency_min=0.05,latency_max=0.1,seed=5"\n')
    start_day = dt.date.today().replace(day=1)
    n = 60
    (folder / "groot.csv").write_text(
        "bsn,start\n" + "".join(f"{b},{start_day}\n" for b in demo_bsns(n, start=999910000))
    )
    sim = start(folder, "simulate", "serve", "--config", "simulator.toml", log="sim.log")
    serve = start(folder, "serve", log="serve.log", env=FAST)
    try:
        ieb(folder, "plan", "groot.csv", "--queue")
        engine = sa.create_engine(f"sqlite:///{folder / 'ieb.sqlite'}")
        deadline = time.monotonic() + 60
        acked = 0
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                acked = conn.execute(
                    sa.text("SELECT count(*) FROM outbox WHERE status='acknowledged'")
                ).scalar_one()
            if acked >= 10:
                break
            time.sleep(0.05)
        serve.send_signal(signal.SIGKILL)
        serve.wait(timeout=10)
        with engine.connect() as conn:
            acked = conn.execute(
                sa.text("SELECT count(*) FROM outbox WHERE status='acknowledged'")
            ).scalar_one()
        engine.dispose()
        assert 0 < acked < n, f"not killed mid-run ({acked} of {n})"
        serve = start(folder, "serve", log="serve2.log", env=FAST)
        data = wait_until_settled(folder, n, timeout=120)
        assert data["deliveries"]["accepted"] == n, data
        assert data["outbox"]["acknowledged"] == n and data["inbox_failed"] == 0, data
    finally:
        stop(serve)
        stop(sim)
    # the CAK side saw every heenbericht exactly once (a second one would be a rejected duplicate)
    cak = sa.create_engine(f"sqlite:///{folder / 'cak.sqlite'}")
    with cak.connect() as conn:
        per_message = conn.execute(
            sa.text(
                "SELECT afzender, identificatie, count(*) FROM deliveries GROUP BY afzender, identificatie"
            )
        ).all()
    cak.dispose()
    assert len(per_message) == n and all(c == 1 for _, _, c in per_message)
