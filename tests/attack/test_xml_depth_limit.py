"""Attack: ieb refuses more than ``Limits.depth`` (256) nested levels while parsing, but libxml2 stops
by itself at 2048 levels. Its stop came out as a syntax error ("geen welgevormde XML ... libxml2:
Excessive depth in document: 2048, use XML_PARSE_HUGE option"), so the same refusal got another
kind and text by how deep the hostile file went (and, for depths between, by where a 64 KB chunk
ended): a 300-deep SOAP envelope was "refused" (UnsafeEnvelopeError), a 3000-deep one "not
well-formed" (SoapEnvelopeError), and a clerk was told about a libxml2 option. libxml2's own
resource limits are limits (kind ``limit``), and its depth stop is ieb's depth limit."""

from __future__ import annotations

import pytest
from lxml import etree

from ieb.transport.wssec import UnsafeEnvelopeError, parse_soap_envelope
from ieb.validation import validate_bytes
from ieb.xmlsafe import Limits, XmlProblem, parse_bytes, parse_untrusted

DEPTHS = [257, 300, 2047, 2048, 2049, 3000, 50_000]
SOAP = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'


def _nested(depth: int, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    return prefix + b"<a>" * depth + b"</a>" * depth + suffix


def _refusal(data: bytes, **kwargs: object) -> XmlProblem:
    with pytest.raises(XmlProblem) as info:
        parse_bytes(data, **kwargs)  # type: ignore[arg-type]
    return info.value


@pytest.mark.parametrize("depth", DEPTHS)
def test_too_deep_is_the_depth_limit_however_deep(depth: int) -> None:
    problem = _refusal(_nested(depth))
    assert problem.kind == "limit"
    assert problem.message == (
        "Het bestand bevat meer geneste niveaus dan toegestaan (hoogstens 256); zo'n bestand wordt niet verwerkt."
    )
    assert "XML_PARSE_HUGE" not in str(problem)
    report = validate_bytes(_nested(depth))
    assert [i.message for i in report.issues] == [problem.message]


@pytest.mark.parametrize("depth", [300, 3000])
def test_a_too_deep_envelope_is_refused_as_unsafe_however_deep(depth: int) -> None:
    data = _nested(depth, SOAP, b"</s:Body></s:Envelope>")
    with pytest.raises(UnsafeEnvelopeError):
        parse_soap_envelope(data)
    with pytest.raises(XmlProblem) as info:
        parse_untrusted(data)
    assert info.value.kind == "limit"


def test_a_higher_own_limit_names_the_parsers_limit() -> None:
    """With a depth limit above libxml2's own stop, that stop is still a limit (not a syntax error),
    named as libxml2's, with its line and column."""
    problem = _refusal(_nested(3000), limits=Limits(depth=10_000))
    assert problem.kind == "limit"
    assert "regel 1, kolom" in problem.message and "Excessive depth" in problem.message


def test_real_syntax_errors_stay_syntax_errors() -> None:
    problem = _refusal(b"<a>\n<b></c></a>")
    assert problem.kind == "syntax"
    assert problem.message.startswith("Het bestand is geen welgevormde XML op regel 2, kolom 8")


def test_libxml2_still_stops_where_this_test_expects() -> None:
    """The premise: libxml2 alone refuses 3000 levels with its resource-limit error."""
    with pytest.raises(etree.XMLSyntaxError) as info:
        etree.fromstring(_nested(3000), etree.XMLParser(huge_tree=True))
    assert info.value.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT
