"""``ieb validate --format rapport``: the iStandaarden report, valid under the published XSD."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from ieb.cli import app
from ieb.conformance.rapport import RAPPORT_NS, rapport_bytes
from ieb.validation import Issue, Report, validate_bytes, validate_file
from tests.conformance.conftest import ROOT, assert_rapport_valid

SAMPLES = ROOT / "tests" / "core" / "samples"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))
R = {"r": RAPPORT_NS}


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: e["file"])
def test_every_sample_gives_a_valid_rapport_with_its_codes(
    entry: dict[str, object], rapport_schema: etree.XMLSchema
) -> None:
    day = dt.date.fromisoformat(str(entry["today"]))
    report = validate_file(SAMPLES / str(entry["file"]), today=day)
    root = assert_rapport_valid(rapport_schema, rapport_bytes(report, today=day))
    codes = root.xpath("//r:Fout/r:Code/text()", namespaces=R)
    assert codes == [i.code for i in report.issues]
    retourcodes = root.xpath("//r:Fout/r:Retourcode/text()", namespaces=R)
    assert retourcodes == [i.retourcode for i in report.issues if i.retourcode]
    assert len(root.xpath("//r:Fout", namespaces=R)) == len(root.xpath("//r:Fout[r:Locatie]", namespaces=R))
    if report.valid:  # as the official XSLT: an empty Fouten
        fouten = root.find("r:Fouten", R)
        assert fouten is not None and len(fouten) == 0
    for loc in root.xpath("//r:Locatie/text()", namespaces=R):
        assert ":" not in loc and loc.startswith("/")
    if report.bericht in ("WMO401", "WMO403") and report.root is not None:
        assert root.findtext("r:Header/r:BerichtCode", namespaces=R) in ("470", "472")


def test_bsns_are_masked_and_awkward_headers_still_validate(rapport_schema: etree.XMLSchema) -> None:
    report = Report(
        issues=[
            Issue("CS002", "0001", 2, "/wmo401:Bericht/wmo401:Client/wmo401:Bsn", "Bsn 123456789 fout"),
            Issue("XSD", "0001", 1, "/a | /b", "twee plekken"),
        ]
    )
    doc = b"""<Bericht xmlns="urn:x"><Header><BerichtCode>470</BerichtCode><BerichtVersie>100</BerichtVersie>
    <BerichtSubversie>x</BerichtSubversie><BerichtIdentificatie><Identificatie>ABCDEFGHIJKLMNOP</Identificatie>
    <Dagtekening>2026-13-01</Dagtekening></BerichtIdentificatie></Header></Bericht>"""
    data = rapport_bytes(report, root=etree.fromstring(doc), today=dt.date(2026, 6, 1), xslt_versie="01.2")
    root = assert_rapport_valid(rapport_schema, data)
    assert b"123456789" not in data and b"******789" in data
    assert root.xpath("//r:Fout[2]/r:Locatie/text()", namespaces=R) == ["/a", "/b"]
    h = root.find("r:Header", R)
    assert h is not None
    assert [h.findtext(f"r:{n}", namespaces=R) for n in ("BerichtVersie", "BerichtSubversie")] == ["0", "0"]
    assert h.findtext("r:BerichtIdentificatie/r:Identificatie", namespaces=R) == "ABCDEFGHIJKL"
    assert h.findtext("r:BerichtIdentificatie/r:Dagtekening", namespaces=R) == "2026-06-01"
    assert h.find("r:XSLTVersie", R) is None  # not n.n.n: left out rather than invalid


def test_cli_rapport_one_file_to_stdout_many_to_a_folder(
    tmp_path: Path, rapport_schema: etree.XMLSchema
) -> None:
    runner = CliRunner()
    bad = SAMPLES / "invalid" / "cs002-bsn-11proef.xml"
    result = runner.invoke(app, ["validate", "--format", "rapport", "--today", "2026-06-01", str(bad)])
    assert result.exit_code == 1, result.output
    root = assert_rapport_valid(rapport_schema, result.stdout_bytes)
    assert root.xpath("//r:Fout/r:Code/text()", namespaces=R) == ["CS002"]
    two = [str(SAMPLES / "valid" / p.name) for p in sorted((SAMPLES / "valid").glob("*.xml"))[:2]]
    result = runner.invoke(app, ["validate", "--format", "rapport", *two])
    assert result.exit_code == 2 and "--rapport-dir" in result.output
    out = tmp_path / "rapporten"
    result = runner.invoke(
        app, ["validate", "--format", "rapport", "--today", "2026-06-01", "--rapport-dir", str(out), *two]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"2 rapport(en) geschreven in {out}: 2 geldig, 0 ongeldig\n"  # not silent
    written = sorted(out.glob("*.rapport.xml"))
    assert [p.name for p in written] == [f"{Path(t).stem}.rapport.xml" for t in two]
    for p in written:
        assert_rapport_valid(rapport_schema, p.read_bytes())


def test_unreadable_input_is_a_finding_not_a_crash(rapport_schema: etree.XMLSchema) -> None:
    for data in (b"", b"\xff\xfe<x/>", b"<a><b></a>", b'<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>'):
        report = validate_bytes(data)
        root = assert_rapport_valid(rapport_schema, rapport_bytes(report))
        assert root.xpath("count(//r:Fout)", namespaces=R) >= 1


def _xslt_path(el: etree._Element) -> str:
    """The XPath the official XSLT (printXPath) writes for ``el``: local names from the root, a
    position only on a step with same-named siblings. Written here from that rule, not from ieb."""
    steps = []
    node: etree._Element | None = el
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        same = [c for c in parent if etree.QName(c).localname == name] if parent is not None else [node]
        steps.append(name + (f"[{same.index(node) + 1}]" if len(same) > 1 else ""))
        node = parent
    return "/" + "/".join(reversed(steps))


def _resolve(root: etree._Element, path: str) -> etree._Element | None:
    node: etree._Element | None = None
    for n, step in enumerate(path.strip("/").split("/")):
        name, _, pos = step.partition("[")
        index = int(pos.rstrip("]")) if pos else 1
        if n == 0:
            node = root if etree.QName(root).localname == name and index == 1 else None
        else:
            assert node is not None
            same = [c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == name]
            node = same[index - 1] if len(same) >= index else None
        if node is None:
            return None
    return node


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: e["file"])
def test_locaties_are_the_official_xpaths_of_real_elements(entry: dict[str, object]) -> None:
    day = dt.date.fromisoformat(str(entry["today"]))
    report = validate_file(SAMPLES / str(entry["file"]), today=day)
    root = etree.fromstring(rapport_bytes(report, today=day))
    for loc in root.xpath("//r:Locatie/text()", namespaces=R):
        if loc == "/" or report.root is None:
            continue
        el = _resolve(report.root, loc)
        if el is not None:  # a missing element is named where it should have been
            assert _xslt_path(el) == loc


def test_official_xpath_drops_prefixes_and_keeps_positions() -> None:
    from ieb.conformance.rapport import official_xpath

    assert official_xpath("/wmo401:Bericht/wmo401:Client[2]/ieb:Bsn") == "/Bericht/Client[2]/Bsn"
    assert official_xpath("/Bericht/Header") == "/Bericht/Header"
    assert official_xpath("/") == "/"


def test_identificatie_is_copied_unmasked_details_stay_masked(rapport_schema: etree.XMLSchema) -> None:
    data = (SAMPLES / "invalid" / "cs002-bsn-11proef.xml").read_bytes()
    ident = etree.fromstring(data).xpath("//*[local-name()='Identificatie']/text()")[0]
    changed = data.replace(f">{ident}<".encode(), b"> ZW00000001 <", 1)
    report = validate_bytes(changed, today=dt.date(2026, 6, 1))
    out = rapport_bytes(report, today=dt.date(2026, 6, 1))
    root = assert_rapport_valid(rapport_schema, out)
    assert root.findtext("r:Header/r:BerichtIdentificatie/r:Identificatie", namespaces=R) == "ZW00000001"
    bsn = etree.fromstring(data).xpath("//*[local-name()='Bsn']/text()")[0]
    assert bsn.encode() not in out  # the BSN quoted in Details stays masked
    assert root.find("r:Header/r:XSLTVersie", R) is None  # ieb is no XSLT set: no XSLTVersie of its own
    assert root.xpath("//r:Fout/r:Locatie/text()", namespaces=R) == ["/Bericht/Client/Bsn"]


def test_a_bsn_put_in_the_identificatie_is_still_masked() -> None:
    doc = b"""<Bericht xmlns="urn:x"><Header><BerichtIdentificatie><Identificatie>999900018</Identificatie>
    <Dagtekening>2026-05-20</Dagtekening></BerichtIdentificatie></Header></Bericht>"""
    out = rapport_bytes(Report(), root=etree.fromstring(doc), today=dt.date(2026, 6, 1))
    assert b"999900018" not in out and b"******018" in out
    doc = doc.replace(b"999900018", b"999900019")  # nine digits, no 11-proef: a counter, copied
    out = rapport_bytes(Report(), root=etree.fromstring(doc), today=dt.date(2026, 6, 1))
    assert b">999900019<" in out


@pytest.mark.parametrize(
    "digits",
    [
        "\uff19\uff19\uff19\uff19\uff10\uff10\uff10\uff11\uff18",  # fullwidth 999900018
        "\u0669\u0669\u0669\u0669\u0660\u0660\u0660\u0661\u0668",  # Arabic-Indic 999900018
        "99990\uff10018",  # mixed scripts
    ],
)
def test_a_bsn_in_other_digits_put_in_the_identificatie_is_still_masked(digits: str) -> None:
    doc = f"""<Bericht xmlns="urn:x"><Header><BerichtIdentificatie><Identificatie>{digits}</Identificatie>
    <Dagtekening>2026-05-20</Dagtekening></BerichtIdentificatie></Header></Bericht>""".encode()
    out = rapport_bytes(Report(), root=etree.fromstring(doc), today=dt.date(2026, 6, 1))
    assert digits.encode() not in out and b"******018" in out
