"""Issue 10, kind 3: the CAK side never fails and every retour is valid under the PUBLISHED XSD.

Heenberichten are generated valid (``ieb.testing.strategies``) and then mutated: values replaced by
tricky ones (whitespace, line breaks, long or empty Identificaties, odd dates and integers), comments
and processing instructions inside values, elements removed or duplicated. Whatever comes out, each
heenbericht gets exactly one retour (WMO402 for a WMO401, WMO404 for a WMO403) that the published
WMO402/WMO404 XSD accepts; when the heenbericht itself is valid under the published XSD, the header
values in the retour are the heenbericht's values exactly.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ieb.codec import to_xml
from ieb.messages import Wmo401, Wmo403
from ieb.simulator import CakConfig, CakSimulator
from ieb.simulator.cak import retour_kop
from ieb.testing.strategies import heenberichten
from tests.migrated import migrated_memory_engine
from tests.reference import IEB_REFERENCE, MISSING

REF = IEB_REFERENCE
pytestmark = pytest.mark.skipif(not (REF / "WMO402.xsd").is_file(), reason=MISSING)
BASIS = "http://www.istandaarden.nl/ieb/1_0/basisschema/schema"

_SCHEMAS: dict[str, etree.XMLSchema] = {}


def published(name: str) -> etree.XMLSchema:
    if name not in _SCHEMAS:
        _SCHEMAS[name] = etree.XMLSchema(etree.parse(str(REF / f"{name}.xsd")))
    return _SCHEMAS[name]


def _value(el: etree._Element | None) -> str | None:
    return None if el is None else "".join(el.xpath("text()"))  # type: ignore[arg-type]


def _find(root: etree._Element, local: str) -> etree._Element | None:
    return next(
        (e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local), None
    )


def check_retour(heen: bytes, retour: bytes | None) -> etree._Element:
    """The retour exists, is the right message and is valid under the published XSD."""
    assert retour is not None
    heen_root = etree.fromstring(heen)
    expected = {"wmo401": "WMO402", "wmo403": "WMO404"}[etree.QName(heen_root).namespace.split("/")[-2]]  # type: ignore[union-attr]
    root = etree.fromstring(retour)
    assert etree.QName(root).namespace.split("/")[-2].upper() == expected  # type: ignore[union-attr]
    schema = published(expected)
    assert schema.validate(root), (schema.error_log, retour.decode())
    return root


def assert_header_copied(heen: bytes, retour: etree._Element) -> None:
    heen_root = etree.fromstring(heen)
    for name in ("Afzender", "Identificatie", "BasisschemaXsdVersie", "BerichtXsdVersie"):
        assert _value(_find(retour, name)) == _value(_find(heen_root, name)), name
    assert " ".join((_value(_find(retour, "Dagtekening")) or "").split()) == " ".join(
        (_value(_find(heen_root, "Dagtekening")) or "").split()
    )


# ---------------------------------------------------------------- mutations

IDENT_CHARS = "AZaz09-_ .\t\n\ré€😀"
DATES = [
    "2026-05-01",
    " 2026-05-01 ",
    "\n2026-05-01\t",
    "0001-01-01",
    "9999-12-31",
    "12026-05-01",
    "-2026-05-01",
    "0000-01-01",
    "2026-02-29",
    "2024-02-29",
    "2026-05-01Z",
    "2026-05-01+01:00",
    "01-05-2026",
    "",
    "x",
]
INTEGERS = ["+007", " 12 ", "0", "-1", "999999999", "1000000000", "00000000001", "1.0", "", " "]
FIELD_VALUES: dict[str, st.SearchStrategy[str]] = {
    "Identificatie": st.text(alphabet=IDENT_CHARS, max_size=16),
    "Afzender": st.sampled_from(["0363", "1999", "0000", " 0363", "036", "03630", "abcd", ""]),
    "Dagtekening": st.sampled_from(DATES) | st.dates().map(dt.date.isoformat),
    "EbStartdatum": st.sampled_from(DATES),
    "EbStopdatum": st.sampled_from(DATES),
    "KostprijsStartdatum": st.sampled_from(DATES),
    "EbStartNummer": st.sampled_from(INTEGERS),
    "KostprijsBedrag": st.sampled_from([*INTEGERS, "2180", "2181", "99999999", "100000000"]),
    "Bsn": st.sampled_from(["000000000", "999900006", "999900007", "99990000", " 999900006", "abcdefghi"]),
    "StatusAanlevering": st.sampled_from(["1", "2", "3", "9", " 1", "0", ""]),
    "BasisschemaXsdVersie": st.sampled_from(["1.2.0", "1.0.0", "01.2.0", "1.2", "x", ""]),
    "BerichtXsdVersie": st.sampled_from(["1.2.0", "1.1.0", "1.2.0 ", ""]),
    "BerichtCode": st.sampled_from(["470", "472", "471", "", "4700"]),
    "BerichtVersie": st.sampled_from(["1", "2", "+1", " 1 "]),
    "BerichtSubversie": st.sampled_from(["0", "1", "00"]),
}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    message = draw(heenberichten)
    root = etree.fromstring(to_xml(message))
    leaves = [e for e in root.iter() if isinstance(e.tag, str) and len(e) == 0]
    for _ in range(draw(st.integers(0, 4))):
        el = draw(st.sampled_from(leaves))
        name = etree.QName(el).localname
        kind = draw(st.sampled_from(["value", "comment", "pi", "space", "remove", "duplicate"]))
        if kind == "value":
            el.text = draw(FIELD_VALUES.get(name, st.just("x")))
        elif kind in ("comment", "pi") and el.text:
            text = el.text
            cut = draw(st.integers(0, len(text)))
            el.text = text[:cut]
            node = etree.Comment("x") if kind == "comment" else etree.ProcessingInstruction("p", "q")
            node.tail = text[cut:]
            el.append(node)
        elif kind == "space":
            el.text = f" {el.text or ''}\n"
        elif kind == "remove" and el.getparent() is not None and el.getparent() is not root:
            el.getparent().remove(el)  # type: ignore[union-attr]
            leaves.remove(el)
        elif kind == "duplicate" and el.getparent() is not None:
            el.addnext(etree.fromstring(etree.tostring(el)))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8")


def _xsd_valid(heen: bytes) -> bool:
    root = etree.fromstring(heen)
    name = etree.QName(root).namespace.split("/")[-2].upper()  # type: ignore[union-attr]
    return bool(published(name).validate(root))


# ---------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.lists(mutated(), min_size=1, max_size=4),
    today=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2027, 12, 31)),
)
def test_every_heenbericht_gets_one_valid_retour(batch: list[bytes], today: dt.date) -> None:
    cak = CakSimulator(migrated_memory_engine(), today=today)
    try:
        for heen in [*batch, *batch]:  # the second round: retries and identificaties seen before
            result = cak.process(heen)
            root = check_retour(heen, result.retour)
            if _xsd_valid(heen):
                assert_header_copied(heen, root)
    finally:
        cak.close()


@settings(max_examples=100, deadline=None)
@given(heen=heenberichten)
def test_valid_heenberichten_are_answered_with_their_own_header(heen: Wmo401 | Wmo403) -> None:
    data = to_xml(heen)
    cak = CakSimulator(migrated_memory_engine(), today=heen.header.bericht_identificatie.dagtekening)
    try:
        result = cak.process(data)
        assert result.verdict in ("accepted", "rejected")
        assert_header_copied(data, check_retour(data, result.retour))
    finally:
        cak.close()


# ---------------------------------------------------------------- the decisions, one by one


def _start(ident: str = "A 1", **kw: object) -> bytes:
    values: dict[str, object] = {
        "afzender": "0363",
        "identificatie": ident,
        "dagtekening": dt.date(2026, 5, 20),
        "bsn": "999900006",
        "eb_start_nummer": 7,
        "eb_startdatum": dt.date(2026, 5, 1),
    }
    values.update(kw)
    return to_xml(Wmo401.build(**values))  # type: ignore[arg-type]


TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def cak() -> CakSimulator:
    return CakSimulator(migrated_memory_engine(), CakConfig(), today=TODAY)


@pytest.mark.parametrize("ident", [" A 1 ", "A\t1", "  x", "ABCDEFGHIJKL", "é€😀"])
@pytest.mark.parametrize("level", [None, 2, 3])
def test_identificatie_is_copied_exactly_at_every_level(
    cak: CakSimulator, ident: str, level: int | None
) -> None:
    data = _start(ident)
    if level == 2:
        data = data.replace(b"EbStartdatum>2026-05-01<", b"EbStartdatum>2019-05-01<")  # CS332
    elif level == 3:
        data = data.replace(b"<wmo401:Afzender>0363<", b"<wmo401:Afzender>1999<")  # S300
    result = cak.process(data)
    assert result.level == level
    root = check_retour(data, result.retour)
    assert _value(_find(root, "Identificatie")) == ident


def test_identificatie_with_a_newline_is_made_valid(cak: CakSimulator) -> None:
    data = _start("AB").replace(b"<ieb:Identificatie>AB<", b"<ieb:Identificatie>AB\nCD<")
    result = cak.process(data)
    assert result.level == 1 and result.codes == ("0001",)
    root = check_retour(data, result.retour)
    assert _value(_find(root, "Identificatie")) == "AB CD"
    assert "Identificatie" in (result.reason or "")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABCDEFGHIJKLMNOP", "ABCDEFGHIJKL"),  # too long: the first 12 characters
        ("\n\n", "ONBEKEND"),  # nothing visible left
        ("", "ONBEKEND"),
        ("\r\nX", "  X"),
    ],
)
def test_identificatie_that_cannot_be_copied(cak: CakSimulator, raw: str, expected: str) -> None:
    root = etree.fromstring(_start("AB"))
    _find(root, "Identificatie").text = raw  # type: ignore[union-attr]
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    root_out = check_retour(data, cak.process(data).retour)
    assert _value(_find(root_out, "Identificatie")) == expected


@pytest.mark.parametrize(
    ("afzender", "dagtekening", "exp_afzender", "exp_dagtekening"),
    [
        (" 0363", "2026-05-20", "0000", "2026-05-20"),
        ("0363", "2026-05-20Z", "0363", "2026-05-20"),
        ("0363", "2026-05-20+01:00", "0363", "2026-05-20"),
        ("0363", "20-05-2026", "0363", TODAY.isoformat()),
        ("0363", "2026-02-30", "0363", TODAY.isoformat()),
        # years at libxml2's limit (a signed 64-bit year): the largest is copied, one more is not
        ("0363", "9223372036854775807-05-31+14:01", "0363", "9223372036854775807-05-31"),
        ("0363", "9223372036854775808-05-31+14:01", "0363", TODAY.isoformat()),
        ("0363", "99999999999999999999-05-31+14:01", "0363", TODAY.isoformat()),
        ("0363", "-9223372036854775808-05-31", "0363", TODAY.isoformat()),
    ],
)
def test_header_values_that_cannot_be_copied(
    cak: CakSimulator, afzender: str, dagtekening: str, exp_afzender: str, exp_dagtekening: str
) -> None:
    root = etree.fromstring(_start())
    _find(root, "Afzender").text = afzender  # type: ignore[union-attr]
    _find(root, "Dagtekening").text = dagtekening  # type: ignore[union-attr]
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    result = cak.process(data)
    out = check_retour(data, result.retour)
    assert (_value(_find(out, "Afzender")), _value(_find(out, "Dagtekening"))) == (
        exp_afzender,
        exp_dagtekening,
    )


def test_comment_inside_values_is_not_part_of_the_copy(cak: CakSimulator) -> None:
    data = _start("AB12").replace(b"<ieb:Identificatie>AB12<", b"<ieb:Identificatie>AB<!--x-->12<")
    out = check_retour(data, cak.process(data).retour)
    assert _value(_find(out, "Identificatie")) == "AB12"


def test_functie_hint_gives_a_retour_for_unreadable_input(cak: CakSimulator) -> None:
    for functie, retour in (("WMO401", "WMO402"), ("WMO403", "WMO404")):
        result = cak.process(b"not xml at all", functie=functie)
        assert result.retour is not None and result.codes == ("0001",)
        root = etree.fromstring(result.retour)
        assert published(retour).validate(root), published(retour).error_log
        assert _value(_find(root, "Identificatie")) == "ONBEKEND"
    assert cak.process(b"not xml at all").retour is None  # without a hint it is not addressable


def test_dates_outside_python_do_not_break_the_cak(cak: CakSimulator) -> None:
    for old, new in (
        (b"<ieb:Dagtekening>2026-05-20<", b"<ieb:Dagtekening>12026-05-20<"),
        (b"<ieb:Dagtekening>2026-05-20<", b"<ieb:Dagtekening>0001-01-01<"),
        (b"EbStartdatum>2026-05-01<", b"EbStartdatum>12026-05-01<"),
        (b"EbStartdatum>2026-05-01<", b"EbStartdatum>-2026-05-01<"),
    ):
        data = _start().replace(old, new)
        assert old in _start()
        result = cak.process(data)
        check_retour(data, result.retour)
        assert result.verdict in ("technical", "rejected")


def test_kostprijs_start_far_in_the_future_gets_a_valid_retour(cak: CakSimulator) -> None:
    data = _start(kostprijs_bedrag=57000, kostprijs_startdatum=dt.date(2026, 5, 1)).replace(
        b"KostprijsStartdatum>2026-05-01<", b"KostprijsStartdatum>12026-05-01<"
    )
    result = cak.process(data)
    check_retour(data, result.retour)


def test_retour_of_stop_copies_the_stop(cak: CakSimulator) -> None:
    stop = to_xml(
        Wmo403.build(
            afzender="0363",
            identificatie=" S 1",
            dagtekening=dt.date(2026, 5, 20),
            bsn="999900006",
            eb_start_nummer=99,
            eb_stopdatum=dt.date(2026, 5, 31),
        )
    )
    result = cak.process(stop)  # no start 99: TR330
    assert result.verdict == "rejected" and "9330" in result.codes
    out = check_retour(stop, result.retour)
    assert _value(_find(out, "Identificatie")) == " S 1"
    assert _value(_find(out, "EbStopdatum")) == "2026-05-31"


def test_retour_kop_without_header() -> None:
    kop = retour_kop(None, TODAY)
    assert (kop.afzender, kop.identificatie, kop.dagtekening) == ("0000", "ONBEKEND", TODAY.isoformat())
    assert kop.vervangen == (
        "Afzender",
        "Identificatie",
        "Dagtekening",
        "BasisschemaXsdVersie",
        "BerichtXsdVersie",
    )


def test_a_retour_that_would_be_invalid_is_replaced_by_a_valid_technical_one() -> None:
    from ieb.releases import get_pack
    from ieb.simulator.cak import _checked

    pack = get_pack("ieb-1.0")
    for retour in ("WMO402", "WMO404"):
        payload = _checked(pack, pack.message(retour), b"<Bericht/>", TODAY, "7")
        root = etree.fromstring(payload)
        assert published(retour).validate(root), published(retour).error_log
        assert _value(_find(root, "RetourCode")) == "0001"
        assert _value(_find(root, "IdentificatieRetour")) == "7"
