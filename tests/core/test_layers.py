"""House order: the models, the release registry and the packs do not import the validator; the
codec imports it at module level (no lookup by name)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parent / "samples" / "valid" / "wmo401-start.xml"


@pytest.mark.parametrize(
    "module", ["ieb.releases", "ieb.releases.ieb_1_0", "ieb.messages", "ieb.values", "ieb.dates"]
)
def test_low_layers_do_not_import_validation(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('ieb.validation')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_codec_imports_the_validator_without_lookup_by_name() -> None:
    source = (Path(__file__).parents[2] / "ieb" / "codec.py").read_text(encoding="utf-8")
    assert "importlib" not in source and "from ieb.validation import validate_bytes" in source


def test_from_xml_finds_the_validator_by_itself() -> None:
    code = (
        "import sys, pathlib, ieb.codec as c\n"
        f"data = pathlib.Path({str(SAMPLE)!r}).read_bytes()\n"
        "import datetime as dt\n"
        "print(c.from_xml(data, today=dt.date(2026, 6, 1)).bericht)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "WMO401"


def test_one_month_arithmetic() -> None:
    import ieb.dates
    import ieb.validation.rules

    assert ieb.validation.rules.add_months is ieb.dates.add_months
