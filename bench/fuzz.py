"""Fuzz the payload entry points with mutated valid files and count what goes wrong.

    python bench/fuzz.py --count 1000000 [--jobs 2] [--seed 1] [--timeout 5] [--save DIR]
    python bench/fuzz.py --ceilings       # memory and time of the worst inputs per kind, per MB

Every input (a valid sample mutated by :mod:`ieb.testing.mutations`: values, structure, encodings,
DTDs, truncation, byte flips; one in ten is raw random bytes) goes through ``validate_bytes``,
``from_xml`` in its three modes and what ``ieb show`` does (``element_to_model`` on the parsed root).
Printed (JSON): inputs, ``crashes`` (an exception that is not an ``IebError``; ``validate_bytes`` may
raise nothing at all), ``hangs`` (an input taking longer than ``--timeout`` seconds),
``xsd_disagreements`` (the validator's level-1 verdict differs from the PUBLISHED XSD plus
OP179/OP192, computed outside ``ieb``), ``codec_disagreements`` (``from_xml`` parses although the
validator found a level-1/2 issue, or refuses although it found none), and inputs per second. With
``--save DIR`` each failing input is written there. Exit status 1 when any count is not 0.

The published schemas are read from ``$IEB_REFERENCE_DIR/ieb-1.0`` (default ``../shared/reference``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ieb.codec import element_to_model, from_xml  # noqa: E402
from ieb.errors import IebError, MessageInvalidError  # noqa: E402
from ieb.testing.mutations import mutate_bytes, reference_verdict  # noqa: E402
from ieb.validation import validate_bytes  # noqa: E402

SAMPLES = [p.read_bytes() for p in sorted((ROOT / "tests/core/samples").glob("*/*.xml"))]
TODAY = dt.date(2026, 6, 1)


class Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang


def _input(rng: random.Random) -> bytes:
    if rng.random() < 0.1:
        return rng.randbytes(rng.randint(0, 400))
    data = rng.choice(SAMPLES)
    for _ in range(rng.randint(1, 3)):
        data = mutate_bytes(data, rng)
    return data


def _one(data: bytes, folder: str) -> dict[str, int]:
    found = {"crashes": 0, "xsd_disagreements": 0, "codec_disagreements": 0}
    report = validate_bytes(data, today=TODAY)
    if (report.level != 1) != reference_verdict(data, folder):
        found["xsd_disagreements"] = 1
    blocking = any(i.level <= 2 for i in report.issues)
    try:
        from_xml(data, today=TODAY)
        parsed = True
    except MessageInvalidError:
        parsed = False
    if parsed == blocking:
        found["codec_disagreements"] = 1
    for mode in ("lax", "skip"):
        try:
            from_xml(data, today=TODAY, validation=mode)  # type: ignore[arg-type]
        except IebError:
            pass
    if report.root is not None and report.bericht is not None and report.level != 1:
        try:
            element_to_model(report.root)  # what `ieb show` does
        except IebError:
            pass
    return found


def worker(args: tuple[int, int, str, float, str | None]) -> dict[str, Any]:
    seed, count, folder, timeout, save = args
    rng = random.Random(seed)
    totals = {"inputs": 0, "crashes": 0, "hangs": 0, "xsd_disagreements": 0, "codec_disagreements": 0}
    examples: list[str] = []
    signal.signal(signal.SIGALRM, _alarm)
    for i in range(count):
        data = _input(rng)
        totals["inputs"] += 1
        kind = None
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            found = _one(data, folder)
            kind = next((k for k, v in found.items() if v), None)
        except Hang:
            kind = "hangs"
        except Exception:  # noqa: BLE001 - counting every escaped exception is the point
            kind = "crashes"
            if len(examples) < 5:
                examples.append(traceback.format_exc(limit=3))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if kind is not None:
            totals[kind] += 1
            if save:
                Path(save, f"{kind}-{seed}-{i}.xml").write_bytes(data)
    return {"totals": totals, "examples": examples}


_CEILING = """
import re, time, sys
sys.path.insert(0, {root!r})
from ieb.validation import validate_bytes
from ieb.xmlsafe import Limits
valid = open({sample!r}, "rb").read()
data = {expr}
open("/proc/self/clear_refs", "w").write("5")
start = time.perf_counter()
report = validate_bytes(data, limits={limits})
seconds = time.perf_counter() - start
peak = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
base = int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
print(len(data), seconds, peak, ",".join(sorted(set(report.codes))) or "valid")
"""

CEILINGS = {
    "valid WMO401 (1 KB)": ("valid", "Limits()"),
    "200k empty elements (0.8 MB), default limits": (
        "valid.replace(b'</wmo401:Client>', b'<x/>' * 200_000 + b'</wmo401:Client>')",
        "Limits()",
    ),
    "200k empty elements (0.8 MB), limits lifted": (
        "valid.replace(b'</wmo401:Client>', b'<x/>' * 200_000 + b'</wmo401:Client>')",
        "Limits(elements=10**8)",
    ),
    "2M empty elements (8 MB), limits lifted": (
        "valid.replace(b'</wmo401:Client>', b'<x/>' * 2_000_000 + b'</wmo401:Client>')",
        "Limits(elements=10**8)",
    ),
    "300k namespace declarations (8 MB)": (
        "valid.replace(b'<wmo401:Bericht ', b'<wmo401:Bericht ' + b''.join("
        "b'xmlns:p%d=\"urn:x%d\" ' % (i, i) for i in range(300_000)), 1)",
        "Limits()",
    ),
    "2M attributes in one tag (25 MB)": (
        "b'<a' + b''.join(b' a%d=\"1\"' % i for i in range(2_000_000)) + b'/>'",
        "Limits()",
    ),
    "24 MB comment": (
        "valid.replace(b'</wmo401:Client>', b'</wmo401:Client><!--' + b'x' * (24 << 20) + b'-->')",
        "Limits()",
    ),
    "24 MB whitespace": ("valid + b'\\n' * (24 << 20)", "Limits()"),
    "12 MB text in Identificatie": (
        "valid.replace(b'>AMS-0001<', b'>' + b'x' * (12 << 20) + b'<')",
        "Limits()",
    ),
}


def ceilings() -> int:
    """Each case in a fresh process: input size, seconds, peak RSS (MB) and the verdict."""
    import subprocess

    sample = str(ROOT / "tests/core/samples/valid/wmo401-start.xml")
    print(f"{'case':48} {'MB':>6} {'s':>6} {'s/MB':>6} {'peak MB':>8}  verdict")
    for name, (expr, limits) in CEILINGS.items():
        code = _CEILING.format(root=str(ROOT), sample=sample, expr=expr, limits=limits)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            print(f"{name:48} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        size, seconds, peak, verdict = out.stdout.split()
        mb = int(size) / 1_048_576
        print(
            f"{name:48} {mb:6.2f} {float(seconds):6.2f} {float(seconds) / max(mb, 0.001):6.2f} {float(peak):8.0f}  {verdict}"
        )
    return 0


def main() -> int:
    if "--ceilings" in sys.argv:
        return ceilings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds per input before it counts as a hang"
    )
    parser.add_argument("--save", help="folder for failing inputs")
    args = parser.parse_args()
    reference = Path(os.environ.get("IEB_REFERENCE_DIR", ROOT.parent / "shared" / "reference")) / "ieb-1.0"
    if not (reference / "WMO401.xsd").is_file():
        print(f"published schemas not found in {reference}; set IEB_REFERENCE_DIR", file=sys.stderr)
        return 2
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
    jobs = max(1, args.jobs)
    shares = [args.count // jobs + (1 if j < args.count % jobs else 0) for j in range(jobs)]
    tasks = [(args.seed * 1000 + j, n, str(reference), args.timeout, args.save) for j, n in enumerate(shares)]
    start = time.perf_counter()
    if jobs == 1:
        results = [worker(tasks[0])]
    else:
        with multiprocessing.Pool(jobs) as pool:
            results = pool.map(worker, tasks)
    elapsed = time.perf_counter() - start
    totals: dict[str, Any] = {}
    for r in results:
        for k, v in r["totals"].items():
            totals[k] = totals.get(k, 0) + v
    totals["seconds"] = round(elapsed, 1)
    totals["inputs_per_second"] = round(totals["inputs"] / elapsed, 1) if elapsed else None
    examples = [e for r in results for e in r["examples"]][:5]
    print(json.dumps(totals, indent=2))
    for e in examples:
        print(e, file=sys.stderr)
    bad = totals["crashes"] + totals["hangs"] + totals["xsd_disagreements"] + totals["codec_disagreements"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
