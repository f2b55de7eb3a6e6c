"""Receiver CPU per message: the gemeente's receiver vs a bare app on the same HTTPS server.

    python bench/bench_recv.py [--count N] [--postgresql]   # prints the RECV dict as JSON
    python bench/bench_recv.py --in-process [--postgresql] [--profile FILE]

Both servers run in their own process (``bench/_receiver.py``: mode ``receiver`` stores every
Di01 in a SQLite inbox and answers a Bv03; mode ``ok`` is a WSGI app that reads the body and
answers 200 on the same :class:`~ieb.transport.httpd.HttpsServer` with mutual TLS). The same
client posts N new Di01 SOAP requests (keep-alive ``requests``, one thread) to each; the CPU the
server process used meanwhile (user + system, from ``/proc/PID/stat``) divided by N is the figure.
Rounds alternate between the two servers; the medians are reported with the load average at the
time. Nothing is asserted.

``--in-process``: the receiver's WSGI call alone in this process (no TLS, no HTTP), the calling
thread's CPU per request, "warm" (requests back to back) and "cold" (64 MB of memory written
between requests, so that the CPU caches hold none of the receiver's data, as in the server
process, where the client and other processes run between two requests). ``--profile FILE``
writes a ``cProfile`` (thread CPU clock) of the warm rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


@contextmanager
def _server(pki_dir: Path, db: Path | str, mode: str, delay_ms: float = 0.0) -> Iterator[tuple[str, int]]:
    """``bench/_receiver.py`` in its own process: (its URL, its pid). ``delay_ms``: the modelled
    GGk latency before every answer."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/_receiver.py"), str(pki_dir), str(db), mode, str(delay_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        if not url:
            raise RuntimeError("receiver did not start")
        yield url, proc.pid
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def _postgresql_database() -> Iterator[str]:
    """A fresh database on ``$IEB_TEST_POSTGRES_URL`` (its URL), dropped afterwards."""
    import uuid

    import sqlalchemy as sa

    base = os.environ["IEB_TEST_POSTGRES_URL"]
    name = "ieb_bench_recv_" + uuid.uuid4().hex[:10]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench_recv(n: int = 300, rounds: int = 3, *, postgresql: bool = False) -> dict[str, Any]:
    """``{"cpu_ms_per_msg", "bare_cpu_ms_per_msg", "ratio", "loadavg", "details"}``: the receiver's
    and the bare app's CPU milliseconds per message (medians of ``rounds`` rounds of ``n``).
    ``postgresql``: the receiver stores in a fresh database on ``$IEB_TEST_POSTGRES_URL`` instead
    of SQLite (the figure is the receiver process's CPU; PostgreSQL's own processes are not in it)."""
    if postgresql:
        with _postgresql_database() as url:
            out = _bench_recv(n, rounds, url)
        out["details"]["database"] = "postgresql (server processes' CPU not counted)"
        return out
    return _bench_recv(n, rounds, None)


def _bench_recv(n: int, rounds: int, db_url: str | None) -> dict[str, Any]:
    from bench.run import _pki, di01s
    from ieb.ggk import parse
    from ieb.transport.client import GgkClient, make_session
    from ieb.transport.tls import TlsFiles

    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"http://www.stufstandaarden.nl/koppelvlak/ggk0210/ggk_Di01"',
    }
    per: dict[str, list[float]] = {"receiver": [], "ok": []}
    load: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ieb-recv-") as tmp_name:
        tmp = Path(tmp_name)
        pki = _pki(tmp / "pki")
        k = pki.party("GGK")
        tls = TlsFiles(k.chain, k.key, pki.roots)
        with (
            _server(tmp / "pki", db_url or tmp / "recv.sqlite", "receiver") as (url, pid),
            _server(tmp / "pki", tmp / "unused.sqlite", "ok") as (bare_url, bare_pid),
            GgkClient(url, tls=tls) as client,
        ):
            session = make_session(tls)
            targets = {"receiver": (url, pid), "ok": (bare_url, bare_pid)}
            warm = [client.soap_request(parse(e))[1] for e in di01s(20)]
            for u, _ in targets.values():
                for body in warm:
                    session.post(u, data=body, headers=headers, timeout=30).raise_for_status()
            for r in range(rounds):
                bodies = [client.soap_request(parse(e))[1] for e in di01s(n)]
                order = ("receiver", "ok") if r % 2 == 0 else ("ok", "receiver")
                for name in order:
                    u, p = targets[name]
                    before = _cpu_seconds(p)
                    for body in bodies:
                        answer = session.post(u, data=body, headers=headers, timeout=30)
                        answer.raise_for_status()
                    per[name].append((_cpu_seconds(p) - before) * 1000 / n)
                load.append(os.getloadavg()[0])
            session.close()
    cpu, bare = statistics.median(per["receiver"]), statistics.median(per["ok"])
    return {
        "cpu_ms_per_msg": cpu,
        "bare_cpu_ms_per_msg": bare,
        "ratio": cpu / bare if bare else float("inf"),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "details": {"n": n, "rounds": rounds, "cpu_ms_per_msg": per, "loadavg_per_round": load},
    }


