"""Each Fo01 check fires when it should and stays quiet otherwise."""

from __future__ import annotations

import datetime as dt

import pytest
from ggk_samples import WMO401, WMO403

import ieb.ggk as ggk
from ieb.ggk.codes import FIXED_ORGANISATIES, payload_berichtcode
from ieb.releases import default_registry

#: The GGk knows no iStandaard: the release table is passed in (here: the registered packs).
ROUTING = ggk.EnvelopeChecks(functie_berichtcode=default_registry.functie_berichtcodes())

NOW = dt.datetime(2025, 1, 15, 10, 30, 0)
REF = "9c0f7b90-5c69-41e5-a837-0800200c9a66"


def _di01_bytes(payload: bytes = WMO401, functie: str = "WMO401", **kw: object) -> bytes:
    return ggk.build(ggk.new_di01(payload, functie, "0363", tijdstip=NOW, **kw))  # type: ignore[arg-type]


def test_all_codes_have_a_meaning() -> None:
    expected = {
        "StUF055", "IB002", "IB007", "IB009", "IB101", "IB102", "IB103",
        "IB210", "IB213", "IB234", "IB240", "IB798", "RIN001",
    }  # fmt: skip
    assert {c.value for c in ggk.FoutCode} == expected
    for code in ggk.FoutCode:
        assert code.omschrijving and len(code.omschrijving) <= 200
    assert ggk.FoutCode("IB007") is ggk.FoutCode.IB007


def test_a_good_envelope_has_no_findings() -> None:
    for data in (_di01_bytes(), _di01_bytes(WMO403, "WMO403"), ggk.wrap_soap(ggk.parse(_di01_bytes()))):
        result = ggk.check_envelope(data)
        assert result.ok and result.codes == ()
        assert isinstance(result.envelope, ggk.Di01)


def test_ib007_too_large_and_nothing_else() -> None:
    data = _di01_bytes()
    result = ggk.check_envelope(data, ggk.EnvelopeChecks(max_bytes=len(data) - 1))
    assert result.codes == ("IB007",)
    assert ggk.check_envelope(data, ggk.EnvelopeChecks(max_bytes=len(data))).ok


def test_ib009_referentienummer_not_uuid4() -> None:
    good = _di01_bytes()
    ref = ggk.parse(good).referentienummer
    for bad in ("9c0f7b90-5c69-11e5-a837-0800200c9a66", ref.upper(), "12345"):
        result = ggk.check_envelope(good.replace(ref.encode(), bad.encode()))
        assert result.codes == ("IB009",), bad
        assert result.first is not None and result.first.location == "stuurgegevens/referentienummer"


def test_ib009_on_a_du01_cross_refnummer() -> None:
    du01 = ggk.du01_for(ggk.new_di01(WMO401, "WMO401", "0363", referentienummer=REF), WMO401, tijdstip=NOW)
    data = ggk.build(du01).replace(REF.encode(), b"9c0f7b90-5c69-11e5-a837-0800200c9a66")
    checks = ggk.EnvelopeChecks(functie_berichtcode=None)
    assert ggk.check_envelope(data, checks).codes == ("IB009",)
    assert ggk.check_envelope(ggk.build(du01), checks).ok


def test_ib009_with_other_schema_errors_gives_both() -> None:
    good = _di01_bytes()
    ref = ggk.parse(good).referentienummer
    data = good.replace(ref.encode(), b"nope").replace(
        b">0001</GGK:applicatieVersie>", b">1</GGK:applicatieVersie>"
    )
    result = ggk.check_envelope(data)
    assert result.codes == ("IB009", "RIN001")


def test_ib210_receiving_organisation_unknown() -> None:
    result = ggk.check_envelope(_di01_bytes(ontvanger="SVB"))
    assert result.codes == ("IB210",)
    assert "SVB" in result.findings[0].omschrijving
    assert ggk.check_envelope(_di01_bytes(ontvanger="SVB"), ggk.EnvelopeChecks(known_ontvangers={"SVB"})).ok
    # a Du01 to a gemeente: only checked when the receiver says who it is
    du01 = ggk.build(ggk.du01_for(ggk.parse_as(_di01_bytes(), ggk.Di01), WMO401.replace(b"470", b"471")))
    assert ggk.check_envelope(du01).ok
    assert ggk.check_envelope(du01, ggk.EnvelopeChecks(known_ontvangers={"0599"})).codes == ("IB210",)
    assert ggk.check_envelope(du01, ggk.EnvelopeChecks(known_ontvangers={"0363"})).ok


