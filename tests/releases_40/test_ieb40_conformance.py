"""The 4.0 scenarios of ``ieb conformance run --release ieb-4.0`` (issue 20, step 4): the catalogue's
rejections get exactly their 4.0 codes, and ieb's own sender passes every scenario."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.conformance.scenarios import catalogue
from ieb.simulator.cak import CakSimulator
from tests.migrated import migrated_memory_engine

DAY = dt.date(2026, 6, 15)


def test_the_4_0_catalogue_covers_the_issue_and_its_rejections_get_their_codes() -> None:
    scenarios = catalogue(DAY, release="ieb-4.0")
    assert [s.name for s in scenarios] == [
        "nieuwe-periode",
        "periode-met-stop",
        "stop-toevoegen",
        "stop-wijzigen",
        "verwijderen",
        "afwijzing-tr056",
        "afwijzing-tr063",
        "afwijzing-tr393",
        "identificatie-teller",
        "bom",
        "xsd-ongeldig",
    ]
    for s in scenarios:
        step = s.steps[0]
        if step.send is None:
            continue
        cak = CakSimulator(migrated_memory_engine(), today=DAY)
        for payload in s.history:
            assert cak.process(payload).verdict == "accepted", s.name
        result = cak.process(step.send)
        if step.expect == "retour":  # a BOM: XSD-valid, its retour with 0001 (OP192)
            assert result.retour is not None and result.codes == ("0001",), s.name
        elif step.expect.startswith("Fo01 "):  # XSD-invalid: the 4.0 CAK answers Fo01 IB001
            assert result.retour is None and result.fo01_code == step.expect.split()[1], s.name
        else:
            assert result.codes == (step.expect,), s.name
    assert {s.steps[0].expect for s in scenarios if s.steps[0].send} == {
        "9056",
        "9063",
        "9393",
        "retour",
        "Fo01 IB001",
    }


@pytest.mark.slow
def test_our_own_sender_passes_the_4_0_scenarios(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "conformance",
            "run",
            "--target",
            "ieb",
            "--release",
            "ieb-4.0",
            "--format",
            "json",
            "--today",
            DAY.isoformat(),
        ],
    )
    data = json.loads(result.stdout)
    failed = [(s["name"], s.get("reason")) for s in data["scenarios"] if not s["passed"]]
    assert failed == [] and result.exit_code == 0
    assert data["summary"]["scenarios"] == 11
