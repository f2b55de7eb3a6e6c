"""``ieb report`` shows the open Wlz signals, their age and the decisions, rendered in headless
Chromium (skipped loudly when no Chromium is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.testing.demo import demo_bsns

B = demo_bsns(4)


def test_the_report_page_shows_the_wlz_signals_in_headless_chromium(tmp_path: Path) -> None:
    chromium = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
    )
    if chromium is None:
        pytest.skip(
            "LET OP: chromium ontbreekt; de Wlz-signalen in het HTML-rapport zijn niet in een browser getoond"
        )
    config = tmp_path / "ieb.toml"
    config.write_text('database = "ieb.sqlite"\ngemeenten = ["0363"]\n')
    (tmp_path / "gewenst.csv").write_text("bsn;start\n" + "".join(f"{b};2026-01-01\n" for b in B[:3]))
    (tmp_path / "s.csv").write_text(
        "bsn;naam;ingangsdatum\n" + "".join(f"{b};<b>Naam {i}</b>;01-05-2026\n" for i, b in enumerate(B))
    )
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> None:
        result = runner.invoke(app, [*args, "--config", str(config)])
        assert result.exit_code == code, result.output

    run("plan", str(tmp_path / "gewenst.csv"), "--queue", "--today", "2026-06-01")
    run("wlz", "signalen", str(tmp_path / "s.csv"), "--ontvangen", "2026-06-05")
    run("wlz", "besluit", B[0], "--akkoord")
    out = tmp_path / "rapport.html"
    run("report", "--out", str(out), "--today", "2026-06-15")
    dom = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--dump-dom",
            out.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert '<section id="wlz">' in dom, dom[:2000]
    assert re.search(r'id="wlz-open">2<', dom) and re.search(r'id="wlz-besloten">1<', dom)
    assert re.search(r'id="wlz-geen">1<', dom)  # the fourth person has no eigen bijdrage
    assert dom.count('class="wlz-open"') == 2 and "(oudste 10 dagen)" in dom
    assert dom.count('class="wlz-besluit"') == 1 and "2026-04-30" in dom  # the accepted stop
    assert B[1][-3:] in dom and not any(b in dom for b in B)  # masked BSNs
    assert "Naam" not in dom  # names are never shown
    assert "https://" not in dom and "<script" not in dom
