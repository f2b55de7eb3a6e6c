"""The pytest plugin (fixtures ieb_pki, ieb_simulator, ieb_retours; Dutch assertion helpers), run as a
vendor runs it: in a pytest run of its own, the sample project in examples/vendor-ci, and an installed wheel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.conftest import ROOT

VENDOR = ROOT / "examples" / "vendor-ci"

TESTS = """
import datetime as dt
import pytest
from ieb import Wmo401, to_xml
from ieb.testing.plugin import assert_accepted, explain

TODAY = dt.date.today()


def start(ident, nummer=1, startdatum=None):
    return to_xml(Wmo401.build(afzender="0363", identificatie=ident, dagtekening=TODAY, bsn="999900006",
                               eb_start_nummer=nummer, eb_startdatum=startdatum or TODAY.replace(day=1)))


def test_pki_has_gemeente_and_ggk(ieb_pki):
    assert ieb_pki.party("0363").oin.startswith("00000099")
    assert ieb_pki.party("GGK").chain.is_file()


def test_rejected_message_is_explained_in_dutch(ieb_simulator, ieb_retours):
    assert ieb_retours.answer_to(ieb_simulator.send(start("P1"))).accepted
    ref = ieb_simulator.send(start("P2"))
    assert_accepted(ieb_retours.answer_to(ref))   # fails on purpose: 9102


def test_technical_rejection_names_the_rule(ieb_simulator, ieb_retours):
    ieb_simulator.send(start("P3", startdatum=TODAY.replace(year=TODAY.year - 2)))
    [answer] = ieb_retours.wait(1)
    assert answer.codes == ("0001",)
    assert "TR112" in explain(answer)


@pytest.mark.ieb_simulator(faults="fo01=1.0")
def test_fo01_fault(ieb_simulator, ieb_retours):
    ref = ieb_simulator.send(start("P4"))
    [answer] = ieb_retours.wait(1)
    assert answer.kind == "Fo01" and answer.cross_refnummer == ref and answer.fo01_code == "IB103"
    assert "Fo01" in explain(answer)


@pytest.mark.ieb_simulator(level1="none")
def test_level1_none_gives_no_retour(ieb_simulator, ieb_retours):
    ieb_simulator.send(b'<Bericht xmlns="http://www.istandaarden.nl/ieb/1_0/wmo401/schema"><Header/></Bericht>')
    # IV032: no retour for a level-1 failure; the GGk answers the invalid payload with Fo01 StUF055
    answers = ieb_retours.wait()
    assert [a.kind for a in answers] in ([], ["Fo01"])
"""


def test_fixtures_in_a_vendor_test_run(tmp_path: Path) -> None:
    (tmp_path / "test_vendor.py").write_text(TESTS, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "ieb.testing.plugin", "-p", "no:cacheprovider", "-q", "-rN"],
        cwd=tmp_path,
        env=_env(ROOT),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    text = run.stdout
    assert "4 passed" in text and "1 failed" in text, text + run.stderr
    assert "Het CAK heeft het bericht afgekeurd" in text
    assert "retourcode 9102 (TR102)" in text


def _env(pythonpath: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = str(pythonpath)
    return env


def test_sample_vendor_project_runs_with_the_plugin(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "ieb.testing.plugin", "-p", "no:cacheprovider"],
        cwd=VENDOR,
        env=_env(ROOT),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


@pytest.mark.slow
def test_installed_wheel_registers_the_plugin_entry_point(installed_wheel: Path) -> None:
    target = installed_wheel
    entry_points = next(target.glob("ieb-*.dist-info")) / "entry_points.txt"
    assert "[pytest11]" in entry_points.read_text()
    # no -p: the fixtures come from the installed entry point
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=VENDOR,
        env=_env(target),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
