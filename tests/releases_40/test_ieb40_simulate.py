"""``ieb simulate process --release`` and ``ieb demo --release ieb-4.0`` (issue 20)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb import codec
from ieb.cli import app
from ieb.messages import Wmo401
from ieb.releases.ieb_4_0 import Wmo405, build, to_xml
from tests.migrated import migrated_memory_engine

runner = CliRunner()
DAY = dt.date(2026, 6, 15)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    new = tmp_path / "wmo405.xml"
    new.write_bytes(
        to_xml(
            build(
                Wmo405,
                afzender="0363",
                identificatie="N1",
                dagtekening=DAY,
                bsn="999990019",
                eb_start_nummer=1,
                eb_startdatum=dt.date(2026, 5, 1),
                status_aanlevering="1",
            )
        )
    )
    old = tmp_path / "wmo401.xml"
    old.write_bytes(
        codec.to_xml(
            Wmo401.build(
                afzender="0363",
                identificatie="O1",
                dagtekening=DAY,
                bsn="999990020",
                eb_start_nummer=2,
                eb_startdatum=dt.date(2026, 5, 1),
            )
        )
    )
    return new, old


def test_simulate_process_release_4_0_answers_wmo406_and_refuses_a_1_0_file(tmp_path: Path) -> None:
    new, old = _files(tmp_path)
    result = runner.invoke(
        app,
        [
            "simulate",
            "process",
            "--state",
            str(tmp_path / "cak.sqlite"),
            "--out",
            str(tmp_path / "uit"),
            "--release",
            "ieb-4.0",
            "--today",
            DAY.isoformat(),
            str(new),
            str(old),
        ],
    )
    assert result.exit_code == 0, result.output
    retour = (tmp_path / "uit" / "wmo405.retour.xml").read_bytes()
    assert b"wmo406" in retour
    assert not (tmp_path / "uit" / "wmo401.retour.xml").exists()
    assert "ieb-4.0" in result.output and "ieb-1.0" in result.output
    bad = runner.invoke(
        app,
        [
            "simulate",
            "process",
            "--state",
            "x",
            "--out",
            str(tmp_path / "u2"),
            "--release",
            "ieb-9.9",
            str(new),
        ],
    )
    assert bad.exit_code == 2


@pytest.mark.slow
def test_demo_runs_in_4_0(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--count", "5", "--json", "--release", "ieb-4.0", "--timeout", "120"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["accepted"] == 5 and summary["lost"] == 0 and summary["duplicates"] == 0


def test_the_cak_answers_wmo407_with_wmo408_and_checks_9395() -> None:
    from ieb.codec import from_xml
    from ieb.releases.ieb_4_0 import Wmo407, Wmo408
    from ieb.simulator import CakSimulator

    sim = CakSimulator(migrated_memory_engine(), today=DAY)

    def heen(**kw: object) -> bytes:
        values: dict[str, object] = {
            "afzender": "0363",
            "identificatie": "B-1",
            "dagtekening": DAY,
            "bsn": "999990019",
            "eb_start_nummer": 1,
            "bw_startdatum": dt.date(2026, 5, 1),
            "status_aanlevering": "1",
        }
        values.update(kw)
        return to_xml(build(Wmo407, **values))

    try:
        first = sim.process(heen())
        assert first.verdict == "accepted" and isinstance(from_xml(first.retour or b"", today=DAY), Wmo408)
        far = sim.process(
            heen(identificatie="B-2", status_aanlevering="2", bw_startdatum=dt.date(2022, 1, 1))
        )
        assert (far.verdict, far.codes) == ("rejected", ("9395",))
        stop = sim.process(
            heen(identificatie="B-3", status_aanlevering="2", bw_stopdatum=dt.date(2026, 6, 30))
        )
        assert stop.verdict == "accepted"
    finally:
        sim.close()
