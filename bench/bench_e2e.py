"""E2E benchmark (issue 22): ``ieb plan FILE --queue`` as a process, against the floor as a process.

    python bench/bench_e2e.py                  # 100,000 clients, ieb and the floor side by side
    python bench/bench_e2e.py --clients 5000   # smaller
    python bench/bench_e2e.py --million        # also peak RSS of ieb at 1,000,000 clients
    python bench/bench_e2e.py --rounds 3       # three pairs, alternating which runs first (medians)

ieb: a fresh ``python -m ieb plan gewenst.csv --queue`` (stdout to /dev/null) on an empty SQLite
database (schema made before timing), ``release = "ieb-1.0"`` in its ieb.toml; wall time and peak
RSS (VmHWM of the child, read from /proc at its exit). The floor: a fresh process that reads the
same CSV with :mod:`csv`, builds each WMO401 with bare lxml, validates it with the compiled XSD,
wraps it in a Di01 envelope validated against the StUF-GGk XSD and inserts deliveries, numbers,
outbox and audit rows with raw sqlite3 ``executemany`` into the same schema (``Floor`` in
bench/run.py, one transaction per gemeente). ``vs_floor`` = floor seconds / ieb seconds (1.0 = as
fast; the target is >= 0.5).

Clients: the 9999xxxxx test range holds about 9,090 BSNs that pass the 11-proef, so clients are
spread over gemeenten, 8,000 per gemeente (``clients`` in bench/run.py): 100,000 clients are 13
gemeenten, 1,000,000 are 125 gemeenten of the bundled CBS list, each with the same 8,000 test BSNs
(one person per gemeente and BSN: a valid desired state).

The two run one after the other, so a change of the machine's load between them moves the wall
ratio: ``details`` also gives the CPU seconds (user + system, ``getrusage(RUSAGE_CHILDREN)``) of
each child and their ratio ``cpu_vs_floor``, and ``--rounds N`` alternates the order (medians).

Returns the JSON of bench/run.py: ``E2E`` {clients, s, floor_s, vs_floor, peak_rss_mb, loadavg}
and (``--million`` / the full run) ``E2E_1M`` {clients, peak_rss_mb, s, loadavg}; ``loadavg`` is
``os.getloadavg()`` when each figure was taken. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import run as bench  # noqa: E402  (bench/run.py: clients, Floor, peak_rss_kb, workdir)


def write_desired(path: Path, n: int) -> list[str]:
    """Write the desired state of ``n`` clients (gemeente,bsn,start) and return the gemeenten."""
    pairs = bench.clients(n)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("gemeente,bsn,start\n")
        for afz, bsn in pairs:
            fh.write(f"{afz},{bsn},{bench.START.isoformat()}\n")
    return sorted({afz for afz, _ in pairs})


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def child_ieb(config: str, desired: str, rss_out: str) -> int:
    """In a fresh process: ``ieb plan DESIRED --queue`` (the CLI, stdout to /dev/null), then write
    this process's peak RSS (kB) to ``rss_out``."""
    from ieb.cli import app

    code = 0
    with open(os.devnull, "w") as null:
        sys.stdout = null
        try:
            app(
                ["plan", desired, "--queue", "--config", config, "--today", bench.TODAY.isoformat()],
                standalone_mode=False,
            )
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            sys.stdout = sys.__stdout__
    Path(rss_out).write_text(str(bench.peak_rss_kb()))
    return code


