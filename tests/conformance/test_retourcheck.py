"""Retour consistency checks (``ieb validate --heen``): each RCnnn code on a retour broken on purpose."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from ieb.cli import app
from ieb.codec import to_xml
from ieb.conformance.retourcheck import check_retour
from ieb.messages import Wmo401, Wmo403
from ieb.simulator.cak import CakSimulator
from tests.conformance.conftest import assert_rapport_valid
from tests.migrated import migrated_memory_engine

TODAY = dt.date(2026, 6, 1)
M = "http://www.istandaarden.nl/ieb/1_0/wmo402/schema"
B = "http://www.istandaarden.nl/ieb/1_0/basisschema/schema"
NS = {"m": M, "b": B}


def start(ident: str, nummer: int = 1, bsn: str = "999900006", **kw: object) -> bytes:
    return to_xml(
        Wmo401.build(
            afzender="0363",
            identificatie=ident,
            dagtekening=kw.pop("dagtekening", TODAY),  # type: ignore[arg-type]
            bsn=bsn,
            eb_start_nummer=nummer,
            eb_startdatum=kw.pop("eb_startdatum", dt.date(2026, 5, 1)),  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )
    )


@pytest.fixture
def cak() -> CakSimulator:
    return CakSimulator(migrated_memory_engine(), today=TODAY)


@pytest.fixture
def rejected(cak: CakSimulator) -> tuple[bytes, bytes]:
    """A start with status 1 sent twice: the second is rejected with 9102 (a correct retour)."""
    cak.process(start("A1"))
    heen = start("A2")
    result = cak.process(heen)
    assert result.codes == ("9102",) and result.retour is not None
    return heen, result.retour


def edit(data: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(data)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def codes(heen: bytes, retour: bytes) -> list[str]:
    return [i.code for i in check_retour(heen, retour).issues]


def test_correct_retours_have_no_findings(cak: CakSimulator, rejected: tuple[bytes, bytes]) -> None:
    assert codes(*rejected) == []
    heen = start("B1", nummer=2, bsn="999900018")
    accepted = cak.process(heen)
    assert accepted.verdict == "accepted" and accepted.retour is not None
    assert codes(heen, accepted.retour) == []
    technical = start("B2", nummer=3, bsn="999900031", eb_startdatum=dt.date(2024, 1, 1))  # TR112
    result = cak.process(technical)
    assert result.codes == ("0001",) and result.retour is not None
    assert codes(technical, result.retour) == []


def _set(path: str, value: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        node = root.find(path, NS)
        assert node is not None
        node.text = value

    return change


def test_0001_below_the_header_is_rc001(rejected: tuple[bytes, bytes]) -> None:
    heen, retour = rejected
    bad = edit(retour, _set("m:Client/m:StartEigenBijdrage/m:RetourCodes/m:RetourCode", "0001"))
    report = check_retour(heen, bad)
    rc001 = [i for i in report.issues if i.code == "RC001"]
    assert len(rc001) == 1
    assert rc001[0].location == (
        "/wmo402:Bericht/wmo402:Client/wmo402:StartEigenBijdrage/wmo402:RetourCodes/wmo402:RetourCode"
    )


def test_a_9nnn_code_the_heenbericht_cannot_break_is_rc004(rejected: tuple[bytes, bytes]) -> None:
    heen, retour = rejected
    # TR071 concerns a deletion (status 3) of a start; this is a status 1 start
    bad = edit(retour, _set("m:Client/m:StartEigenBijdrage/m:RetourCodes/m:RetourCode", "9071"))
    report = check_retour(heen, bad)
    assert [i.code for i in report.issues] == ["RC004"]
    assert "9071 (TR071)" in report.issues[0].message and "StatusAanlevering 1" in report.issues[0].message
    # TR330 is about stops: never on a start
    assert codes(
        heen, edit(retour, _set("m:Client/m:StartEigenBijdrage/m:RetourCodes/m:RetourCode", "9330"))
    ) == ["RC004"]
    # S333 needs an EbKostprijs
    assert "RC004" in codes(
        heen, edit(retour, _set("m:Client/m:StartEigenBijdrage/m:RetourCodes/m:RetourCode", "S333"))
    )


def test_header_fields_differing_from_the_heenbericht_are_rc005(rejected: tuple[bytes, bytes]) -> None:
    heen, retour = rejected
    bad = edit(retour, _set("m:Header/m:BerichtIdentificatie/b:Identificatie", "A3"))
    report = check_retour(heen, bad)
    assert [i.code for i in report.issues] == ["RC005"]
    assert "'A3'" in report.issues[0].message and "'A2'" in report.issues[0].message
    assert codes(heen, edit(retour, _set("m:Header/m:Afzender", "0599"))) == ["RC005"]
    assert codes(heen, edit(retour, _set("m:Header/m:XsdVersie/b:BerichtXsdVersie", "1.1.0"))) == ["RC005"]


def test_a_retour_of_the_wrong_kind_is_rc006(cak: CakSimulator) -> None:
    heen = start("C1")
    stop = to_xml(
        Wmo403.build(
            afzender="0363",
            identificatie="C2",
            dagtekening=TODAY,
            bsn="999900006",
            eb_start_nummer=1,
            eb_stopdatum=dt.date(2026, 5, 31),
        )
    )
    cak.process(heen)
    retour = cak.process(stop).retour
    assert retour is not None
    assert codes(heen, retour) == ["RC006"]
    assert codes(retour, retour) == ["RC006"]  # a retour is no heenbericht


def test_client_fields_differing_from_the_heenbericht_are_rc007_with_masked_bsn(
    rejected: tuple[bytes, bytes],
) -> None:
    heen, retour = rejected
    report = check_retour(heen, edit(retour, _set("m:Client/m:Bsn", "999900018")))
    assert [i.code for i in report.issues] == ["RC007"]
    assert "999900" not in report.issues[0].message and "******018" in report.issues[0].message
    assert codes(heen, edit(retour, _set("m:Client/m:StartEigenBijdrage/m:EbStartdatum", "2026-04-01"))) == [
        "RC007"
    ]


def test_0200_together_with_a_rejection_is_rc009(rejected: tuple[bytes, bytes]) -> None:
    heen, retour = rejected

    def add_0200(root: etree._Element) -> None:
        codes_el = root.find("m:Client/m:StartEigenBijdrage/m:RetourCodes", NS)
        assert codes_el is not None
        etree.SubElement(codes_el, f"{{{M}}}RetourCode").text = "0200"

    assert codes(heen, edit(retour, add_0200)) == ["RC009"]


def test_level_not_fitting_the_heenbericht_is_rc010(cak: CakSimulator) -> None:
    technical = start("D1", eb_startdatum=dt.date(2024, 1, 1))  # TR112: technically rejected
    good = start("D2", nummer=4, bsn="999900043")
    accepted = cak.process(good).retour
    assert accepted is not None
    relabelled = edit(accepted, _set("m:Header/m:BerichtIdentificatie/b:Identificatie", "D1"))
    found = codes(technical, relabelled)
    assert "RC010" in found  # a technically rejected heenbericht must get 0001
    technical_retour = cak.process(technical).retour
    assert technical_retour is not None
    assert "RC010" in codes(
        good, edit(technical_retour, _set("m:Header/m:BerichtIdentificatie/b:Identificatie", "D2"))
    )


def test_a_class_without_codes_is_rc003_and_unknown_codes_rc002(rejected: tuple[bytes, bytes]) -> None:
    heen, retour = rejected

    def drop(root: etree._Element) -> None:
        klasse = root.find("m:Client/m:StartEigenBijdrage", NS)
        codes_el = klasse.find("m:RetourCodes", NS) if klasse is not None else None
        assert klasse is not None and codes_el is not None
        klasse.remove(codes_el)

    found = codes(heen, edit(retour, drop))
    assert "XSD" in found and "RC003" in found
    found = codes(
        heen, edit(retour, _set("m:Client/m:StartEigenBijdrage/m:RetourCodes/m:RetourCode", "9999"))
    )
    assert "RC002" in found and "XSD" in found


def test_cli_folder_of_pairs_all_formats(
    tmp_path: Path, cak: CakSimulator, rejected: tuple[bytes, bytes], rapport_schema: etree.XMLSchema
) -> None:
    heen, retour = rejected
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    (pairs / "heen-a2.xml").write_bytes(heen)
    (pairs / "retour-a2.xml").write_bytes(retour)
    (pairs / "retour-bad.xml").write_bytes(edit(retour, _set("m:Header/m:Afzender", "0599")))
    runner = CliRunner()
    result = runner.invoke(app, ["validate", "--heen", str(pairs), str(pairs), "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    by_name = {Path(f["path"]).name: f for f in data["files"]}
    assert set(by_name) == {"retour-a2.xml", "retour-bad.xml"}
    assert by_name["retour-a2.xml"]["valid"] and Path(by_name["retour-a2.xml"]["heen"]).name == "heen-a2.xml"
    assert [i["code"] for i in by_name["retour-bad.xml"]["issues"]] == ["RC008"]  # no heen with Afzender 0599
    result = runner.invoke(
        app, ["validate", "--heen", str(pairs / "heen-a2.xml"), str(pairs / "retour-a2.xml")]
    )
    assert result.exit_code == 0 and "GELDIG" in result.stdout
    (pairs / "client-999999990.xml").write_bytes(heen)  # a Bsn in a name: masked in the text
    result = runner.invoke(
        app, ["validate", "--heen", str(pairs / "client-999999990.xml"), str(pairs / "retour-a2.xml")]
    )
    assert result.exit_code == 0 and "(heen: " in result.stdout and "client-******990.xml" in result.stdout
    assert "999999990" not in result.stdout
    (pairs / "client-999999990.xml").unlink()
    result = runner.invoke(
        app, ["validate", "--heen", str(pairs), str(pairs / "retour-bad.xml"), "--format", "junit"]
    )
    assert result.exit_code == 1
    junit = etree.fromstring(result.stdout_bytes)
    assert junit.xpath("count(//testcase)") == 1 and junit.xpath("//failure/@message") == ["RC008"]
    result = runner.invoke(
        app,
        [
            "validate",
            "--heen",
            str(pairs / "heen-a2.xml"),
            str(pairs / "retour-bad.xml"),
            "--format",
            "rapport",
        ],
    )
    root = assert_rapport_valid(rapport_schema, result.stdout_bytes)
    assert root.xpath(
        "//r:Code/text()", namespaces={"r": "http://www.istandaarden.nl/validatie/1_1/rapport/schema"}
    ) == ["RC005"]
    result = runner.invoke(app, ["validate", "--heen", str(tmp_path / "nope.xml"), str(pairs)])
    assert result.exit_code == 2
    result = runner.invoke(app, ["validate", "--heen", str(pairs), str(pairs / "heen-a2.xml")])
    assert result.exit_code == 2 and "geen retouren" in result.output
