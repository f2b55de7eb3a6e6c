"""``ieb reconcile``: clear errors without tracebacks, hostile input never crashes the readers,
escaped HTML."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ieb.cli import app
from ieb.migration import read_administratie, read_henv, read_za, reconcile, render_html
from ieb.migration.files import HENV_KOLOMMEN
from tests.migration.build import adm, henv, za

runner = CliRunner()


def _files(tmp: Path, h: bytes | None = None, a: bytes | None = None) -> list[str]:
    (tmp / "h.csv").write_bytes(h if h is not None else henv({}))
    (tmp / "z.csv").write_bytes(za({}))
    (tmp / "a.csv").write_bytes(a if a is not None else adm({}))
    return [
        "reconcile",
        "--henv",
        str(tmp / "h.csv"),
        "--za",
        str(tmp / "z.csv"),
        "--administratie",
        str(tmp / "a.csv"),
    ]


def test_peildatum_before_2020(tmp_path: Path) -> None:
    result = runner.invoke(
        app, [*_files(tmp_path), "--peildatum", "2019-12-01", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "CS332" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o" / "afstemming.html").exists()


def test_usage_errors(tmp_path: Path) -> None:
    base = [*_files(tmp_path), "--out", str(tmp_path / "o")]
    assert runner.invoke(app, [*base, "--peildatum", "1-1-2020"]).exit_code == 2
    assert runner.invoke(app, [*base, "--peildatum", "2020-01-01", "--format", "xml"]).exit_code == 2
    no_afzender = runner.invoke(app, [*base, "--peildatum", "2020-01-01", "--queue"])
    assert no_afzender.exit_code == 2 and "--afzender" in no_afzender.output
    bad_code = runner.invoke(app, [*base, "--peildatum", "2020-01-01", "--queue", "--afzender", "36"])
    assert bad_code.exit_code == 2


def test_a_missing_file_is_a_fout_and_no_reports(tmp_path: Path) -> None:
    args = _files(tmp_path)
    args[2] = str(tmp_path / "weg.csv")
    result = runner.invoke(
        app, [*args, "--peildatum", "2020-01-01", "--out", str(tmp_path / "o"), "--format", "json"]
    )
    assert result.exit_code == 1
    counts = json.loads(result.stdout)
    assert counts["fouten"] == [
        {
            "bestand": str(tmp_path / "weg.csv"),
            "regel": 0,
            "reden": "bestand niet gevonden; controleer het pad",
        }
    ]
    assert not (tmp_path / "o" / "afstemming.html").exists()


def test_text_output_masks_bsns(tmp_path: Path) -> None:
    args = _files(tmp_path, h=henv({}, {"BSN": "999900018", "HENV_GROEP_CODE": "??"}))
    result = runner.invoke(app, [*args, "--peildatum", "2020-01-01", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "bij beide:                 1" in result.stdout
    assert "HENV_GROEP_CODE" in result.stdout
    assert "999900006" not in result.output and "999900018" not in result.output


def test_own_group_table_option(tmp_path: Path) -> None:
    args = _files(tmp_path, h=henv({"HENV_GROEP_CODE": "Z9"}))
    out = ["--peildatum", "2020-01-01", "--out", str(tmp_path / "o"), "--format", "json"]
    assert len(json.loads(runner.invoke(app, [*args, *out]).stdout)["fouten"]) == 1
    (tmp_path / "groepen.csv").write_text("code;soort\nZ9;huishoudelijke_hulp\n", encoding="utf-8")
    result = runner.invoke(app, [*args, *out, "--force", "--groepen", str(tmp_path / "groepen.csv")])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert (counts["beide"], counts["fouten"]) == (1, [])
    (tmp_path / "groepen.csv").write_text("code;soort\nZ9;fiets\n", encoding="utf-8")
    bad = runner.invoke(app, [*args, *out, "--force", "--groepen", str(tmp_path / "groepen.csv")])
    assert bad.exit_code == 1 and "kolom soort" in bad.output


def test_html_escapes_what_the_files_say() -> None:
    evil = "<script>alert(1)</script>"
    result = reconcile(
        read_henv(henv({"BSN": "999900018"}), name="h.csv"),
        read_za(za({"BSN": "999900031"}), name="z.csv"),
        read_administratie(adm({"achternaam": evil}), name=evil),
        __import__("datetime").date(2020, 1, 1),
    )
    page = render_html(result)
    assert evil not in page and "&lt;script&gt;" in page


_cell = st.text(alphabet=st.sampled_from(list('0123456789;,"-./ JNab€\r\n')), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_cell, min_size=1, max_size=len(HENV_KOLOMMEN) + 2), max_size=6))
def test_readers_never_crash_on_junk(rows: list[list[str]]) -> None:
    header = ";".join(HENV_KOLOMMEN)
    data = (header + "\r\n" + "\r\n".join(";".join(r) for r in rows)).encode("utf-8")
    result = read_henv(data, name="h.csv")
    assert all(f.regel >= 0 and f.reden for f in result.fouten)
    assert read_za(data, name="z.csv").onleesbaar  # the wrong header for a ZA file
    assert read_administratie(data, name="a.csv").onleesbaar
