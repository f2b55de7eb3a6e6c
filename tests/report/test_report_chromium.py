"""The year-long soak of three gemeenten (tests/report/soak.py) and its ``ieb report`` page as
headless Chromium renders and measures it (tests/report/chromium.py: skipped loudly without
Chromium): every month visible, rejections resolved, nothing clipped, Dutch words, gemeente names,
the late list summarised, incidents, and a CSV per list."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.exchange import Exchange
from ieb.report import write_report
from tests.report import soak
from tests.report.chromium import dump_dom, measure

MONTHS = [f"{soak.YEAR}-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory, soak_year: soak.Soak) -> Iterator[soak.Soak]:
    yield soak.copy(soak_year, tmp_path_factory.mktemp("soak") / "year")


@pytest.fixture(scope="module")
def page(year: soak.Soak) -> Path:
    ex = Exchange(year.config)
    try:
        return write_report(ex, year.db.parent / "rapport.html", today=soak.PEILDATUM)
    finally:
        ex.close()


@pytest.fixture(scope="module")
def probe(page: Path) -> dict[str, Any]:
    return measure(page)


def _csv(link: dict[str, str]) -> list[list[str]]:
    head, _, data = link["href"].partition(",")
    assert head == "data:text/csv;charset=utf-8"
    text = urllib.parse.unquote(data)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_year_resolves_the_rejections_that_were_fixed(year: soak.Soak) -> None:
    ex = Exchange(year.config)
    try:
        status = ex.status(today=soak.PEILDATUM)
    finally:
        ex.close()
    # March (Rotterdam, 8848) and June ('s-Gravenhage, S300) were fixed the month after; December's
    # 8848 for Amsterdam is still open at the peildatum
    assert status.rejections == {"open": 7, "resolved": 14}, status.rejections
    assert {(w["gemeente"], w["code"]) for w in status.still_wrong} == {year.expect_open}
    assert status.per_gemeente["0599"]["rejections_resolved"] == 7
    assert status.per_gemeente["0518"]["rejections_resolved"] == 7
    assert status.per_gemeente["0363"]["rejections_open"] == 7
    assert all("Dagtekening" in w["advice"] and w["gemeente_naam"] == "Amsterdam" for w in status.still_wrong)
    # lateness by Dagtekening: the three late starts of the initial load and one a month after,
    # per gemeente; the acknowledgement times (machine clock) are not used
    assert status.overdue == 3 * (3 + 11) + 10, status.overdue
    assert {x["kind"] for x in status.overdue_list} == {"queued_late"}


def test_every_month_is_visible_and_not_flattened_by_the_initial_load(probe: dict[str, Any]) -> None:
    months = probe["months"]
    assert sorted(months) == MONTHS, sorted(months)
    heights = [months[m]["height"] for m in MONTHS]
    assert all(months[m]["total"] > 0 for m in MONTHS)
    assert min(heights) >= 20 and min(heights) >= 0.4 * max(heights), heights
    assert months[MONTHS[0]]["total"] > 5 * months[MONTHS[1]]["total"]  # the initial load is big


def test_nothing_is_clipped_and_the_legend_fits(probe: dict[str, Any]) -> None:
    assert probe["clipped"] == [], probe["clipped"]
    assert probe["svg_outside"] == [] and probe["svg_overlap"] == [], (
        probe["svg_outside"],
        probe["svg_overlap"],
    )
    assert probe["page_width"] <= probe["window_width"]
    assert [x["text"] for x in probe["legend"]] == [
        "geaccepteerd",
        "wacht op retour",
        "afgewezen",
        "technisch afgekeurd",
        "niet beoordeeld",
    ]
    assert all(x["inside"] and x["fits"] for x in probe["legend"]), probe["legend"]


def test_the_page_speaks_dutch_names_gemeenten_and_summarises(probe: dict[str, Any], year: soak.Soak) -> None:
    text = probe["text"]
    for word in ("pending", "acknowledged", "dead letter", "rejected", "accepted", "outbox"):
        assert word not in text.lower(), word
    for name in ("Amsterdam (0363)", "'s-Gravenhage (0518)", "Rotterdam (0599)"):
        assert name in text
    assert re.search(rf"\b{soak.YEAR}-W\d\d\b", text)  # weeks carry their year
    assert "Nog fout: 7 persoon/personen" in text and "verzending vertraagd" in text
    # the late list is a summary and the ten newest, not every start: the page stays short
    assert text.count("te laat klaargezet") <= 10 + 3 + 2, text.count("te laat klaargezet")
    assert probe["page_height"] < 6000, probe["page_height"]
    for people in year.persons.values():
        assert not any(b in text for b in people)  # BSNs masked


def test_each_list_exports_as_csv(probe: dict[str, Any], year: soak.Soak) -> None:
    links = {x["name"]: _csv(x) for x in probe["links"]}
    assert set(links) == {
        "per-gemeente.csv",
        "per-maand.csv",
        "nog-fout.csv",
        "retourcodes.csv",
        "te-laat.csv",
        "storingen.csv",
        "niet-afgeleverd.csv",
        "weken.csv",
        "wacht-op-retour.csv",
    }
    assert len(links["nog-fout.csv"]) == 1 + 7 and links["nog-fout.csv"][1][4] == "8848"
    assert len(links["te-laat.csv"]) == 1 + 52
    assert [r[0] for r in links["per-maand.csv"][1:]] == MONTHS
    assert len(links["per-gemeente.csv"]) == 1 + 3
    every = repr(links)
    for people in year.persons.values():
        assert not any(b in every for b in people)


def test_the_page_itself_runs_no_script_and_fetches_nothing(page: Path) -> None:
    dom = dump_dom(page)
    assert 'id="chart"' in dom and "<script" not in dom
    assert "http://" not in dom.replace("http://www.w3.org", "") and "https://" not in dom


def test_ieb_status_on_the_year_fits_one_screen(year: soak.Soak) -> None:
    result = CliRunner().invoke(app, ["status", "--db", str(year.db), "--today", soak.PEILDATUM.isoformat()])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) <= 40, result.output
    assert "Afwijzingen: 7 nog open (7 persoon/personen), 14 opgelost" in result.output
    assert "ieb status --detail" in result.output and "Amsterdam" in result.output
    detail = CliRunner().invoke(
        app, ["status", "--db", str(year.db), "--today", soak.PEILDATUM.isoformat(), "--detail"]
    )
    assert detail.exit_code == 0 and len(detail.output.splitlines()) > 400


def test_the_probe_sees_clipped_text_and_a_label_outside_the_chart(tmp_path: Path) -> None:
    """The measurement can fail: the old report's clipped legend ("geaccepteerc") is found."""
    bad = tmp_path / "slecht.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><table><tr><td style="max-width:40px;overflow:hidden;white-space:nowrap">'
        "geaccepteerd en nog veel meer</td></tr></table>"
        '<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="100" height="40" viewBox="0 0 100 40">'
        '<text x="80" y="20" font-size="11">geaccepteerd</text></svg></body></html>',
        encoding="utf-8",
    )
    found = measure(bad)
    assert found["clipped"] and found["clipped"][0]["tag"] == "TD"
    assert [x["text"] for x in found["svg_outside"]] == ["geaccepteerd"]


