"""``ieb retour`` without typer (ieb.cli._retour_core, issue 22) reads and does what typer did.

* the arguments: for every command line the quick reader accepts, typer reads the same values
  (hypothesis over a grammar of options, values and files); any other line goes to typer;
* the process: ``ieb retour ...`` through :func:`ieb.cli.main` (quick, no typer imported) and through
  typer give the same stdout, stderr, exit code and ledger rows, usage errors included;
* the report: one line per retour in the clerk's words, then the summary line; a FIFO, a folder or
  a device named on the command line is "is geen gewoon bestand" (exit 2) and is never opened.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ieb.cli import _retour_core as core
from ieb.cli import app
from ieb.cli._validate_core import Usage
from ieb.ledger.retour import RetourOutcome

TODAY = dt.date(2024, 6, 15)

# ------------------------------------------------------------------------------------ arguments

_OPTION_VALUES = {"--db": ["g.sqlite", "sqlite:///g.sqlite", "=x"], "--config": ["ieb.toml", "map/i.toml"]}


@st.composite
def _command_lines(draw: st.DrawFn) -> list[str]:
    args: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["file", "option", "option=", "short", "shortjoined", "odd"]))
        if kind == "file":
            args.append(draw(st.sampled_from(["a.xml", "b c.XML", "./x.xml", "map/", "é.xml", "-"])))
        elif kind in ("option", "option="):
            name = draw(st.sampled_from(sorted(_OPTION_VALUES)))
            value = draw(st.sampled_from(_OPTION_VALUES[name]))
            args += [f"{name}={value}"] if kind == "option=" else [name, value]
        elif kind == "short":
            args += ["-c", draw(st.sampled_from(_OPTION_VALUES["--config"]))]
        elif kind == "shortjoined":
            args.append("-c" + draw(st.sampled_from(_OPTION_VALUES["--config"])))
        else:
            args.append(
                draw(
                    st.sampled_from(
                        [
                            "--",
                            "--help",
                            "-h",
                            "--retry-failed",
                            "--drop-failed",
                            "--db",
                            "-c",
                            "-x",
                            "",
                            "--db=",
                            "--dbx=1",
                        ]
                    )
                )
            )
    return args


def _typer_params(args: list[str]) -> dict[str, Any] | None:
    """What typer gives the retour command for ``args`` (None when it refuses them)."""
    command = typer.main.get_command(app).commands["retour"]  # type: ignore[attr-defined]
    try:
        ctx = command.make_context("retour", list(args))
    except BaseException:  # a usage error (click's exceptions, typer.Exit)  # noqa: BLE001
        return None
    return dict(ctx.params)


@settings(max_examples=300, deadline=None)
@given(_command_lines())
def test_what_the_quick_reader_accepts_typer_reads_the_same(args: list[str]) -> None:
    quick = core.parse_args(args)
    if quick is None:
        return  # typer reads it (and prints its own usage errors)
    expected = _typer_params(args)
    assert expected is not None, args
    assert {"retry_failed": False, "config": None, "db": None, "drop_failed": (), **quick} == expected, args


@pytest.mark.parametrize(
    "args",
    [
        ["a.xml"],
        ["a.xml", "b.xml", "--db", "g.sqlite"],
        ["--db=sqlite:///g.sqlite", "-cieb.toml", "a.xml"],
        ["--config", "ieb.toml", "--", "-", "a.xml"],
    ],
)
def test_plain_command_lines_are_read_without_typer(args: list[str]) -> None:
    quick = core.parse_args(args)
    assert quick is not None
    assert {"retry_failed": False, "config": None, "db": None, "drop_failed": (), **quick} == _typer_params(
        args
    )


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["a.xml", "--retry-failed"],
        ["--db", "x"],
        ["a.xml", "--db"],
        ["--db", "a", "--db", "b", "c"],
    ],
)
def test_other_command_lines_go_to_typer(args: list[str]) -> None:
    assert core.parse_args(args) is None


# ------------------------------------------------------------------------------------- the report


def _outcome(source: str, outcome: str, *codes: str, duplicate: bool = False) -> RetourOutcome:
    return RetourOutcome(source, "WMO402", "0363", "B1", dt.date(2026, 6, 1), outcome, codes, duplicate)


def test_every_outcome_in_the_clerks_words_and_the_summary_counts_them() -> None:
    report = core._Report()
    out = io.StringIO()
    with redirect_stdout(out):
        report.chunk(
            [
                _outcome("a.xml", "accepted"),
                _outcome("b.xml", "rejected", "8848"),
                _outcome("c.xml", "technical", "0001"),
                _outcome("d.xml", "not_assessed", "0233"),
                _outcome("e.xml", "accepted", duplicate=True),
            ],
            [],
        )
        report.chunk([_outcome("f\nx.xml", "rejected", "S300", "9330")], [("g.xml", "onleesbaar")])
    lines = out.getvalue().splitlines()
    assert lines == [
        "a.xml: WMO402 op 0363/B1/2026-06-01: geaccepteerd [-]",
        "b.xml: WMO402 op 0363/B1/2026-06-01: afgewezen [8848]",
        "c.xml: WMO402 op 0363/B1/2026-06-01: technisch afgekeurd [0001]",
        "d.xml: WMO402 op 0363/B1/2026-06-01: niet beoordeeld [0233]",
        "e.xml: WMO402 op 0363/B1/2026-06-01: geaccepteerd [-] (dubbel ontvangen, niets gewijzigd)",
        "f\\nx.xml: WMO402 op 0363/B1/2026-06-01: afgewezen [S300 9330]",  # a name forges no line
    ]
    assert report.summary() == (
        "7 retour(en): 1 geaccepteerd, 2 afgewezen, 1 technisch afgekeurd, 1 niet beoordeeld, "
        "1 dubbel, 1 niet verwerkt"
    )


def test_a_fifo_a_folder_or_a_device_is_no_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "retour.xml"
    os.mkfifo(fifo)  # opened for reading it would block the command
    good = tmp_path / "r.xml"
    good.write_bytes(b"<x/>")
    with pytest.raises(Usage) as caught:
        core.check_files([good, fifo, tmp_path, Path("/dev/null"), tmp_path / "weg.xml"], "BESTANDEN")
    assert caught.value.option == "BESTANDEN"
    assert caught.value.message == (
        f"bestaat niet: {tmp_path / 'weg.xml'}; is een map, geen bestand: {tmp_path} (geef de "
        f"bestanden erin, bijvoorbeeld {tmp_path / '*.xml'}); is geen gewoon bestand: {fifo}, /dev/null"
    )
    core.check_files([good], "BESTANDEN")  # fine
    with pytest.raises(Usage, match=r"^- \(standaardinvoer\) wordt niet gelezen"):
        core.check_files([good, Path("-")], "BESTANDEN")  # stdin: no file name to keep a retour under
    result = CliRunner().invoke(app, ["retour", str(fifo), "--db", str(tmp_path / "g.sqlite")])
    assert result.exit_code == 2 and f"fout: BESTANDEN: is geen gewoon bestand: {fifo}" in result.stderr
    assert not (tmp_path / "g.sqlite").exists()
    # a clerk's first try: the folder the retours came in; told how to name the files in it
    result = CliRunner().invoke(app, ["retour", str(tmp_path), "--db", str(tmp_path / "g.sqlite")])
    assert result.exit_code == 2, result.output
    assert (
        f"is een map, geen bestand: {tmp_path} (geef de bestanden erin, bijvoorbeeld {tmp_path / '*.xml'})"
        in (result.stderr)
    )
    assert not (tmp_path / "g.sqlite").exists()


# ------------------------------------------------------------------------------------- processes


@pytest.fixture(scope="module")
def retours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``g.sqlite`` (three WMO401 sent) and their retours ``ret/*.retour.xml``."""
    where = tmp_path_factory.mktemp("retour_fast")
    runner = CliRunner()
    desired = where / "desired.csv"
    desired.write_text(
        "bsn,start,stop,kostprijs_cent,kostprijs_start\n"
        "999900006,2024-05-01,,,\n999900018,2024-05-01,,,\n999900031,2024-05-01,,,\n"
    )
    db, out = where / "g.sqlite", where / "out"
    res = runner.invoke(
        app,
        [
            "plan",
            str(desired),
            "--afzender",
            "0363",
            "--out",
            str(out),
            "--db",
            str(db),
            "--today",
            str(TODAY),
        ],
    )
    assert res.exit_code == 0, res.output
    files = [str(f) for f in sorted(out.glob("*.xml"))]
    state, ret = where / "cak.sqlite", where / "ret"
    res = runner.invoke(
        app, ["simulate", "process", "--state", str(state), "--out", str(ret), "--today", str(TODAY), *files]
    )
    assert res.exit_code == 0, res.output
    assert len(list(ret.glob("*.retour.xml"))) == 3
    (where / "junk.xml").write_bytes(b"geen xml")
    os.mkfifo(where / "fifo.xml")
    return where


