"""Generated files of a large gemeente's size: ``ieb reconcile --format json`` gives exactly what the
generator put in, the HTML report shows it in a real browser, and the initial delivery is accepted by
the CAK simulator."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from lxml import html
from typer.testing import CliRunner

from ieb.cli import app
from ieb.migration import plan_initial, read_administratie, read_henv, read_za, reconcile
from ieb.migration.sample import Generated, generate
from ieb.simulator.cak import CakSimulator
from ieb.transport.outbox import ledger_tables, open_ledger
from tests.migrated import migrated_sqlite_url

P = dt.date(2020, 1, 1)
runner = CliRunner()
KEYS = [
    "alleen_cak",
    "alleen_gemeente",
    "beide",
    "verschillen",
    "restbedrag_cent",
    "startberichten",
    "fouten",
    "cak_regels",
]


@pytest.fixture(scope="module")
def large(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Generated, dict[str, Path], Path, dict[str, Any]]:
    generated = generate(8_500, seed=7)
    assert sum(generated.rows.values()) >= 50_000
    folder = tmp_path_factory.mktemp("groot")
    paths = generated.write(folder / "in")
    out = folder / "uit"
    result = runner.invoke(
        app,
        [
            "reconcile",
            "--henv",
            str(paths["henv"]),
            "--za",
            str(paths["za"]),
            "--administratie",
            str(paths["administratie"]),
            "--peildatum",
            "2020-01-01",
            "--out",
            str(out),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    return generated, paths, out, json.loads(result.stdout)


@pytest.mark.slow  # the 8,500-person files: about a minute
def test_json_counts_match_what_the_generator_put_in(large: Any) -> None:
    generated, _, _, summary = large
    assert list(summary) == KEYS
    summary = dict(summary)
    fouten = summary.pop("fouten")
    regels = summary.pop("cak_regels")
    expected = dict(generated.expected)
    assert len(fouten) == expected.pop("fouten")
    assert summary == expected
    # every CAK row in exactly one place, and the places the generator put them in
    assert {Path(f).stem: counts for f, counts in regels.items()} == generated.cak_regels
    for name in ("henv", "za"):
        assert sum(generated.cak_regels[name].values()) == generated.rows[name]
    for f in fouten:
        assert set(f) == {"bestand", "regel", "reden"}
        assert isinstance(f["bestand"], str) and isinstance(f["regel"], int) and f["regel"] > 1
        assert f["reden"] and not re.search(r"\b\d{9}\b", f["reden"])  # no BSN in a reason


@pytest.mark.slow  # the 8,500-person files: about a minute
def test_desired_state_file_is_read_by_the_planner(large: Any) -> None:
    from ieb.ledger.planner import read_desired

    generated, _, out, summary = large
    desired = read_desired(out / "eerste-levering.csv")
    assert sum(len(v) for v in desired.values()) == summary["startberichten"]
    assert all(p.start == P for periods in desired.values() for p in periods)
    kinds = generated.kinds
    assert {kinds[b] for b in desired} <= {
        "gelijk",
        "gelijk_kostprijs",
        "geboortedatum",
        "voorletters",
        "kostprijs",
        "periode",
        "alleen_gemeente",
    }


def _dump_dom(page: Path, tmp: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("LET OP: chromium ontbreekt; het HTML-rapport is NIET in een browser gecontroleerd")
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={tmp / 'chromium'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.decode("utf-8")


@pytest.mark.slow  # the 8,500-person files: about a minute
def test_html_report_shows_the_counts_in_a_browser(large: Any, tmp_path: Path) -> None:
    generated, _paths, out, summary = large
    dom = html.fromstring(_dump_dom(out / "afstemming.html", tmp_path))
    cards = {
        card.get("id"): card.xpath("string(.//span[@class='n'])")
        for card in dom.xpath("//div[@class='card']")
    }
    assert cards["n-alleen-cak"] == str(summary["alleen_cak"])
    assert cards["n-alleen-gemeente"] == str(summary["alleen_gemeente"])
    assert cards["n-beide"] == str(summary["beide"])
    assert cards["n-verschillen"] == str(summary["verschillen"])
    assert cards["n-startberichten"] == str(summary["startberichten"])
    assert cards["n-fouten"] == str(len(summary["fouten"]))
    # the chart: one bar per category, the count as its label, the longest bar for the largest count
    bars = dom.xpath("//svg//g[@class='bar']")
    counts = {b.get("data-categorie"): int(b.xpath("string(.//text[@class='count'])")) for b in bars}
    assert set(counts) == {"periode", "kostprijs", "restbedrag", "geboortedatum", "voorletters"}
    kinds = list(generated.kinds.values())
    assert counts["geboortedatum"] == kinds.count("geboortedatum")
    assert counts["voorletters"] == kinds.count("voorletters")
    assert counts["periode"] == kinds.count("periode")
    assert counts["kostprijs"] == counts["restbedrag"] == kinds.count("kostprijs")
    widths = {b.get("data-categorie"): float(b.xpath("string(.//rect/@width)")) for b in bars}
    assert max(widths, key=lambda k: widths[k]) == max(counts, key=lambda k: counts[k])
    # the lists: masked BSNs only, each difference with what to do
    rows = dom.xpath("//section[@id='verschillen']//tbody/tr")
    assert len(rows) == min(
        2000,
        sum(1 for k in kinds if k in {"geboortedatum", "voorletters", "periode"})
        + 2 * kinds.count("kostprijs"),
    )
    assert all(r.xpath("string(td[6])").strip() for r in rows)
    assert len(dom.xpath("//section[@id='alleen-cak']//tbody/tr")) == summary["alleen_cak"]
    text = dom.text_content()
    assert not (set(re.findall(r"\d{9}", text)) & set(generated.kinds))
    assert re.search(r"\*{6}\d{3}", text)


def test_initial_delivery_is_accepted_by_the_cak_simulator(tmp_path: Path) -> None:
    generated = generate(150, seed=3)
    result = reconcile(
        read_henv(generated.henv, name="henv.csv"),
        read_za(generated.za, name="za.csv"),
        read_administratie(generated.administratie, name="adm.csv"),
        P,
    )
    planned = plan_initial(result, open_ledger(migrated_sqlite_url(tmp_path / "gemeente.sqlite")), "0363")
    assert [m.bericht for m in planned.messages] == ["WMO401"] * generated.expected["startberichten"]
    assert any(m.delivery.kostprijs_bedrag for m in planned.messages)
    cak = CakSimulator(migrated_sqlite_url(tmp_path / "cak.sqlite"), today=P)
    verdicts = [cak.process(m.xml, source=m.filename) for m in planned.messages]
    assert [v.verdict for v in verdicts if not v.accepted] == []


def test_queue_puts_the_initial_delivery_in_the_outbox(tmp_path: Path) -> None:
    generated = generate(60, seed=5)
    paths = generated.write(tmp_path / "in")
    db = tmp_path / "gemeente.sqlite"
    args = [
        "reconcile",
        "--henv",
        str(paths["henv"]),
        "--za",
        str(paths["za"]),
        "--administratie",
        str(paths["administratie"]),
        "--peildatum",
        "2020-01-01",
        "--out",
        str(tmp_path / "uit"),
        "--queue",
        "--afzender",
        "0363",
        "--db",
        str(db),
        "--today",
        "2020-01-01",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"klaargezet in de outbox: {generated.expected['startberichten']} WMO401" in result.stdout
    outbox = ledger_tables().outbox
    with open_ledger(f"sqlite:///{db}").connect() as conn:
        rows = conn.execute(sa.select(outbox.c.payload, outbox.c.status, outbox.c.envelope)).all()
    assert len(rows) == generated.expected["startberichten"]
    assert {r.status for r in rows} == {"pending"}
    assert all(b"ggk_Di01" in r.envelope or b"Di01" in r.envelope for r in rows)
    cak = CakSimulator(migrated_sqlite_url(tmp_path / "cak.sqlite"), today=P)
    assert all(cak.process(r.payload).accepted for r in rows)
    # again: nothing new is planned or queued, and the reports are not overwritten without --force
    again = runner.invoke(app, [*args[:12], "--force", *args[12:]])
    assert again.exit_code == 0, again.output
    assert "klaargezet in de outbox: geen berichten" in again.stdout
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
