"""Issue 25 item 3: every scenario failure names its code, its cause and the file that caused it;
``--bewaar`` keeps every step's messages and answers; a run that skips everything fails."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.conformance.runner import run_suite
from ieb.testing.pki import TestPki, create_test_pki


def _pki(where: Path) -> TestPki:
    """The test PKI the suite runs with (the gemeente 0363 and the GGk)."""
    return create_test_pki(where / "pki", ["0363", "GGK"])


#: A sender written without ieb's planner: one WMO401 per desired Bsn, its Identificatie counter
#: restarting every run ("T1", "T2", ...), with one deliberate fault per scenario.
SENDER = r"""
import datetime as dt, json, os, sys
from pathlib import Path
from ieb.codec import to_xml
from ieb.ggk import build, new_di01
from ieb.messages import Wmo401
from ieb.transport.client import GgkClient
from ieb.transport.tls import TlsFiles

scenario = os.environ["IEB_SCENARIO"]
if scenario == "stop":
    sys.exit(3)
day = dt.date.fromisoformat(os.environ["IEB_DAGTEKENING"])
state = Path(os.environ["IEB_STATE"])
tls = TlsFiles(Path(os.environ["IEB_CERT"]), Path(os.environ["IEB_KEY"]), Path(os.environ["IEB_CA"]))
rows = [r.split(",") for r in Path(os.environ["IEB_GEWENST"]).read_text().splitlines()[1:]]
done = json.loads((state / "done.json").read_text()) if (state / "done.json").exists() else []
with GgkClient(os.environ["IEB_ENDPOINT"], tls=tls) as client:
    if scenario == "fo01-opnieuw" and (state / "last.xml").exists():
        client.send((state / "last.xml").read_bytes())  # wrong: the same envelope after a Fo01
        sys.exit(0)
    n = 0
    for bsn, start, *_ in rows:
        if not start or bsn in done:
            continue
        n += 1
        begin = dt.date.fromisoformat(start)
        if scenario == "start-met-kostprijs":
            begin = begin.replace(year=begin.year - 2)  # wrong: TR112
        message = to_xml(Wmo401.build(afzender=os.environ["IEB_AFZENDER"], identificatie=f"T{n}",
            dagtekening=day, bsn=bsn, eb_start_nummer=len(done) + 1, eb_startdatum=begin))
        functie = "WMO403" if scenario == "eerste-start" else "WMO401"  # wrong: IB240
        envelope = build(new_di01(message, functie, os.environ["IEB_AFZENDER"]))
        client.send(envelope)
        (state / "last.xml").write_bytes(envelope)
        done.append(bsn)
