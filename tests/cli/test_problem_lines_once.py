"""A problem line names its file once. The trial: ``ieb retour`` on broken files printed
``a.xml: niet verwerkt: a.xml: geen geldige retour: ... (plek: a.xml)``: the error's text named the
file, ``str()`` added its location again and the line put the name in front. The fault was in the
composition, so it is fixed where texts are composed: ``IebError.__str__`` leaves out a location
its message already names, and :func:`ieb.errors.without_subject` drops a nested text's own
``name: `` on a line that already starts with it."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import _retour_core as core
from ieb.cli import app
from ieb.errors import ConfigurationError, IebError, without_subject
from ieb.ledger.errors import RetourInputError

BROKEN = {
    "mismatch.xml": b'<?xml version="1.0"?>\n<a>\n<b></a>\n',
    "leeg.xml": b"",
    "afgebroken.xml": b"<wmo402:Bericht",
    "geen-retour.xml": b"<a/>",
}


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(name)
    for name, data in BROKEN.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def test_str_leaves_out_a_location_the_message_names() -> None:
    error = ConfigurationError(
        "/x/ieb.toml: geen geldige TOML op regel 2", code="CONFIG", location="/x/ieb.toml"
    )
    assert str(error) == "[CONFIG] /x/ieb.toml: geen geldige TOML op regel 2"
    assert str(IebError("Bsn ontbreekt", code="CS001", location="/WMO401/Client")) == (
        "[CS001] Bsn ontbreekt (plek: /WMO401/Client)"
    )
    # only a location named as a whole counts: "regel 3" is not named by "regel 30"
    assert str(IebError("fout op regel 30", location="regel 3")) == "fout op regel 30 (plek: regel 3)"
    assert str(IebError("veld bsnummer", location="bsn")) == "veld bsnummer (plek: bsn)"
    nested = str(RetourInputError("a.xml: geen geldige retour: regel 3", location="a.xml"))
    assert nested.count("a.xml") == 1
    assert without_subject("a.xml", f"a.xml: a.xml: {nested}") == "geen geldige retour: regel 3"
    assert without_subject("a.xml", "geen retour (plek: a.xml)") == "geen retour"
    assert without_subject("a.xml", "b.xml: kopie van a.xml") == "b.xml: kopie van a.xml"


def test_ieb_retour_names_each_broken_file_once(here: Path) -> None:
    db = str(here / "g.sqlite")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert core.run(list(BROKEN), db=db) == 1
    lines = [line for line in err.getvalue().splitlines() if ": niet verwerkt: " in line]
    assert len(lines) == len(BROKEN), err.getvalue()
    for name, line in zip(BROKEN, lines, strict=True):
        assert line.startswith(f"{name}: niet verwerkt: "), line
        assert line.count(name) == 1 and "(plek:" not in line, line

    # kept in the inbox: `--retry-failed` and `ieb status` name the referentienummer, then the file once
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(out):
        assert core.run([], retry_failed=True, db=db) == 1
    retried = [line for line in out.getvalue().splitlines() if line.startswith("bestand-")]
    assert len(retried) == len(BROKEN), out.getvalue()
    for line in retried:
        assert sum(line.count(name) for name in BROKEN) == 1 and "(plek:" not in line, line
    result = CliRunner().invoke(app, ["status", "--db", db, "--detail"], env={"COLUMNS": "200"})
    shown = [line for line in result.stdout.splitlines() if line.strip().startswith("bestand-")]
    assert shown, result.output
    for line in shown:
        assert sum(line.count(name) for name in BROKEN) == 1 and "(plek:" not in line, line


def test_a_broken_ieb_toml_is_named_once(here: Path) -> None:
    (here / "ieb.toml").write_text('database = "x.sqlite"\nrelease = \n', encoding="utf-8")
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code != 0
    line = result.stderr.strip()
    assert "geen geldige TOML op regel 2" in line and line.count("ieb.toml") == 1, line


def test_validate_heen_lines_have_no_stray_space(here: Path) -> None:
    """The same composition in ``ieb validate --heen``: a finding without location printed
    ``XML `` (trailing space) and ``XML : ...`` in JUnit, as ``ieb validate`` did before fabb2ec."""
    runner = CliRunner()
    text = runner.invoke(app, ["validate", "--heen", "mismatch.xml", "afgebroken.xml"]).stdout
    assert "    XML\n" in text and not any(line.endswith(" ") for line in text.splitlines()), text
    junit = runner.invoke(app, ["validate", "-f", "junit", "--heen", "mismatch.xml", "afgebroken.xml"]).stdout
    assert "XML : " not in junit and "XML: Het bestand" in junit, junit
