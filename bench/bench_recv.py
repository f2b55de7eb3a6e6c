"""Receiver CPU per message: the gemeente's receiver vs a bare app on the same HTTPS server.

    python bench/bench_recv.py [--count N] [--rounds R] [--chunk C] [--postgresql] [--bare-only]
    python bench/bench_recv.py --in-process [--postgresql] [--profile FILE]

Both servers run in their own process (``bench/_receiver.py``: mode ``receiver`` stores every
Di01 in a SQLite inbox and answers a Bv03; mode ``ok`` is a WSGI app that reads the body and
answers 200 on the same :class:`~ieb.transport.httpd.HttpsServer` with mutual TLS). The same
client posts N x R new Di01 SOAP requests (keep-alive ``requests``, one thread) to each, in
interleaved pairs of C (one pair: C to one server, then C to the other, the first alternating); the
CPU the server process used meanwhile (its process CPU clock) divided by C is a figure. Reported:
the medians per side and the median of the per-pair ratios (``details.old_method``: the round-8
estimator on the same messages), with the load average. ``--bare-only`` checks the method: a
second bare app in the receiver's place must give 1.0. Nothing is asserted.

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
def _server(
    pki_dir: Path, db: Path | str, mode: str, delay_ms: float = 0.0, cpus: set[int] | None = None
) -> Iterator[tuple[str, int]]:
    """``bench/_receiver.py`` in its own process: (its URL, its pid). ``delay_ms``: the modelled
    GGk latency before every answer; ``cpus``: the CPUs its threads may run on (all when None)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/_receiver.py"), str(pki_dir), str(db), mode, str(delay_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus or ())) if cpus else None,  # before any thread
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


def bench_recv(
    n: int = 300,
    rounds: int = 3,
    *,
    postgresql: bool = False,
    chunk: int = 20,
    bare_only: bool = False,
    pin: bool = True,
) -> dict[str, Any]:
    """``{"cpu_ms_per_msg", "bare_cpu_ms_per_msg", "ratio", "loadavg", "details"}``: the receiver's
    and the bare app's CPU milliseconds per message and their ratio, over ``n * rounds`` messages
    to each, in interleaved pairs of ``chunk`` messages (see :func:`_bench_recv`).
    ``postgresql``: the receiver stores in a fresh database on ``$IEB_TEST_POSTGRES_URL`` instead
    of SQLite (the figure is the receiver process's CPU; PostgreSQL's own processes are not in it).
    ``bare_only``: the check of the method (A/A): a second bare app in the receiver's place, so
    that every figure should be 1.0 up to noise. ``pin``: both servers on one CPU, the client on
    another (when this process may use two or more)."""
    if postgresql:
        with _postgresql_database() as url:
            out = _bench_recv(n, rounds, url, chunk, bare_only, pin)
        out["details"]["database"] = "postgresql (server processes' CPU not counted)"
        return out
    return _bench_recv(n, rounds, None, chunk, bare_only, pin)


@contextmanager
def _pinned(pin: bool) -> Iterator[set[int] | None]:
    """With ``pin`` and two or more CPUs allowed: this thread (the client) on all but the last
    one while inside, and the last one for the servers (the value); else None."""
    allowed = sorted(os.sched_getaffinity(0))
    if not pin or len(allowed) < 2:
        yield None
        return
    os.sched_setaffinity(0, set(allowed[:-1]))
    try:
        yield {allowed[-1]}
    finally:
        os.sched_setaffinity(0, set(allowed))


def _process_cpu(pid: int) -> float:
    """CPU seconds so far of every thread (ended ones too) of process ``pid``, to the nanosecond:
    its process CPU clock (Linux: ``clock_getcpuclockid``, made by hand as the kernel does; the
    same total as user + system in ``/proc/PID/stat``, which counts in 10 ms ticks)."""
    import time

    return time.clock_gettime(((~pid) << 3) | 2)  # MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)


