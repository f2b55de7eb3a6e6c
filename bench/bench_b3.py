"""B3 client CPU per send, one thread: ``GgkClient.send`` vs bare ``requests`` to the same receiver.

    python bench/bench_b3.py [--count N] [--rounds R] [--signed] [--profile FILE]

The receiver (``bench/_receiver.py``, mode ``receiver`` or ``signed``) runs in its own process;
this process is the client only. Per round both contenders post N new Di01 in alternating chunks
of 20 (the same shape as ``bench/run.py`` B3): ieb ``client.send(stored bytes)`` and bare
``requests`` posting the SOAP bytes ieb would post, built outside the timing, with the check
``b"Bv03Bericht" in content``. Measured per contender: the client thread's CPU
(``time.thread_time``: what each costs this process, whatever the load) and wall. Prints JSON with
medians per message and the load average. ``--profile FILE`` runs the ieb sends under
cProfile with the thread CPU clock and writes ``pstats`` to FILE (the bare requests
posts to FILE.floor). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def bench_client(
    count: int, rounds: int, *, signed: bool = False, profile: str | None = None
) -> dict[str, Any]:
    """``{"ieb_cpu_ms", "requests_cpu_ms", "cpu_ratio", "ieb_wall_ms", "requests_wall_ms",
    "wall_ratio", "loadavg"}``: medians over ``rounds`` of the per-message CPU / wall (ms);
    ``cpu_ratio`` = requests / ieb (>= 1 is ieb cheaper), likewise ``wall_ratio`` (a rate ratio)."""
    from bench.run import _pki, di01s, receiver, workdir
    from ieb.ggk import SOAP_ACTIONS
    from ieb.ggk import parse as parse_envelope
    from ieb.transport.client import GgkClient, WusSigning, make_session
    from ieb.transport.tls import TlsFiles

    cpu: dict[str, list[float]] = {"ieb": [], "requests": []}
    wall: dict[str, list[float]] = {"ieb": [], "requests": []}
    prof = cProfile.Profile(time.thread_time) if profile else None
    fprof = cProfile.Profile(time.thread_time) if profile else None
    load = [os.getloadavg()[0]]
    with workdir() as tmp:
        pki = _pki(tmp / "pki")
        k = pki.party("GGK")
        tls = TlsFiles(k.chain, k.key, pki.roots)
        signing = None
        if signed:
            inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
            signing = WusSigning(k.key.read_bytes(), k.cert.read_bytes(), pki.roots.read_bytes(), inter)
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{SOAP_ACTIONS["ggk_Di01"]}"'}
        mode = "signed" if signed else "receiver"
        with (
            receiver(tmp / "pki", tmp / "r.sqlite", mode) as url,
            GgkClient(url, tls=tls, signing=signing) as client,
        ):
            session = make_session(tls)

            def post(body: bytes) -> None:
                answer = session.post(url, data=body, headers=headers, timeout=30)
                answer.raise_for_status()
                if b"Bv03Bericht" not in answer.content:
                    raise RuntimeError(answer.content[:300].decode(errors="replace"))

            client.send(di01s(1)[0])
            post(client.soap_request(parse_envelope(di01s(1)[0]))[1])
            for _ in range(rounds):
                envs = di01s(count)
                bodies = [client.soap_request(parse_envelope(e))[1] for e in di01s(count)]
                spent_cpu = {"ieb": 0.0, "requests": 0.0}
                spent_wall = {"ieb": 0.0, "requests": 0.0}
                for c, start in enumerate(range(0, count, 20)):
                    order = ("ieb", "requests") if c % 2 == 0 else ("requests", "ieb")
                    for name in order:
                        t0, w0 = time.thread_time(), time.perf_counter()
                        if name == "ieb":
                            if prof is not None:
                                prof.enable()
                            for env in envs[start : start + 20]:
                                client.send(env)
                            if prof is not None:
                                prof.disable()
                        else:
                            if fprof is not None:
                                fprof.enable()
                            for body in bodies[start : start + 20]:
                                post(body)
                            if fprof is not None:
                                fprof.disable()
                        spent_cpu[name] += time.thread_time() - t0
                        spent_wall[name] += time.perf_counter() - w0
                for name in cpu:
                    cpu[name].append(spent_cpu[name] / count * 1000)
                    wall[name].append(spent_wall[name] / count * 1000)
            session.close()
    load.append(os.getloadavg()[0])
    if prof is not None and profile:
        prof.dump_stats(profile)
        assert fprof is not None
        fprof.dump_stats(profile + ".floor")
    med = {
        f"{n}_{k}_ms": statistics.median(v) for k, d in (("cpu", cpu), ("wall", wall)) for n, v in d.items()
    }
    return {
        **{k: round(v, 4) for k, v in med.items()},
        "cpu_ratio": round(med["requests_cpu_ms"] / med["ieb_cpu_ms"], 3),
        "wall_ratio": round(med["requests_wall_ms"] / med["ieb_wall_ms"], 3),
        "signed": signed,
        "count": count,
        "rounds": rounds,
        "loadavg": [round(x, 2) for x in load],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--signed", action="store_true")
    parser.add_argument("--profile", metavar="FILE")
    args = parser.parse_args()
    print(json.dumps(bench_client(args.count, args.rounds, signed=args.signed, profile=args.profile)))


if __name__ == "__main__":
    main()
