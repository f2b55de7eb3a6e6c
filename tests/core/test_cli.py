"""``ieb validate``, ``ieb show`` and ``ieb build`` as a person and a CI pipeline use them."""

import json
import subprocess
import sys
from pathlib import Path

from lxml import etree
from typer.testing import CliRunner

from ieb.cli import app

SAMPLES = Path(__file__).parent / "samples"
FIXTURE = Path(__file__).parent.parent / "fixtures" / "release-tst-9.9"
runner = CliRunner()


def test_validate_json_contract() -> None:
    result = runner.invoke(
        app,
        [
            "validate",
            "--format",
            "json",
            "--today",
            "2026-06-01",
            str(SAMPLES / "valid/wmo401-start.xml"),
            str(SAMPLES / "invalid/many-problems.xml"),
            str(SAMPLES / "invalid/xml-dtd.xml"),
        ],
    )
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"files", "summary"}
    assert out["summary"] == {"files": 3, "valid": 1, "invalid": 2}
    for f in out["files"]:
        assert set(f) == {"path", "bericht", "release", "valid", "issues"}
        for i in f["issues"]:
            assert set(i) == {"code", "retourcode", "level", "location", "message"}
            assert isinstance(i["level"], int)
    first, many, dtd = out["files"]
    assert (first["bericht"], first["release"], first["valid"], first["issues"]) == (
        "WMO401",
        "ieb-1.0",
        True,
        [],
    )
    assert [i["code"] for i in many["issues"]] == ["CS002", "CS125", "CS300", "CS333", "8848"]
    assert [i["retourcode"] for i in many["issues"]] == ["0001", "0001", "S300", "S333", "8848"]
    assert (dtd["bericht"], dtd["release"], dtd["issues"][0]["code"]) == (None, None, "XML")
    assert "999900007" not in result.stdout


def test_validate_folder_all_valid_exit_0() -> None:
    result = runner.invoke(app, ["validate", "--today", "2026-06-01", str(SAMPLES / "valid")])
    assert result.exit_code == 0, result.output
    assert "16 geldig, 0 ongeldig" in result.stdout


def test_validate_text_and_junit() -> None:
    result = runner.invoke(
        app, ["validate", "--today", "2026-06-01", str(SAMPLES / "invalid/cs002-bsn-11proef.xml")]
    )
    assert result.exit_code == 1
    assert "ONGELDIG" in result.stdout and "CS002" in result.stdout and "999900007" not in result.stdout
    result = runner.invoke(
        app,
        [
            "validate",
            "-f",
            "junit",
            "--today",
            "2026-06-01",
            str(SAMPLES / "invalid"),
            str(SAMPLES / "valid"),
        ],
    )
    assert result.exit_code == 1
    suite = etree.fromstring(result.stdout.encode())
    assert int(suite.get("tests")) == len(list(SAMPLES.rglob("*.xml")))
    assert int(suite.get("failures")) == len(list((SAMPLES / "invalid").glob("*.xml")))


def test_validate_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", str(tmp_path / "missing.xml")]).exit_code == 2
    assert runner.invoke(app, ["validate", "--format", "yaml", str(SAMPLES)]).exit_code == 2
    assert runner.invoke(app, ["validate", "--today", "gisteren", str(SAMPLES)]).exit_code == 2
    assert runner.invoke(app, ["validate"]).exit_code == 2


def test_validate_with_own_gemeentelijst_and_extra_release(tmp_path: Path) -> None:
    lijst = tmp_path / "g.csv"
    lijst.write_text("code,naam,ingangsdatum,einddatum\n0599,Rotterdam,,\n")
    result = runner.invoke(
        app,
        [
            "validate",
            "-f",
            "json",
            "--today",
            "2026-06-01",
            "--gemeenten",
            str(lijst),
            str(SAMPLES / "valid/wmo401-start.xml"),
        ],
    )
    assert [i["code"] for i in json.loads(result.stdout)["files"][0]["issues"]] == ["CS300"]
    result = runner.invoke(
        app,
        [
            "validate",
            "-f",
            "json",
            "--release-dir",
            str(FIXTURE),
            str(FIXTURE / "tst901-valid.xml"),
            str(FIXTURE / "tst901-invalid.xml"),
        ],
    )
    files = json.loads(result.stdout)["files"]
    assert [(f["release"], f["bericht"], f["valid"]) for f in files] == [
        ("tst-9.9", "TST901", True),
        ("tst-9.9", "TST901", False),
    ]