def bench_in_process(
    n: int = 200, rounds: int = 3, *, postgresql: bool = False, profile: str | None = None
) -> dict[str, Any]:
    """``{"warm_cpu_ms", "cold_cpu_ms", "loadavg", "details"}``: the medians over ``rounds`` of the
    thread CPU milliseconds per :class:`~ieb.transport.server.Receiver` WSGI call (a new Di01 each,
    SQLite in a temporary folder or a new database on ``$IEB_TEST_POSTGRES_URL``), warm and cold."""
    if postgresql:
        with _postgresql_database() as url:
            return _in_process(n, rounds, url, profile)
    with tempfile.TemporaryDirectory(prefix="ieb-recv-") as tmp_name:
        return _in_process(n, rounds, f"sqlite:///{tmp_name}/recv.sqlite", profile)


def _in_process(n: int, rounds: int, url: str, profile: str | None) -> dict[str, Any]:
    import cProfile
    import io
    import time

    from bench.run import di01s
    from ieb.ggk import parse, wrap_soap
    from ieb.transport.outbox import open_ledger
    from ieb.transport.server import Receiver

    def environ(body: bytes) -> dict[str, Any]:
        return {
            "REQUEST_METHOD": "POST",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "HTTP_SOAPACTION": '"http://www.stufstandaarden.nl/koppelvlak/ggk0210/ggk_Di01"',
        }

    def ok(status: str, _headers: Any) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"receiver answered {status}")

    engine = open_ledger(url)
    app = Receiver(engine, organisatie="0363")
    junk = bytearray(64 * 1024 * 1024)
    per: dict[str, list[float]] = {"warm": [], "cold": []}
    load: list[float] = []
    prof = cProfile.Profile(time.thread_time) if profile else None
    try:
        for body in (wrap_soap(parse(e)) for e in di01s(20)):
            app(environ(body), ok)
        for _ in range(rounds):
            for mode in ("warm", "cold"):
                envs = [environ(wrap_soap(parse(e))) for e in di01s(n)]
                spent = 0.0
                for env in envs:
                    if mode == "cold":
                        junk[::64] = bytes(len(junk) // 64)  # one write per cache line
                    elif prof is not None:
                        prof.enable()
                    started = time.thread_time()
                    app(env, ok)
                    spent += time.thread_time() - started
                    if prof is not None:
                        prof.disable()
                per[mode].append(spent * 1000 / n)
            load.append(os.getloadavg()[0])
    finally:
        engine.dispose()
    if prof is not None and profile:
        prof.dump_stats(profile)
    return {
        "warm_cpu_ms": statistics.median(per["warm"]),
        "cold_cpu_ms": statistics.median(per["cold"]),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "details": {"n": n, "rounds": rounds, "cpu_ms": per, "loadavg_per_round": load},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="the receiver stores on $IEB_TEST_POSTGRES_URL (a new database)",
    )
    parser.add_argument("--in-process", action="store_true", help="the WSGI call alone, warm and cold")
    parser.add_argument("--profile", help="with --in-process: write a cProfile of the warm rounds here")
    args = parser.parse_args()
    if args.in_process:
        out = bench_in_process(args.count, args.rounds, postgresql=args.postgresql, profile=args.profile)
    else:
        out = bench_recv(args.count, args.rounds, postgresql=args.postgresql)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
