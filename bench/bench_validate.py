"""How fast is validation, and how fast is hostile XML refused?

    python bench/bench_validate.py [--repeat N]     # the table below
    python bench/bench_validate.py --val [--quick]  # the VAL figures of bench/run.py (JSON)
    python bench/bench_validate.py --val-lib        # only vs_libxml2 (validate_bytes vs libxml2)
    python bench/bench_validate.py --val-retour     # the same for a WMO402 retour (B2's share)

Prints ratios against a baseline measured in the same run (plain lxml parse + XSD validate of the
same valid file): our full validation (parse + XSD + every rule), building + writing a message, and
refusing hostile files (DTD, entity bomb, XXE, a 26 MB file). No absolute timings are asserted.

:func:`bench_val` gives ``VAL`` of ``bench/run.py --json`` (issue 22)::

    {"vs_libxml2": validate_bytes throughput / libxml2 alone (lxml parse + compiled XSD), per WMO401,
     "cli_10k_vs_xmllint": xmllint CPU / ``ieb validate`` CPU on the same N valid files (None when
                           xmllint is not installed: Debian libxml2-utils),
     "loadavg": the 1-minute load average when measured, "details": {...}}

``details`` holds the CLI's own share (round 4): ``cli_startup_cpu_s`` (``ieb validate`` of one
file), ``cli_validate_bytes_us`` (``validate_bytes`` on the same files' bytes, in this process) and
``cli_own_us_per_file`` = (CPU on N files - CPU on one) / N - ``cli_validate_bytes_us``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

from ieb import Wmo401, to_xml, validate_bytes
from ieb.releases import get_release

ROOT = Path(__file__).resolve().parent.parent
VALID = (ROOT / "tests/core/samples/valid/wmo401-kostprijs.xml").read_bytes()
HOSTILE = {
    "dtd": (ROOT / "tests/core/samples/invalid/xml-dtd.xml").read_bytes(),
    "xxe": (ROOT / "tests/core/samples/invalid/xml-xxe.xml").read_bytes(),
    "billion-laughs": (ROOT / "tests/core/samples/invalid/xml-billion-laughs.xml").read_bytes(),
    "26MB": VALID.replace(
        b"</wmo401:Bericht>", b"<!--" + b"x" * (26 * 1024 * 1024) + b"--></wmo401:Bericht>"
    ),
}
TODAY = dt.date(2026, 6, 1)


def timeit(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    schema = get_release().message("WMO401").schema
    validate_bytes(VALID, today=TODAY)  # warm caches (schema compile, gemeente list)

    def baseline() -> bool:
        return bool(schema.validate(etree.fromstring(VALID)))

    message = Wmo401.build(
        afzender="0363",
        identificatie="B-1",
        dagtekening=TODAY,
        bsn="999900006",
        eb_start_nummer=1,
        eb_startdatum=dt.date(2026, 5, 1),
        kostprijs_bedrag=57000,
        kostprijs_startdatum=dt.date(2026, 5, 1),
    )
    base = timeit(baseline, args.repeat)
    rows = [
        ("lxml parse + XSD (baseline)", base),
        (
            "ieb validate_bytes (parse+XSD+rules)",
            timeit(lambda: validate_bytes(VALID, today=TODAY), args.repeat),
        ),
        ("ieb build + to_xml", timeit(lambda: to_xml(message), args.repeat)),
    ]
    for name, data in HOSTILE.items():
        reps = 3 if len(data) > 1_000_000 else args.repeat
        rows.append((f"refuse hostile: {name}", timeit(lambda d=data: validate_bytes(d), reps)))  # type: ignore[misc]
    print(f"{'case':40} {'ratio to baseline':>18}")
    for name, seconds in rows:
        print(f"{name:40} {seconds / base:18.2f}")


def _cpu_of(args: list[str], cwd: Path | None = None) -> float:
    """User + system CPU seconds of one child process running ``args`` (its output discarded), with
    bytecode caches written and used as for an installed package (no PYTHONDONTWRITEBYTECODE; the
    first round writes them, the figures are the best of the rounds)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=cwd, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _valid_files(folder: Path, n: int) -> list[Path]:
    """``n`` valid WMO401 files (the sample with its own Identificatie each) in ``folder``."""
    files = []
    for i in range(n):
        path = folder / f"wmo401-{i:05d}.xml"
        path.write_bytes(VALID.replace(b">AMS-0001<", f">AMS-{i:06d}<".encode()))
        files.append(path)
    return files


