"""Beleidsinformatie on a small hand-made case (the big one is in test_year.py) and its command."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from ieb.cli import app
from ieb.iwmo import Beleidsinformatie, IwmoStore, derive
from tests.iwmo.test_desired import C2, C, _files, start, stop, t301

D = dt.date


def test_counts_of_a_small_case(store: IwmoStore, tmp_path: Path) -> None:
    store.read(
        [
            _files(
                tmp_path / "a",
                [
                    t301(1, "02", D(2025, 2, 1), None),
                    start(1, "02", D(2025, 2, 3)),
                    stop(1, "02", D(2025, 2, 3), D(2025, 4, 15), "02"),
                    t301(2, "11", D(2025, 3, 1), None, client=C2),  # rolstoel: support, no eigen bijdrage
                ],
            )
        ]
    )
    rows = store.rows()
    state = store.state()
    info = Beleidsinformatie.compute(state, derive(state, products=dict(rows)), D(2025, 1, 1), D(2025, 5, 31))
    months = {r["maand"]: r for r in info.maanden}
    assert [months[m]["personen_ondersteuning"] for m in sorted(months)] == [0, 1, 2, 2, 1]
    assert [months[m]["personen_eigen_bijdrage"] for m in sorted(months)] == [0, 1, 1, 1, 0]
    assert months["2025-02"]["nieuw"] == 1 and months["2025-03"]["nieuw"] == 1
    assert months["2025-04"]["beeindigd"] == 1
    assert info.redenen == [
        {
            "gemeente": "0363",
            "maand": "2025-04",
            "reden_beeindiging": "02",
            "omschrijving": "Overlijden",
            "leveringen": 1,
        }
    ]
    bands = {(r["maand"], r["leeftijdsklasse"]): r["personen"] for r in info.leeftijd}
    assert bands[("2025-03", "65-74")] == 1 and bands[("2025-03", "0-17")] == 1  # born 1950 and 2010
    gmsd = {r["bsn"]: r for r in info.gmsd}
    assert gmsd[C.bsn]["einddatum"] == "2025-04-15" and gmsd[C.bsn]["reden_beeindiging"] == "02"
    assert gmsd[C2.bsn]["eigen_bijdrage"] == "nee" and gmsd[C2.bsn]["einddatum"] == ""
    written = info.write(tmp_path / "out")
    assert {p.name for p in written} >= {"maanden.csv", "gmsd.csv", "kolommen.csv", "beleidsinformatie.html"}
    page = (tmp_path / "out" / "beleidsinformatie.html").read_text(encoding="utf-8")
    assert "<svg" in page and C.bsn not in page and "<script" not in page
    with (tmp_path / "out" / "gmsd.csv").open(encoding="utf-8") as fh:
        assert next(csv.reader(fh))[:3] == ["gemeentecode", "bsn", "geboortedatum"]


def test_the_command_keeps_existing_files_and_checks_the_dates(tmp_path: Path) -> None:
    config = tmp_path / "ieb.toml"
    config.write_text('database = "ieb.sqlite"\ngemeenten = ["0363"]\n', encoding="utf-8")
    runner = CliRunner()
    runner.invoke(
        app,
        [
            "iwmo",
            "lees",
            str(_files(tmp_path / "in", [t301(1, "02", D(2025, 2, 1), None)])),
            "-c",
            str(config),
        ],
    )
    args = [
        "beleidsinformatie",
        "--van",
        "2025-01-01",
        "--tot",
        "2025-03-31",
        "--out",
        str(tmp_path / "b"),
        "-c",
        str(config),
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "3 maand(en) x gemeente, 1 arrangement(en)" in first.output
    assert runner.invoke(app, args).exit_code == 1
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    backwards = runner.invoke(
        app,
        [
            "beleidsinformatie",
            "--van",
            "2025-03-01",
            "--tot",
            "2025-01-01",
            "--out",
            str(tmp_path / "c"),
            "-c",
            str(config),
        ],
    )
    assert backwards.exit_code == 2
