"""The receiver's Bv03 template (ieb.transport.server._Bv03Templates) escapes a value exactly as
lxml serialises element text: ``&``, ``<``, ``>`` and also a carriage return (``&#13;``; written raw,
an XML reader turns it into a line feed, so the sender would read another crossRefnummer).

The receiver's checks only let UUIDs through as referentienummer (IB009), so this is the template's
own promise ("the same bytes as building it") tested on any text XML can carry."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ieb.ggk import Systeem, bv03_for, fo01_for, new_di01
from ieb.ggk.codec import envelope_head, envelope_to_element
from ieb.transport.server import _BV03_TEMPLATES, _bv03_of, _soap_bv03

_XML_CHARS = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="".join(chr(c) for c in range(32) if c not in (9, 10, 13)) + "\ufffe\uffff",
)
_ZENDER = Systeem(organisatie="CAK", applicatie="ieb")
_DI01 = new_di01(b"<x/>", "WMO401", "0363")


def _fo01_with(referentienummer: str) -> object:
    fo = fo01_for(_DI01, "IB102", "geen route")
    sg = fo.stuurgegevens.model_copy(update={"referentienummer": referentienummer})
    return fo.model_copy(update={"stuurgegevens": sg})


@settings(max_examples=150, deadline=None)
@given(st.text(_XML_CHARS, min_size=1, max_size=40))
def test_the_answer_template_writes_any_text_as_lxml_does(value: str) -> None:
    head = envelope_head(etree.fromstring(etree.tostring(envelope_to_element(_fo01_with(value)))))
    assert head is not None and head.referentienummer == value
    ref, tijdstip = "11111111-1111-4111-8111-111111111111", "20261206170000"
    assert _BV03_TEMPLATES.answer(_ZENDER, head, ref, tijdstip) == _soap_bv03(
        _bv03_of(_ZENDER, head, ref, tijdstip)
    )


@settings(max_examples=150, deadline=None)
@given(st.text(_XML_CHARS, min_size=1, max_size=40))
def test_the_render_template_writes_any_text_as_lxml_does(value: str) -> None:
    bv03 = bv03_for(_DI01, zender=_ZENDER, tijdstip=dt.datetime(2026, 12, 6, 17, 0, 5, tzinfo=dt.UTC))
    sg = bv03.stuurgegevens.model_copy(update={"cross_refnummer": value})
    bv03 = bv03.model_copy(update={"stuurgegevens": sg})
    assert _BV03_TEMPLATES.render(bv03) == _soap_bv03(bv03)


def test_a_carriage_return_is_written_as_a_character_reference() -> None:
    head = envelope_head(etree.fromstring(etree.tostring(envelope_to_element(_fo01_with("a\rb")))))
    assert head is not None
    answer = _BV03_TEMPLATES.answer(_ZENDER, head, "11111111-1111-4111-8111-111111111111", "20261206170000")
    assert b"<StUF:crossRefnummer>a&#13;b</StUF:crossRefnummer>" in answer
    cross = etree.fromstring(answer).find(".//{http://www.egem.nl/StUF/StUF0301}crossRefnummer")
    assert cross is not None and cross.text == "a\rb"  # read back as sent
