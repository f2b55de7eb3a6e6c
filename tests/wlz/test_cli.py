"""``ieb wlz`` on the command line, with ``ieb plan``, ``ieb status`` and ``ieb report`` around it:
upload (and what it remembers), signals (stored once, broken rows named), decisions (one and a
CSV), purge; names and BSNs never printed unmasked."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.testing.demo import demo_bsns

B = demo_bsns(6)
NAMES = ["Jansen", "Pietersen", "de Vries", "Bakker", "Visser", "Smit"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "ieb.toml").write_text(
        'database = "ieb.sqlite"\ngemeenten = ["0363"]\n[wlz.beleid]\nterugwerkend_max_dagen = 120\n'
    )
    (tmp_path / "gewenst.csv").write_text(
        "bsn;start;stop\n" + "".join(f"{b};2026-01-01;\n" for b in B[:4]) + f"{B[4]};2025-07-01;2026-02-28\n"
    )
    return tmp_path


class Cli:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.outputs: list[str] = []

    def __call__(self, *args: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, [*args, "--config", str(self.workdir / "ieb.toml")])
        text = result.output + (result.stderr if result.stderr_bytes else "")
        self.outputs.append(text)
        assert result.exit_code == code, (args, result.exit_code, text, result.exception)
        return text


def test_the_whole_wlz_flow_on_the_command_line(workdir: Path) -> None:
    cli = Cli(workdir)
    w = str(workdir)
    cli("plan", f"{w}/gewenst.csv", "--queue", "--today", "2026-06-08")
    (workdir / "v.csv").write_text(f"bsn;productcategorie;begindatum\n{B[1]};13;2026-01-01\n")
    out = cli(
        "wlz",
        "upload",
        "--out",
        f"{w}/upload1.csv",
        "--peildatum",
        "2026-06-08",
        "--voorzieningen",
        f"{w}/v.csv",
    )
    assert "4 lopend of aangevraagd, 0 beëindigd" in out
    upload = (workdir / "upload1.csv").read_text()
    assert upload.splitlines()[0] == "gemeentecode;bsn;productcategorie;begindatum;einddatum"
    assert f"0363;{B[1]};13;01-01-2026;" in upload and B[4] not in upload  # ended before: not sent
    assert stat.S_IMODE(os.stat(workdir / "upload1.csv").st_mode) == 0o600  # it holds BSNs
    cli("wlz", "upload", "--out", f"{w}/upload1.csv", code=1)  # an existing file is kept
    (workdir / "verslag.csv").write_text(f"regel;bsn;melding\n3;{B[2]};BSN {B[2]} onbekend bij het IB\n")
    out = cli("wlz", "signalen", "--verwerkingsverslag", f"{w}/verslag.csv")
    assert "upload-regel 3 geweigerd: BSN ******" in out

    report = workdir / "signalen.csv"
    report.write_text(
        "bsn;naam;aanvraagdatum;afgiftedatum;ingangsdatum\n"
        + "".join(f"{b};{n};01-03-2026;01-04-2026;01-05-2026\n" for b, n in zip(B[:5], NAMES, strict=False))
        + f"{B[5][:8]}0;{NAMES[5]};01-03-2026;01-04-2026;01-05-2026\n"
    )
    out = cli("wlz", "signalen", str(report), "--ontvangen", "2026-06-15", code=1)  # one broken row
    assert "voorstel stop op 2026-04-30" in out and "voorstel laten doorlopen" in out
    assert "3 stop, 1 doorlopen, 1 zonder eigen bijdrage; 0 al eerder ontvangen; 1 regel(s) geweigerd" in out
    assert "signalen.csv:7: kolom bsn: geen geldig burgerservicenummer" in out
    out = cli("wlz", "signalen", str(report), "--ontvangen", "2026-06-16", code=1)
    assert "0 nieuw signaal/signalen" in out and "5 al eerder ontvangen" in out

    listed = json.loads(cli("wlz", "lijst", "--format", "json", "--today", "2026-06-20"))
    assert listed["open"] == 4 and {x["leeftijd_dagen"] for x in listed["open_list"]} == {5}

    cli("wlz", "besluit", B[0], "--stop", "2026-05-31")
    cli("wlz", "besluit", B[1], "--akkoord")  # the proposal: doorlopen
    out = cli("wlz", "besluit", B[4], "--stop", "2026-05-31", code=1)  # no open signal (no eigen bijdrage)
    assert "geen open Wlz-signaal voor Bsn ******" in out
    cli("wlz", "besluit", B[2], "--stop", "2026-05-31", "--doorlopen", code=1)
    (workdir / "besluiten.csv").write_text(
        f"bsn;besluit;stopdatum\n{B[2]};stop;31-05-2026\n{B[3]};vergeten;\n"
    )
    out = cli("wlz", "besluit", "--csv", f"{w}/besluiten.csv", code=1)  # all or nothing
    assert "besluiten.csv:3: kolom besluit: besluit moet stop, doorlopen of akkoord zijn" in out
    (workdir / "besluiten.csv").write_text(f"bsn;besluit;stopdatum\n{B[2]};stop;31-05-2026\n")
    assert "stop op 2026-05-31" in cli("wlz", "besluit", "--csv", f"{w}/besluiten.csv")

    status = json.loads(cli("status", "--format", "json", "--today", "2026-06-20"))
    assert status["wlz"]["open"] == 1 and status["wlz"]["besluiten"] == {"stop": 2, "doorlopen": 1}
    assert status["deliveries"]["pending"] == 6  # the existing contract is still there
    assert status["wlz"]["laatste_upload"]["verslag_geweigerd"] == 1
    assert "Wlz-signalen: 1 open (oudste 5 dagen), 3 besloten (stop 2, doorlopen 1), 1 zonder actie" in cli(
        "status", "--today", "2026-06-20"
    )

    # the accepted stops are part of what ieb plan reads; the other persons stay as they are
    out = cli("plan", f"{w}/gewenst.csv", "--today", "2026-06-20")
    assert out.count("EbStopdatum 2026-05-31") == 2 and "2 bericht(en) gepland" in out

    # a second upload reports the stopped voorzieningen with their einddatum
    cli("plan", f"{w}/gewenst.csv", "--queue", "--today", "2026-06-20")
    out = cli("wlz", "upload", "--out", f"{w}/upload2.csv", "--peildatum", "2026-06-20")
    assert "2 lopend of aangevraagd, 2 beëindigd sinds de vorige upload" in out
    assert f"0363;{B[0]};;01-01-2026;31-05-2026" in (workdir / "upload2.csv").read_text()

    # the retention floor (365 days, like [bewaren] dagen): a term too short removes nothing
    out = cli("wlz", "opschonen", "--ouder-dan", "0", "--today", "2026-06-30", code=2)
    assert "--ouder-dan" in out and "365" in out and "bewaartermijn_dagen" in out
    out = cli("wlz", "opschonen", "--ouder-dan", "2026-07-01", "--ook-open", "--today", "2026-06-30", code=2)
    assert "--ouder-dan" in out and "365" in out
    assert json.loads(cli("wlz", "lijst", "--format", "json"))["open"] == 1

    everything = "\n".join(cli.outputs)
    for b in B:
        assert b not in everything
    for n in NAMES:
        assert n not in everything


def test_a_missing_column_and_a_wrong_setting_are_named(workdir: Path) -> None:
    cli = Cli(workdir)
    (workdir / "s.csv").write_text(f"BSN;Naam;Ingang\n{B[0]};Jansen;01-05-2026\n")
    out = cli("wlz", "signalen", str(workdir / "s.csv"), code=1)
    assert (
        "verplichte kolom 'ingangsdatum' (veld ingangsdatum) ontbreekt" in out
        and "er is niets opgeslagen" in out
    )
    with (workdir / "ieb.toml").open("a") as fh:
        fh.write('[wlz.signalen.kolommen]\nbsn = "BSN"\ningangsdatum = "Ingang"\nnaam = "Naam"\n')
    assert "1 nieuw" in cli("wlz", "signalen", str(workdir / "s.csv"))
    with (workdir / "ieb.toml").open("a") as fh:
        fh.write('[wlz.upload]\nscheidingsteken = "|"\n')
    out = cli("wlz", "lijst", code=2)
    assert "wlz.upload.scheidingsteken" in out
    assert B[0] not in out and "Jansen" not in out


def _signals(workdir: Path, cli: Cli, ontvangen: str) -> None:
    """Four persons with an eigen bijdrage since 2024, then a Wlz signal for each, received on ``ontvangen``."""
    (workdir / "gewenst-2024.csv").write_text(
        "bsn;start;stop\n" + "".join(f"{b};2024-01-01;\n" for b in B[:4])
    )
    cli("plan", f"{workdir}/gewenst-2024.csv", "--queue", "--today", "2024-02-05")
    report = workdir / "signalen.csv"
    report.write_text(
        "bsn;naam;aanvraagdatum;afgiftedatum;ingangsdatum\n"
        + "".join(f"{b};{n};01-03-2025;01-04-2025;01-05-2025\n" for b, n in zip(B[:4], NAMES, strict=False))
    )
    assert "4 nieuw signaal/signalen" in cli("wlz", "signalen", str(report), "--ontvangen", ontvangen)


def test_opschonen_removes_signals_past_the_term_and_keeps_the_decisions(workdir: Path) -> None:
    cli = Cli(workdir)
    _signals(workdir, cli, "2025-06-15")
    cli("wlz", "besluit", B[0], "--stop", "2025-05-31")
    cli("wlz", "besluit", B[1], "--doorlopen")
    # the default term ([wlz.beleid] bewaartermijn_dagen = 365): 2025-06-15 is within it on 2026-06-14
    out = cli("wlz", "opschonen", "--today", "2026-06-14")
    assert "verwijderd: 0 signaal/signalen" in out
    out = cli("wlz", "opschonen", "--today", "2026-06-30")  # cut-off 2025-06-30
    assert "verwijderd: 2 signaal/signalen ontvangen voor 2025-06-30" in out and "bewaard: 2 open" in out
    out = cli("wlz", "opschonen", "--ouder-dan", "30-06-2025", "--ook-open", "--today", "2026-06-30")
    assert "verwijderd: 2 signaal/signalen" in out
    listed = json.loads(cli("wlz", "lijst", "--format", "json", "--today", "2026-06-30"))
    assert listed["open"] == 0
    status = json.loads(cli("status", "--format", "json", "--today", "2026-06-30"))
    assert status["wlz"]["besluiten"] == {"stop": 1, "doorlopen": 1}  # decisions outlive the signals


def test_opschonen_refuses_a_short_term_in_ieb_toml_and_a_future_today(workdir: Path) -> None:
    cli = Cli(workdir)
    _signals(workdir, cli, "2025-06-15")
    out = cli("wlz", "opschonen", "--today", "9999-01-01", code=2)  # a typo would cut past the term
    assert "--today" in out and "9999-01-01" in out
    out = cli("wlz", "opschonen", "--ouder-dan", "364", "--today", "2026-06-30", code=2)
    assert "364 dagen is korter dan de kortste bewaartermijn (365 dagen" in out
    out = cli("wlz", "opschonen", "--ouder-dan", "gisteren", "--today", "2026-06-30", code=2)
    assert "geen aantal dagen en geen datum" in out
    config = workdir / "ieb.toml"
    good = config.read_text()
    config.write_text(good.replace("terugwerkend_max_dagen = 120", "bewaartermijn_dagen = 30"))
    out = cli("wlz", "opschonen", "--today", "2026-06-30", code=2)
    assert (
        "wlz.beleid.bewaartermijn_dagen" in out and "korter dan de kortste bewaartermijn (365 dagen)" in out
    )
    config.write_text(good)
    assert (
        json.loads(cli("wlz", "lijst", "--format", "json", "--today", "2026-06-30"))["open"] == 4
    )  # nothing gone
