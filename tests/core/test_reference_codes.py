"""Issue 10, kind 5: reference data and codes as the standard has them.

Gemeentelijst (CS300) holds gemeenten only; StUF-GGk fixed organisation values; CS333 "niet groter
dan nationaal tarief" (equal fails) decided by one function for validator, planner and policy; the
11-proef as the official iStandaarden XSLT engine writes it (000000000 passes).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ieb import Wmo401, to_xml
from ieb.errors import ConfigurationError
from ieb.ggk import EnvelopeChecks
from ieb.ggk.codes import FIXED_ORGANISATIES
from ieb.ledger import planner as planner_module
from ieb.policy.cs333 import cs333_tariff
from ieb.policy.errors import KostprijsError
from ieb.policy.kostprijs import check_kostprijs
from ieb.policy.tariffs import NATIONAL_TARIFFS
from ieb.types import Bsn, bsn_is_valid
from ieb.validation import validate_bytes
from ieb.validation.gemeenten import NIET_GEMEENTEN, GemeenteLijst, bundled_gemeenten

#: Field case field-2026-11/ggk_fo01_zender_vws.xml (issue 10): a Fo01 from VWS must not give IB213.
FO01_ZENDER_VWS = """<?xml version="1.0" encoding="UTF-8" ?>
<StUF:Fo01Bericht xmlns:StUF="http://www.egem.nl/StUF/StUF0301">
    <StUF:stuurgegevens>
        <StUF:berichtcode>Fo01</StUF:berichtcode>
        <StUF:zender>
            <StUF:organisatie>VWS</StUF:organisatie>
            <StUF:applicatie>GGK</StUF:applicatie>
        </StUF:zender>
        <StUF:ontvanger>
            <StUF:organisatie>54540051</StUF:organisatie>
            <StUF:applicatie>JW Applicatie</StUF:applicatie>
            <StUF:administratie>test</StUF:administratie>
            <StUF:gebruiker>gebruiker1</StUF:gebruiker>
        </StUF:ontvanger>
        <StUF:referentienummer>78002f23-5bc5-4e3e-96ad-1d209d32a5d5</StUF:referentienummer>
        <StUF:tijdstipBericht>20160421144534</StUF:tijdstipBericht>
        <StUF:crossRefnummer>9c0f7b90-5c69-11e5-a837-0800200c9a66</StUF:crossRefnummer>
    </StUF:stuurgegevens>
    <StUF:body>
        <StUF:code>IB210</StUF:code>
        <StUF:plek>client</StUF:plek>
        <StUF:omschrijving>Ontvangende organisatie onbekend. Organisatie 99999</StUF:omschrijving>
        <StUF:details>JW315-00010004</StUF:details>
        <StUF:detailsXML><root></root></StUF:detailsXML>
    </StUF:body>
