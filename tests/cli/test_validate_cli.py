"""``ieb validate`` as a CI job and a clerk use it: file discovery, counts, StUF-GGk envelopes (issue 15)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

import ieb.ggk as ggk
from ieb.cli import app
from tests.reference import GGK_REFERENCE

SAMPLES = Path(__file__).resolve().parent.parent / "core" / "samples"
runner = CliRunner()


def _validate(*args: str) -> object:
    return runner.invoke(app, ["validate", "--today", "2026-06-01", *args])


def test_folder_with_one_upper_case_xml_with_a_bad_bsn_fails(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / "invalid/cs002-bsn-11proef.xml", tmp_path / "BERICHT.XML")
    result = _validate(str(tmp_path))
    assert result.exit_code == 1
    assert "CS002" in result.stdout and "1 bestand(en) gecontroleerd: 0 geldig, 1 ongeldig" in result.stdout
    assert "999900007" not in result.stdout


def test_every_case_of_the_extension_is_found(tmp_path: Path) -> None:
    for n, name in enumerate(["a.xml", "b.XML", "c.Xml", "sub/d.xMl"]):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(SAMPLES / "valid/wmo401-start.xml", tmp_path / name)
        del n
    (tmp_path / "notes.txt").write_text("geen xml")
    result = _validate("-f", "json", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"] == {"files": 4, "valid": 4, "invalid": 0}


def test_zero_files_fail_unless_allowed(tmp_path: Path) -> None:
    (tmp_path / "leeg").mkdir()
    result = _validate(str(tmp_path / "leeg"))
    assert result.exit_code == 1
    assert "0 bestand(en) gecontroleerd" in result.stdout and "--allow-empty" in result.stderr
    result = _validate("-f", "json", str(tmp_path / "leeg"))
    assert result.exit_code == 1 and json.loads(result.stdout)["summary"]["files"] == 0
    assert _validate("--allow-empty", str(tmp_path / "leeg")).exit_code == 0


def test_published_ggk_examples_validate() -> None:
    folder = GGK_REFERENCE / "examples"
    if not folder.is_dir():
        pytest.skip(f"published StUF-GGk examples not found at {folder}")
    result = _validate("-f", "json", str(folder))
    assert result.exit_code == 0, result.stdout
    out = json.loads(result.stdout)
    assert out["summary"] == {"files": 7, "valid": 7, "invalid": 0}
    kinds = {Path(f["path"]).name: f["bericht"] for f in out["files"]}
    assert kinds["envelopHeenbericht-ggk_Di01_v21-xml.xml"] == "ggk_Di01"
    assert kinds["envelopRetourbericht-ggk_Du01-v21.xml"] == "ggk_Du01"
    assert kinds["Fo01.xml"] == kinds["soap-envelope-fo01.xml"] == "Fo01"
    for f in out["files"]:
        assert f["release"] == "stuf-ggk-0210"
        if f["bericht"] == "Fo01":
            assert f["payload"] is None
        else:  # the examples carry iWmo / text placeholders: not iEb, so not judged
            assert f["payload"]["valid"] is None and f["payload"]["bericht"] is None


def _envelope(payload: bytes) -> bytes:
    return ggk.build(ggk.new_di01(payload, "WMO401", "0363", tijdstip=dt.datetime(2026, 5, 20, 10, 0)))


def test_envelope_and_the_ieb_file_inside_both_have_a_verdict(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(_envelope((SAMPLES / "valid/wmo401-start.xml").read_bytes()))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(_envelope((SAMPLES / "invalid/cs002-bsn-11proef.xml").read_bytes()))
    wrong = tmp_path / "wrong.xml"  # functie WMO401 but a WMO403 inside: IB240 on the envelope
    wrong.write_bytes(_envelope((SAMPLES / "valid/wmo403-stop.xml").read_bytes()))
    result = _validate("-f", "json", str(good), str(bad), str(wrong))
    assert result.exit_code == 1
    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    for f in files.values():
        assert set(f) == {"path", "bericht", "release", "valid", "issues", "payload"}
        assert f["bericht"] == "ggk_Di01"
        assert set(f["payload"]) >= {"functie", "bericht", "release", "valid", "issues"}
    assert files["good.xml"]["valid"] and files["good.xml"]["payload"]["valid"] is True
    assert files["good.xml"]["payload"]["bericht"] == "WMO401"
    assert files["bad.xml"]["valid"] is False and files["bad.xml"]["issues"] == []
    assert [i["code"] for i in files["bad.xml"]["payload"]["issues"]] == ["CS002"]
    assert [i["code"] for i in files["wrong.xml"]["issues"]] == ["IB240"]
    assert "999900007" not in result.stdout


def test_broken_envelope_is_rin001(tmp_path: Path) -> None:
    data = _envelope((SAMPLES / "valid/wmo401-start.xml").read_bytes())
    broken = tmp_path / "broken.xml"
    broken.write_bytes(data.replace(b"<StUF:applicatie>ieb</StUF:applicatie>", b"<StUF:app>ieb</StUF:app>"))
    result = _validate("-f", "json", str(broken))
    assert result.exit_code == 1
    (f,) = json.loads(result.stdout)["files"]
    assert f["issues"][0]["code"] == "RIN001" and f["payload"] is None


def test_text_and_junit_show_the_payload_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(_envelope((SAMPLES / "invalid/cs002-bsn-11proef.xml").read_bytes()))
    text = _validate(str(bad))
    assert (
        "ONGELDIG" in text.stdout
        and "inhoud: WMO401 (ieb-1.0) ONGELDIG" in text.stdout
        and "CS002" in text.stdout
    )
    junit = _validate("-f", "junit", str(bad))
    suite = etree.fromstring(junit.stdout.encode())
    assert suite.get("failures") == "1" and "CS002" in junit.stdout


def test_help_lists_choices_and_example() -> None:
    result = runner.invoke(app, ["validate", "--help"], env={"COLUMNS": "80"})
    assert "text|json|junit" in result.stdout and "Voorbeeld:" in result.stdout
    assert "--allow-empty" in result.stdout


def test_a_file_refused_before_it_is_read_says_so_instead_of_an_unknown_release(tmp_path: Path) -> None:
    """A BOM (OP192) stops reading; the line says "niet gelezen", not "? (onbekende release)"."""
    bom = tmp_path / "bom.xml"
    bom.write_bytes(b"\xef\xbb\xbf" + (SAMPLES / "valid/wmo401-start.xml").read_bytes())
    res = _validate(str(bom))
    assert res.exit_code == 1  # type: ignore[attr-defined]
    first = res.output.splitlines()[0]  # type: ignore[attr-defined]
    assert "niet gelezen" in first and "onbekende release" not in first
    assert "OP192" in res.output  # type: ignore[attr-defined]


def _three_ieb40_files(folder: Path) -> Path:
    """Three valid WMO405 files of the ieb-4.0 pack (on its stand-in schema), built by ``ieb build``."""
    records = folder / "records.csv"
    records.write_text(
        "bericht,afzender,identificatie,dagtekening,bsn,eb_start_nummer,status,eb_startdatum,eb_stopdatum,"
        "kostprijs_bedrag,kostprijs_startdatum\n"
        + "".join(
            f"WMO405,0363,A{n},2026-05-20,{bsn},{n},1,2026-05-01,2026-08-31,57000,2026-05-01\n"
            for n, bsn in enumerate(("999990019", "999990020", "999990032"), start=1)
        ),
        encoding="utf-8",
    )
    out = folder / "b"
    built = runner.invoke(
        app, ["build", str(records), "--release", "ieb-4.0", "--out", str(out), "--today", "2026-06-01"]
    )
    assert built.exit_code == 0, built.output
    assert len(list(out.glob("*.xml"))) == 3
    return out


def test_the_stand_in_note_is_shown_once_per_run_in_both_start_paths(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    out = _three_ieb40_files(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("IEB_CONFIG", "IEB_DVS_URL")}
    texts = []
    for script in (
        "import sys; from ieb.cli import main; sys.argv = ['ieb', 'validate', *sys.argv[1:]]; main()",
        "import sys; from ieb.cli import app; sys.argv = ['ieb', 'validate', *sys.argv[1:]]; app(prog_name='ieb')",
    ):
        done = subprocess.run(
            [sys.executable, "-c", script, "--today", "2026-06-01", str(out)],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        texts.append(done.stdout.decode())
    assert texts[0] == texts[1]
    lines = texts[0].splitlines()
    assert [line.startswith("GELDIG") for line in lines[:3]] == [True] * 3
    (note,) = [line for line in lines if "stand-in" in line]
    assert note.startswith("let op: stand-in schema") and note.endswith("(ieb-4.0: 3 bestand(en))")
    assert lines[-2:] == [note, "3 bestand(en) gecontroleerd: 3 geldig, 0 ongeldig"]
    # the JSON contract is unchanged: every such file keeps its own stand_in
    report = json.loads(_validate("--format", "json", str(out)).stdout)
    assert [bool(f.get("stand_in")) for f in report["files"]] == [True] * 3


def test_a_finding_without_retourcode_or_location_reads_cleanly_in_text_and_junit(tmp_path: Path) -> None:
    """A file of another release (RELEASE: no retourcode) and one that is no XML (no location): the
    JUnit text says "geen retourcode" (not Python's "None") and has no " :" before the message; the
    text line ends at the bracket."""
    wmo401 = tmp_path / "wmo401.xml"
    shutil.copy(SAMPLES / "valid/wmo401-start.xml", wmo401)
    (tmp_path / "kapot.xml").write_bytes(b"<a>\n  <b>\n</a>\n")
    junit = _validate("-f", "junit", "--release", "ieb-4.0", str(wmo401), str(tmp_path / "kapot.xml"))
    failures = [f.text for f in etree.fromstring(junit.stdout.encode()).iter("failure")]
    assert failures[0].startswith("RELEASE (geen retourcode, niveau 1): "), failures
    assert failures[1].startswith("XML (retourcode 0001, niveau 1): Het bestand is geen welgevormde XML"), (
        failures
    )
    text = _validate("--release", "ieb-4.0", str(wmo401), str(tmp_path / "kapot.xml"))
    assert "    RELEASE (geen retourcode, niveau 1)\n" in text.stdout
    assert "    XML (retourcode 0001, niveau 1)\n" in text.stdout


def test_a_bsn_in_a_file_name_is_masked_in_the_text_but_kept_in_json(tmp_path: Path) -> None:
    """A file named after its client (`client-999999990.xml`): the clerk's text masks the Bsn, as
    `ieb retour`, `ieb plan` and the logboek do; the JSON contract keeps the name as given."""
    named = tmp_path / "client-999999990.xml"
    shutil.copy(SAMPLES / "valid/wmo401-start.xml", named)
    result = _validate(str(named))
    assert result.exit_code == 0, result.output
    assert "999999990" not in result.stdout and "client-******990.xml" in result.stdout
    report = json.loads(_validate("-f", "json", str(named)).stdout)
    assert report["files"][0]["path"] == str(named)


def test_a_bsn_in_a_file_name_is_masked_in_junit(tmp_path: Path) -> None:
    """JUnit ends up on CI dashboards: its testcase name masks the Bsn of a file name too (valid and
    invalid files; the failure text holds no full Bsn either)."""
    from lxml import etree

    good = tmp_path / "client-999999990.xml"
    shutil.copy(SAMPLES / "valid/wmo401-start.xml", good)
    bad = tmp_path / "client-999999991.xml"
    bad.write_bytes(b"<niet-af")
    result = _validate("-f", "junit", str(good), str(bad))
    assert result.exit_code == 1, result.output
    assert "99999999" not in result.stdout
    names = etree.fromstring(result.stdout.encode()).xpath("//testcase/@name")
    assert sorted(n.rsplit("/", 1)[-1] for n in names) == ["client-******990.xml", "client-******991.xml"]
