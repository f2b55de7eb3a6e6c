"""What starting ``ieb`` costs, next to its baselines in the same run (issue 22).

    python bench/bench_cli.py [--quick]     # prints the CLI figures of bench/run.py (JSON)

CPU seconds (user + system) of fresh processes, the best of N runs each, interleaved, so the figure
is what the process needs rather than what a busy machine adds; run with the interpreter of the venv
(``sys.executable``), so the venv need not be on PATH. No timing is asserted anywhere.

:func:`bench_cli` gives ``CLI`` of ``bench/run.py --json``::

    {"help_cpu_s": ``ieb --help``, "python_cpu_s": ``python -c pass``,
     "validate_one_cpu_s": ``ieb validate`` of one valid WMO401,
     "plugin_vs_pytest": ``import pytest`` + the ieb pytest plugin / ``import pytest`` (what the plugin
                         adds to every pytest run where ieb is installed, until a fixture is used),
     "loadavg": the 1-minute load average when measured, "details": {...}}
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests/core/samples/valid/wmo401-kostprijs.xml"


def _cpu(args: list[str]) -> float:
    """CPU seconds of one child process running ``args`` (output discarded)."""
    env = {**os.environ, "COLUMNS": "80"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_cli(quick: bool = False) -> dict[str, Any]:
    """The ``CLI`` figures (see the module text)."""
    py = sys.executable
    cases = {
        "python": [py, "-c", "pass"],
        "help": [py, "-m", "ieb", "--help"],
        "validate_one": [py, "-m", "ieb", "validate", "--today", "2026-06-01", str(SAMPLE)],
        "pytest": [py, "-c", "import pytest"],
        "pytest_plugin": [py, "-c", "import pytest, ieb.testing.plugin"],
    }
    runs = 5 if quick else 15
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(runs):
        for name, args in cases.items():
            best[name] = min(best[name], _cpu(args))
    return {
        "help_cpu_s": round(best["help"], 3),
        "python_cpu_s": round(best["python"], 3),
        "validate_one_cpu_s": round(best["validate_one"], 3),
        "plugin_vs_pytest": round(best["pytest_plugin"] / best["pytest"], 3),
        "loadavg": round(os.getloadavg()[0], 2),
        "details": {
            "runs": runs,
            "import_pytest_cpu_s": round(best["pytest"], 3),
            "import_pytest_and_plugin_cpu_s": round(best["pytest_plugin"], 3),
        },
    }


if __name__ == "__main__":
    print(json.dumps(bench_cli("--quick" in sys.argv), indent=2))
