"""Hostile inputs for the transport layer: a mutator of valid XML and a corpus of known attacks.

Used by the fuzz tests (``tests/transport``, ``tests/ggk``), ``bench/fuzz_transport.py`` and
``bench/attacks.py``. :func:`mutate` applies one to four structure-aware changes to a valid
document (an attribute or text replaced by an awkward value, an element duplicated, removed or
inserted, bytes flipped, cut or repeated), so that most mutants get past the first checks and reach
signature verification, C14N and the envelope readers. Everything is deterministic for a given
:class:`random.Random`.
"""

from __future__ import annotations

import random
import re

__all__ = ["AWKWARD_TEXTS", "AWKWARD_VALUES", "mutate", "utf16_dtd", "utf32_dtd", "wide_namespaces"]

_ATTRIBUTE = re.compile(rb'="[^"<]{0,400}"')
_TEXT = re.compile(rb">[^<]{1,4000}<")
_ELEMENT = re.compile(
    rb"<([A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*[^<>]{0,400}/>|<([A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*[^<>]{0,400}>[^<]{0,2000}</[^<>]{1,80}>"
)

#: Attribute values that have broken verifiers: empty and odd references, refused algorithms,
#: XPointer, control characters, huge numbers, prefixes that are not declared.
AWKWARD_VALUES: tuple[bytes, ...] = (
    b"",
    b"#",
    b"#x",
    b"#xpointer(/)",
    b"#xpointer(id('x'))",
    b"http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    b"http://www.w3.org/2000/09/xmldsig#sha1",
    b"http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    b"http://www.w3.org/2006/12/xml-c14n11",
    b"http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
    b"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    b"a b #default xml xmlns",
    b"&#0;",
    b"&#x1F600;",
    b"9" * 400,
    b"999900006",
    b"urn:uuid:999900006",
    b"file:///etc/passwd",
    b"1",
    b"0",
    b"-1",
)

#: Text contents: base64 that is not a certificate, non-base64, dates out of range, long runs.
AWKWARD_TEXTS: tuple[bytes, ...] = (
    b"",
    b" ",
    b"MIIB",
    b"MII" + b"A" * 200,
    b"AAAA",
    b"====",
    b"!!!!",
    b"Zm9v\nYmFy",
    b"2024-13-45T99:99:99Z",
    b"99999-01-01T00:00:00Z",
    b"0001-01-01T00:00:00Z",
    b"9999-12-31T23:59:59.9999999999Z",
    b"2024-02-30T00:00:00Z",
    b"A" * 5000,
    b"999900006",
    b"&amp;&lt;&#65;",
    b"\xc3\x28",
    b"\xf0\x9f\x98\x80",
)

_INSERTS: tuple[bytes, ...] = (
    b'<x:y xmlns:x="urn:x"/>',
    b"<!-- c -->",
    b"<?pi data?>",
    b"<![CDATA[<a>]]>",
    b'<ds:Reference xmlns:ds="http://www.w3.org/2000/09/xmldsig#" URI="#x"/>',
    b'<wsu:Timestamp xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"/>',
    b'<a xmlns="">text</a>',
)


def _replace_span(
    data: bytes,
    rnd: random.Random,
    pattern: re.Pattern[bytes],
    values: tuple[bytes, ...],
    pre: bytes,
    post: bytes,
) -> bytes:
    spans = [m.span() for m in pattern.finditer(data)]
    if not spans:
        return data
    start, end = rnd.choice(spans)
    value = (
        rnd.choice(values)
        if rnd.random() < 0.8
        else bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 12)))
    )
    return data[:start] + pre + value + post + data[end:]


def _one(data: bytes, rnd: random.Random) -> bytes:
    op = rnd.randrange(9)
    n = len(data)
    if op == 0:
        return _replace_span(data, rnd, _ATTRIBUTE, AWKWARD_VALUES, b'="', b'"')
    if op == 1:
        return _replace_span(data, rnd, _TEXT, AWKWARD_TEXTS, b">", b"<")
    if op in (2, 3):
        spans = [m.span() for m in _ELEMENT.finditer(data)]
        if not spans:
            return data
        start, end = rnd.choice(spans)
        if op == 2:  # duplicate an element (IDs twice, two Timestamps, two Signatures ...)
            return data[:end] + data[start:end] + data[end:]
        return data[:start] + data[end:]  # remove it
    if op == 4:  # insert an element or construct after some '>'
        positions = [m.end() for m in re.finditer(rb">", data)]
        if not positions:
            return data
        at = rnd.choice(positions)
        return data[:at] + rnd.choice(_INSERTS) + data[at:]
    if op == 5 and n:  # flip bytes
        out = bytearray(data)
        for _ in range(rnd.randint(1, 4)):
            out[rnd.randrange(n)] = rnd.getrandbits(8)
        return bytes(out)
    if op == 6 and n:  # cut a slice
        start = rnd.randrange(n)
        return data[:start] + data[start + rnd.randint(1, 64) :]
    if op == 7 and n:  # repeat a slice
        start = rnd.randrange(n)
        piece = data[start : start + rnd.randint(1, 64)]
        return data[:start] + piece * rnd.randint(2, 5) + data[start:]
    if op == 8 and n:  # truncate
        return data[: rnd.randrange(n)]
    return data


def mutate(data: bytes, rnd: random.Random) -> bytes:
    """``data`` with one to four random, mostly structure-aware changes."""
    for _ in range(rnd.randint(1, 4)):
        data = _one(data, rnd)
    return data


def _dtd(target: str) -> str:
    return (
        f'<?xml version="1.0" encoding="%s"?>\n<!DOCTYPE r SYSTEM "{target}">\n'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>'
    )


def utf16_dtd(target: str) -> bytes:
    """A UTF-16 document (BOM and declaration) whose DTD names ``target`` (a path or URL)."""
    return (_dtd(target) % "UTF-16").encode("utf-16")


def utf32_dtd(target: str) -> bytes:
    """A UTF-32 document (BOM and declaration) whose DTD names ``target``."""
    return (_dtd(target) % "UTF-32").encode("utf-32")


def wide_namespaces(count: int) -> bytes:
    """A SOAP envelope whose Body element declares ``count`` namespaces (300k is about 7.8 MB)."""
    decls = b"".join(b' xmlns:n%d="urn:n%d"' % (i, i) for i in range(count))
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body'
        + decls
        + b"/></soap:Envelope>"
    )
