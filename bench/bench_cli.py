"""What starting ``ieb`` costs, next to its baselines in the same run (issue 22).

    python bench/bench_cli.py [--quick]     # prints the CLI figures of bench/run.py (JSON)
    python bench/bench_cli.py --compare BASE [--rounds N]   # this checkout against another one (JSON)

``--compare BASE`` runs ``ieb validate`` (10,000 valid files and one), ``ieb --help`` and xmllint, in
interleaved rounds, with this checkout's ``ieb`` and with the one in BASE (a folder holding ``ieb/``
and ``schemas/`` of another commit: ``git archive COMMIT ieb schemas | tar -x -C BASE``, used through
``PYTHONPATH``), so before/after ratios come from one run; with the load average of each round.

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
    """CPU seconds of one child process running ``args`` (output discarded). Bytecode caches are
    written and used as for an installed package (``pip install`` compiles them): without this, a
    PYTHONDONTWRITEBYTECODE in the environment made every run compile each module changed since the
    caches were last written (~8 ms for ieb/cli/_help.py alone)."""
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
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
    for args in cases.values():  # untimed: the bytecode caches, as an installed package has them
        _cpu(args)
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


def compare(base: Path, rounds: int = 3, files_n: int = 10_000) -> dict[str, Any]:
    """Before/after figures of ``--compare`` (see the module text): the best CPU seconds of each case
    for ``new`` (this checkout) and ``base``, their ratios and ``own_us_per_file`` = (CPU on N files -
    CPU on one) / N - ``validate_bytes`` CPU per file on the same bytes in this process."""
    import datetime as dt
    import shutil
    import tempfile
    import time

    from ieb.releases import get_release
    from ieb.validation import validate_bytes

    today = dt.date(2026, 6, 1)
    sample = SAMPLE.read_bytes()
    py = sys.executable
    envs = {"new": None, "base": {**os.environ, "PYTHONPATH": str(base.resolve())}}
    best: dict[str, float] = {}
    loads: list[float] = []
    xmllint = shutil.which("xmllint")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "berichten"
        folder.mkdir()
        files = []
        for i in range(files_n):
            path = folder / f"wmo401-{i:05d}.xml"
            path.write_bytes(sample.replace(b">AMS-0001<", f">AMS-{i:06d}<".encode()))
            files.append(path)
        one = Path(tmp) / "een"
        one.mkdir()
        (one / "wmo401.xml").write_bytes(sample)
        blobs = [f.read_bytes() for f in files]
        validate = [py, "-m", "ieb", "validate", "--today", today.isoformat()]
        cases = {"validate_n": [*validate, str(folder)], "validate_one": [*validate, str(one)]}
        cases["help"] = [py, "-m", "ieb", "--help"]
        for _ in range(rounds):
            for name, env in envs.items():
                for case, args in cases.items():
                    key = f"{name}.{case}"
                    best[key] = min(best.get(key, float("inf")), _cpu_env(args, env, Path(tmp)))
            if xmllint:
                schema = str(get_release().message("WMO401").schema_path)
                lint = _cpu_env([xmllint, "--noout", "--schema", schema, *map(str, files)], None, Path(tmp))
                best["xmllint"] = min(best.get("xmllint", float("inf")), lint)
            start = time.process_time()
            for blob in blobs:
                validate_bytes(blob, today=today)
            best["validate_bytes"] = min(
                best.get("validate_bytes", float("inf")), time.process_time() - start
            )
            loads.append(round(os.getloadavg()[0], 2))
    out: dict[str, Any] = {"files": files_n, "rounds": rounds, "loadavg": loads}
    for name in envs:
        own = (best[f"{name}.validate_n"] - best[f"{name}.validate_one"] - best["validate_bytes"]) / files_n
        out[name] = {
            "validate_n_cpu_s": round(best[f"{name}.validate_n"], 3),
            "validate_one_cpu_s": round(best[f"{name}.validate_one"], 3),
            "help_cpu_s": round(best[f"{name}.help"], 3),
            "own_us_per_file": round(own * 1e6, 1),
            "vs_xmllint": round(best["xmllint"] / best[f"{name}.validate_n"], 3) if xmllint else None,
        }
    out["xmllint_cpu_s"] = round(best["xmllint"], 3) if xmllint else None
    out["validate_bytes_us"] = round(best["validate_bytes"] / files_n * 1e6, 1)
    return out


def _cpu_env(args: list[str], env: dict[str, str] | None, cwd: Path) -> float:
    """CPU seconds of one child process (output discarded), with ``env`` (None: this one's), bytecode
    caches written and used as for an installed package (no PYTHONDONTWRITEBYTECODE)."""
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env, cwd=cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


if __name__ == "__main__":
    if "--compare" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
        print(json.dumps(compare(Path(sys.argv[sys.argv.index("--compare") + 1]), rounds), indent=2))
    else:
        print(json.dumps(bench_cli("--quick" in sys.argv), indent=2))
