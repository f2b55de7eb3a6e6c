"""t1 #9 and #11: a missing input file is a usage error (exit 2) for every command that reads
files, and ``ieb report`` refuses to overwrite an existing page without ``--force``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "nergens.csv"],
        ["queue", "nergens.xml"],
        ["retour", "nergens.xml"],
        ["build", "nergens.csv", "--out", "o"],
        ["show", "nergens.xml"],
        ["bijdrage", "nergens.json"],
    ],
    ids=lambda a: a[0],
)
def test_missing_input_file_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    extra = ["--db", str(tmp_path / "g.sqlite")] if args[0] in {"plan", "queue", "retour"} else []
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 2, result.output
    assert "nergens" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "g.sqlite").exists()


def test_report_refuses_an_existing_file_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ieb.exchange import Exchange

    monkeypatch.chdir(tmp_path)
    db = tmp_path / "g.sqlite"
    ex = Exchange.from_config(None, database=f"sqlite:///{db}")
    _ = ex.engine
    ex.close()
    page = tmp_path / "r.html"
    page.write_text("mijn eigen pagina", encoding="utf-8")
    args = ["report", "--out", str(page), "--db", str(db), "--today", "2026-06-01"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "bestaat al" in result.output and "--force" in result.output
    assert page.read_text(encoding="utf-8") == "mijn eigen pagina"
    result = runner.invoke(app, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert "<html" in page.read_text(encoding="utf-8").lower()


@pytest.mark.parametrize("command", ["retour", "queue"])
def test_without_ieb_toml_or_db_retour_and_queue_make_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The trial: ``ieb retour FILE`` in a folder without ieb.toml made ./ieb.sqlite and kept the
    retour there as failed (``ieb queue`` too), where ``ieb plan`` says no ieb.toml was found; now
    both say so (exit 2) and make nothing, through typer and the typer-free start alike."""
    import contextlib
    import io

    from ieb.cli import _retour_core as core

    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(name)
    (tmp_path / "f.xml").write_bytes(b"<x/>")
    result = runner.invoke(app, [command, "f.xml"])
    assert result.exit_code == 2, result.output
    assert "geen ieb.toml gevonden" in result.output and "ieb init" in result.output
    if command == "retour":
        err = io.StringIO()
        with contextlib.redirect_stderr(err), pytest.raises(core.Usage, match=r"geen ieb\.toml gevonden"):
            core.run(["f.xml"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.xml"]


@pytest.mark.parametrize("zero", [0x30, 0xFF10, 0x0660], ids=["ascii", "fullwidth", "arabic"])
def test_ieb_show_masks_a_bsn_in_the_name_of_a_file_it_cannot_read(tmp_path: Path, zero: int) -> None:
    bsn = "".join(chr(zero + int(c)) for c in "999900018")
    name = tmp_path / f"bericht-{bsn}.xml"
    name.write_bytes(b"<x/>")
    result = runner.invoke(app, ["show", str(name)])
    assert result.exit_code == 1, result.output
    assert (
        "niet leesbaar als iEb-bericht" in result.output and f"bericht-******{bsn[-3:]}.xml" in result.output
    )
    assert bsn not in result.output