def test_seven_years_of_months_stay_readable(tmp_path: Path) -> None:
    """84 months: every month keeps a bar and a label, nothing overlaps or leaves the chart; the
    chart scrolls sideways inside its box instead of shrinking its text."""
    from ieb.exchange.status import Status
    from ieb.report import render_report

    detail = []
    for n in range(84):
        month = dt.date(2019 + n // 12, n % 12 + 1, 15)
        for k in range(5000 if n == 0 else 3 + n % 7):
            detail.append({"dagtekening": month.isoformat(), "outcome": "accepted" if k % 9 else "rejected"})
    status = Status(
        gemeenten=["0363"],
        deliveries={"accepted": 1},
        retourcodes={},
        outbox={},
        inbox_failed=0,
        overdue=0,
        gemeente_namen={"0363": "Amsterdam"},
        detail=detail,
    )
    page = tmp_path / "zeven-jaar.html"
    page.write_text(
        render_report(
            status, title="t", today=dt.date(2025, 12, 20), generated=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        ),
        encoding="utf-8",
    )
    found = measure(page)
    assert len(found["months"]) == 84 and min(m["height"] for m in found["months"].values()) >= 20
    assert found["svg_outside"] == [] and found["svg_overlap"] == [], (
        found["svg_outside"],
        found["svg_overlap"],
    )
    assert found["clipped"] == [] and found["page_width"] <= found["window_width"]