def _cli_vs_xmllint(files_n: int, rounds: int, details: dict[str, Any]) -> float | None:
    """``cli_10k_vs_xmllint``: xmllint CPU / ``ieb validate`` CPU on ``files_n`` valid files (None
    without xmllint), best of ``rounds`` interleaved rounds. Adds to ``details`` the CLI's own share:
    ``cli_own_us_per_file`` = (``ieb validate`` CPU on the folder - on one file) / N - the CPU of
    ``validate_bytes`` on the same files' bytes in this process (``cli_validate_bytes_us``), i.e.
    what the command adds per file (reading, discovery, results, output); each with its load."""
    xmllint = shutil.which("xmllint")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "berichten"
        folder.mkdir()
        files = _valid_files(folder, files_n)
        blobs = [f.read_bytes() for f in files]
        one = Path(tmp) / "een"
        one.mkdir()
        _valid_files(one, 1)
        base = [sys.executable, "-m", "ieb", "validate", "--today", TODAY.isoformat()]
        ieb_cpu, one_cpu, lint_cpu, vb_cpu = [], [], [], []
        for _ in range(rounds):
            ieb_cpu.append(_cpu_of([*base, str(folder)], cwd=Path(tmp)))
            one_cpu.append(_cpu_of([*base, str(one)], cwd=Path(tmp)))
            start = time.process_time()
            for blob in blobs:
                validate_bytes(blob, today=TODAY)
            vb_cpu.append(time.process_time() - start)
            if xmllint:
                schema_path = str(get_release().message("WMO401").schema_path)
                lint_cpu.append(_cpu_of([xmllint, "--noout", "--schema", schema_path, *map(str, files)]))
        details["ieb_validate_cpu_s"] = round(min(ieb_cpu), 3)
        details["cli_startup_cpu_s"] = round(min(one_cpu), 3)
        details["cli_validate_bytes_us"] = round(min(vb_cpu) / files_n * 1e6, 1)
        details["cli_own_us_per_file"] = round(
            ((min(ieb_cpu) - min(one_cpu)) - min(vb_cpu)) / files_n * 1e6, 1
        )
        details["loadavg_cli"] = round(os.getloadavg()[0], 2)
        if not (xmllint and lint_cpu):
            details["xmllint_cpu_s"] = None
            details["note"] = "xmllint not installed (Debian: libxml2-utils); cli_10k_vs_xmllint left out"
            return None
        details["xmllint_cpu_s"] = round(min(lint_cpu), 3)
        return round(min(lint_cpu) / min(ieb_cpu), 3)


#: a WMO402 retour as ``bench/run.py``'s B2 makes them (round 7: B2 validates one per retour)
RETOUR = (
    (ROOT / "tests/core/samples/valid/wmo402-accepted.xml")
    .read_bytes()
    .replace(b"AMS-0001", b"B17")
    .replace(b"2026-05-20", TODAY.isoformat().encode())
    .replace(b"2026-05-21", TODAY.isoformat().encode())
    .replace(b"CAK-77", b"CAK-17")
)


def vs_libxml2(quick: bool = False, data: bytes = VALID, bericht: str = "WMO401") -> dict[str, Any]:
    """``validate_bytes`` per valid WMO401 against libxml2 alone (lxml parse + the compiled XSD of the
    same message), in interleaved rounds: the median of the per-round ratios, the median times and
    the 1-minute load average (``python bench/bench_validate.py --val-lib`` prints this part alone;
    ``--val-retour`` the same for a WMO402 retour, :data:`RETOUR`)."""
    schema = get_release().message(bericht).schema
    if not validate_bytes(data, today=TODAY).valid:  # warm caches; the benchmark needs a valid file
        raise RuntimeError(f"the {bericht} sample is not valid")
    n, rounds = (500, 3) if quick else (3000, 7)
    lib_ratios, lib_us, ieb_us = [], [], []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(n):
            schema.validate(etree.fromstring(data))
        base = (time.process_time() - start) / n
        start = time.process_time()
        for _ in range(n):
            validate_bytes(data, today=TODAY)
        ours = (time.process_time() - start) / n
        lib_ratios.append(base / ours)
        lib_us.append(base * 1e6)
        ieb_us.append(ours * 1e6)
    return {
        "vs_libxml2": round(statistics.median(lib_ratios), 3),
        "validate_bytes_us": round(statistics.median(ieb_us), 1),
        "libxml2_us": round(statistics.median(lib_us), 1),
        "rounds": [round(r, 3) for r in lib_ratios],
        "loadavg": round(os.getloadavg()[0], 2),
    }


def bench_val(quick: bool = False) -> dict[str, Any]:
    """The ``VAL`` figures (see the module text): interleaved rounds, medians of per-round ratios."""
    lib = vs_libxml2(quick)
    load_lib = lib["loadavg"]
    files_n = 2000 if quick else 10_000
    details: dict[str, Any] = {
        "validate_bytes_us": lib["validate_bytes_us"],
        "libxml2_us": lib["libxml2_us"],
        "files": files_n,
        "loadavg_validate_bytes": round(load_lib, 2),
    }
    cli_ratio = _cli_vs_xmllint(files_n, 1 if quick else 3, details)
    return {
        "vs_libxml2": lib["vs_libxml2"],
        "cli_10k_vs_xmllint": cli_ratio,
        "loadavg": round(os.getloadavg()[0], 2),
        "details": details,
    }


if __name__ == "__main__":
    if "--val-retour" in sys.argv:
        print(json.dumps(vs_libxml2("--quick" in sys.argv, RETOUR, "WMO402"), indent=2))
    elif "--val-lib" in sys.argv:
        print(json.dumps(vs_libxml2("--quick" in sys.argv), indent=2))
    elif "--val" in sys.argv:
        print(json.dumps(bench_val("--quick" in sys.argv), indent=2))
    else:
        main()
