"""The compiled pre-flight check (ieb.ledger.fastcheck) gives the full engine's verdict.

Property: for heenberichten built from a Delivery (iEb 1.0 and 4.0, valid and invalid values) and
for such messages with one element mutated, ``planned_codes`` either declines (None) or reports
exactly the rule codes ``validate_bytes`` reports (and "XSD" exactly when the engine finds an XSD
problem). On planner-built messages it never declines.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from ieb.codec import to_xml
from ieb.ledger.fastcheck import planned_codes, planned_message
from ieb.ledger.history import Delivery
from ieb.validation import validate_bytes
from ieb.validation.gemeenten import bundled_gemeenten

#: valid test BSNs and two that fail the 11-proef
BSNS = ("999900006", "999900018", "999990019", "999900007", "999900019")
#: 0363 (Amsterdam, current), 0003 (ended 2020-12-31), 0005 (ended 2018-12-31), 9999 (never)
AFZENDERS = ("0363", "0003", "0005", "9999")
BERICHTEN = ("WMO401", "WMO403", "WMO405", "WMO407")
#: around the national tariffs and far above them (eurocent)
BEDRAGEN = (None, 0, 100, 20_000, 60_000, 1_000_000)


def days(low: dt.date, high: dt.date) -> st.SearchStrategy[dt.date]:
    return st.integers(0, (high - low).days).map(lambda n: low + dt.timedelta(days=n))


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[Delivery, dt.date]:
    bericht = draw(st.sampled_from(BERICHTEN))
    dagtekening = draw(days(dt.date(2019, 6, 1), dt.date(2027, 6, 1)))
    today = draw(st.one_of(st.just(dagtekening), days(dt.date(2019, 6, 1), dt.date(2027, 6, 1))))
    datum = draw(days(dt.date(2017, 1, 1), dt.date(2029, 1, 1)))
    bedrag = draw(st.sampled_from(BEDRAGEN)) if bericht in ("WMO401", "WMO405") else None
    kstart = (
        draw(days(datum - dt.timedelta(days=40), datum + dt.timedelta(days=400)))
        if bedrag is not None
        else None
    )
    stop = None
    if bericht in ("WMO405", "WMO407") and draw(st.booleans()):
        stop = draw(days(datum, datum + dt.timedelta(days=900)))
    d = Delivery(
        bericht,
        draw(st.sampled_from(AFZENDERS)),
        str(draw(st.integers(1, 10**6))),
        dagtekening,
        draw(st.sampled_from(BSNS)),
        draw(st.integers(0, 999_999_999)),
        draw(st.sampled_from(("1", "2", "3"))),
        datum,
        bedrag,
        kstart,
        stop,
    )
    return d, today


def _built(d: Delivery) -> bytes:
    try:
        message = d.to_message()
    except ValueError:
        assume(False)
        raise  # pragma: no cover - assume() raised
    return to_xml(message)


def _same_verdict(xml: bytes, today: dt.date, *, must_decide: bool) -> None:
    lijst = bundled_gemeenten()
    fast = planned_codes(xml, today=today, gemeenten=lijst)
    full = {i.code for i in validate_bytes(xml, today=today, gemeenten=lijst).issues}
    if fast is None:
        assert not must_decide, "the planner's own message must be decided by the fast check"
        return
    assert (fast == ()) == (not full), (fast, full)
    if fast == ("XSD",):
        assert "XSD" in full
    else:
        assert set(fast) == full, (fast, full)


@settings(max_examples=300)
@given(deliveries())
def test_planner_built_messages_get_the_engines_verdict(case: tuple[Delivery, dt.date]) -> None:
    d, today = case
    _same_verdict(_built(d), today, must_decide=True)


#: replacement values for one element: edge cases of every type in these messages
MUTANTS = (
    "",
    " 1",
    "1 ",
    "0",
    "-1",
    "+5",
    "4",
    "2",
    "3",
    "00",
    "470",
    "472",
    "474",
    "999",
    "0363",
    "363",
    "9999",
    "999900006",
    "999900007",
    "99990000",
    "2019-12-31",
    "2020-01-01",
    "2026-02-30",
    "2026-13-01",
    "12026-01-01",
    "2026-01-01Z",
    "2031-01-01",
    "abc",
    "1.0",
)


@settings(max_examples=300)
@given(deliveries(), st.data())
def test_mutated_messages_get_the_engines_verdict_or_none(
    case: tuple[Delivery, dt.date], data: st.DataObject
) -> None:
    d, today = case
    root = etree.fromstring(_built(d))
    elements = list(root.iter())
    target = data.draw(st.sampled_from(elements))
    how = data.draw(st.sampled_from(("text", "text", "text", "comment", "duplicate", "remove", "rename")))
    if how == "text":
        if len(target):
            return
        text = data.draw(st.one_of(st.sampled_from(MUTANTS), st.text(max_size=12)))
        try:
            target.text = text
        except ValueError:  # text no XML can carry (control characters)
            return
    elif how == "comment":
        target.append(etree.Comment("x"))
    elif how == "duplicate" and target.getparent() is not None:
        target.addnext(etree.fromstring(etree.tostring(target)))
    elif how == "remove" and target.getparent() is not None:
        target.getparent().remove(target)
    elif how == "rename":
        target.tag = etree.QName(etree.QName(target).namespace, "Anders").text
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    _same_verdict(xml, today, must_decide=False)


def test_a_foreign_or_hostile_document_is_left_to_the_engine() -> None:
    today = dt.date(2026, 6, 1)
    assert planned_codes(b"<x/>", today=today) is None
    assert planned_codes(b"not xml", today=today) is None
    doctype = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'
    assert planned_codes(doctype, today=today) is None
    assert planned_codes(b"<a>" + b"x" * 70_000 + b"</a>", today=today) is None


@pytest.mark.parametrize("bericht", ["WMO401", "WMO405"])
def test_a_clean_message_passes_and_a_failing_one_names_the_rule(bericht: str) -> None:
    today = dt.date(2026, 6, 1)
    good = Delivery(bericht, "0363", "7", today, "999900006", 1, "1", dt.date(2026, 5, 1))
    assert planned_codes(_xml(good), today=today) == ()
    future = Delivery(
        bericht, "0363", "7", today + dt.timedelta(days=1), "999900006", 1, "1", dt.date(2026, 5, 1)
    )
    assert planned_codes(_xml(future), today=today) == (("8848",) if bericht == "WMO401" else ("TR135",))


def _xml(d: Delivery) -> bytes:
    return to_xml(d.to_message())


@st.composite
def any_deliveries(draw: st.DrawFn) -> tuple[Delivery, dt.date]:
    """Deliveries as the planner makes them, some with a value the model or the XSD refuses."""
    d, today = draw(deliveries())
    odd = draw(
        st.sampled_from(
            [
                {},
                {},
                {"afzender": "363"},
                {"afzender": "03630"},
                {"bsn": "12345678"},
                {"bsn": "1234567890"},
                {"identificatie": ""},
                {"identificatie": "x" * 13},
                {"identificatie": "a b"},
                {"eb_start_nummer": -1},
                {"eb_start_nummer": 10**10},
                {"status": "4"},
                {"kostprijs_bedrag": -5, "kostprijs_startdatum": d.datum},
                {"kostprijs_bedrag": 10**9, "kostprijs_startdatum": d.datum},
            ]
        )
    )
    return dataclasses.replace(d, **odd), today


@settings(max_examples=300)
@given(any_deliveries())
def test_planned_message_is_exactly_the_model_and_the_engine(case: tuple[Delivery, dt.date]) -> None:
    d, today = case
    lijst = bundled_gemeenten()
    try:
        expected = to_xml(d.to_message())
    except ValueError:
        with pytest.raises(ValueError):
            planned_message(d, today=today, gemeenten=lijst)
        return
    xml, issues = planned_message(d, today=today, gemeenten=lijst)
    assert xml == expected
    assert issues == validate_bytes(expected, today=today, gemeenten=lijst).issues
