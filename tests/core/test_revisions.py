"""Rules by revision (issue 10): the windows of TR112-TR117 belong to a revision of iEb 1.0, chosen by
the Dagtekening, or forced (``revision=`` / ``ieb validate --revision``).

Revision 1.0.3 (in force 2021-07-19; istandaarden.nl "Publicatie specificaties revisierelease iEb
1.0.3"): TR112 no longer applies to stops; TR114 and TR116 allow 36 months back instead of 12.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ieb import Wmo401, Wmo403, to_xml
from ieb.cli import app
from ieb.errors import ConfigurationError
from ieb.ledger.history import Delivery
from ieb.ledger.planner import window_issue
from ieb.validation import validate_bytes
from ieb.validation.revisions import REVISIONS, revision, revision_on

D = dt.date
IN_FORCE_103 = D(2021, 7, 19)


def _stop(dagtekening: dt.date, datum: dt.date, status: str = "1") -> bytes:
    return to_xml(
        Wmo403.build(
            afzender="0363",
            identificatie="R1",
            dagtekening=dagtekening,
            bsn="999900006",
            eb_start_nummer=1,
            eb_stopdatum=datum,
            status=status,
        )
    )


def _start(dagtekening: dt.date, datum: dt.date, status: str = "1") -> bytes:
    return to_xml(
        Wmo401.build(
            afzender="0363",
            identificatie="R1",
            dagtekening=dagtekening,
            bsn="999900006",
            eb_start_nummer=1,
            eb_startdatum=datum,
            status=status,
        )
    )


def _codes(data: bytes, **kw: object) -> list[str]:
    return validate_bytes(data, today=D(2026, 6, 1), **kw).codes  # type: ignore[arg-type]


def test_revision_chosen_by_dagtekening() -> None:
    assert revision_on(D(2020, 1, 1)).name == "1.0.2"
    assert revision_on(D(2019, 6, 1)).name == "1.0.2"  # before the first: the first
    assert revision_on(IN_FORCE_103 - dt.timedelta(days=1)).name == "1.0.2"
    assert revision_on(IN_FORCE_103).name == "1.0.3"
    assert revision_on(None).name == REVISIONS[-1].name
    assert [r.name for r in REVISIONS] == ["1.0.2", "1.0.3"]
    with pytest.raises(ConfigurationError, match=r"1\.0\.2, 1\.0\.3"):
        revision("1.0.9")


def test_revision_103_has_its_source() -> None:
    r = revision("1.0.3")
    assert "revisierelease iEb 1.0.3" in r.source
    assert (r.tr112_messages, r.tr114_months, r.tr116_months) == (frozenset({"WMO401"}), 36, 36)
    assert (r.tr113_months, r.tr115_months, r.tr117_months) == (1, 1, 1)


@pytest.mark.parametrize(
    ("dagtekening", "expected"),
    [(IN_FORCE_103 - dt.timedelta(days=1), ["TR112"]), (IN_FORCE_103, [])],
)
def test_tr112_dropped_for_stops_from_103(dagtekening: dt.date, expected: list[str]) -> None:
    old_stop = dagtekening.replace(year=dagtekening.year - 1) - dt.timedelta(days=1)  # 12 months + 1 day
    assert _codes(_stop(dagtekening, old_stop)) == expected


def test_tr112_still_applies_to_starts_after_103() -> None:
    day = D(2026, 5, 20)
    assert _codes(_start(day, D(2025, 5, 19))) == ["TR112"]
    assert _codes(_start(day, D(2025, 5, 20))) == []


@pytest.mark.parametrize(
    ("datum", "expected"),
    [(D(2025, 5, 19), []), (D(2023, 5, 20), []), (D(2023, 5, 19), ["TR116"])],
)
def test_tr116_widened_to_36_months(datum: dt.date, expected: list[str]) -> None:
    assert _codes(_stop(D(2026, 5, 20), datum, "2")) == expected


def test_forced_revision_overrides_the_dagtekening() -> None:
    late = _stop(D(2026, 5, 20), D(2025, 5, 19), "2")  # 12 months + 1 day back, changed stop
    assert _codes(late) == []
    assert _codes(late, revision="1.0.2") == ["TR116"]
    early = _stop(D(2021, 5, 20), D(2020, 5, 19))  # initial stop, 12 months + 1 day, 1.0.2 time
    assert _codes(early) == ["TR112"]
    assert _codes(early, revision="1.0.3") == []
    issue = validate_bytes(late, today=D(2026, 6, 1), revision="1.0.2").issues[0]
    assert "12 maanden" in issue.message and "1.0.2" in issue.message


def test_cli_revision_option(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    f = tmp_path / "stop.xml"
    f.write_bytes(_stop(D(2026, 5, 20), D(2025, 5, 19), "2"))
    runner = CliRunner()
    for extra, codes in (([], []), (["--revision", "1.0.2"], ["TR116"])):
        result = runner.invoke(app, ["validate", "--format", "json", "--today", "2026-06-01", *extra, str(f)])
        found = [i["code"] for i in json.loads(result.stdout)["files"][0]["issues"]]
        assert found == codes, result.stdout
    bad = runner.invoke(app, ["validate", "--revision", "2.0", str(f)])
    assert bad.exit_code == 2 and "onbekende revisie" in bad.output and "Traceback" not in bad.output


@settings(max_examples=300, deadline=None)
@given(
    dagtekening=st.dates(min_value=D(2020, 6, 1), max_value=D(2026, 11, 30)),
    offset=st.integers(min_value=-1200, max_value=60),
    bericht=st.sampled_from(["WMO401", "WMO403"]),
    status=st.sampled_from(["1", "2"]),
)
def test_planner_windows_equal_the_validator(
    dagtekening: dt.date, offset: int, bericht: str, status: str
) -> None:
    """The planner's pre-check (window_issue) and the validator use the same revision windows."""
    datum = max(dagtekening + dt.timedelta(days=offset), D(2020, 1, 1))
    d = Delivery(bericht, "0363", "R1", dagtekening, "999900006", 1, status, datum)  # type: ignore[arg-type]
    data = (_start if bericht == "WMO401" else _stop)(dagtekening, datum, status)
    window = {"TR112", "TR113", "TR116", "TR117"}
    found = [c for c in validate_bytes(data, today=dagtekening).codes if c in window]
    issue = window_issue(d)
    assert found == ([issue.code] if issue is not None else [])
