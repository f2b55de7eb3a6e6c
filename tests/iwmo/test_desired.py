"""The desired state from the iWmo store: trigger, bijdrageplicht, the policy's pause rule, open
periods, kostprijs table, retroactive marks, empty rows; iwmo.toml; and the commands
``ieb iwmo lees | gewenst | uitleg`` and ``ieb plan --iwmo``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.errors import ConfigurationError
from ieb.iwmo.desired import GemeenteInstellingen, Instellingen, Trigger, derive, load_instellingen
from ieb.iwmo.store import IwmoStore
from tests.iwmo.traffic import Client, wmo301, wmo305_307

D = dt.date
C = Client("999900006", D(1950, 5, 17))
C2 = Client("999900018", D(2010, 1, 2))


def _files(folder: Path, messages: list[bytes]) -> Path:
    folder.mkdir(exist_ok=True)
    for i, data in enumerate(messages):
        (folder / f"{i:03d}.xml").write_bytes(data)
    return folder


def t301(
    nummer: int,
    cat: str,
    ingang: dt.date,
    eind: dt.date | None,
    dag: dt.date | None = None,
    client: Client = C,
    reden: str | None = None,
) -> bytes:
    day = dag or ingang - dt.timedelta(days=5)
    return wmo301("0363", "12345678", f"t{nummer}{day:%m%d}", day, client, nummer, cat, ingang, eind, reden)


def start(
    nummer: int, cat: str, begin: dt.date, dag: dt.date | None = None, client: Client = C, status: str = "1"
) -> bytes:
    day = dag or begin + dt.timedelta(days=1)
    return wmo305_307(
        "WMO305", "0363", "12345678", f"s{nummer}{day:%m%d}", day, client, nummer, cat, begin, status
    )


def stop(
    nummer: int, cat: str, begin: dt.date, eind: dt.date, reden: str = "19", client: Client = C
) -> bytes:
    day = eind + dt.timedelta(days=2)
    return wmo305_307(
        "WMO307",
        "0363",
        "12345678",
        f"e{nummer}{day:%m%d}",
        day,
        client,
        nummer,
        cat,
        begin,
        "1",
        eind,
        reden,
    )


def _derive(store: IwmoStore, instellingen: Instellingen | None = None) -> list[dict[str, str]]:
    rows = store.rows()
    return derive(store.state(), instellingen, products=dict(rows)).records()


def _periods(records: list[dict[str, str]], bsn: str = C.bsn) -> list[tuple[str, str]]:
    return [(r["start"], r["stop"]) for r in records if r["bsn"] == bsn]


def test_a_gap_within_the_pause_rule_is_merged_and_a_longer_one_is_not(
    store: IwmoStore, tmp_path: Path
) -> None:
    store.read(
        [
            _files(
                tmp_path / "a",
                [
                    t301(1, "02", D(2025, 3, 1), None),
                    start(1, "02", D(2025, 3, 3)),
                    stop(1, "02", D(2025, 3, 3), D(2025, 3, 31), "20"),
                    start(1, "02", D(2025, 5, 1)),  # (31-03 + 1 day) + 1 month = 01-05: no pause
                    stop(1, "02", D(2025, 5, 1), D(2025, 6, 15), "20"),
                    start(1, "02", D(2025, 8, 1)),  # more than a month: a pause with effect
                ],
            )
        ]
    )
    assert _periods(_derive(store)) == [("2025-03-03", "2025-06-15"), ("2025-08-01", "")]
    every_gap = Instellingen(GemeenteInstellingen(pauzeregel="elke_onderbreking"))  # type: ignore[arg-type]
    assert len(_periods(_derive(store, every_gap))) == 3


def test_start_with_the_first_product_stop_with_the_last_per_person(store: IwmoStore, tmp_path: Path) -> None:
    store.read(
        [
            _files(
                tmp_path / "a",
                [
                    t301(1, "01", D(2025, 2, 1), D(2025, 9, 30)),
                    t301(2, "07", D(2025, 4, 1), D(2025, 11, 30)),
                    t301(3, "11", D(2025, 1, 1), None),  # rolstoel: never
                    t301(4, "16", D(2025, 1, 1), None),  # opvang: not in the default bijdrageplicht
                    start(1, "01", D(2025, 2, 10)),
                    start(2, "07", D(2025, 4, 7)),
                    start(3, "11", D(2025, 1, 5)),
                    stop(1, "01", D(2025, 2, 10), D(2025, 6, 30)),
                    stop(2, "07", D(2025, 4, 7), D(2025, 10, 31)),
                ],
            )
        ]
    )
    assert _periods(_derive(store)) == [("2025-02-10", "2025-10-31")]
    toewijzing = Instellingen(GemeenteInstellingen(trigger=Trigger.TOEWIJZING))
    assert _periods(_derive(store, toewijzing)) == [("2025-02-01", "2025-11-30")]
    only_07 = Instellingen(GemeenteInstellingen(bijdrageplicht=frozenset({"07"})))
    assert _periods(_derive(store, only_07)) == [("2025-04-07", "2025-10-31")]
    with pytest.raises(ConfigurationError, match="rolstoelen"):
        GemeenteInstellingen(bijdrageplicht=frozenset({"01", "11"}))
    with pytest.raises(ConfigurationError, match="99"):
        GemeenteInstellingen(bijdrageplicht=frozenset({"99"}))


def test_an_open_levering_ends_with_its_toewijzing_and_without_one_stays_open(
    store: IwmoStore, tmp_path: Path
) -> None:
    store.read(
        [
            _files(
                tmp_path / "a",
                [
                    t301(1, "02", D(2025, 2, 1), D(2025, 8, 31)),
                    start(1, "02", D(2025, 2, 3)),
                    t301(2, "02", D(2025, 2, 1), None, client=C2),
                    start(2, "02", D(2025, 2, 3), client=C2),
                ],
            )
        ]
    )
    records = _derive(store)
    assert _periods(records) == [("2025-02-03", "2025-08-31")]
    assert _periods(records, C2.bsn) == [("2025-02-03", "")]


def test_kostprijs_from_the_table_for_hulpmiddelen_only(store: IwmoStore, tmp_path: Path) -> None:
    store.read(
        [
            _files(
                tmp_path / "a",
                [
                    t301(1, "14", D(2025, 2, 1), D(2025, 9, 30)),
                    start(1, "14", D(2025, 2, 3)),
                    t301(2, "02", D(2025, 2, 1), D(2025, 9, 30), client=C2),
                    start(2, "02", D(2025, 2, 3), client=C2),
                ],
            )
        ]
    )
    table = tmp_path / "kostprijs.csv"
    table.write_text("toewijzingnummer;kostprijs_cent;gemeente\n1;250000;0363\n2;250000;\n", encoding="utf-8")
    settings = load_instellingen(None, kostprijs=table)
    rows = store.rows()
    desired = derive(store.state(), settings, products=dict(rows))
    by_bsn = {r["bsn"]: r for r in desired.records()}
    assert (by_bsn[C.bsn]["kostprijs_cent"], by_bsn[C.bsn]["kostprijs_start"]) == ("250000", "2025-02-03")
    assert by_bsn[C2.bsn]["kostprijs_cent"] == ""
    assert any("kostprijs genegeerd" in n for n in desired.notes[("0363", C2.bsn)])
    bad = tmp_path / "bad.csv"
    bad.write_text("toewijzingnummer,kostprijs_cent\n1,12.5\n", encoding="utf-8")
    from ieb.tabular import TableError

    with pytest.raises(TableError) as err:
        load_instellingen(None, kostprijs=bad)
    assert ":2" in " ".join(i.describe(err.value.name) for i in err.value.issues)


def test_a_late_start_is_marked_and_a_withdrawn_toewijzing_gives_an_empty_row(
    store: IwmoStore, tmp_path: Path
) -> None:
    store.read(
        [
            _files(
                tmp_path / "a",
                [
                    t301(1, "02", D(2025, 2, 1), None),
                    start(1, "02", D(2025, 2, 3), dag=D(2025, 3, 20)),  # reported 45 days late
                    t301(2, "02", D(2025, 2, 1), None, client=C2),
                    t301(2, "02", D(2025, 2, 1), None, dag=D(2025, 2, 10), client=C2, reden="13"),
                ],
            )
        ]
    )
    rows = store.rows()
    desired = derive(store.state(), products=dict(rows))
    (period,) = desired.periods
    assert period.terugwerkend and period.gemeld_op == D(2025, 3, 20)
    assert desired.zonder_periode == [("0363", C2.bsn)]
    assert desired.csv_text().splitlines()[0] == "gemeente,bsn,start,stop,kostprijs_cent,kostprijs_start"
    # what ieb plan reads
    from ieb.ledger.planner import read_desired

    path = desired.write_csv(tmp_path / "gewenst.csv")
    planned = read_desired(path)
    assert planned[C.bsn][0].start == D(2025, 2, 3) and planned[C2.bsn] == []


def test_iwmo_toml_per_gemeente_and_errors_name_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "iwmo.toml"
    path.write_text(
        'trigger = "toewijzing"\nbijdrageplicht = ["01", "2"]\n[gemeente."0599"]\ntrigger = "levering"\n'
        'pauzeregel = "elke_onderbreking"\n',
        encoding="utf-8",
    )
    settings = load_instellingen(path)
    assert settings.voor("0363").trigger is Trigger.TOEWIJZING and settings.voor("0363").bijdrageplicht == {
        "01",
        "02",
    }
    assert settings.voor("0599").trigger is Trigger.LEVERING and settings.voor("0599").bijdrageplicht == {
        "01",
        "02",
    }
    path.write_text('trigger = "declaratie"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="trigger"):
        load_instellingen(path)
    path.write_text('bijdrageplicht = ["11"]\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="11"):
        load_instellingen(path)


# ------------------------------------------------------------------ commands


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "ieb.toml"
    config.write_text('database = "ieb.sqlite"\ngemeenten = ["0363"]\n', encoding="utf-8")
    return config


def test_the_commands_lees_gewenst_and_uitleg(tmp_path: Path) -> None:
    config = _config(tmp_path)
    folder = _files(
        tmp_path / "in",
        [
            t301(1, "02", D(2025, 2, 1), None),
            start(1, "02", D(2025, 2, 3)),
            stop(1, "02", D(2025, 2, 9), D(2025, 3, 1)),  # no start on 09-02: refused
        ],
    )
    runner = CliRunner()
    first = runner.invoke(app, ["iwmo", "lees", str(folder), "--config", str(config)])
    assert first.exit_code == 1, first.output
    assert "TR069" in first.output and "regel" in first.output and C.bsn not in first.output
    again = runner.invoke(app, ["iwmo", "lees", str(folder), "--stil", "--config", str(config)])
    assert "0 product(en) opgeslagen, 2 al gelezen, 1 geweigerd" in again.output
    assert "000.xml" not in again.output and "002.xml" in again.output  # --stil: only files with findings
    out = tmp_path / "gewenst.csv"
    result = runner.invoke(app, ["iwmo", "gewenst", "--out", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == (
        "gemeente,bsn,start,stop,kostprijs_cent,kostprijs_start\n0363,999900006,2025-02-03,,,\n"
    )
    assert C.bsn not in result.output
    kept = runner.invoke(app, ["iwmo", "gewenst", "--out", str(out), "--config", str(config)])
    assert kept.exit_code == 1 and "--force" in kept.output
    toewijzing = runner.invoke(
        app,
        ["iwmo", "gewenst", "--out", str(out), "--trigger", "toewijzing", "--force", "--config", str(config)],
    )
    assert toewijzing.exit_code == 0 and "2025-02-01" in out.read_text(encoding="utf-8")
    explained = runner.invoke(app, ["iwmo", "uitleg", C.bsn, "--config", str(config)])
    assert explained.exit_code == 0, explained.output
    assert "periode 2025-02-03 t/m open" in explained.output
    assert "WMO301" in explained.output and "WMO305" in explained.output and C.bsn not in explained.output
    unknown = runner.invoke(app, ["iwmo", "uitleg", C2.bsn, "--config", str(config)])
    assert unknown.exit_code == 1


def test_ieb_plan_iwmo_plans_from_the_store_and_refuses_a_file_beside_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    folder = _files(tmp_path / "in", [t301(1, "02", D(2025, 2, 1), None), start(1, "02", D(2025, 2, 3))])
    runner = CliRunner()
    runner.invoke(app, ["iwmo", "lees", str(folder), "--config", str(config)])
    result = runner.invoke(app, ["plan", "--iwmo", "--today", "2025-02-20", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "WMO401" in result.output and "EbStartdatum 2025-02-03" in result.output
    assert "1 bericht(en) gepland" in result.output
    both = runner.invoke(app, ["plan", str(config), "--iwmo", "--config", str(config)])
    assert both.exit_code == 2