def _bench_recv(
    n: int, rounds: int, db_url: str | None, chunk: int, bare_only: bool, pin: bool
) -> dict[str, Any]:
    """The method (round 9): both servers run the same script (``bench/_receiver.py``) on the same
    HTTPS server with mutual TLS, each with its own client session (one kept TLS connection),
    warmed up by ``4 * chunk`` messages each. Then pairs: ``chunk`` new Di01 to the receiver and
    ``chunk`` to the bare app, back to back, the first of the two alternating (ABBA...), each
    after two unmeasured ones to the same server and timed by its server process's CPU clock (ns,
    every thread, the client's CPU not in it). Both server processes run on the same one CPU and
    the client on another (``pin``): unpinned, where the scheduler puts each process decides its
    cost, and two identical bare apps in one run differed by up to 25 % (A/A ratios 0.82-1.26 in
    six runs; pinned 1.009-1.019 in three). The figures are the medians over the pairs (per message), and the
    ratio is the median of the per-pair ratios: two sides measured within ~0.1 s of each other
    share the machine's state (load, caches, frequency), so a busy moment moves both, and a pair
    hit by a burst on one side only is an outlier the median ignores. ``details.old_method``: the
    round-8 estimator on the same messages (per side, the median over ``rounds`` contiguous
    groups of pairs, and the ratio of the two medians); ``details.ratio_of_totals``: all receiver
    CPU over all bare CPU."""
    from bench.run import _pki, di01s
    from ieb.ggk import parse
    from ieb.transport.client import GgkClient, make_session
    from ieb.transport.tls import TlsFiles

    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"http://www.stufstandaarden.nl/koppelvlak/ggk0210/ggk_Di01"',
    }
    pairs = max(1, n * rounds // chunk)
    per: dict[str, list[float]] = {"receiver": [], "ok": []}
    load: list[float] = []
    with _pinned(pin) as server_cpus, tempfile.TemporaryDirectory(prefix="ieb-recv-") as tmp_name:
        tmp = Path(tmp_name)
        pki = _pki(tmp / "pki")
        k = pki.party("GGK")
        tls = TlsFiles(k.chain, k.key, pki.roots)
        with (
            _server(
                tmp / "pki", db_url or tmp / "recv.sqlite", "ok" if bare_only else "receiver", 0, server_cpus
            ) as (url, pid),
            _server(tmp / "pki", tmp / "unused.sqlite", "ok", 0, server_cpus) as (bare_url, bare_pid),
            GgkClient(url, tls=tls) as client,
        ):
            # one session (one kept TLS connection) per server: a requests session keeps the
            # connections of ONE host (pool_connections=1), so one session for both made a new TLS
            # handshake (~7.5 ms of server CPU) at every switch between them (round 8: once per
            # round of N to each side, +0.015 ms per message at N=500, +0.075 at N=100)
            targets = {
                "receiver": (url, pid, make_session(tls)),
                "ok": (bare_url, bare_pid, make_session(tls)),
            }
            lead = 2  # unmeasured messages before each chunk: the first after a switch costs ~0.3 ms more
            per_pair = 2 * lead + 2 * chunk
            bodies = [client.soap_request(parse(e))[1] for e in di01s(8 * chunk + pairs * per_pair)]
            warm, bodies = bodies[: 8 * chunk], bodies[8 * chunk :]
            for i, (u, _, session) in enumerate(targets.values()):
                for body in warm[i * 4 * chunk : (i + 1) * 4 * chunk]:
                    session.post(u, data=body, headers=headers, timeout=30).raise_for_status()
            for i in range(pairs):
                mine = iter(bodies[i * per_pair : (i + 1) * per_pair])
                for name in ("receiver", "ok") if i % 2 == 0 else ("ok", "receiver"):
                    u, p, session = targets[name]
                    for _, body in zip(range(lead), mine, strict=False):
                        session.post(u, data=body, headers=headers, timeout=30).raise_for_status()
                    before = _process_cpu(p)
                    for _, body in zip(range(chunk), mine, strict=False):
                        session.post(u, data=body, headers=headers, timeout=30).raise_for_status()
                    per[name].append((_process_cpu(p) - before) * 1000 / chunk)
                load.append(os.getloadavg()[0])
            for *_, session in targets.values():
                session.close()
    ratios = [r / b for r, b in zip(per["receiver"], per["ok"], strict=True)]
    groups = max(1, min(rounds, pairs))
    size = pairs // groups
    old = {
        name: statistics.median(statistics.fmean(v[g * size : (g + 1) * size]) for g in range(groups))
        for name, v in per.items()
    }
    return {
        "cpu_ms_per_msg": statistics.median(per["receiver"]),
        "bare_cpu_ms_per_msg": statistics.median(per["ok"]),
        "ratio": statistics.median(ratios),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "details": {
            "method": f"{pairs} interleaved pairs of {chunk} messages (ABBA), server process CPU clock; "
            "ratio: median of the per-pair ratios",
            "n": n,
            "rounds": rounds,
            "pairs": pairs,
            "chunk": chunk,
            "bare_only": bare_only,
            "server_cpus": sorted(server_cpus) if server_cpus else None,
            "ratio_quartiles": statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3,
            "ratio_of_totals": sum(per["receiver"]) / sum(per["ok"]),
            "old_method": {
                "cpu_ms_per_msg": old["receiver"],
                "bare_cpu_ms_per_msg": old["ok"],
                "ratio": old["receiver"] / old["ok"],
                "rounds": groups,
            },
            "cpu_ms_per_msg": per,
            "loadavg_per_pair": load,
            "loadavg_per_round": [load[min(pairs, (g + 1) * size) - 1] for g in range(groups)],
        },
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
    parser.add_argument("--chunk", type=int, default=20, help="messages per side in one pair")
    parser.add_argument(
        "--bare-only",
        action="store_true",
        help="check of the method: a second bare app in the receiver's place",
    )
    parser.add_argument("--no-pin", action="store_true", help="let the scheduler place the servers")
    parser.add_argument("--in-process", action="store_true", help="the WSGI call alone, warm and cold")
    parser.add_argument("--profile", help="with --in-process: write a cProfile of the warm rounds here")
    args = parser.parse_args()
    if args.in_process:
        out = bench_in_process(args.count, args.rounds, postgresql=args.postgresql, profile=args.profile)
    else:
        out = bench_recv(
            args.count,
            args.rounds,
            postgresql=args.postgresql,
            chunk=args.chunk,
            bare_only=args.bare_only,
            pin=not args.no_pin,
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