def _process(args: list[str], cwd: Path, quick: bool) -> tuple[int, str, str, list[Any]]:
    """``ieb ARGS`` in a fresh interpreter on a fresh copy of the ledger, through main() (quick) or
    through typer; the quick one must not import typer, click or the configuration. Returns exit code, stdout, stderr
    and the deliveries' outcomes."""
    work = cwd / ("quick" if quick else "typer")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    shutil.copy(cwd / "g.sqlite", work / "g.sqlite")
    if quick:
        script = (
            "import sys; from ieb.cli import main; sys.argv = ['ieb', *sys.argv[1:]]\n"
            "try:\n    main()\nfinally:\n"
            "    loaded = {'typer', 'click', 'ieb.config', 'pydantic_settings'} & set(sys.modules)\n"
            "    assert not loaded, loaded"
        )
    else:
        script = (
            "import sys; from ieb.cli import app; sys.argv = ['ieb', *sys.argv[1:]]; app(prog_name='ieb')"
        )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("IEB_")}
    done = subprocess.run(
        [sys.executable, "-c", script, *args, "--db", str(work / "g.sqlite")],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )
    with sa.create_engine(f"sqlite:///{work / 'g.sqlite'}").connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text("SELECT id, outcome FROM deliveries ORDER BY id"))]
    out = done.stdout.decode().replace(str(work), "WORK")
    err = done.stderr.decode().replace(str(work), "WORK")
    return done.returncode, out, err, rows


