"""``ieb conformance run``: the catalogue against our own sender (all pass), against a deliberately
wrong sender (the right scenario fails, for the right reason) and against broken targets."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from ieb.cli import app
from ieb.conformance.runner import format_results, run_suite
from ieb.conformance.scenarios import CATALOGUE, catalogue
from ieb.simulator.cak import CakSimulator
from ieb.testing.pki import TestPki, create_test_pki
from tests.conformance.conftest import ROOT
from tests.migrated import migrated_memory_engine


def _pki(where: Path) -> TestPki:
    """The test PKI the suite runs with (the gemeente 0363 and the GGk)."""
    return create_test_pki(where / "pki", ["0363", "GGK"])


WRONG = ROOT / "examples" / "wrong-sender" / "wrong_sender.py"


@pytest.mark.parametrize("day", [dt.date(2026, 1, 31), dt.date(2026, 3, 1), dt.date(2026, 12, 31)])
def test_every_rejection_scenario_gets_exactly_its_code(day: dt.date) -> None:
    """The catalogue itself: history accepted, the file to send rejected with the expected code."""
    for s in catalogue(day):
        step = s.steps[0]
        if step.send is None:
            continue
        cak = CakSimulator(migrated_memory_engine(), today=day)
        for payload in s.history:
            assert cak.process(payload).verdict == "accepted", s.name
        result = cak.process(step.send)
        if step.expect == "retour":  # the BOM file: a retour (level 1, its own header)
            assert result.retour is not None and result.codes == ("0001",), s.name
        else:
            assert result.codes == (step.expect,), s.name


def test_catalogue_covers_the_issue() -> None:
    expected = {
        "eerste-start",
        "start-met-kostprijs",
        "wijziging-startdatum",
        "stop",
        "wijziging-stop",
        "stop-en-start-verwijderen",
        "pauze",
        "bsn-correctie",
        "fo01-opnieuw",
        "herlevering",
        "retour-0001",
        "start-en-stop-samen",
        "identificatie-teller",
        "identificatie-hergebruikt",
        "bom",
        "xsd-ongeldig",
        *(f"afwijzing-tr{n}" for n in ("071", "102", "103", "104", "114", "115", "328", "329", "330")),
    }
    assert set(CATALOGUE) == expected


@pytest.mark.slow
def test_our_own_sender_passes_every_scenario_junit(tmp_path: Path) -> None:
    out = tmp_path / "conformance.xml"
    result = CliRunner().invoke(
        app, ["conformance", "run", "--target", "ieb", "--format", "junit", "--out", str(out)]
    )
    junit = etree.parse(str(out)).getroot()
    cases = junit.findall(".//testcase")
    assert [c.get("name") for c in cases] == list(CATALOGUE)
    failures = {
        c.get("name"): c.find("failure").get("message") for c in cases if c.find("failure") is not None
    }
    assert failures == {}, failures
    assert result.exit_code == 0, result.output


def test_wrong_sender_fails_the_deletion_order_scenario_only(tmp_path: Path) -> None:
    only = ["stop-en-start-verwijderen", "bsn-correctie", "afwijzing-tr071"]
    results = run_suite(f"{sys.executable} {WRONG}", pki=_pki(tmp_path), workdir=tmp_path, only=only)
    verdicts = {r.name: r.passed for r in results}
    assert verdicts == {"stop-en-start-verwijderen": False, "bsn-correctie": True, "afwijzing-tr071": True}
    reason = next(r.reason for r in results if not r.passed) or ""
    assert "9071" in reason and "stap 2" in reason
    data = json.loads(format_results(results, "json", "wrong"))
    assert data["summary"] == {"scenarios": 3, "passed": 2, "failed": 1, "skipped": 0}


def test_broken_targets_fail_with_their_reason(tmp_path: Path) -> None:
    script = tmp_path / "sender.py"
    script.write_text(
        "import os, sys\n"
        "if os.environ['IEB_SCENARIO'] == 'stop': sys.exit(3)\n"
        "if os.environ['IEB_SCENARIO'] == 'pauze': print('geen verbinding met 999900006', file=sys.stderr); sys.exit(7)\n"
        "sys.exit(0)\n"
    )
    results = run_suite(
        f"{sys.executable} {script}",
        pki=_pki(tmp_path),
        workdir=tmp_path / "w",
        only=["eerste-start", "stop", "pauze"],
        timeout=30,
    )
    by = {r.name: r for r in results}
    assert not by["eerste-start"].passed and "er kwam niets aan" in (by["eerste-start"].reason or "")
    assert by["stop"].skipped and not by["stop"].passed
    reason = by["pauze"].reason or ""
    assert "exitcode 7" in reason and "999900006" not in reason and "******006" in reason
    junit = etree.fromstring(format_results(results, "junit", "x"))
    assert junit.xpath("count(//testcase)") == 3
    assert junit.xpath("count(//testcase/skipped)") == 1 and junit.xpath("count(//testcase/failure)") == 2
    text = format_results(results, "text", "x").decode()
    assert "OVERGESLAGEN" in text and "MISLUKT" in text


def test_cli_usage_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["conformance", "run", "--target", "ieb", "--only", "bestaat-niet"])
    assert result.exit_code == 2 and "onbekend scenario" in result.output
    result = runner.invoke(app, ["conformance", "run", "--target", "ieb", "--format", "xml"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["conformance", "list"])
    assert result.exit_code == 0 and all(name in result.stdout for name in CATALOGUE)


def test_docs_example_is_the_sample_project_test() -> None:
    doc = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    block = doc.split("```py\n", 1)[1].split("```", 1)[0]
    assert block == (ROOT / "examples" / "vendor-ci" / "tests" / "test_sending.py").read_text(
        encoding="utf-8"
    )