(state / "done.json").write_text(json.dumps(done))
"""


@pytest.mark.slow  # ~6-18 s: the default run stays under 5 minutes on 2 cores
def test_every_failure_names_code_cause_and_file(tmp_path: Path) -> None:
    script = tmp_path / "sender.py"
    script.write_text(SENDER, encoding="utf-8")
    kept = tmp_path / "bewaard"
    only = ["eerste-start", "start-met-kostprijs", "identificatie-teller", "fo01-opnieuw"]
    results = {
        r.name: r
        for r in run_suite(f"{sys.executable} {script}", pki=_pki(kept), workdir=kept, only=only, timeout=60)
    }

    # a Fo01 of the GGk: its code, its cause and the file kept with its answer
    reason = results["eerste-start"].reason or ""
    assert "kreeg Fo01 IB240: functie WMO403 past niet bij BerichtCode 470" in reason, reason
    bestand = reason.split("(bestand: ", 1)[1].rstrip(")")
    assert (kept / bestand).is_file() and bestand.startswith("eerste-start/stap-1/ontvangen/")
    assert (kept / bestand.replace(".xml", ".fo01.txt")).read_text(encoding="utf-8").startswith("Fo01 IB240")

    # a technical rejection: 0001 with the in-message rule behind it
    reason = results["start-met-kostprijs"].reason or ""
    assert "0001" in reason and "TR112" in reason and "(bestand: " in reason, reason

    # a counter that restarts every run: the second run on the same day reuses T1
    reason = results["identificatie-teller"].reason or ""
    assert "stap 2" in reason and "9102" in reason and "al eerder met een andere inhoud" in reason, reason

    # the same envelope again after a TRANSIENT Fo01 (IB103) is a new delivery: accepted, once
    assert results["fo01-opnieuw"].passed, results["fo01-opnieuw"].reason

    # the last step's answers are kept too, with every documented field
    index = json.loads((kept / "fo01-opnieuw" / "retouren" / "retouren.json").read_text(encoding="utf-8"))
    assert index and set(index[0]) == {
        "referentienummer",
        "soort",
        "bestand",
        "functie",
        "retourcodes",
        "fo01_code",
        "fo01_omschrijving",
        "oorzaak",
    }
    assert [e["soort"] for e in index] == ["Du01"] and index[0]["retourcodes"] == []
    for r in results.values():
        assert "999900006" not in (r.reason or "")


@pytest.mark.slow  # ~6-18 s: the default run stays under 5 minutes on 2 cores
def test_a_run_that_skips_every_scenario_fails_unless_allowed(tmp_path: Path) -> None:
    script = tmp_path / "skip.py"
    script.write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    target = f"{sys.executable} {script}"
    base = ["conformance", "run", "--target", target, "--only", "eerste-start", "--only", "stop"]
    result = CliRunner().invoke(app, [*base, "--bewaar", str(tmp_path / "w")])
    assert result.exit_code == 1 and "--allow-skip" in result.output
    result = CliRunner().invoke(app, [*base, "--allow-skip"])
    assert result.exit_code == 0, result.output


def test_the_same_envelope_after_a_permanent_fo01_is_explained() -> None:
    from ieb.conformance.runner import _judge_answers
    from ieb.conformance.scenarios import Step

    reason = _judge_answers(Step(), [], resent_after_fo01=1) or ""
    assert "HETZELFDE referentienummer" in reason and "NIEUWE Di01" in reason
    assert _judge_answers(Step(), []) == "er kwam niets aan bij de simulator"


def test_a_file_not_sent_as_is_names_the_change_the_answer_and_the_file() -> None:
    """A sender that puts a BOM before IEB_VERSTUUR: the reason says so, with the CAK's code,
    its cause and the kept file (found in the trial of the merged kit)."""
    from ieb.conformance.runner import _judge_answers
    from ieb.conformance.scenarios import Sent, Step

    wanted = b"<Bericht>zo versturen</Bericht>"
    sent = Sent(
        referentienummer="r1",
        bericht="WMO405",
        status="1",
        eb_start_nummer=1,
        bsn=None,
        datum=None,
        kostprijs=None,
        payload=b"\xef\xbb\xbf<Bericht>anders</Bericht>",
        answer_kind="Du01",
        codes=("0001",),
        cause="OP192 (0001): Het bestand begint met een byte order mark",
        bestand="afwijzing-tr056/stap-1/ontvangen/01-r1.xml",
    )
    for expect in ("9056", "Fo01 IB001"):
        reason = _judge_answers(Step(send=wanted, expect=expect), [sent]) or ""
        assert reason.startswith("het opgegeven bestand kwam niet ongewijzigd aan (er is een BOM voor gezet")
        assert "kreeg Du01 0001 - OP192 (0001)" in reason
        assert reason.endswith("(bestand: afwijzing-tr056/stap-1/ontvangen/01-r1.xml)")


@pytest.mark.slow  # ~6-18 s: the default run stays under 5 minutes on 2 cores
def test_a_sender_written_without_ieb_passes_the_send_as_is_scenarios(tmp_path: Path) -> None:
    """examples/stdlib-sender: standard library only (its own SOAP envelope, ssl, http.client)."""
    from tests.conformance.conftest import ROOT

    target = f"{sys.executable} {ROOT / 'examples' / 'stdlib-sender' / 'send_as_is.py'}"
    source = (ROOT / "examples" / "stdlib-sender" / "send_as_is.py").read_text(encoding="utf-8")
    assert "import ieb" not in source and "from ieb" not in source
    results = run_suite(
        target,
        pki=_pki(tmp_path),
        workdir=tmp_path / "a",
        only=["afwijzing-tr102", "bom", "xsd-ongeldig"],
        timeout=60,
    )
    assert {r.name: r.passed for r in results} == {
        "afwijzing-tr102": True,
        "bom": True,
        "xsd-ongeldig": True,
    }, [r.reason for r in results]
    [result] = run_suite(
        target,
        pki=_pki(tmp_path),
        workdir=tmp_path / "b",
        only=["xsd-ongeldig"],
        timeout=60,
        release="ieb-4.0",
    )
    assert result.passed, result.reason  # iEb 4.0: Fo01 IB001 from the CAK