@pytest.mark.parametrize(
    "args",
    [
        ["retour", "ret"],  # replaced below by the three retours, the first twice
        ["retour", "junk.xml", "ret"],
        ["retour", "fifo.xml", "ret"],
        ["retour", "weg.xml"],
        ["retour", "-", "ret"],
    ],
    ids=["three-and-a-duplicate", "junk", "fifo", "missing", "dash"],
)
def test_quick_and_typer_give_the_same_process_output(retours: Path, args: list[str]) -> None:
    names = sorted(str(p.relative_to(retours)) for p in (retours / "ret").glob("*.retour.xml"))
    args = [a for a in args if a != "ret"] + ([*names, names[0]] if "ret" in args else [])
    quick = _process(args, retours, quick=True)
    assert quick == _process(args, retours, quick=False)
    code, out, err, rows = quick
    if args[1] == "junk.xml":
        assert code == 1 and "junk.xml: niet verwerkt" in err
        assert out.endswith(
            "5 retour(en): 3 geaccepteerd, 0 afgewezen, 0 technisch afgekeurd, 0 niet beoordeeld, "
            "1 dubbel, 1 niet verwerkt\n"
        )
    elif args[1] == "-":  # stdin is refused (exit 2) before anything is read or applied
        assert code == 2 and out == "" and "fout: BESTANDEN: - (standaardinvoer) wordt niet gelezen" in err
        assert {o for _, o in rows} == {"pending"}
    elif args[1] in ("fifo.xml", "weg.xml"):
        assert code == 2 and out == "" and "fout: BESTANDEN: " in err
        assert {o for _, o in rows} == {"pending"}
    else:
        assert code == 0 and err == ""
        assert out.count(": geaccepteerd [-]") == 4 and "(dubbel ontvangen, niets gewijzigd)" in out
        assert out.endswith("1 dubbel, 0 niet verwerkt\n")
        assert {o for _, o in rows} == {"accepted"}


