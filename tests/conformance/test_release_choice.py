"""``ieb conformance run`` / ``list`` take their release from ieb.toml (the trial's leftover: they
defaulted to ieb-1.0 while ``ieb init`` writes ieb-4.0 configurations), and always say which
release a run uses. ``--release`` still wins."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from ieb.cli import app
from ieb.conformance.runner import ScenarioResult, format_results

runner = CliRunner()


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IEB_CONFIG", raising=False)
    monkeypatch.delenv("IEB_RELEASE", raising=False)
    return tmp_path


def _init(folder: Path, release: str) -> Path:
    result = runner.invoke(app, ["init", "-g", "0363", "--dir", str(folder), "--release", release])
    assert result.exit_code == 0, result.output
    return folder / "ieb.toml"


def test_list_follows_ieb_toml_and_says_which_release(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["conformance", "list"])
    assert result.exit_code == 0
    assert "release ieb-1.0 (standaard: geen ieb.toml gevonden)" in result.stderr
    assert "eerste-start" in result.stdout and "nieuwe-periode" not in result.stdout

    toml = _init(here, "ieb-4.0")
    result = runner.invoke(app, ["conformance", "list"])
    assert result.exit_code == 0
    assert f"release ieb-4.0 (uit {toml.resolve()})" in result.stderr
    assert "nieuwe-periode" in result.stdout and "eerste-start" not in result.stdout

    result = runner.invoke(app, ["conformance", "list", "--release", "ieb-1.0"])  # the option wins
    assert "release ieb-1.0 (--release)" in result.stderr and "eerste-start" in result.stdout

    other = here / "elders"
    _init(other, "ieb-1.0")
    result = runner.invoke(app, ["conformance", "list", "--config", str(other / "ieb.toml")])
    assert "release ieb-1.0 (uit " in result.stderr and "eerste-start" in result.stdout

    monkeypatch.setenv("IEB_RELEASE", "ieb-1.0")  # the configured settings, as every command reads them
    result = runner.invoke(app, ["conformance", "list"])
    assert "release ieb-1.0 (IEB_RELEASE)" in result.stderr and "eerste-start" in result.stdout


def test_run_uses_the_release_of_ieb_toml(here: Path) -> None:
    """A scenario of the other release is unknown: the run chose the release before it started."""
    _init(here, "ieb-4.0")
    result = runner.invoke(app, ["conformance", "run", "--target", "ieb", "--only", "eerste-start"])
    assert result.exit_code == 2, result.output
    assert re.search(r"release ieb-4\.0 \(uit .*ieb\.toml\)", result.stderr), result.stderr
    assert "onbekend scenario: eerste-start" in result.stderr and "nieuwe-periode" in result.stderr

    result = runner.invoke(
        app, ["conformance", "run", "--target", "ieb", "--release", "ieb-1.0", "--only", "nieuwe-periode"]
    )
    assert result.exit_code == 2 and "release ieb-1.0 (--release)" in result.stderr, result.stderr
    assert "onbekend scenario: nieuwe-periode" in result.stderr


def test_an_unreadable_ieb_toml_is_named_not_passed_over(here: Path) -> None:
    (here / "ieb.toml").write_text('release = "ieb-9"\n', encoding="utf-8")
    result = runner.invoke(app, ["conformance", "list"])
    assert result.exit_code == 2 and "fout: " in result.stderr and "--release" in result.stderr


def test_every_output_format_names_the_release() -> None:
    results = [ScenarioResult(name="nieuwe-periode", title="Een nieuwe periode", passed=True)]
    data = json.loads(format_results(results, "json", "ieb", release="ieb-4.0"))
    assert data["release"] == "ieb-4.0" and data["target"] == "ieb" and data["summary"]["passed"] == 1
    junit = etree.fromstring(format_results(results, "junit", "ieb", release="ieb-4.0"))
    assert junit.get("name") == "ieb conformance (ieb, ieb-4.0)"
    text = format_results(results, "text", "ieb", release="ieb-4.0").decode()
    assert "1 scenario('s) van ieb-4.0: 1 geslaagd" in text
