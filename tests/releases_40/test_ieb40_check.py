"""``ieb release check DIR`` and its library function (issue 20, step 1)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ieb.cli import app
from ieb.config import load_config
from ieb.releases.ieb_4_0.binding import BINDING_FILE
from ieb.releases.ieb_4_0.check import check_folder
from ieb.releases.ieb_4_0.codec import STAND_IN_DIR
from ieb.releases.ieb_4_0.registration import registered_folder

runner = CliRunner()


def _line_of(field: str, section: str) -> int:
    current = ""
    for number, line in enumerate(BINDING_FILE.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line.startswith(f"{field} "):
            return number
    raise AssertionError(field)


def test_the_standin_passes_its_own_check() -> None:
    report = check_folder(STAND_IN_DIR)
    assert report.ok, [p.message for p in report.problems]
    assert report.release == "ieb-4.0"
    assert [m.bericht for m in report.messages] == ["WMO405", "WMO406", "WMO407", "WMO408"]
    assert all(m.bericht_code for m in report.messages)


def test_a_renamed_element_is_named_with_its_binding_line_and_the_fix(standin_copy: Path) -> None:
    xsd = standin_copy / "WMO405.xsd"
    xsd.write_text(
        xsd.read_text(encoding="utf-8").replace('"EbStopdatum"', '"EbEinddatum"'), encoding="utf-8"
    )
    report = check_folder(standin_copy)
    assert not report.ok
    (problem,) = report.problems
    line = _line_of("eb_stopdatum", "WMO405")
    assert problem.status == "ontbreekt" and problem.field == "eb_stopdatum"
    assert problem.where == f"binding.toml:{line}"
    assert "EbStopdatum" in problem.message
    assert problem.fix is not None and "EbEinddatum" in problem.fix and f"binding.toml:{line}" in problem.fix


def test_an_incompatible_type_and_a_repetition_are_named(standin_copy: Path) -> None:
    xsd = standin_copy / "WMO407.xsd"
    text = xsd.read_text(encoding="utf-8").replace(
        '<xs:element name="EbStartNummer" type="ieb:LDT_Nummer"/>',
        '<xs:element name="EbStartNummer" type="xs:string"/>',
    )
    xsd.write_text(text, encoding="utf-8")
    base = standin_copy / "basisschema.xsd"
    base.write_text(
        base.read_text(encoding="utf-8").replace(
            '<xs:element name="RetourCode" type="ieb:LDT_RetourCode" maxOccurs="unbounded"/>',
            '<xs:element name="RetourCode" type="ieb:LDT_RetourCode"/>',
        ),
        encoding="utf-8",
    )
    report = check_folder(standin_copy)
    statuses = {(p.bericht, p.field): p.status for p in report.problems}
    assert statuses[("WMO407", "eb_start_nummer")] == "type"
    assert statuses[("WMO406", "retour_codes_client")] == "herhaling"
    typed = next(p for p in report.problems if p.status == "type")
    assert typed.fix == f'zet in binding.toml:{_line_of("eb_start_nummer", "WMO407")} type = "string"'


def test_a_required_element_no_line_writes_is_reported(standin_copy: Path) -> None:
    xsd = standin_copy / "WMO405.xsd"
    text = xsd.read_text(encoding="utf-8").replace(
        '      <xs:element name="StatusAanlevering"',
        '      <xs:element name="Woongemeente" type="ieb:LDT_Gemeente"/>\n      <xs:element name="StatusAanlevering"',
        1,
    )
    xsd.write_text(text, encoding="utf-8")
    (problem,) = check_folder(standin_copy).problems
    assert problem.status == "niet-gebonden" and problem.path == "Client/PeriodeEigenBijdrageAbo/Woongemeente"


def test_a_missing_message_xsd_is_reported(standin_copy: Path) -> None:
    (standin_copy / "WMO408.xsd").unlink()
    report = check_folder(standin_copy)
    assert not report.ok and [m.bericht for m in report.messages if not m.ok] == ["WMO408"]


def test_cli_check_passes_and_registers_the_folder_in_ieb_toml(tmp_path: Path, standin_copy: Path) -> None:
    config = tmp_path / "ieb.toml"
    config.write_text(
        '# mijn instellingen\ndatabase = "ieb.sqlite"\n\n[organisatie]\noin = ""\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["release", "check", str(standin_copy), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "alle gebonden elementen passen" in result.output
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# mijn instellingen\n")  # comments kept
    assert registered_folder(config) == standin_copy.resolve()
    assert load_config(config).release_xsd == standin_copy.resolve()
    # a second check replaces the line instead of adding one
    again = runner.invoke(app, ["release", "check", str(standin_copy), "--config", str(config)])
    assert again.exit_code == 0 and config.read_text(encoding="utf-8").count("release_xsd") == 1


def test_cli_check_on_a_renamed_copy_exits_1_names_the_element_and_registers_nothing(
    tmp_path: Path, standin_copy: Path
) -> None:
    xsd = standin_copy / "WMO406.xsd"
    xsd.write_text(
        xsd.read_text(encoding="utf-8").replace('"EbStartdatum"', '"EbBegindatum"'), encoding="utf-8"
    )
    config = tmp_path / "ieb.toml"
    config.write_text('database = "ieb.sqlite"\n', encoding="utf-8")
    result = runner.invoke(
        app, ["release", "check", str(standin_copy), "--config", str(config), "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["ok"] is False and data["geregistreerd_in"] is None
    wrong = [e for m in data["berichten"] for e in m["elementen"] if not e["ok"]]
    # the bound path is missing, and the renamed element is required but written by no line
    assert [(e["pad"], e["status"]) for e in wrong] == [
        ("Client/PeriodeEigenBijdrageAbo/EbStartdatum", "ontbreekt"),
        ("Client/PeriodeEigenBijdrageAbo/EbBegindatum", "niet-gebonden"),
    ]
    assert "EbBegindatum" in wrong[0]["oplossing"]
    assert "release_xsd" not in config.read_text(encoding="utf-8")


def test_cli_check_without_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["release", "check", str(tmp_path / "weg")])
    assert result.exit_code == 2


def test_a_registered_official_folder_is_used_by_build_and_validate(
    tmp_path: Path, standin_copy: Path, monkeypatch: object
) -> None:
    import pytest

    from ieb.releases import default_registry
    from ieb.releases.ieb_4_0 import PACK

    mp: pytest.MonkeyPatch = monkeypatch  # type: ignore[assignment]
    for name in ("WMO405", "WMO406", "WMO407", "WMO408"):
        xsd = standin_copy / f"{name}.xsd"
        xsd.write_text(
            xsd.read_text(encoding="utf-8").replace("4_0/wmo", "4_0_officieel/wmo"), encoding="utf-8"
        )
    mp.chdir(tmp_path)
    mp.delenv("IEB_CONFIG", raising=False)
    try:
        assert runner.invoke(app, ["init", "-g", "0363"]).exit_code == 0
        assert runner.invoke(app, ["release", "check", str(standin_copy)]).exit_code == 0
        (tmp_path / "r.csv").write_text(
            "bericht,afzender,identificatie,dagtekening,bsn,eb_start_nummer,status,eb_startdatum\n"
            "WMO405,0363,A1,2026-05-20,999990019,7,1,2026-05-01\n",
            encoding="utf-8",
        )
        built = runner.invoke(app, ["build", "r.csv", "--out", "b", "--today", "2026-06-01"])
        assert built.exit_code == 0, built.output
        data = (tmp_path / "b" / "WMO405_0363_A1.xml").read_bytes()
        assert b"4_0_officieel/wmo405" in data  # written in the official namespace
        checked = runner.invoke(app, ["validate", "b", "--format", "json", "--today", "2026-06-01"])
        assert checked.exit_code == 0 and json.loads(checked.output)["files"][0]["release"] == "ieb-4.0"
    finally:
        default_registry.register(PACK, replace=True)  # the stand-in again for the other tests