def test_the_json_contract_keeps_its_english_outcome_keys(retours: Path) -> None:
    """The clerk's words are for the text report; ``ieb status --format json`` keeps its keys."""
    names = [str(p) for p in sorted((retours / "ret").glob("*.retour.xml"))]
    db = retours / "json.sqlite"
    shutil.copy(retours / "g.sqlite", db)
    runner = CliRunner()
    assert runner.invoke(app, ["retour", *names, "--db", str(db)]).exit_code == 0
    res = runner.invoke(app, ["status", "--format", "json", "--db", str(db), "--today", str(TODAY)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["deliveries"] == {
        "pending": 0,
        "accepted": 3,
        "rejected": 0,
        "technical": 0,
        "not_assessed": 0,
    }


@pytest.mark.parametrize("configured", ["IEB_RELEASE", "ieb.toml"])
def test_an_unconfigured_run_gives_what_the_configured_exchange_gives(
    retours: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: str
) -> None:
    """Without --config, IEB_* or ./ieb.toml the retours go to the database without loading the
    configuration; with the defaults configured explicitly they go through the Exchange: the same
    output and the same ledger rows (the junk file kept in the inbox both times)."""
    names = [str(p) for p in sorted((retours / "ret").glob("*.retour.xml"))]
    files = [*names, str(retours / "junk.xml"), names[0]]
    for k in [k for k in os.environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    results = []
    for lean in (True, False):
        if not lean:
            if configured == "ieb.toml":
                (tmp_path / "ieb.toml").write_text('release = "ieb-1.0"\n', encoding="utf-8")
            else:
                monkeypatch.setenv("IEB_RELEASE", "ieb-1.0")
        assert core._unconfigured(None) is lean
        db = tmp_path / f"{lean}.sqlite"
        shutil.copy(retours / "g.sqlite", db)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), contextlib.redirect_stderr(err):
            code = core.run(files, db=str(db))
        with sa.create_engine(f"sqlite:///{db}").connect() as conn:
            rows = [
                tuple(r) for r in conn.execute(sa.text("SELECT id, outcome, retour_codes FROM deliveries"))
            ]
            inbox = [tuple(r) for r in conn.execute(sa.text("SELECT referentienummer, status FROM inbox"))]
        results.append((code, out.getvalue(), err.getvalue(), rows, inbox))
    assert results[0] == results[1]
    assert results[0][0] == 1 and len(results[0][4]) == 1


def test_a_database_that_cannot_be_used_reports_no_summary(retours: Path, tmp_path: Path) -> None:
    """Nothing was applied (a database of a newer ieb): only the error, exit 1, no "0 retour(en)"."""
    db = tmp_path / "nieuw.sqlite"
    shutil.copy(retours / "g.sqlite", db)
    with sa.create_engine(f"sqlite:///{db}").begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    names = [str(p) for p in sorted((retours / "ret").glob("*.retour.xml"))]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), contextlib.redirect_stderr(err):
        code = core.run(names, db=str(db))
    assert (code, out.getvalue()) == (1, ""), err.getvalue()
    assert err.getvalue().startswith("fout: ") and "9999_future" in err.getvalue()


def test_a_failure_says_once_which_files_retry_failed_picks_up(tmp_path: Path) -> None:
    """Each failed file on its own line without claiming it was kept (an unreadable file is not: the
    attack helper found "(bewaard, later: ieb retour --retry-failed)" under a FIFO), then, with the
    summary at the end of the run (not after the first failing chunk, in the middle of the output),
    one line saying which failures are kept for --retry-failed."""
    from ieb.cli._retour_core import KEPT_NOTE, _Report

    report = _Report()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), contextlib.redirect_stderr(err):
        report.chunk(
            [], [("a.xml", "geen geldige retour: X"), ("b.xml", "niet te lezen (Permission denied)")]
        )
        report.chunk([_outcome("d.xml", "accepted")], [("c.xml", "geen geldige retour: Y")])
        assert "--retry-failed" not in err.getvalue()  # nothing yet: the run is not over
        report.write_summary()
    lines = err.getvalue().splitlines()
    assert lines == [
        "a.xml: niet verwerkt: geen geldige retour: X",
        "b.xml: niet verwerkt: niet te lezen (Permission denied)",
        "c.xml: niet verwerkt: geen geldige retour: Y",
        KEPT_NOTE,
    ]
    assert "bewaard" in KEPT_NOTE and "`ieb retour --retry-failed`" in KEPT_NOTE
    assert out.getvalue().splitlines()[-1] == report.summary()
    assert report.failed == 3


