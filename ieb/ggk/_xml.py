"""Parsing untrusted envelopes through the one hardened-XML policy (:mod:`ieb.xmlsafe`).

The limits are xmlsafe's (:data:`ieb.xmlsafe.MAX_ENVELOPE_BYTES`, :data:`ieb.xmlsafe.DEFAULT_LIMITS`);
this module only maps its problems to the GGk's codes: too large is ``IB007``
(:class:`EnvelopeTooLargeError`), anything hostile or malformed ``RIN001`` (:class:`HostileXmlError`).
"""

from __future__ import annotations

from lxml import etree

from ieb.ggk.errors import EnvelopeTooLargeError, HostileXmlError
from ieb.xmlsafe import MAX_ENVELOPE_BYTES, XmlProblem, parse_untrusted, safe_parser

__all__ = ["MAX_ENVELOPE_BYTES", "check_size", "parse_xml", "safe_parser"]


def check_size(data: bytes, max_bytes: int = MAX_ENVELOPE_BYTES) -> None:
    """Raise :class:`EnvelopeTooLargeError` (IB007) when ``data`` exceeds ``max_bytes``."""
    if len(data) > max_bytes:
        raise EnvelopeTooLargeError(len(data), max_bytes)


def parse_xml(data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> etree._Element:
    """Parse untrusted XML bytes into an element, refusing anything but plain elements and text.

    Order: the size limit (IB007) before anything else, then :func:`ieb.xmlsafe.parse_untrusted`
    (encoding, DTD/entity scan in any encoding, namespace bound, the counted parse, no DTD or entity
    reference after it); its problems become :class:`HostileXmlError` (RIN001).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"verwacht bytes, niet {type(data).__name__}")
    data = bytes(data)
    check_size(data, max_bytes)
    try:
        return parse_untrusted(data, max_bytes=max_bytes)
    except XmlProblem as exc:
        text = exc.message.replace("Het bestand is geen welgevormde XML", "geen goedgevormde XML")
        location = "prolog" if exc.kind in ("declaration", "encoding") else exc.location
        raise HostileXmlError(text, location=location) from None
