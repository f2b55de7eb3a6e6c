"""``validate_bytes(data, revision=...)`` with the revision of another release (``"1.0.3"`` for an
iEb 4.0 file) is a finding, never an exception (issue 22, round 6: it raised ConfigurationError, so
a caller's loop over files stopped at the first file of the other release)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ieb.errors import ConfigurationError
from ieb.validation import validate_bytes

SAMPLES = Path(__file__).resolve().parent.parent / "core" / "samples"
TODAY = dt.date(2026, 6, 1)


def _wmo405(**values: object) -> bytes:
    from ieb.codec import to_xml
    from ieb.ledger.history import Delivery

    fields: dict[str, object] = {
        "afzender": "0363",
        "identificatie": "B-7",
        "dagtekening": dt.date(2026, 5, 20),
        "bsn": "999900006",
        "eb_start_nummer": 17,
        "status": "1",
        "datum": dt.date(2026, 5, 1),
        "kostprijs_bedrag": None,
        "kostprijs_startdatum": None,
        "stopdatum": None,
    }
    fields.update(values)
    return to_xml(Delivery("WMO405", **fields).to_message())  # type: ignore[arg-type]


def test_a_40_file_with_a_10_revision_is_a_revisie_finding() -> None:
    report = validate_bytes(_wmo405(), today=TODAY, revision="1.0.3")
    assert (report.bericht, report.release) == ("WMO405", "ieb-4.0")
    [issue] = report.issues
    assert (issue.code, issue.level, issue.retourcode) == ("REVISIE", 1, None)
    assert "WMO405 van release ieb-4.0" in issue.message
    assert "revisie 1.0.3 hoort bij release ieb-1.0" in issue.message
    assert "(revisies van ieb-4.0: 4.0)" in issue.message
    assert not report.valid


def test_the_xsd_is_still_checked_but_no_rule_runs() -> None:
    # a BSN failing the 11-proef (CS002, a rule) and an XSD error: only the XSD finding is reported
    data = _wmo405().replace(b">999900006<", b">999900007<", 1).replace(b">0363<", b">03a3<", 1)
    assert "CS002" in validate_bytes(data, today=TODAY).codes
    report = validate_bytes(data, today=TODAY, revision=" 1.0.2 ")
    assert report.codes[0] == "REVISIE"
    assert "revisie 1.0.2 hoort" in report.issues[0].message
    assert set(report.codes[1:]) == {"XSD"}


def test_own_revision_and_unknown_revision_are_unchanged() -> None:
    assert validate_bytes(_wmo405(), today=TODAY, revision="4.0").issues == []
    data = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()
    assert validate_bytes(data, today=TODAY, revision="1.0.3").issues == []
    with pytest.raises(ConfigurationError, match=r"onbekende revisie '9\.9'"):
        validate_bytes(data, today=TODAY, revision="9.9")


def test_a_revision_object_of_another_release_is_the_same_finding() -> None:
    # what ``ieb validate --revision 1.0.3`` passes (iEb 1.0's object): before round 7 a 4.0 file
    # silently ignored it
    from ieb.validation.revisions import revision

    by_name = validate_bytes(_wmo405(), today=TODAY, revision="1.0.3")
    by_object = validate_bytes(_wmo405(), today=TODAY, revision=revision("1.0.3"))
    assert by_object.issues == by_name.issues
    assert by_object.codes == ["REVISIE"]


def test_an_own_or_unknown_revision_object_is_used_as_given() -> None:
    import dataclasses

    from ieb.validation.revisions import revision

    data = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()
    assert validate_bytes(data, today=TODAY, revision=revision("1.0.3")).issues == []
    own = dataclasses.replace(revision("1.0.3"), name="eigen")  # a caller's own parameters
    assert validate_bytes(data, today=TODAY, revision=own).issues == []
    assert validate_bytes(_wmo405(), today=TODAY, revision=own).issues == []


def test_the_cli_leaves_a_file_of_another_release_to_its_own_rules(tmp_path: Path) -> None:
    """``ieb validate --revision 1.0.x`` over a folder with iEb 4.0 files checks those with their own
    release's rules (docs/cli.md; tests/cli/test_validate_revision.py), while the library reports
    REVISIE for the same revision object (above): the CLI's --revision is meant for the 1.0 files."""
    import json

    from typer.testing import CliRunner

    from ieb.cli import app

    (tmp_path / "wmo405.xml").write_bytes(_wmo405())
    (tmp_path / "wmo401.xml").write_bytes((SAMPLES / "valid" / "wmo401-start.xml").read_bytes())
    args = [
        "validate",
        "--today",
        TODAY.isoformat(),
        "--revision",
        "1.0.3",
        "--format",
        "json",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, args)
    rows = {Path(r["path"]).name: r for r in json.loads(result.stdout)["files"]}
    assert rows["wmo405.xml"]["issues"] == [] and rows["wmo405.xml"]["valid"] is True
    assert rows["wmo401.xml"]["valid"] is True
    assert result.exit_code == 0
