"""Fixtures of the transport suite: a throwaway PostgreSQL server the tests control (stop, start,
restart), or ``$IEB_TEST_POSTGRES_URL`` (then restarts are skipped: a shared server is not ours)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pgdb import create_database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """A PostgreSQL server on a temporary directory and a free port, run as ``postgres`` when the
    tests run as root. ``url`` is the server's admin URL; :meth:`database` makes a fresh database."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl) on PATH")
        self.prefix: list[str] = []
        self.base = Path(tempfile.mkdtemp(prefix="ieb-pg-transport-"))
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if not runuser:
                raise RuntimeError("PostgreSQL cannot run as root and runuser is missing")
            self.prefix = [runuser, "-u", "postgres", "--"]
            shutil.chown(self.base, "postgres", "postgres")
        self.port = _free_port()
        self.data = self.base / "data"
        self._run(
            self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"
        )
        self.start()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.controlled = True

    def _run(self, *args: str) -> None:
        proc = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name}: {proc.stderr.strip()[:300]}")

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        assert self.pg_ctl is not None
        self._run(self.pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.base / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        assert self.pg_ctl is not None
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def database(self) -> str:
        return create_database(self.url, "ieb_t_")

    def close(self) -> None:
        try:
            self.stop("immediate")
        except RuntimeError:
            pass
        shutil.rmtree(self.base, ignore_errors=True)


class _GivenServer:
    """``$IEB_TEST_POSTGRES_URL``: databases only; it is not ours to restart."""

    controlled = False

    def __init__(self, url: str) -> None:
        self.url = url

    def database(self) -> str:
        return PgServer.database(self)  # type: ignore[arg-type]

    def restart(self, mode: str = "fast") -> None:
        pytest.skip("IEB_TEST_POSTGRES_URL is a shared server: not restarted by tests")

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgServer]:
    given = os.environ.get("IEB_TEST_POSTGRES_URL")
    if given:
        yield _GivenServer(given)  # type: ignore[misc]
        return
    try:
        server = PgServer()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"PostgreSQL could not start: {exc}")
    try:
        yield server
    finally:
        server.close()
