"""How fast is validation, and how fast is hostile XML refused?

    python bench/bench_validate.py [--repeat N]

Prints ratios against a baseline measured in the same run (plain lxml parse + XSD validate of the
same valid file): our full validation (parse + XSD + every rule), building + writing a message, and
refusing hostile files (DTD, entity bomb, XXE, a 26 MB file). No absolute timings are asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

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


if __name__ == "__main__":
    main()
