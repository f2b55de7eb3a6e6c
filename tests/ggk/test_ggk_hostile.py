"""Hostile XML is refused before anything is expanded, read from disk or fetched from the network."""

from __future__ import annotations

from pathlib import Path

import pytest

import ieb.ggk as ggk
from ieb.errors import XmlSecurityError

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<StUF:Fo01Bericht xmlns:StUF="http://www.egem.nl/StUF/StUF0301">&lol9;</StUF:Fo01Bericht>"""


def _xxe(target: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "{target}">]>\n'
        '<StUF:Fo01Bericht xmlns:StUF="http://www.egem.nl/StUF/StUF0301">&x;</StUF:Fo01Bericht>'
    ).encode()


def _hostile(tmp_path: Path) -> dict[str, bytes]:
    secret = tmp_path / "secret.txt"
    secret.write_text("GEHEIM-999900006")
    return {
        "billion laughs": BOMB,
        "xxe file": _xxe(secret.as_uri()),
        "xxe network": _xxe("http://127.0.0.1:9/x"),
        "external dtd": b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd"><r/>',
        "parameter entity": (b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><r/>'),
        "plain doctype": b"<!DOCTYPE r><r/>",
        "lower-case doctype": b"<!doctype r><r/>",
        "utf-16 doctype": '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'.encode(
            "utf-16"
        ),
        "doctype in soap": b'<!DOCTYPE s [<!ENTITY a "b">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>',
    }


@pytest.mark.parametrize(
    "name",
    [
        "billion laughs",
        "xxe file",
        "xxe network",
        "external dtd",
        "parameter entity",
        "plain doctype",
        "lower-case doctype",
        "utf-16 doctype",
        "doctype in soap",
    ],
)
def test_hostile_xml_is_refused(name: str, tmp_path: Path) -> None:
    data = _hostile(tmp_path)[name]
    for parse in (ggk.parse, ggk.unwrap_soap, ggk.parse_xml):
        with pytest.raises(XmlSecurityError) as info:
            parse(data)
        assert isinstance(info.value, ggk.HostileXmlError)
        assert "GEHEIM" not in str(info.value)
    result = ggk.check_envelope(data)
    assert result.codes == ("RIN001",)


def test_parser_settings_refuse_entities_even_without_the_prescan() -> None:
    """Defence in depth: the lxml parser itself neither loads a DTD nor resolves entities."""
    from lxml import etree

    from ieb.ggk._xml import safe_parser

    try:
        root = etree.fromstring(BOMB, safe_parser())
    except etree.XMLSyntaxError as exc:  # libxml2's own amplification guard
        assert "amplification" in str(exc)
    else:
        assert len(etree.tostring(root)) < 1000  # nothing was expanded
    secret_doc = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]><r>&x;</r>'
    root = etree.fromstring(secret_doc, safe_parser())
    assert root.text is None  # the external entity was not read


def test_deeply_nested_xml_is_refused() -> None:
    data = b"<a>" * 300_000 + b"</a>" * 300_000
    with pytest.raises(ggk.HostileXmlError):
        ggk.parse(data)


def test_hostile_payload_inside_a_valid_envelope_is_not_parsed_by_the_codec() -> None:
    di01 = ggk.new_di01(BOMB, "WMO401", "0363")
    assert ggk.parse(ggk.build(di01)).payload == BOMB  # carried as opaque bytes
    result = ggk.check_envelope(ggk.build(di01))
    assert "StUF055" in result.codes  # ... and refused when the checks look inside


_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


@pytest.mark.parametrize(
    "parts",
    [
        "<s:Body><a/></s:Body><s:Body><b/></s:Body>",
        "<s:Header/><s:Header/><s:Body><a/></s:Body>",
        "<s:Body><a/></s:Body><s:Header/>",
        "<s:Body><a/></s:Body><extra/>",
        "<extra/><s:Body><a/></s:Body>",
    ],
)
def test_an_envelope_with_a_second_body_or_anything_beside_header_and_body_is_refused(parts: str) -> None:
    """SOAP 1.1 with WS-I BP R1011: an optional Header, then exactly one Body (a second Body is how a
    wrapped answer hides what it says); the answer is refused, never read from the first Body."""
    from ieb.ggk.soap import soap_body_element

    data = f'<s:Envelope xmlns:s="{_ENV}">{parts}</s:Envelope>'.encode()
    with pytest.raises(ggk.SoapError, match="Header"):
        soap_body_element(data)


def test_header_then_body_is_read() -> None:
    from ieb.ggk.soap import soap_body_element

    data = f'<s:Envelope xmlns:s="{_ENV}"><s:Header/><s:Body><a/></s:Body></s:Envelope>'.encode()
    assert soap_body_element(data).tag == "a"