def test_ib213_sending_organisation_unknown() -> None:
    assert ggk.check_envelope(_di01_bytes()).ok  # any 4-digit gemeente code by default
    data = ggk.build(ggk.new_di01(WMO401, "WMO401", "GEMEENTE", tijdstip=NOW))
    assert ggk.check_envelope(data).codes == ("IB213",)
    assert ggk.check_envelope(_di01_bytes(), ggk.EnvelopeChecks(known_zenders={"0599"})).codes == ("IB213",)
    assert ggk.check_envelope(_di01_bytes(), ggk.EnvelopeChecks(known_zenders={"0363"})).ok
    assert "CAK" in FIXED_ORGANISATIES


def test_ib240_functie_and_berichtcode_do_not_match() -> None:
    assert ggk.check_envelope(_di01_bytes(WMO403, "WMO401")).ok  # no table given: IB240 is not judged
    result = ggk.check_envelope(_di01_bytes(WMO403, "WMO401"), ROUTING)
    assert result.codes == ("IB240",)
    assert "472" in result.findings[0].omschrijving and "470" in result.findings[0].omschrijving
    assert ggk.check_envelope(_di01_bytes(b"<a><Header/></a>", "WMO401"), ROUTING).codes == ("IB240",)
    # a functie outside the mapping is not judged; a callable can plug in the core library
    assert ggk.check_envelope(_di01_bytes(WMO401, "WMO999"), ROUTING).ok
    checks = ggk.EnvelopeChecks(functie_berichtcode=lambda functie, payload: functie == "WMO401")
    assert ggk.check_envelope(_di01_bytes(WMO403, "WMO403"), checks).codes == ("IB240",)
    assert ggk.check_envelope(_di01_bytes(WMO403, "WMO401"), checks).ok
    assert ggk.check_envelope(_di01_bytes(WMO403, "WMO401"), ggk.EnvelopeChecks(functie_berichtcode=None)).ok
    assert default_registry.functie_berichtcodes()["WMO403"] == "472"
    assert payload_berichtcode(WMO401) == "470" and payload_berichtcode(b"no xml") is None


def test_ib234_functie_not_allowed() -> None:
    checks = ggk.EnvelopeChecks(allowed_functies={"WMO401", "WMO403"})
    assert ggk.check_envelope(_di01_bytes(), checks).ok
    data = _di01_bytes(WMO401.replace(b"470", b"999"), "WMO301")
    assert ggk.check_envelope(data, checks).codes == ("IB234",)


def test_rin001_envelope_not_valid() -> None:
    data = _di01_bytes().replace(b"<StUF:functie>WMO401</StUF:functie>", b"")
    result = ggk.check_envelope(data)
    assert result.codes == ("RIN001",)
    assert result.envelope is None
    assert ggk.check_envelope(b"<niet-af").codes == ("RIN001",)
    assert ggk.check_envelope(b"<a/>").codes == ("RIN001",)
    soap_empty = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>'
    assert ggk.check_envelope(soap_empty).codes == ("RIN001",)


@pytest.mark.parametrize(
    ("verdict", "fires"),
    [(True, False), ([], False), ((), False), (False, True), (["regel 3: Bsn ontbreekt"], True)],
)
def test_stuf055_payload_validator(verdict: object, fires: bool) -> None:
    seen: list[bytes] = []

    def validator(payload: bytes) -> object:
        seen.append(payload)
        return verdict

    checks = ggk.EnvelopeChecks(payload_validator=validator)  # type: ignore[arg-type]
    result = ggk.check_envelope(_di01_bytes(), checks)
    assert seen == [WMO401]
    assert result.codes == (("StUF055",) if fires else ())
    if isinstance(verdict, list) and verdict:
        assert "Bsn ontbreekt" in result.findings[0].omschrijving


def test_stuf055_payload_not_xml() -> None:
    assert ggk.check_envelope(_di01_bytes(b"geen xml", "WMO401")).codes == ("StUF055",)
    # a tekstBestand need not be XML
    data = _di01_bytes(b"a;b\n", "WMO401", bestandsnaam="lijst.csv")
    assert ggk.check_envelope(data, ggk.EnvelopeChecks(functie_berichtcode=None)).ok


def test_a_finding_becomes_a_valid_fo01() -> None:
    data = _di01_bytes(ontvanger="SVB")
    result = ggk.check_envelope(data)
    assert result.first is not None and isinstance(result.envelope, ggk.Di01)
    fo01 = ggk.fo01_for(result.envelope, result.first.code, result.first.omschrijving, tijdstip=NOW)
    assert ggk.parse(ggk.build(fo01)) == fo01
    assert fo01.body.code == "IB210"
    assert str(result.first).startswith("[IB210]")
