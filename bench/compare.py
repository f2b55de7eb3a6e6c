"""Two ``bench/run.py --json`` results side by side, as a Markdown table (for docs/performance.md).

    python bench/compare.py before.json after.json

Only the contract's figures and a few details; the ratios are each run's own (ieb divided by the
baseline measured in the same run), so runs on a busier or quieter machine stay comparable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Row = tuple[str, Callable[[dict[str, Any]], float], str]

ROWS: list[Row] = [
    ("B1 initial delivery to the outbox, msgs/s", lambda r: r["B1"]["msgs_per_s"], "{:.0f}"),
    ("B1 vs floor (lxml + XMLSchema + raw sqlite3)", lambda r: r["B1"]["vs_floor"], "{:.2f}x"),
    ("B1 build + to_xml + validate vs xsdata", lambda r: r["B1"]["vs_xsdata"], "{:.2f}x"),
    (
        "B1 build + to_xml + validate vs bare lxml",
        lambda r: r["B1"]["details"]["in_memory_vs_floor"],
        "{:.2f}x",
    ),
    ("B2 retours applied, msgs/s", lambda r: r["B2"]["msgs_per_s"], "{:.0f}"),
    ("B2 vs floor (lxml parse + XSD + UPDATE)", lambda r: r["B2"]["vs_floor"], "{:.2f}x"),
    ("B3 send to the receiver, msgs/s", lambda r: r["B3"]["msgs_per_s"], "{:.0f}"),
    ("B3 vs bare requests (same bytes)", lambda r: r["B3"]["vs_requests"], "{:.2f}x"),
    ("B3 vs plain zeep", lambda r: r["B3"]["vs_zeep"], "{:.2f}x"),
    ("B3 signed, msgs/s", lambda r: r["B3"]["signed_msgs_per_s"], "{:.1f}"),
    ("B4 peak RSS at 1,000, MB", lambda r: r["B4"]["peak_rss_mb"]["1000"], "{:.0f}"),
    (
        "B4 growth per message in one plan(), KB",
        lambda r: r["B4"]["details"]["rss_growth_kb_per_message"],
        "{:.2f}",
    ),
    ("B4 ledger bytes per message", lambda r: r["B4"]["bytes_per_message"], "{:.0f}"),
    ("B5 plan one person, empty ledger, ms", lambda r: r["B5"]["plan_one_ms"]["0"], "{:.1f}"),
    ("B5 plan one person, 1k-start ledger, ms", lambda r: r["B5"]["plan_one_ms"]["1000"], "{:.1f}"),
    ("B5 plan one person, 100k-start ledger, ms", lambda r: r["B5"]["plan_one_ms"]["100000"], "{:.1f}"),
    (
        "B5 plan 200 persons, 100k-start ledger, ms",
        lambda r: r["B5"]["details"]["plan_200_ms"]["100000"],
        "{:.0f}",
    ),
]


def cell(result: dict[str, Any], get: Callable[[dict[str, Any]], float], fmt: str) -> str:
    try:
        return fmt.format(get(result))
    except (KeyError, TypeError, ZeroDivisionError):
        return "-"


def main() -> None:
    before, after = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    print("| figure | before | after |")
    print("|---|---:|---:|")
    for label, get, fmt in ROWS:
        print(f"| {label} | {cell(before, get, fmt)} | {cell(after, get, fmt)} |")


if __name__ == "__main__":
    main()
