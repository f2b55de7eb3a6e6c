"""How fast does a message travel through the whole exchange, compared with a bare HTTPS POST?

    python bench/bench_transport.py [--count N] [--workers W]
    python bench/bench_transport.py --send-workers [--count N] [--rounds R] [--latency-ms MS]
    python bench/bench_transport.py --signed-latency [--count N] [--rounds R] [--latency-ms MS]

Measured in the same run, all on 127.0.0.1 with the same test PKI and mutual TLS:

* baseline: N plain HTTPS POSTs of a Di01-sized body (keep-alive ``requests`` session, W threads) to a
  cheroot WSGI app that answers 200 at once;
* sender only: N envelopes through ``GgkClient.send`` (zeep request, Bv03 parsed) to the receiver
  (inbox insert + commit + audit before Bv03), W threads;
* demo: ``ieb demo --count N`` end to end (planner, outbox, simulator with CAK, Du01 callbacks, ledger
  retour processing), without and with fault injection.

Prints messages/second and the ratio to the baseline. No timings are asserted anywhere.

:func:`bench_send_workers` (used by ``bench/run.py`` B3, key ``workers4_vs_1``): ``ieb send``'s
path (outbox rows -> :class:`~ieb.transport.sender.Sender` with :class:`GgkClient`, leases, batched
claims and acknowledgements) with 4 workers vs 1 worker, to the receiver in its own process, on a
SQLite outbox and, when a PostgreSQL URL is given (``IEB_TEST_POSTGRES_URL``), on a PostgreSQL one;
rounds alternate. The receiver answers :data:`LATENCY_MS` (20 ms) after storing, a modelled GGk
(workers exist to overlap that wait); the same drains without latency and the loopback ceiling
(bare requests, 1 vs 4 threads, same receiver) are in ``details``. ``--send-workers`` prints that
dict as JSON.

:func:`bench_signed_at_latency` (``bench/run.py`` B3, ``details.signed_vs_unsigned_at_latency``):
the same path with 1 worker, signed vs unsigned, both receivers answering after that latency;
``--signed-latency`` prints it as JSON.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ieb.cli.transport import run_demo  # noqa: E402
from ieb.ggk import build, du01_for, new_di01, parse  # noqa: E402
from ieb.simulator.faults import FaultConfig  # noqa: E402
from ieb.testing.pki import create_test_pki  # noqa: E402
from ieb.transport.client import GgkClient, make_session  # noqa: E402
from ieb.transport.outbox import open_ledger  # noqa: E402
from ieb.transport.server import HttpsServer, Receiver  # noqa: E402
from ieb.transport.tls import TlsFiles  # noqa: E402


def _ok_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def _parallel(n: int, workers: int, fn: Callable[[int], object]) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, range(n)))
    return time.perf_counter() - started


#: the modelled GGk latency of ``workers4_vs_1`` (milliseconds before every answer): Digikoppeling
#: over the internet plus the GGk's own processing; what the sender's workers exist to overlap
LATENCY_MS = 20.0


def bench_send_workers(
    n: int, rounds: int, pg_url: str | None = None, latency_ms: float = LATENCY_MS
) -> dict[str, Any]:
    """``{"workers4_vs_1", "workers4_vs_1_postgresql", "loadavg", "details"}``: messages/second of
    a drain with 4 workers divided by one with 1 worker (medians over ``rounds``) to a receiver
    that answers ``latency_ms`` after storing (the modelled GGk), for a SQLite outbox and
    (``pg_url`` given) a PostgreSQL outbox in a fresh database; None when not measured.

    ``details[label]["loopback"]`` is the same drain to the receiver without latency, and
    ``details["loopback_ceiling"]`` bare ``requests`` from 1 vs 4 threads to that receiver in the
    same run: on loopback client and receiver are two CPU-bound processes on 2 cores, so 4 workers
    can at most overlap them (about 2x), whatever the sender does."""
    import os
    import statistics
    import uuid

    import sqlalchemy as sa

    from bench.bench_recv import _server
    from bench.run import _pki, di01s
    from ieb.transport.outbox import Outbox
    from ieb.transport.sender import Sender

    out: dict[str, Any] = {"workers4_vs_1": None, "workers4_vs_1_postgresql": None, "details": {}}
    with tempfile.TemporaryDirectory(prefix="ieb-send-") as tmp_name:
        tmp = Path(tmp_name)
        pki = _pki(tmp / "pki")
        k = pki.party("GGK")
        tls = TlsFiles(k.chain, k.key, pki.roots)
        databases: list[tuple[str, str, Callable[[], None]]] = [
            ("sqlite", f"sqlite:///{tmp / 'outbox.sqlite'}", lambda: None)
        ]
        if pg_url:
            name = "ieb_bench_" + uuid.uuid4().hex[:10]
            admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

            def drop(name: str = name) -> None:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
                admin.dispose()

            url = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
            databases.append(("postgresql", url, drop))
        with (
            _server(tmp / "pki", tmp / "receiver.sqlite", "receiver") as (recv_url, _pid),
            _server(tmp / "pki", tmp / "slow.sqlite", "receiver", latency_ms) as (slow_url, _slow),
        ):
            out["details"]["loopback_ceiling"] = _ceiling(recv_url, tls, n, rounds, di01s)
            for label, db_url, cleanup in databases:
                engine = open_ledger(db_url)
                try:
                    found: dict[str, dict[str, Any]] = {}
                    for where, target in (("latency", slow_url), ("loopback", recv_url)):
                        rates: dict[int, list[float]] = {1: [], 4: []}
                        with GgkClient(target, tls=tls, pool_maxsize=8) as client:
                            client.send(di01s(1)[0])  # TLS session, first connection
                            for r in range(rounds):
                                for workers in (1, 4) if r % 2 == 0 else (4, 1):
                                    outbox = Outbox(engine)
                                    rows = [
                                        {
                                            "envelope": env,
                                            "referentienummer": parse(env).referentienummer,
                                            "afzender": "0363",
                                            "functie": "WMO401",
                                        }
                                        for env in di01s(n)
                                    ]
                                    outbox.enqueue_many(rows)
                                    result = Sender(outbox, client).drain(workers=workers)
                                    if result.acknowledged != n:
                                        raise RuntimeError(f"{label}: {result}")
                                    rates[workers].append(n / result.seconds)
                        one, four = statistics.median(rates[1]), statistics.median(rates[4])
                        found[where] = {
                            "msgs_per_s_1": one,
                            "msgs_per_s_4": four,
                            "ratio": four / one,
                            "rounds": rates,
                            "loadavg": [round(x, 2) for x in os.getloadavg()],
                        }
                    key = "workers4_vs_1" if label == "sqlite" else "workers4_vs_1_postgresql"
                    out[key] = found["latency"]["ratio"]
                    out["details"][label] = found["latency"] | {
                        "latency_ms": latency_ms,
                        "loopback": found["loopback"],
                    }
                finally:
                    engine.dispose()
                    cleanup()
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    out["details"]["n"] = n
    out["details"]["latency_ms"] = latency_ms
    out["details"]["workers4_vs_1"] = (
        f"ieb send (Sender + GgkClient), 4 workers vs 1, to a receiver that answers {latency_ms:g} ms "
        "after storing (modelled GGk latency); loopback without latency: details[db]['loopback'], "
        "with its ceiling details['loopback_ceiling']"
    )
    return out


def bench_signed_at_latency(n: int, rounds: int, latency_ms: float = LATENCY_MS) -> dict[str, Any]:
    """``{"signed_vs_unsigned_at_latency", "msgs_per_s_signed", "msgs_per_s_unsigned", "latency_ms",
    "cpu_ms_per_msg", "n", "rounds", "loadavg"}``: ``ieb send``'s path (outbox rows -> :class:`~ieb.transport.sender.Sender`
    with :class:`GgkClient`, 1 worker, SQLite outbox) with WS-Security signing (2W-be-S: the request
    signed, the signed answer verified) vs without, each to its own receiver process answering
    ``latency_ms`` after storing (the modelled GGk of ``workers4_vs_1``; the signed one verifies the
    request and signs its answer). Rounds alternate; rates are medians, and so is
    ``cpu_ms_per_msg`` (this process + the receiver's, per message: the work, without the waits). With the GGk's latency in
    every round trip, this is the price of signing a municipality sees, unlike B3's loopback pair
    where the round trip is nothing but CPU."""
    import os
    import statistics

    from bench.bench_recv import _cpu_seconds, _server
    from bench.run import _pki, di01s
    from ieb.ggk import parse as parse_envelope
    from ieb.transport.client import WusSigning
    from ieb.transport.outbox import Outbox
    from ieb.transport.sender import Sender

    rates: dict[str, list[float]] = {"signed": [], "unsigned": []}
    cpu: dict[str, list[float]] = {"signed": [], "unsigned": []}
    with tempfile.TemporaryDirectory(prefix="ieb-send-signed-") as tmp_name:
        tmp = Path(tmp_name)
        pki = _pki(tmp / "pki")
        k = pki.party("GGK")
        tls = TlsFiles(k.chain, k.key, pki.roots)
        inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
        signing = WusSigning(k.key.read_bytes(), k.cert.read_bytes(), pki.roots.read_bytes(), inter)
        engine = open_ledger(f"sqlite:///{tmp / 'outbox.sqlite'}")
        try:
            with (
                _server(tmp / "pki", tmp / "plain.sqlite", "receiver", latency_ms) as (url, pid),
                _server(tmp / "pki", tmp / "signed.sqlite", "signed", latency_ms) as (surl, spid),
                GgkClient(url, tls=tls) as plain,
                GgkClient(surl, tls=tls, signing=signing) as signed,
            ):
                clients = {"unsigned": plain, "signed": signed}
                pids = {"unsigned": pid, "signed": spid}
                for client in clients.values():
                    client.send(di01s(1)[0])  # TLS session, first connection, chain cache
                for r in range(rounds):
                    for kind in ("signed", "unsigned") if r % 2 == 0 else ("unsigned", "signed"):
                        outbox = Outbox(engine)
                        outbox.enqueue_many(
                            [
                                {
                                    "envelope": env,
                                    "referentienummer": parse_envelope(env).referentienummer,
                                    "afzender": "0363",
                                    "functie": "WMO401",
                                }
                                for env in di01s(n)
                            ]
                        )
                        cpu0, server0 = time.process_time(), _cpu_seconds(pids[kind])
                        result = Sender(outbox, clients[kind]).drain(workers=1)
                        spent = time.process_time() - cpu0 + _cpu_seconds(pids[kind]) - server0
                        if result.acknowledged != n:
                            raise RuntimeError(f"{kind}: {result}")
                        rates[kind].append(n / result.seconds)
                        cpu[kind].append(spent * 1000 / n)
        finally:
            engine.dispose()
    signed_rate, unsigned_rate = statistics.median(rates["signed"]), statistics.median(rates["unsigned"])
    return {
        "signed_vs_unsigned_at_latency": signed_rate / unsigned_rate,
        "msgs_per_s_signed": signed_rate,
        "msgs_per_s_unsigned": unsigned_rate,
        "latency_ms": latency_ms,
        "cpu_ms_per_msg": {kind: statistics.median(v) for kind, v in cpu.items()},
        "n": n,
        "rounds": rates,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def _ceiling(
    url: str, tls: TlsFiles, n: int, rounds: int, di01s: Callable[[int], list[bytes]]
) -> dict[str, Any]:
    """Bare ``requests`` (keep-alive) posting new Di01 SOAP requests to the receiver at ``url``
    from 1 and from 4 threads: messages/second (medians) and their ratio, the most 4 senders can
    gain on this machine without latency."""
    import os
    import statistics

    from ieb.ggk import SOAP_ACTIONS

    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{SOAP_ACTIONS["ggk_Di01"]}"'}
    wrap = GgkClient(url, tls=tls)
    session = make_session(tls, pool_maxsize=4)
    rates: dict[int, list[float]] = {1: [], 4: []}
    try:
        for r in range(rounds):
            for threads in (1, 4) if r % 2 == 0 else (4, 1):
                bodies = [wrap.soap_request(e)[1] for e in di01s(n)]
                seconds = _parallel(
                    n,
                    threads,
                    lambda i, b=bodies: session.post(
                        url, data=b[i], headers=headers, timeout=30
                    ).raise_for_status(),
                )
                rates[threads].append(n / seconds)
    finally:
        session.close()
        wrap.close()
    one, four = statistics.median(rates[1]), statistics.median(rates[4])
    return {
        "requests_1": one,
        "requests_4": four,
        "ratio": four / one,
        "rounds": rates,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def b3_extra(b3: dict[str, Any], quick: bool) -> dict[str, Any]:
    """``bench/run.py`` B3 plus issue 22's keys: ``signed_vs_unsigned`` (from B3's own rounds) with
    ``details.signed_rsa_ceiling`` (the ratio two RSA-2048 signatures and verifications per round trip
    allow at that unsigned rate: :func:`bench.bench_wssec.signed_ceiling`) and ``details.rsa_ms``,
    ``workers4_vs_1`` (SQLite) and ``workers4_vs_1_postgresql`` (when ``IEB_TEST_POSTGRES_URL`` is
    set, else None) from :func:`bench_send_workers`, ``details.signed_vs_unsigned_at_latency`` (with
    ``details.signed_at_latency``: rates, load, what it means) from :func:`bench_signed_at_latency`,
    and the load average at the time."""
    import os

    b3 = dict(b3)
    b3["signed_vs_unsigned"] = b3.get("details", {}).get("signed_vs_unsigned")
    unsigned_rate = b3.get("details", {}).get("msgs_per_s", {}).get("ieb_unsigned")
    if unsigned_rate:  # the best signed_vs_unsigned two RSA signatures + verifications allow (helper sign)
        from bench.bench_wssec import rsa_costs, signed_ceiling

        rsa = rsa_costs(n=100, rounds=3)
        b3.setdefault("details", {})["signed_rsa_ceiling"] = signed_ceiling(1 / unsigned_rate, rsa)
        b3["details"]["rsa_ms"] = {"sign": rsa["rsa_sign_ms"], "verify": rsa["rsa_verify_ms"]}
    workers = bench_send_workers(
        200 if quick else 500, 1 if quick else 3, os.environ.get("IEB_TEST_POSTGRES_URL")
    )
    at_latency = bench_signed_at_latency(100 if quick else 300, 2 if quick else 4)
    b3.setdefault("details", {})["signed_vs_unsigned_at_latency"] = at_latency[
        "signed_vs_unsigned_at_latency"
    ]
    b3["details"]["signed_at_latency"] = at_latency | {
        "signed_vs_unsigned_at_latency": (
            f"ieb send (Sender + GgkClient), 1 worker, signed (2W-be-S) vs unsigned, each to a receiver "
            f"that answers {at_latency['latency_ms']:g} ms after storing (the modelled GGk latency of "
            "workers4_vs_1; the signed receiver verifies and signs too): what signing costs a "
            "municipality's send, where signed_vs_unsigned (B3's loopback pair) is CPU alone"
        ),
    }
    b3["workers4_vs_1"] = workers["workers4_vs_1"]
    b3["workers4_vs_1_postgresql"] = workers["workers4_vs_1_postgresql"]
    b3["loadavg"] = workers["loadavg"]
    b3.setdefault("details", {})["send_workers"] = workers["details"]
    return b3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--send-workers", action="store_true", help="only bench_send_workers, as JSON")
    parser.add_argument("--signed-latency", action="store_true", help="only bench_signed_at_latency, as JSON")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS)
    args = parser.parse_args()
    if args.signed_latency:
        import json

        print(json.dumps(bench_signed_at_latency(args.count, args.rounds, args.latency_ms), indent=2))
        return
    if args.send_workers:
        import json
        import os

        pg = os.environ.get("IEB_TEST_POSTGRES_URL")
        print(json.dumps(bench_send_workers(args.count, args.rounds, pg, args.latency_ms), indent=2))
        return
    n, w = args.count, args.workers
    work = Path(tempfile.mkdtemp(prefix="ieb-bench-"))
    pki = create_test_pki(work / "pki", ["0363", "GGK"])
    g, k = pki.party("0363"), pki.party("GGK")
    g_tls, k_tls = TlsFiles(g.chain, g.key, pki.roots), TlsFiles(k.chain, k.key, pki.roots)
    sample = build(
        du01_for(new_di01(b"<x>" + b"a" * 800 + b"</x>", "WMO401", "0363"), b"<y>" + b"b" * 800 + b"</y>")
    )

    with HttpsServer(_ok_app, g_tls, threads=8) as plain:
        session = make_session(k_tls, pool_maxsize=w)
        session.post(plain.url, data=sample, timeout=10)
        base = _parallel(n, w, lambda _: session.post(plain.url, data=sample, timeout=10).raise_for_status())
        session.close()

    engine = open_ledger(f"sqlite:///{work / 'receiver.sqlite'}")
    receiver = Receiver(engine, organisatie="0363", allowed_oins={k.oin})
    envelopes = [
        build(
            du01_for(new_di01(b"<x>" + b"a" * 800 + b"</x>", "WMO401", "0363"), b"<y>" + b"b" * 800 + b"</y>")
        )
        for _ in range(n)
    ]
    with (
        HttpsServer(receiver, g_tls, threads=8) as server,
        GgkClient(server.url, tls=k_tls, pool_maxsize=w) as c,
    ):
        sender = _parallel(n, w, lambda i: c.send(envelopes[i]))
    engine.dispose()

    demo = run_demo(n, workers=w)
    demo_faults = run_demo(n, workers=w, faults=FaultConfig.demo())
    rows = [
        ("baseline: plain HTTPS POST (mTLS, keep-alive)", n / base),
        ("sender -> receiver (zeep, inbox commit, Bv03)", n / sender),
        ("ieb demo end to end", n / demo.seconds),
        ("ieb demo end to end, --faults", n / demo_faults.seconds),
    ]
    print(f"{n} messages, {w} sender threads")
    for label, rate in rows:
        print(f"{label:<50} {rate:9.1f} msg/s   ratio to baseline {rate / rows[0][1]:6.3f}")
    assert demo.lost == demo_faults.lost == 0 and demo.duplicates == demo_faults.duplicates == 0


if __name__ == "__main__":
    main()
