"""One hardened-XML policy (issue 19, item 7): one module holds the limits and the hostile-XML scan;
the GGk envelope parser only maps its problems to IB007/RIN001."""

from __future__ import annotations

import re

import pytest

from ieb import ggk, xmlsafe
from ieb.ggk._xml import parse_xml
from ieb.ggk.errors import EnvelopeTooLargeError, HostileXmlError
from tests.reference import ROOT

ENVELOPE = b'<?xml version="1.0" encoding="UTF-8"?><e xmlns="urn:x"><a>1</a></e>'
#: modules that still scan for DTDs themselves, with the change that removes them (the test fails
#: when one stops, so the entry goes): wssec switches to xmlsafe.parse_untrusted (see docs/security.md)
PENDING = {"ieb/transport/wssec.py"}


def test_one_module_scans_for_dtds() -> None:
    scanning = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "ieb").rglob("*.py")
        if re.search(r"re\.compile\([^)]*DOCTYPE", p.read_text(encoding="utf-8"))
    }
    assert scanning - PENDING == {"ieb/xmlsafe.py"}
    assert PENDING <= scanning, "switched to ieb.xmlsafe: remove it from PENDING"


def test_the_envelope_limit_is_xmlsafes() -> None:
    assert ggk.MAX_ENVELOPE_BYTES is xmlsafe.MAX_ENVELOPE_BYTES == 25 * 1024 * 1024
    big = ENVELOPE + b" " * (xmlsafe.MAX_ENVELOPE_BYTES - len(ENVELOPE) + 1)
    with pytest.raises(xmlsafe.XmlProblem) as info:
        xmlsafe.prescan(big)
    assert info.value.kind == "size"
    with pytest.raises(EnvelopeTooLargeError):
        parse_xml(big)


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-32"])
def test_a_dtd_is_refused_in_any_encoding(codec: str) -> None:
    text = f'<?xml version="1.0" encoding="{codec.upper()}"?><!DOCTYPE e [<!ENTITY x "y">]><e>&x;</e>'
    data = text.encode(codec)
    with pytest.raises(xmlsafe.XmlProblem) as info:
        xmlsafe.prescan(data)
    assert info.value.kind == "declaration"
    with pytest.raises(HostileXmlError) as hostile:
        parse_xml(data)
    assert hostile.value.location == "prolog"


def test_utf8_only_refuses_other_encodings() -> None:
    data = ENVELOPE.replace(b"UTF-8", b"UTF-16").decode().encode("utf-16")
    assert xmlsafe.parse_untrusted(data).tag == "{urn:x}e"
    with pytest.raises(xmlsafe.XmlProblem) as info:
        xmlsafe.parse_untrusted(data, utf8_only=True)
    assert info.value.kind == "encoding"


def test_namespace_declarations_are_bounded_before_parsing() -> None:
    limit = xmlsafe.DEFAULT_LIMITS.namespaces

    def wide(n: int) -> bytes:
        decls = "".join(f' xmlns:p{i}="urn:{i}"' for i in range(n))
        return f"<e{decls}/>".encode()

    assert xmlsafe.parse_untrusted(wide(limit)).tag == "e"
    with pytest.raises(xmlsafe.XmlProblem) as info:
        xmlsafe.prescan(wide(limit + 1))
    assert info.value.kind == "limit"
    with pytest.raises(HostileXmlError, match="namespacedeclaraties"):
        parse_xml(wide(limit + 1))


def test_an_unknown_encoding_is_refused() -> None:
    with pytest.raises(HostileXmlError, match="tekenset"):
        parse_xml(b'<?xml version="1.0" encoding="x-nonsense"?><e/>')
