"""The command line in iEb 4.0: plan --format json, status release, queue refusing another
release's file, build --release and validate --release (issue 20, contracts)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb import codec
from ieb.cli import app
from ieb.messages import Wmo401

runner = CliRunner()
B1, B2 = "999990019", "999990020"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IEB_CONFIG", raising=False)
    assert runner.invoke(app, ["init", "-g", "0363"]).exit_code == 0
    (tmp_path / "gewenst.csv").write_text(
        "bsn,start,stop,kostprijs_cent,kostprijs_start\n"
        f"{B1},2025-05-01,2025-08-31,57000,2025-05-01\n"
        f"{B2},2025-06-01,,,\n",
        encoding="utf-8",
    )
    return tmp_path


def test_plan_json_lists_wmo405_with_the_contract_fields(folder: Path) -> None:
    result = runner.invoke(app, ["plan", "gewenst.csv", "--format", "json", "--today", "2025-11-01"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["release"] == "ieb-4.0"
    first, second = data["berichten"]
    assert {
        k: first[k]
        for k in ("bericht", "status_aanlevering", "eb_start_nummer", "eb_startdatum", "eb_stopdatum")
    } == {
        "bericht": "WMO405",
        "status_aanlevering": "1",
        "eb_start_nummer": 1,
        "eb_startdatum": "2025-05-01",
        "eb_stopdatum": "2025-08-31",
    }
    assert second["eb_stopdatum"] is None and first["kostprijs_bedrag"] == 57000
    assert B1 not in result.output  # Bsn masked


def test_queue_status_and_a_1_0_file_refused_under_4_0(folder: Path) -> None:
    queued = runner.invoke(app, ["plan", "gewenst.csv", "--queue", "--today", "2025-11-01"])
    assert queued.exit_code == 0, queued.output
    status = json.loads(runner.invoke(app, ["status", "--format", "json"]).output)
    assert status["release"] == "ieb-4.0" and status["outbox"]["pending"] == 2
    old = folder / "wmo401.xml"
    old.write_bytes(
        codec.to_xml(
            Wmo401.build(
                afzender="0363",
                identificatie="900",
                dagtekening=dt.date(2025, 11, 1),
                bsn=B2,
                eb_start_nummer=90,
                eb_startdatum=dt.date(2025, 10, 1),
            )
        )
    )
    refused = runner.invoke(app, ["queue", str(old), "--today", "2025-11-02"])
    assert refused.exit_code == 1
    assert (
        "ieb-1.0" in refused.output
        and "ieb-4.0" in refused.output
        and "niets in de wachtrij" in refused.output
    )
    after = json.loads(runner.invoke(app, ["status", "--format", "json"]).output)
    assert after["outbox"]["pending"] == 2  # nothing queued


def test_a_4_0_file_is_refused_under_a_1_0_configuration(folder: Path) -> None:
    made = runner.invoke(app, ["plan", "gewenst.csv", "--out", "uit", "--today", "2025-11-01"])
    assert made.exit_code == 0, made.output
    files = sorted(str(p) for p in (folder / "uit").glob("*.xml"))
    assert files and all("WMO405" in f for f in files)
    refused = runner.invoke(app, ["queue", *files, "--release", "ieb-1.0", "--today", "2025-11-02"])
    assert refused.exit_code == 1
    assert "release ieb-4.0" in refused.output and "'ieb-1.0'" in refused.output


def test_build_release_4_0_writes_wmo405_and_validate_reports_release_and_codes(folder: Path) -> None:
    (folder / "records.csv").write_text(
        "bericht,afzender,identificatie,dagtekening,bsn,eb_start_nummer,status,eb_startdatum,eb_stopdatum,kostprijs_bedrag,kostprijs_startdatum\n"
        f"WMO405,0363,A1,2026-05-20,{B1},7,1,2026-05-01,2026-08-31,57000,2026-05-01\n"
        f"WMO405,0363,A2,2026-05-20,{B2},8,2,2022-01-01,2023-01-31,,\n",
        encoding="utf-8",
    )
    built = runner.invoke(
        app, ["build", "records.csv", "--release", "ieb-4.0", "--out", "b", "--today", "2026-06-01"]
    )
    assert built.exit_code == 1  # row 3: TR394 (a status-2 stop before the revision term)
    assert "TR394" in built.output and not (folder / "b" / "WMO405_0363_A1.xml").exists()
    lines = (folder / "records.csv").read_text(encoding="utf-8").splitlines()
    (folder / "records.csv").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    built = runner.invoke(
        app, ["build", "records.csv", "--release", "ieb-4.0", "--out", "b", "--today", "2026-06-01"]
    )
    assert built.exit_code == 0, built.output
    report = json.loads(
        runner.invoke(app, ["validate", "b", "--format", "json", "--today", "2026-06-01"]).output
    )
    (only,) = report["files"]
    assert (only["bericht"], only["release"], only["valid"]) == ("WMO405", "ieb-4.0", True)
    late = json.loads(
        runner.invoke(app, ["validate", "b", "--format", "json", "--today", "2026-05-19"]).output
    )
    assert [(i["code"], i["retourcode"]) for i in late["files"][0]["issues"]] == [("TR135", "8848")]
    wrong = runner.invoke(
        app, ["validate", "b", "--release", "ieb-1.0", "--format", "json", "--today", "2026-06-01"]
    )
    assert wrong.exit_code == 1 and json.loads(wrong.output)["files"][0]["issues"][0]["code"] == "RELEASE"
