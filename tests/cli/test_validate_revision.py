"""``ieb validate --revision 1.0.x`` over files of both releases: the revision applies to the iEb 1.0
files only; an iEb 4.0 file is checked with its own release's rules, without a note (docs/cli.md,
the option's help). The newcomer trial found every 4.0 file ONGELDIG with ``REVISIE`` instead,
since validate_bytes reports that for a revision object of another release."""

from __future__ import annotations

import datetime as dt
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from ieb.cli import _validate_core as core
from ieb.validation import validate_bytes

SAMPLES = Path(__file__).resolve().parent.parent / "core" / "samples"
TODAY = dt.date(2026, 6, 1)


def _wmo405() -> bytes:
    from ieb.codec import to_xml
    from ieb.ledger.history import Delivery

    delivery = Delivery(
        "WMO405",
        afzender="0363",
        identificatie="B-7",
        dagtekening=dt.date(2026, 5, 20),
        bsn="999900006",
        eb_start_nummer=17,
        status="1",
        datum=dt.date(2026, 5, 1),
        kostprijs_bedrag=None,
        kostprijs_startdatum=None,
        stopdatum=None,
    )
    return to_xml(delivery.to_message())


def _rows(paths: list[Path], revision: str | None) -> tuple[int, list[dict[str, object]]]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = core.run(paths, format="json", today=TODAY.isoformat(), revision=revision)
    return code, json.loads(out.getvalue())["files"]


@pytest.mark.parametrize("revision", ["1.0.2", "1.0.3"])
def test_a_10_revision_leaves_the_40_files_to_their_own_rules(tmp_path: Path, revision: str) -> None:
    good, wrong = tmp_path / "a-405.xml", tmp_path / "b-405-cs002.xml"
    good.write_bytes(_wmo405())
    wrong.write_bytes(_wmo405().replace(b"999900006", b"999900007"))  # the model refuses it: CS002
    ten = [*sorted((SAMPLES / "valid").glob("wmo401-*.xml")), SAMPLES / "invalid" / "cs002-bsn-11proef.xml"]
    paths = [good, wrong, *ten]

    code, rows = _rows(paths, revision)
    _, plain = _rows(paths, None)
    assert code == 1  # the CS002 files, nothing else
    assert all(issue["code"] != "REVISIE" for row in rows for issue in row["issues"]), rows  # type: ignore[attr-defined]
    # the 4.0 files: exactly what they are without --revision (valid; CS002)
    assert rows[:2] == plain[:2]
    assert rows[0]["valid"] is True and [i["code"] for i in rows[1]["issues"]] == ["CS002"]  # type: ignore[index]
    # the 1.0 files: what validate_bytes says under that revision
    for path, row in zip(ten, rows[2:], strict=True):
        report = validate_bytes(path.read_bytes(), today=TODAY, revision=revision)
        assert row["release"] == "ieb-1.0" and row["issues"] == report.to_dict()["issues"], path


def test_the_rapport_format_leaves_the_40_files_to_their_own_rules_too(tmp_path: Path) -> None:
    good = tmp_path / "a-405.xml"
    good.write_bytes(_wmo405())
    ten = SAMPLES / "valid" / "wmo401-start.xml"
    out = io.StringIO()
    with redirect_stdout(out):
        code = core.run(
            [good, ten],
            format="rapport",
            rapport_dir=tmp_path / "rap",
            today=TODAY.isoformat(),
            revision="1.0.2",
        )
    written = sorted((tmp_path / "rap").rglob("*.rapport.xml"))
    assert code == 0 and len(written) == 2, out.getvalue()
    assert not any(b"REVISIE" in p.read_bytes() for p in written)
