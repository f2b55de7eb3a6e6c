"""B2 benchmark (issue 22, round 4): retours into the ledger, library and CLI, each against its floor.

    python bench/bench_retour.py               # 10,000 files, 3 rounds
    python bench/bench_retour.py --quick       # 1,000 files, 3 rounds
    python bench/bench_retour.py --files 5000 --rounds 5

Library (``msgs_per_s``, ``vs_floor``): ``bench_b2`` of bench/run.py, unchanged: N WMO402 through
``process_retours`` (a fresh ``Ledger.open`` per batch of 500) against bare lxml parse + compiled
XSD + one ``UPDATE`` ``executemany`` per batch (raw sqlite3), the two alternating batch by batch.

``details.library_cpu`` (round 6): the same two contenders timed in CPU seconds of this process
(``time.process_time``), per retour, with the load average when taken.

CLI (``cli_msgs_per_s``, ``cli_vs_floor``): N retour files on disk (one accepted WMO402 per
pending WMO401 delivery, the ledger filled by raw inserts before timing). ieb: a fresh process
``python -m ieb retour FILE... --db DB`` (stdout and stderr to /dev/null; every file named on the
command line; bytecode caches written by an untimed first run, as an installed package has them). The floor: a fresh process running bench/floor_retour.py on the same files and a
copy of the same database (same schema, same indexes): it reads each file, parses it with bare
lxml, validates it with the compiled WMO402 XSD and applies all rows with one ``UPDATE``
``executemany`` in ONE transaction. Both are timed as wall time including interpreter start-up;
per round the two run one after the other (the order alternates per round), and the figure is the
median over rounds. ``cli_vs_floor`` = floor seconds / ieb seconds (1.0 = as fast; the target is
>= 0.4, the library's >= 0.5).

``loadavg`` is ``os.getloadavg()`` (1, 5, 15 minutes) when the figures were taken; the machine is
shared, so quote ratios from one run, never absolute rates across runs. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
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

import run as bench  # noqa: E402  (bench/run.py: b2_setup, bench_b2, workdir, TODAY)


def _env() -> dict[str, str]:
    """The children's environment: ieb importable; bytecode caches written and used as for an
    installed package (``pip install`` compiles them; PYTHONDONTWRITEBYTECODE would make every
    start compile ieb's sources again)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _schema_path() -> Path:
    from ieb.releases import get_release

    return Path(get_release("ieb-1.0").message("WMO402").schema_path)


def _files(tmp: Path, n: int) -> tuple[Path, list[Path]]:
    """A ledger template with ``n`` pending WMO401 and the folder of their ``n`` WMO402 files."""
    template = tmp / "template.sqlite"
    files = bench.b2_setup(template, n)
    folder = tmp / "retouren"
    folder.mkdir()
    paths = []
    for name, data in files:
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return template, paths


def _accepted(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("SELECT count(*) FROM deliveries WHERE outcome = 'accepted'").fetchone()[0])


def _timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        cmd, check=True, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    return time.perf_counter() - started


def run_ieb(template: Path, paths: list[Path], db: Path) -> float:
    """Seconds of ``python -m ieb retour FILE... --db DB`` on a copy of ``template``."""
    shutil.copyfile(template, db)
    seconds = _timed([sys.executable, "-m", "ieb", "retour", *map(str, paths), "--db", f"sqlite:///{db}"])
    if _accepted(db) != len(paths):
        raise RuntimeError(f"ieb retour: {_accepted(db)} of {len(paths)} accepted")
    return seconds


def run_floor(template: Path, paths: list[Path], db: Path, schema: Path) -> float:
    """Seconds of bench/floor_retour.py on a copy of ``template``."""
    shutil.copyfile(template, db)
    seconds = _timed([sys.executable, str(HERE / "floor_retour.py"), str(db), str(schema), *map(str, paths)])
    if _accepted(db) != len(paths):
        raise RuntimeError(f"floor: {_accepted(db)} of {len(paths)} accepted")
    return seconds


def bench_cli(n: int, rounds: int) -> dict[str, Any]:
    """The CLI figures: seconds per round of ieb and the floor, medians and the ratio."""
    schema = _schema_path()
    ieb_s: list[float] = []
    floor_s: list[float] = []
    with bench.workdir() as tmp:
        template, paths = _files(tmp, n)
        run_ieb(template, paths[:1], tmp / "warm.sqlite")  # untimed: bytecode caches, page cache
        run_floor(template, paths[:1], tmp / "warmf.sqlite", schema)
        for r in range(rounds):
            pair = [
                lambda r=r: ieb_s.append(run_ieb(template, paths, tmp / f"ieb{r}.sqlite")),
                lambda r=r: floor_s.append(run_floor(template, paths, tmp / f"floor{r}.sqlite", schema)),
            ]
            for step in pair if r % 2 == 0 else pair[::-1]:
                step()
    ieb, floor = statistics.median(ieb_s), statistics.median(floor_s)
    return {
        "files": n,
        "rounds": rounds,
        "ieb_s": ieb_s,
        "floor_s": floor_s,
        "cli_msgs_per_s": n / ieb,
        "floor_msgs_per_s": n / floor,
        "cli_vs_floor": floor / ieb,
    }


def library_cpu(n: int, rounds: int) -> dict[str, Any]:
    """The library figure in CPU time (round 6): ``bench_b2``'s two contenders on the same files and
    ledgers, batches of 500 alternating, timed with ``time.process_time`` (this process only, so
    less sensitive to the load of other processes than wall time). Per retour, medians over rounds."""
    ieb_s: list[float] = []
    floor_s: list[float] = []
    with bench.workdir() as tmp:
        warm = tmp / "warm.sqlite"
        bench.ieb_retours(warm, bench.b2_setup(warm, 10))  # imports and first compile: untimed
        for r in range(rounds):
            db_i, db_f = tmp / f"ieb{r}.sqlite", tmp / f"floor{r}.sqlite"
            files = bench.b2_setup(db_i, n)
            bench.b2_setup(db_f, n)
            spent = {"ieb": 0.0, "floor": 0.0}
            for c, k in enumerate(range(0, n, 500)):
                chunk = files[k : k + 500]
                steps = [("ieb", bench.ieb_retours, db_i), ("floor", bench.floor_retours, db_f)]
                for name, fn, db in steps if c % 2 == 0 else steps[::-1]:
                    started = time.process_time()
                    fn(db, chunk)
                    spent[name] += time.process_time() - started
            ieb_s.append(spent["ieb"])
            floor_s.append(spent["floor"])
    ieb, floor = statistics.median(ieb_s), statistics.median(floor_s)
    return {
        "ieb_us_per_retour": round(ieb / n * 1e6, 1),
        "floor_us_per_retour": round(floor / n * 1e6, 1),
        "vs_floor": floor / ieb,
        "loadavg": _loadavg(),
    }


def bench_b2(n: int, rounds: int, cli_files: int) -> dict[str, Any]:
    """The ``B2`` key of bench/run.py: the library figure (bench/run.py ``bench_b2``), then the CLI
    figure on ``cli_files`` files; each with the load average when it was taken."""
    out = bench.bench_b2(n, rounds)
    out["details"]["loadavg_library"] = _loadavg()
    out["details"]["library_cpu"] = library_cpu(n, rounds)
    cli = bench_cli(cli_files, max(rounds, 3))
    out["cli_msgs_per_s"] = cli["cli_msgs_per_s"]
    out["cli_vs_floor"] = cli["cli_vs_floor"]
    out["loadavg"] = _loadavg()
    out["details"]["cli"] = cli
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 files")
    parser.add_argument("--files", type=int, default=None, help="number of retours (default 10,000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cli-only", action="store_true", help="only the CLI figure")
    args = parser.parse_args(argv)
    n = args.files or (1000 if args.quick else 10_000)
    if args.cli_only:
        result: dict[str, Any] = {**bench_cli(n, args.rounds), "loadavg": _loadavg()}
    else:
        result = bench_b2(n, args.rounds, n)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