</StUF:Fo01Bericht>"""
TODAY = dt.date(2026, 6, 1)


def _start(**kw: object) -> bytes:
    values: dict[str, object] = {
        "afzender": "0363",
        "identificatie": "REF-1",
        "dagtekening": dt.date(2026, 5, 20),
        "bsn": "999900006",
        "eb_start_nummer": 1,
        "eb_startdatum": dt.date(2026, 5, 1),
    }
    values.update(kw)
    return to_xml(Wmo401.build(**values))  # type: ignore[arg-type]


# ---------------------------------------------------------------- CS300: gemeenten only


@pytest.mark.parametrize("code", sorted(NIET_GEMEENTEN))
def test_non_gemeente_codes_are_not_in_the_bundled_list(code: str) -> None:
    lijst = bundled_gemeenten()
    assert lijst.lookup(code) is None
    assert not lijst.is_valid(code, TODAY)


def test_afzender_1999_rni_fails_cs300() -> None:
    data = _start().replace(b"<wmo401:Afzender>0363<", b"<wmo401:Afzender>1999<")
    report = validate_bytes(data, today=TODAY)
    assert [(i.code, i.retourcode) for i in report.issues] == [("CS300", "S300")]


@pytest.mark.parametrize(
    ("day", "count"),
    [
        ("2018-12-31", 380),
        ("2019-01-01", 355),
        ("2020-01-01", 355),
        ("2021-01-01", 352),
        ("2022-01-01", 345),
        ("2022-03-24", 344),
        ("2023-01-01", 342),
        ("2026-01-01", 342),
    ],
)
def test_bundled_list_matches_the_cbs_count_of_municipalities(day: str, count: int) -> None:
    # every code in the list is a municipality: the counts equal the CBS counts of gemeenten
    assert len(bundled_gemeenten().valid_on(dt.date.fromisoformat(day))) == count


def test_every_bundled_name_is_a_name_not_a_placeholder() -> None:
    for g in bundled_gemeenten().valid_on(dt.date(2019, 1, 1)):
        assert g.naam and "geen gemeente" not in g.naam.lower() and "onbekend" not in g.naam.lower()


@pytest.mark.parametrize("code", sorted(NIET_GEMEENTEN))
def test_own_list_with_a_non_gemeente_code_is_refused(code: str) -> None:
    text = f"code,naam,ingangsdatum,einddatum\n0363,Amsterdam,,\n{code},x,2014-01-06,\n"
    with pytest.raises(ConfigurationError, match=rf"{code}.*geen gemeente"):
        GemeenteLijst.from_text(text, source="eigen.csv")


# ---------------------------------------------------------------- StUF-GGk fixed organisation values


def _fo01(zender: str) -> bytes:
    data = FO01_ZENDER_VWS.encode()
    return data.replace(
        b"<StUF:organisatie>VWS</StUF:organisatie>", f"<StUF:organisatie>{zender}</StUF:organisatie>".encode()
    )


def test_field_case_fo01_from_vws_is_not_ib213() -> None:
    result = EnvelopeChecks().check(FO01_ZENDER_VWS.encode())
    assert "IB213" not in result.codes
    assert result.ok


@pytest.mark.parametrize("zender", ["CAK", "SVB", "IB", "RINIS", "VECOZO", "VWS", "CBS", "UWV", "0363"])
def test_fixed_organisations_and_gemeenten_are_known_zenders(zender: str) -> None:
    assert EnvelopeChecks().check(_fo01(zender)).ok


@pytest.mark.parametrize("zender", ["GGk", "GGK", "CIZ", "ZIN", "vws", "ABC", "036", "03630"])
def test_other_organisation_values_give_ib213(zender: str) -> None:
    assert EnvelopeChecks().check(_fo01(zender)).codes == ("IB213",)


def test_fixed_organisation_list_is_exactly_the_ggk0210_list() -> None:
    assert frozenset({"CAK", "SVB", "IB", "RINIS", "VECOZO", "VWS", "CBS", "UWV"}) == FIXED_ORGANISATIES


# ---------------------------------------------------------------- CS333: equal fails, one function


@pytest.mark.parametrize("tariff", NATIONAL_TARIFFS.entries, ids=lambda t: t.vanaf.isoformat())
def test_cs333_equal_to_the_tariff_is_rejected(tariff: object) -> None:
    from ieb.policy.tariffs import Tariff

    assert isinstance(tariff, Tariff)
    day = max(tariff.vanaf, dt.date(2020, 1, 1)) if tariff.vanaf.year >= 2020 else None
    if day is None:
        return  # 2019: no iEb message can carry a start before 2020 (CS332)
    dagtekening = day + dt.timedelta(days=10)
    for bedrag, codes in (
        (tariff.bedrag_cent, ["CS333"]),
        (tariff.bedrag_cent + 1, []),
        (tariff.bedrag_cent - 1, ["CS333"]),
    ):
        data = _start(
            dagtekening=dagtekening,
            eb_startdatum=day,
            kostprijs_bedrag=bedrag,
            kostprijs_startdatum=day,
        )
        report = validate_bytes(data, today=dagtekening)
        assert report.codes == codes, (day, bedrag)
        if codes:
            assert report.issues[0].retourcode == "S333"


@settings(max_examples=200, deadline=None)
@given(
    bedrag=st.integers(min_value=0, max_value=5000),
    day=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)),
)
def test_cs333_validator_planner_and_policy_agree(bedrag: int, day: dt.date) -> None:
    expected_fail = bedrag <= NATIONAL_TARIFFS.on(day).bedrag_cent
    assert (cs333_tariff(bedrag, day) is not None) is expected_fail
    # policy
    try:
        check_kostprijs(bedrag, day)
        policy_fail = False
    except KostprijsError as exc:
        policy_fail = exc.code == "CS333"
    assert policy_fail is expected_fail
    # planner (desired-state check)
    period = planner_module.Period(day, None, bedrag, day)
    problems = planner_module._period_problems("999900006", [period], NATIONAL_TARIFFS, "0363")
    assert any(p.code == "CS333" for p in problems) is expected_fail
    # validator
    data = _start(dagtekening=day, eb_startdatum=day, kostprijs_bedrag=bedrag, kostprijs_startdatum=day)
    assert ("CS333" in validate_bytes(data, today=day).codes) is expected_fail


def test_cs333_is_written_once() -> None:
    """The comparison with the tariff lives in ieb.policy.cs333 only."""
    root = Path(__file__).resolve().parents[2] / "ieb"
    pattern = re.compile(
        r"bedrag\w*\s*(<|<=|>|>=)\s*\w*tariff\.bedrag_cent|tariff\.bedrag_cent\s*(<|<=|>|>=)\s*\w*bedrag"
    )
    hits = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert hits == ["policy/cs333.py"]


# ---------------------------------------------------------------- CS002: the official 11-proef


def _xslt_11proef(value: str) -> bool:
    """check11proef of the iStandaarden XSLT engine, transcribed: digits from the number, weights 9..2, -1."""
    n = int(value)
    digit = [(n // 10**k) % 10 for k in range(9)]  # digit[0] is the last digit
    total = sum((k + 1) * digit[k] for k in range(1, 9)) - digit[0]
    return total % 11 == 0


def test_bsn_000000000_passes_like_the_official_engine() -> None:
    assert _xslt_11proef("000000000")
    assert bsn_is_valid("000000000")
    assert Bsn("000000000") == "000000000"
    data = _start(bsn="000000000")
    assert "CS002" not in validate_bytes(data, today=TODAY).codes


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"\A[0-9]{9}\Z"))
def test_11proef_equals_the_official_engine(value: str) -> None:
    assert bsn_is_valid(value) is _xslt_11proef(value)


@pytest.mark.parametrize("value", ["99990000", "9999000060", "99990000a", " 99990000", "٩٩٩٩٠٠٠٠٦"])
def test_11proef_needs_nine_ascii_digits(value: str) -> None:
    assert not bsn_is_valid(value)
