"""``ieb show`` for every message kind, in one naming style, with the retour's verdict per class (issue 15)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ieb.ggk as ggk
from ieb.cli import app

SAMPLES = Path(__file__).resolve().parent.parent / "core" / "samples"
runner = CliRunner()


def _show(path: Path) -> object:
    return runner.invoke(app, ["show", "--today", "2026-06-01", str(path)])


@pytest.mark.parametrize("name", sorted(p.name for p in (SAMPLES / "valid").glob("*.xml")))
def test_every_valid_sample_is_shown_in_the_standards_names(name: str) -> None:
    result = _show(SAMPLES / "valid" / name)
    assert result.exit_code == 0, result.output
    assert "BerichtCode:" in result.stdout
    assert "Bsn: ******" in result.stdout or "Client" not in result.stdout
    # one naming style: the standard's element names, no Python field names
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", result.stdout), result.stdout
    assert not re.search(r"\b9999\d{5}\b", result.stdout)


def test_amounts_are_in_euro() -> None:
    result = _show(SAMPLES / "valid/wmo401-kostprijs.xml")
    assert "KostprijsBedrag: € 570,00" in result.stdout
    assert "euro" not in result.stdout.replace("€", "")


def test_rejected_wmo404_tr330_shows_each_class_with_meaning_and_next_step(tmp_path: Path) -> None:
    retour = tmp_path / "wmo404-tr330.xml"
    retour.write_bytes((SAMPLES / "valid/wmo404-level3.xml").read_bytes().replace(b">9328<", b">9330<"))
    result = _show(retour)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Uitkomst: afgekeurd" in out
    assert len(re.findall(r": geaccepteerd$", out, re.M)) == 1  # the Client class only, not the message
    assert "Client: geaccepteerd" in out
    assert "StopEigenBijdrage: afgekeurd" in out
    assert "9330: regel TR330 niet voldaan: Stop hoort bij een niet-verwijderde start" in out
    assert "Wat nu:" in out and "EbStartNummer" in out.split("Wat nu:")[1]


def test_accepted_and_technical_retours() -> None:
    accepted = _show(SAMPLES / "valid/wmo402-accepted.xml").stdout
    assert "Uitkomst: geaccepteerd" in accepted and "afgekeurd" not in accepted
    technical = _show(SAMPLES / "valid/wmo402-level2.xml").stdout
    assert "Uitkomst: technisch afgekeurd" in technical and "0001" in technical and "Wat nu:" in technical


def test_not_assessed_class_is_named(tmp_path: Path) -> None:
    retour = tmp_path / "r.xml"
    retour.write_bytes(
        (SAMPLES / "valid/wmo404-level3.xml")
        .read_bytes()
        .replace(b">0200<", b">0233<")
        .replace(b">9328<", b">8848<")
    )
    out = _show(retour).stdout
    assert "Client: niet beoordeeld" in out and "StopEigenBijdrage: afgekeurd" in out


def test_message_with_a_wrong_bsn_is_shown_with_rule_codes_not_pydantic() -> None:
    result = _show(SAMPLES / "invalid/cs002-bsn-11proef.xml")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Bsn: ******007" in out and "999900007" not in out
    assert "CS002" in out and "Bevindingen (1)" in out
    assert "pydantic" not in out and "http" not in out and "Value error" not in out


def test_many_problems_each_listed_by_code() -> None:
    out = _show(SAMPLES / "invalid/many-problems.xml").stdout
    for code in ("CS002", "CS125", "CS300", "CS333", "8848"):
        assert code in out


def test_unreadable_file_exits_1() -> None:
    result = _show(SAMPLES / "invalid/xml-dtd.xml")
    assert result.exit_code == 1 and "niet leesbaar" in result.stderr


def test_envelope_shows_the_message_inside(tmp_path: Path) -> None:
    data = ggk.build(
        ggk.new_di01(
            (SAMPLES / "valid/wmo401-kostprijs.xml").read_bytes(),
            "WMO401",
            "0363",
            tijdstip=dt.datetime(2026, 5, 20),
        )
    )
    env = tmp_path / "env.xml"
    env.write_bytes(data)
    out = _show(env).stdout
    assert out.startswith("ggk_Di01") and "functie: WMO401" in out
    assert "Inhoud:" in out and "KostprijsBedrag: € 570,00" in out and "******006" in out


def test_generic_release_is_shown_with_release_dir() -> None:
    fixture = SAMPLES.parent.parent / "fixtures" / "release-tst-9.9"
    result = runner.invoke(app, ["show", "--release-dir", str(fixture), str(fixture / "tst901-invalid.xml")])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("TST901 (tst-9.9)") and "CS125" in result.stdout
    assert not re.search(r"\b\d{9}\b", result.stdout)


def test_fo01_shows_the_error_code_with_its_meaning() -> None:
    from tests.reference import GGK_REFERENCE, MISSING

    fo01 = GGK_REFERENCE / "examples" / "Fo01.xml"
    if not fo01.is_file():
        pytest.skip(MISSING)
    out = _show(fo01).stdout
    assert out.startswith("Fo01 (stuf-ggk-0210)")
    assert "foutcode: IB210 (De ontvangende organisatie is onbekend.)" in out
