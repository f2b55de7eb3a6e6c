"""Fixtures of the ledger suite: databases on SQLite and PostgreSQL (a throwaway server if needed).

PostgreSQL: ``$IEB_TEST_POSTGRES_URL`` when set; otherwise a server started for this session from
Debian's binaries (``/usr/lib/postgresql/*/bin``) on a temporary directory and a free port, run as
the ``postgres`` user when the tests run as root. When no server can be started the PostgreSQL
tests are skipped, with a warning and a line in the terminal summary saying why.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.validation.gemeenten import GemeenteLijst

TODAY = dt.date(2024, 6, 15)
GEMEENTEN = GemeenteLijst.from_text(
    "code,naam,ingangsdatum,einddatum\n0363,Amsterdam,1900-01-01,\n0599,Rotterdam,1900-01-01,\n"
    "0003,Appingedam,1836-01-01,2020-12-31\n"
)
BSNS = [
    "999900006",
    "999900018",
    "999900031",
    "999900043",
    "999900055",
    "999900067",
    "999900079",
    "999900080",
    "999900092",
    "999900109",
    "999900110",
    "999900122",
]

_PG_SKIP_REASON: list[str] = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"]
    return []


class _PgServer:
    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not bins:
            raise RuntimeError("no PostgreSQL binaries in /usr/lib/postgresql/*/bin")
        self.bin = Path(bins[-1])
        self.dir = Path(tempfile.mkdtemp(prefix="ieb-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.prefix = _as_user()
        if self.prefix:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        proc = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {proc.stderr.strip() or proc.stdout.strip()}")

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    given = os.environ.get("IEB_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        server = _PgServer()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        reason = f"PostgreSQL tests SKIPPED: no server could be started ({exc})"
        _PG_SKIP_REASON.append(reason)
        warnings.warn(reason, pytest.PytestWarning, stacklevel=1)
        pytest.skip(reason)
    try:
        yield server.url
    finally:
        server.stop()


def fresh_pg_database(server_url: str) -> str:
    name = "ieb_test_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database, once per backend."""
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "ledger.sqlite")
    server: str = request.getfixturevalue("postgres_server_url")
    return fresh_pg_database(server)


@pytest.fixture
def db_url_factory(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> object:
    """Makes more empty databases on the same backend as ``db_url`` (e.g. gemeente + CAK)."""
    counter = iter(range(1, 1000))

    def make() -> str:
        if db_url.startswith("sqlite"):
            return "sqlite:///" + str(tmp_path / f"extra{next(counter)}.sqlite")
        return fresh_pg_database(request.getfixturevalue("postgres_server_url"))

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for reason in _PG_SKIP_REASON:
        terminalreporter.write_line("!" * 20 + " " + reason + " " + "!" * 20, red=True, bold=True)


def wait_until(predicate: object, timeout: float = 5.0) -> None:  # pragma: no cover - helper
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
