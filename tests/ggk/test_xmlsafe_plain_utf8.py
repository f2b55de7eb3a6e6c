"""Issue 22 (RECV round 8): :func:`ieb.xmlsafe.parse_untrusted` and :func:`ieb.xmlsafe.prescan`
skip the decoded copy of the text and the DTD/entity walk after the parse for plain UTF-8 bytes
without ``<!`` (what every envelope and payload our peers send looks like). The verdicts must be
exactly those of the code before (the frozen copy in ``_frozen_xmlsafe.py``): the same tree, or the
same problem (code, kind, text, line), for every start (declarations of every kind, byte order
marks, UTF-16, processing instructions, whitespace), DTDs, entities, comments, CDATA, non-ASCII
and invalid bytes, namespace declarations over the limit, both ``utf8_only`` and ``remove_comments``,
on hand-built documents, a real SOAP Di01 and its payload, and random mutations of them."""

from __future__ import annotations

import random

import pytest
from _frozen_xmlsafe import frozen_parse_untrusted, frozen_prescan
from ggk_samples import WMO401
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

import ieb.ggk as ggk
from ieb import xmlsafe
from ieb.testing.hostile import mutate
from ieb.xmlsafe import DEFAULT_LIMITS, Limits, XmlProblem

STARTS = [
    b"",
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b'<?xml version="1.0" encoding="utf-8"?>\n',
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    b'<?xml version="1.0"?>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>',
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="UTF-7"?>',
    b'<?xml version="1.0" encoding="cp500"?>',
    b'<?xml version="1.0" encoding="nonsense"?>',
    b"\xef\xbb\xbf",
    b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>',
    b" ",
    b"\n",
    b"<?pi x?>",
    b"<!-- c -->",
    b"<!DOCTYPE a>",
    b'<!DOCTYPE a [<!ENTITY e "x">]>',
    b'<!DOCTYPE a SYSTEM "file:///etc/passwd">',
    b"<! doctype a>",
]
PIECES = [
    b"text",
    b"<b/>",
    b'<c x="1"/>',
    b"&amp;",
    b"&e;",
    b"&#233;",
    b"<!-- comment -->",
    b"<![CDATA[<!DOCTYPE>]]>",
    b"<!ENTITY f 'y'>",
    b"\xc3\xa9",  # UTF-8 e acute
    b"\xe2\x80\xa8",  # U+2028
    b"\xc2\xa0",  # NBSP (whitespace for the text regex)
    b"\xff",  # not UTF-8
    b"\xc3",  # a cut-off sequence
    b"\x00",
    b'<d xmlns:p="urn:p"/>',
    b'<d xmlns="urn:q" xmlns:r="urn:r"/>',
    b"xmlns",
    b"<",
    b"<!",
    b"]]>",
    b"<?pi?>",
]
LIMITS = [DEFAULT_LIMITS, Limits(namespaces=2), Limits(namespaces=0, attributes=3, elements=6, depth=3)]


def _outcome(f: object) -> object:
    try:
        root = f()  # type: ignore[operator]
    except XmlProblem as exc:
        return ("problem", exc.code, exc.kind, exc.message, exc.line, exc.location)
    if root is None:
        return ("ok",)
    return ("tree", etree.tostring(root.getroottree()), root.getroottree().docinfo.encoding)


def _same(data: bytes, limits: Limits, utf8_only: bool, remove_comments: bool) -> object:
    new = _outcome(
        lambda: xmlsafe.parse_untrusted(
            data, limits=limits, utf8_only=utf8_only, remove_comments=remove_comments
        )
    )
    old = _outcome(
        lambda: frozen_parse_untrusted(
            data, limits=limits, utf8_only=utf8_only, remove_comments=remove_comments
        )
    )
    assert new == old, data[:300]
    new_scan = _outcome(lambda: xmlsafe.prescan(data, limits=limits, utf8_only=utf8_only))
    old_scan = _outcome(lambda: frozen_prescan(data, limits=limits, utf8_only=utf8_only))
    assert new_scan == old_scan, data[:300]
    small = _outcome(lambda: xmlsafe.prescan(data, max_bytes=len(data) - 1, utf8_only=utf8_only))
    assert small == _outcome(lambda: frozen_prescan(data, max_bytes=len(data) - 1, utf8_only=utf8_only))
    return new


def _soap_di01() -> bytes:
    return ggk.wrap_soap(ggk.new_di01(WMO401, "WMO401", "0363", "CAK"))


@settings(max_examples=600, deadline=None)
@given(
    start=st.sampled_from(STARTS),
    pieces=st.lists(st.sampled_from(PIECES), max_size=6),
    tail=st.sampled_from([b"", b"\n", b"<!-- end -->", b"<", b"trailing"]),
    utf16=st.booleans(),
    limits=st.sampled_from(LIMITS),
    utf8_only=st.booleans(),
    remove_comments=st.booleans(),
)
def test_hand_built_documents_get_the_old_verdicts(
    start: bytes,
    pieces: list[bytes],
    tail: bytes,
    utf16: bool,
    limits: Limits,
    utf8_only: bool,
    remove_comments: bool,
) -> None:
    data = start + b'<a xmlns="urn:a">' + b"".join(pieces) + b"</a>" + tail
    if utf16:
        data = data.decode("utf-8", "replace").encode("utf-16")
    _same(data, limits, utf8_only, remove_comments)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from(["soap", "payload"]), utf8_only=st.booleans())
def test_mutated_envelopes_and_payloads_get_the_old_verdicts(seed: int, which: str, utf8_only: bool) -> None:
    data = _soap_di01() if which == "soap" else WMO401
    _same(mutate(data, random.Random(seed)), DEFAULT_LIMITS, utf8_only, False)


def test_the_plain_path_is_taken_and_still_refuses_what_it_must() -> None:
    """The real envelope and payload take the plain path (no decoded copy); a DTD, an entity, a
    namespace flood, invalid UTF-8 with ``utf8_only`` and a UTF-16 document still get their problems."""
    soap = _soap_di01()
    assert xmlsafe._prescan(soap, xmlsafe.MAX_ENVELOPE_BYTES, DEFAULT_LIMITS, False) is True
    assert xmlsafe._prescan(WMO401, xmlsafe.MAX_ENVELOPE_BYTES, DEFAULT_LIMITS, True) is True
    assert _same(soap, DEFAULT_LIMITS, False, False)[0] == "tree"
    hostile = {
        b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>': "declaration",
        b"<a>&e;</a>": "syntax",
        b'<a xmlns:p="urn:p" xmlns:q="urn:q" xmlns:r="urn:r"/>': "limit",
        b"<a>\xff</a>": "encoding",
        '<?xml version="1.0" encoding="UTF-16"?><a/>'.encode("utf-16"): "encoding",
    }
    for data, kind in hostile.items():
        outcome = _same(data, Limits(namespaces=2), True, False)
        assert outcome[0] == "problem" and outcome[2] == kind, (data, outcome)
    utf16_dtd = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a><a/>'.encode("utf-16")
    outcome = _same(utf16_dtd, DEFAULT_LIMITS, False, False)
    assert outcome[0] == "problem" and outcome[2] == "declaration", outcome


@pytest.mark.parametrize("start", STARTS)
def test_every_start_alone(start: bytes) -> None:
    for body in (b"<a/>", b"<a>\xc3\xa9</a>", b"<a>&e;</a>", b"<a><!-- x --></a>"):
        for utf8_only in (False, True):
            _same(start + body, DEFAULT_LIMITS, utf8_only, False)
