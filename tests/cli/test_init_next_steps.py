"""``ieb init --simulator``'s "volgende stappen" line works where it is pasted: the commands read
./simulator.toml, ./ieb.toml and ./gewenst.csv, so with ``--dir MAP`` the line starts with
``cd MAP;`` (trial, session 7: from the parent folder the commands found no configuration)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app

runner = CliRunner()
STEPS = "ieb simulate serve --config simulator.toml &  ieb serve &  ieb plan gewenst.csv --queue"


def test_the_next_steps_go_to_the_folder_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IEB_CONFIG", raising=False)
    result = runner.invoke(app, ["init", "--simulator", "-g", "0363", "--dir", "mijn gemeente"])
    assert result.exit_code == 0, result.output
    assert f"volgende stappen: cd 'mijn gemeente';  {STEPS}" in result.stdout, result.stdout

    (tmp_path / "hier").mkdir()
    monkeypatch.chdir(tmp_path / "hier")
    result = runner.invoke(app, ["init", "--simulator", "-g", "0363"])
    assert result.exit_code == 0, result.output
    assert f"volgende stappen: {STEPS}" in result.stdout, result.stdout