def test_a_run_without_failures_has_no_retry_note() -> None:
    report = core._Report()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), contextlib.redirect_stderr(err):
        report.chunk([_outcome("a.xml", "accepted")], [])
        report.write_summary()
    assert err.getvalue() == ""
    assert out.getvalue().splitlines()[-1] == report.summary()


def test_the_command_gives_the_retry_note_once_after_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two chunks, each with a failure: the note comes once, after every failure line."""
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr("ieb.ledger.retour._CHUNK", 1)
    names = []
    for i in range(3):
        (tmp_path / f"kapot-{i}.xml").write_bytes(b"<wmo402:Bericht")
        names.append(f"kapot-{i}.xml")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), contextlib.redirect_stderr(err):
        assert core.run(names, db=str(tmp_path / "g.sqlite")) == 1
    lines = err.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == names
    assert lines[3:] == [core.KEPT_NOTE]
    assert out.getvalue().splitlines() == [
        "3 retour(en): 0 geaccepteerd, 0 afgewezen, 0 technisch afgekeurd, 0 niet beoordeeld, 0 dubbel, 3 niet verwerkt"
    ]


def test_retry_failed_says_the_outcome_in_dutch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--retry-failed`` names each entry's new status in the clerk's words ("niet verwerkt", as
    the lines of a run over files), not the inbox's ``failed``."""
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(name)
    broken = tmp_path / "kapot.retour.xml"
    broken.write_bytes(b"<wmo402:Bericht")  # read, not processable: kept in the inbox as failed
    db = str(tmp_path / "g.sqlite")
    with contextlib.redirect_stderr(io.StringIO()), redirect_stdout(io.StringIO()):
        assert core.run([str(broken)], db=db) == 1
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()), redirect_stdout(out):
        assert core.run([], retry_failed=True, db=db) == 1
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bestand-"), lines
    assert lines[0].split(": ")[1] == "niet verwerkt", lines
    assert ": failed" not in lines[0]


@pytest.mark.parametrize("zero", [0x30, 0xFF10, 0x0660], ids=["ascii", "fullwidth", "arabic"])
def test_a_bsn_in_a_file_name_is_masked_in_every_line(zero: int) -> None:
    """The trial: ``ieb retour retour-٩٩٩٩٠٠٠٠٦.xml`` printed the name (a Bsn) in full on stdout and
    stderr, while ``ieb status`` masks it; any digits (category Nd) are masked, as mask_bsns does."""
    bsn = "".join(chr(zero + int(c)) for c in "999900006")
    report = core._Report()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), contextlib.redirect_stderr(err):
        report.chunk(
            [_outcome(f"retour-{bsn}.xml", "accepted")],
            [(f"kapot-{bsn}.xml", f"geen geldige retour (plek: {bsn})")],
        )
    assert bsn not in out.getvalue() + err.getvalue()
    assert out.getvalue().startswith(
        f"retour-******{bsn[-3:]}.xml: WMO402 op 0363/B1/2026-06-01: geaccepteerd"
    )
    assert err.getvalue().startswith(
        f"kapot-******{bsn[-3:]}.xml: niet verwerkt: geen geldige retour (plek: ******"
    )


def test_status_lists_a_failed_retour_without_a_stray_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ieb status`` showed "bestand-... : reason" (an inbox entry has no outbox status word)."""
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(name)
    (tmp_path / "kapot.retour.xml").write_bytes(b"<wmo402:Bericht")
    db = str(tmp_path / "g.sqlite")
    with contextlib.redirect_stderr(io.StringIO()), redirect_stdout(io.StringIO()):
        assert core.run(["kapot.retour.xml"], db=db) == 1
    result = CliRunner().invoke(app, ["status", "--db", db], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    i = lines.index("Mislukte retouren (inbox) (1):")
    assert lines[i + 1].startswith("  bestand-") and ": kapot.retour.xml: geen geldige retour" in lines[i + 1]
    assert " : " not in lines[i + 1], lines[i + 1]
    # and what to do next, with the two commands docs/ledger.md names
    assert "ieb retour --retry-failed" in lines[i + 2] and "ieb retour --drop-failed" in lines[i + 2]