def child_floor(db: str, desired: str) -> int:
    """In a fresh process: the floor (bench/run.py ``Floor``) on the rows of ``desired``."""
    import csv

    with open(desired, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        pairs = [(row[0], row[1]) for row in reader]
    bench.Floor().delivery(Path(db), pairs)
    return 0


def _child_cpu() -> float:
    """User + system CPU seconds of this process's finished (waited-for) children so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run_ieb(tmp: Path, desired: Path, gemeenten: list[str], name: str) -> tuple[float, float, int, float]:
    db = tmp / f"{name}.sqlite"
    bench.open_db(db).dispose()  # the schema is made before timing, as for the floor
    config = tmp / f"{name}.toml"
    config.write_text(
        f'database = "sqlite:///{db}"\nrelease = "ieb-1.0"\ngemeenten = {json.dumps(gemeenten)}\n'
    )
    rss = tmp / f"{name}.rss"
    cpu = _child_cpu()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child-ieb", str(config), str(desired), str(rss)],
        check=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    cpu = _child_cpu() - cpu
    import sqlite3

    with sqlite3.connect(db) as con:
        queued = int(con.execute("SELECT count(*) FROM outbox").fetchone()[0])
    db.unlink()
    return seconds, float(rss.read_text()) / 1024, queued, cpu


def _run_floor(tmp: Path, desired: Path) -> tuple[float, float]:
    """The floor as a process: (wall seconds, CPU seconds of the child)."""
    db = tmp / "floor.sqlite"
    db.unlink(missing_ok=True)
    bench.open_db(db).dispose()
    cpu = _child_cpu()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child-floor", str(db), str(desired)],
        check=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    cpu = _child_cpu() - cpu
    db.unlink()
    return seconds, cpu


def bench_e2e(clients: int = 100_000, million: bool = False, rounds: int = 1) -> dict[str, Any]:
    """The ``E2E`` (and with ``million`` the ``E2E_1M``) keys of bench/run.py's JSON.

    ``rounds`` pairs, alternating which of the two runs first (floor first in odd rounds); ``s`` and
    ``floor_s`` are the medians of the rounds' wall times (one round: the two runs). ``details``
    adds the CPU seconds (user + system) of the children, ``cpu_vs_floor`` (floor CPU / ieb CPU:
    what the machine's load changes least) and each round's figures with its load averages."""
    out: dict[str, Any] = {}
    with bench.workdir() as tmp:
        desired = tmp / "gewenst.csv"
        gemeenten = write_desired(desired, clients)
        per_round: list[dict[str, Any]] = []
        rss = 0.0
        for k in range(rounds):
            if k % 2 == 0:
                floor_s, floor_cpu = _run_floor(tmp, desired)
                floor_load = _loadavg()
                s, rss_k, queued, cpu = _run_ieb(tmp, desired, gemeenten, "ieb")
                load = _loadavg()
            else:
                s, rss_k, queued, cpu = _run_ieb(tmp, desired, gemeenten, "ieb")
                load = _loadavg()
                floor_s, floor_cpu = _run_floor(tmp, desired)
                floor_load = _loadavg()
            if queued != clients:
                raise RuntimeError(f"ieb queued {queued} messages for {clients} clients")
            rss = max(rss, rss_k)
            per_round.append(
                {
                    "s": round(s, 2),
                    "floor_s": round(floor_s, 2),
                    "vs_floor": round(floor_s / s, 3),
                    "cpu_s": round(cpu, 2),
                    "floor_cpu_s": round(floor_cpu, 2),
                    "cpu_vs_floor": round(floor_cpu / cpu, 3),
                    "loadavg": load,
                    "floor_loadavg": floor_load,
                    "ieb_first": k % 2 == 1,
                }
            )
        s = statistics.median(r["s"] for r in per_round)
        floor_s = statistics.median(r["floor_s"] for r in per_round)
        cpu = statistics.median(r["cpu_s"] for r in per_round)
        floor_cpu = statistics.median(r["floor_cpu_s"] for r in per_round)
        out["E2E"] = {
            "clients": clients,
            "s": round(s, 2),
            "floor_s": round(floor_s, 2),
            "vs_floor": round(floor_s / s, 3),
            "peak_rss_mb": round(rss, 1),
            "loadavg": per_round[-1]["loadavg"],
            "details": {
                "floor_loadavg": per_round[-1]["floor_loadavg"],
                "gemeenten": len(gemeenten),
                "cpu_s": round(cpu, 2),
                "floor_cpu_s": round(floor_cpu, 2),
                "cpu_vs_floor": round(floor_cpu / cpu, 3),
                "rounds": per_round,
            },
        }
        desired.unlink()
        if million:
            big = tmp / "miljoen.csv"
            gemeenten = write_desired(big, 1_000_000)
            s, rss, queued, cpu = _run_ieb(tmp, big, gemeenten, "ieb-1m")
            out["E2E_1M"] = {
                "clients": 1_000_000,
                "peak_rss_mb": round(rss, 1),
                "s": round(s, 1),
                "loadavg": _loadavg(),
                "details": {"queued": queued, "gemeenten": len(gemeenten), "cpu_s": round(cpu, 1)},
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="also ieb's peak RSS at 1,000,000 clients")
    parser.add_argument(
        "--rounds", type=int, default=1, help="pairs, alternating which runs first (medians reported)"
    )
    parser.add_argument("--child-ieb", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-floor", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_ieb:
        return child_ieb(*args.child_ieb)
    if args.child_floor:
        return child_floor(*args.child_floor)
    if args.rounds < 1:
        parser.error("--rounds is at least 1")
    print(json.dumps(bench_e2e(args.clients, args.million, args.rounds), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
