"""JUnit classnames: CI tools read a dot in ``classname`` as a package separator (``ieb-1.0.WMO401``
became class ``WMO401`` in package ``ieb-1`` > ``0``; ``ieb.conformance`` a package ``ieb``). Every
JUnit output of ieb now writes classnames without dots, stable, and keeps its other fields."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from typer.testing import CliRunner

from ieb.cli import app
from ieb.conformance.junit import Case, classname, junit_xml
from ieb.conformance.runner import ScenarioResult, format_results

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "wmo401.xml"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=4))
def test_a_classname_has_no_dot_and_is_stable(parts: list[str]) -> None:
    name = classname(*parts)
    assert "." not in name and name == classname(*parts)
    assert name == "/".join(p.replace(".", "_") for p in parts)


def test_the_writer_makes_any_classname_safe_and_keeps_every_other_field() -> None:
    xml = junit_xml(
        "suite.naam",
        [
            Case("a.xml", "ieb-1.0.WMO401", failure="CS002", details="CS002 Bsn: fout", seconds=1.25),
            Case("b.xml", "retour/WMO402", skipped="niet van toepassing"),
            Case("c.xml", "x", details="logregel"),
        ],
    )
    root = etree.fromstring(xml)
    suite = root.find("testsuite")
    assert suite is not None
    assert (root.get("name"), root.get("tests"), root.get("failures"), root.get("time")) == (
        "suite.naam",
        "3",
        "1",
        "1.250",
    )
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        "suite.naam",
        "3",
        "1",
        "1",
    )
    a, b, c = suite.findall("testcase")
    assert [t.get("classname") for t in (a, b, c)] == ["ieb-1_0_WMO401", "retour/WMO402", "x"]
    assert [t.get("name") for t in (a, b, c)] == ["a.xml", "b.xml", "c.xml"]
    assert a.get("time") == "1.250"
    failure = a.find("failure")
    assert failure is not None and failure.get("message") == "CS002" and failure.get("type") == "ieb"
    assert failure.text == "CS002 Bsn: fout"
    skipped = b.find("skipped")
    assert skipped is not None and skipped.get("message") == "niet van toepassing"
    assert c.findtext("system-out") == "logregel"


def test_the_conformance_report_has_a_classname_without_dots() -> None:
    results = [ScenarioResult("stop-en-start", "Stop en start", passed=True, seconds=0.5)]
    root = etree.fromstring(format_results(results, "junit", "ieb"))
    (case,) = root.iter("testcase")
    assert (case.get("name"), case.get("classname"), case.get("time")) == (
        "stop-en-start",
        "ieb/conformance",
        "0.500",
    )


def test_ieb_validate_junit_classnames_have_no_dots(tmp_path: Path) -> None:
    bad = tmp_path / "kapot.xml"
    bad.write_bytes(b"<kapot")
    result = CliRunner().invoke(app, ["validate", "-f", "junit", str(EXAMPLE), str(bad)])
    root = etree.fromstring(result.stdout.encode())
    names = {t.get("name"): t.get("classname") for t in root.iter("testcase")}
    assert names == {str(EXAMPLE): "ieb-1_0/WMO401", str(bad): "onbekend/onbekend"}, names
    assert root.get("failures") == "1"