def test_show_masks_bsn() -> None:
    result = runner.invoke(app, ["show", str(SAMPLES / "valid/wmo402-level3.xml")])
    assert result.exit_code == 0, result.output
    assert "******006" in result.stdout and "999900006" not in result.stdout
    assert "9102" in result.stdout and "WMO402" in result.stdout
    assert runner.invoke(app, ["show", str(SAMPLES / "invalid/xml-dtd.xml")]).exit_code == 1


CSV = """bericht,afzender,identificatie,dagtekening,bsn,eb_start_nummer,eb_startdatum,eb_stopdatum,kostprijs_bedrag,kostprijs_startdatum,status
WMO401,0363,B1,2026-05-20,999900006,1,2026-05-01,,57000,2026-05-01,1
WMO401,0363,B2,2026-05-20,999900018,2,2026-05-01,,,,1
WMO403,0363,B3,2026-05-20,999900006,1,,2026-05-31,,,1
"""


def test_build_from_csv_writes_valid_files(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(src), "--out", str(out), "--today", "2026-06-01"])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["WMO401_0363_B1.xml", "WMO401_0363_B2.xml", "WMO403_0363_B3.xml"]
    check = runner.invoke(app, ["validate", "--today", "2026-06-01", str(out)])
    assert check.exit_code == 0, check.output


def test_build_from_jsonl(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps(
            {
                "afzender": "0363",
                "identificatie": "J1",
                "dagtekening": "2026-05-20",
                "bsn": "999900031",
                "eb_start_nummer": 7,
                "eb_startdatum": "2026-05-01",
                "kostprijs_bedrag": 30000,
                "kostprijs_startdatum": "2026-05-01",
            }
        )
        + "\n"
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(src), "--out", str(out), "--bericht", "WMO401", "--today", "2026-06-01"]
    )
    assert result.exit_code == 0, result.output
    assert b"<ieb:KostprijsBedrag>30000</ieb:KostprijsBedrag>" in (out / "WMO401_0363_J1.xml").read_bytes()


def test_build_bad_row_names_line_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(CSV.replace("999900018", "999900019"))
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(src), "--out", str(out), "--today", "2026-06-01"])
    assert result.exit_code == 1
    assert f"{src}:3" in result.stderr and "11-proef" in result.stderr
    assert "999900019" not in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_build_refuses_a_message_the_cak_would_reject(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(CSV.replace("2026-05-01,,57000", "2024-01-01,,57000"))
    result = runner.invoke(app, ["build", str(src), "--out", str(tmp_path / "o"), "--today", "2026-06-01"])
    assert result.exit_code == 1 and "TR112" in result.stderr and f"{src}:2" in result.stderr


def test_build_bad_fields(tmp_path: Path) -> None:
    for bad, needle in [
        ("kostprijs_bedrag", "19.00"),
        ("dagtekening", "20-05-2026"),
        ("bericht", "WMO405"),
    ]:
        src = tmp_path / f"{bad}.jsonl"
        rec = {
            "bericht": "WMO401",
            "afzender": "0363",
            "identificatie": "J1",
            "dagtekening": "2026-05-20",
            "bsn": "999900031",
            "eb_start_nummer": 7,
            "eb_startdatum": "2026-05-01",
        }
        rec[bad] = needle
        src.write_text(json.dumps(rec) + "\n")
        result = runner.invoke(
            app, ["build", str(src), "--out", str(tmp_path / "o"), "--today", "2026-06-01"]
        )
        assert result.exit_code == 1, bad
        assert f"{src}:1" in result.stderr


def test_console_script_runs() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ieb",
            "validate",
            "-f",
            "json",
            "--today",
            "2026-06-01",
            str(SAMPLES / "valid/wmo403-stop.xml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["valid"] == 1
