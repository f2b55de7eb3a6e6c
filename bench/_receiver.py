"""Child process of bench/run.py B3: the gemeente's receiver (or a bare 200-OK app) over mutual TLS.

    python bench/_receiver.py PKI_DIR DB_PATH MODE [DELAY_MS]   (MODE: receiver | signed | ok)

Prints the URL on stdout, then serves until stdin closes. Runs in its own process so that the
client's CPU and the server's CPU are not measured in one interpreter (2 cores, GIL).
``DELAY_MS`` (default 0) models the GGk's latency (Digikoppeling over the internet, the GGk's own
processing): every answer waits that long after the request was handled (stored and committed)
before it leaves. Bench only; the production receiver never waits.

With ``IEB_BENCH_PROFILE=FILE`` in the environment every thread of this process runs under
``cProfile`` with each thread's own CPU clock (``time.thread_time``: waiting is not counted) and the merged statistics are written to ``FILE`` (``pstats`` format) when the server
stops: where the receiver's CPU goes (``python -m pstats FILE``). With ``IEB_BENCH_STAGES=FILE`` the
steps of ``bench.bench_wssec.STAGES`` are timed (thread CPU) and ``{step: [calls, seconds]}`` is
written to ``FILE`` as JSON when the server stops (``bench_wssec.py --stages``). Both off by default.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ieb.transport.client import WusSigning
from ieb.transport.outbox import open_ledger
from ieb.transport.server import HttpsServer, Receiver
from ieb.transport.tls import TlsFiles


def _ok_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def _delayed(app: Any, seconds: float) -> Any:
    """``app`` whose every answer leaves ``seconds`` after the request was handled."""

    def delayed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = app(environ, start_response)
        time.sleep(seconds)
        return answer  # type: ignore[no-any-return]

    return delayed


class _Snapshot:
    """What ``pstats.Stats`` reads from a profile, without disabling it (it belongs to another thread)."""

    def __init__(self, stats: dict[Any, Any]) -> None:
        self.stats = stats

    def create_stats(self) -> None:
        pass


def _profile_threads(path: str) -> Callable[[], None]:
    """Run every thread started from now on (and this one) under ``cProfile``; the returned
    function writes the merged statistics to ``path``."""
    import cProfile
    import pstats

    profiles: list[cProfile.Profile] = []
    bootstrap = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def profiled(thread: threading.Thread) -> None:  # cheroot's workers override run(): wrap below it
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.runcall(bootstrap, thread)

    threading.Thread._bootstrap_inner = profiled  # type: ignore[attr-defined]
    main_profile = cProfile.Profile(time.thread_time)
    profiles.append(main_profile)
    main_profile.enable()

    def dump() -> None:
        main_profile.disable()
        stats = pstats.Stats(main_profile)
        for profile in profiles[1:]:
            profile.snapshot_stats()  # a thread may still run: what it has so far, left enabled
            stats.add(_Snapshot(profile.stats))  # type: ignore[attr-defined]
        stats.dump_stats(path)

    return dump


def main() -> None:
    profile_to = os.environ.get("IEB_BENCH_PROFILE")
    dump = _profile_threads(profile_to) if profile_to else None
    stages_to = os.environ.get("IEB_BENCH_STAGES")
    stages = None
    if stages_to:
        from bench.bench_wssec import stage_timers

        stages = stage_timers()
    pki_dir, db_path, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    delay = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0.0
    try:  # the test PKI helper may live in ieb.testing (newer) or ieb.transport (older)
        from ieb.testing.pki import load_test_pki  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from ieb.testing.pki import load_test_pki
    pki = load_test_pki(pki_dir)
    g, k = pki.party("0363"), pki.party("GGK")
    tls = TlsFiles(g.chain, g.key, pki.roots)
    app: Any
    if mode == "ok":
        app = _ok_app
    else:
        engine = open_ledger(db_path if "://" in db_path else f"sqlite:///{db_path}")  # a URL: PostgreSQL
        signing = None
        if mode == "signed":
            roots = pki.roots.read_bytes()
            inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
            signing = WusSigning(g.key.read_bytes(), g.cert.read_bytes(), roots, inter)
        app = Receiver(
            engine,
            organisatie="0363",
            allowed_oins={k.oin},
            signing=signing,
            require_signature=mode == "signed",
        )
    if delay > 0:
        app = _delayed(app, delay)
    with HttpsServer(app, tls, threads=8) as server:
        print(server.url, flush=True)
        sys.stdin.read()
    if dump is not None:
        dump()
    if stages is not None and stages_to:
        Path(stages_to).write_text(json.dumps(stages))


if __name__ == "__main__":
    main()
