"""Attack: ``ieb retour FILES`` applies the files in chunks of 500, each one transaction, and prints
each chunk's lines once it is committed. The process is killed with SIGKILL (no code runs, SQLite
is left with a hot journal) right after its first chunk was reported, while the next chunk is under
way; the same command again must apply the rest, report what was applied before as ``dubbel``,
and leave the ledger exactly as one undisturbed run leaves it: nothing lost, nothing twice."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ieb.store.db import open_database
from ieb.types import bsn_is_valid

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "tests/core/samples/valid/wmo402-accepted.xml").read_bytes()
DAY = dt.date(2026, 6, 1)
N = 1100  # three chunks: 500, 500, 100

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _bsns(n: int) -> list[str]:
    out: list[str] = []
    k = 999900000
    while len(out) < n:
        if bsn_is_valid(str(k)):
            out.append(str(k))
        k += 1
    return out


def _setup(tmp: Path) -> tuple[Path, list[Path]]:
    """A ledger with N pending WMO401 deliveries and the folder of one accepted WMO402 for each."""
    db = tmp / "ieb.sqlite"
    open_database(f"sqlite:///{db}").dispose()
    now = dt.datetime.now(dt.UTC).isoformat(sep=" ")
    bsns = _bsns(N)
    with sqlite3.connect(db) as con:
        con.executemany(
            "INSERT INTO deliveries (afzender, identificatie, dagtekening, bericht, bsn, eb_start_nummer, status,"
            " datum, outcome, created_at, release) VALUES ('0363',?,?,'WMO401',?,?,'1','2026-05-01','pending',?,"
            "'ieb-1.0')",
            [(f"B{i}", DAY.isoformat(), bsns[i - 1], i, now) for i in range(1, N + 1)],
        )
    folder = tmp / "retouren"
    folder.mkdir()
    paths = []
    day = DAY.isoformat().encode()
    for i in range(1, N + 1):
        p = folder / f"retour-{i:04d}.xml"
        p.write_bytes(
            TEMPLATE.replace(b"AMS-0001", f"B{i}".encode())
            .replace(b"2026-05-20", day)
            .replace(b"2026-05-21", day)
            .replace(b"CAK-77", f"CAK-{i}".encode())
        )
        paths.append(p)
    return db, paths


def _rows(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as con:
        return con.execute(
            "SELECT identificatie, outcome, retour_identificatie, retour_dagtekening, retour_source,"
            " length(retour_payload) FROM deliveries ORDER BY id"
        ).fetchall()


def _command(db: Path, paths: list[Path]) -> list[str]:
    return [sys.executable, "-m", "ieb", "retour", *map(str, paths), "--db", f"sqlite:///{db}"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("IEB_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return env


def test_a_run_killed_after_a_chunk_resumes_without_loss_or_doubles(tmp_path: Path) -> None:
    db, paths = _setup(tmp_path)
    with subprocess.Popen(
        _command(db, paths), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=tmp_path
    ) as proc:
        assert proc.stdout is not None
        first = [proc.stdout.readline() for _ in range(500)]  # the first chunk, committed and reported
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert all(b": geaccepteerd [" in line for line in first), first[:3]
    assert proc.returncode == -signal.SIGKILL

    applied = sum(1 for r in _rows(db) if r[1] == "accepted")
    assert applied in (500, 1000), applied  # whole chunks only: the one under way is rolled back

    again = subprocess.run(
        _command(db, paths), capture_output=True, env=_env(), cwd=tmp_path, timeout=600, check=False
    )
    out = again.stdout.decode().splitlines()
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    assert again.stderr == b""
    assert len(out) == N + 1
    doubles = [line for line in out[:-1] if line.endswith("(dubbel ontvangen, niets gewijzigd)")]
    assert len(doubles) == applied
    assert out[-1] == (
        f"{N} retour(en): {N - applied} geaccepteerd, 0 afgewezen, 0 technisch afgekeurd, 0 niet beoordeeld, "
        f"{applied} dubbel, 0 niet verwerkt"
    )

    # the ledger: exactly what one undisturbed run leaves (each delivery its own retour, once)
    rows = _rows(db)
    assert [r[1] for r in rows] == ["accepted"] * N
    assert [r[2] for r in rows] == [f"CAK-{i}" for i in range(1, N + 1)]
    assert [r[4] for r in rows] == [str(p) for p in paths]
    assert all(r[3] == DAY.isoformat() and r[5] for r in rows)
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
