"""t1 #9 and #11: a missing input file is a usage error (exit 2) for every command that reads
files, and ``ieb report`` refuses to overwrite an existing page without ``--force``."""

from __future__ import annotations

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
