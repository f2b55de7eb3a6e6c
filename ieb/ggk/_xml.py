"""Hardened XML parsing for envelopes: size limit first, no DTD, no entities, no network."""

from __future__ import annotations

import re

from lxml import etree

from ieb.ggk.errors import EnvelopeTooLargeError, HostileXmlError
from ieb.xmlsafe import XmlProblem, safe_fromstring, safe_parser

__all__ = ["MAX_ENVELOPE_BYTES", "check_size", "parse_xml", "safe_parser"]

#: The GGk refuses an envelope (including the base64 payload) larger than 25 MB with IB007.
MAX_ENVELOPE_BYTES = 25 * 1024 * 1024

# A document type declaration (and with it every entity declaration) can only stand before the root
# element; we refuse it before the parser runs. Checked in ASCII-compatible encodings and in UTF-16.
_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_FORBIDDEN_UTF16 = tuple("<!DOCTYPE".encode(enc) for enc in ("utf-16-le", "utf-16-be")) + tuple(
    "<!ENTITY".encode(enc) for enc in ("utf-16-le", "utf-16-be")
)


def check_size(data: bytes, max_bytes: int = MAX_ENVELOPE_BYTES) -> None:
    """Raise :class:`EnvelopeTooLargeError` (IB007) when ``data`` exceeds ``max_bytes``."""
    if len(data) > max_bytes:
        raise EnvelopeTooLargeError(len(data), max_bytes)


def parse_xml(data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> etree._Element:
    """Parse untrusted XML bytes into an element, refusing anything but plain elements and text.

    Order: the size limit (IB007) before anything else, then a scan for a DTD, then the parse with
    a hardened parser, then a check that no DTD or entity reference slipped through.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"verwacht bytes, niet {type(data).__name__}")
    data = bytes(data)
    check_size(data, max_bytes)
    if _FORBIDDEN.search(data) or any(marker in data for marker in _FORBIDDEN_UTF16):
        raise HostileXmlError("XML met een DTD of entiteitdeclaratie wordt geweigerd", location="prolog")
    try:  # limits on elements, depth, namespaces and attributes are checked while parsing
        root = safe_fromstring(data, huge_text=True)
    except XmlProblem as exc:
        text = exc.message.replace("Het bestand is geen welgevormde XML", "geen goedgevormde XML")
        raise HostileXmlError(text, location=exc.location) from None
    tree = root.getroottree()
    docinfo = tree.docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise HostileXmlError("XML met een DTD wordt geweigerd", location="prolog")
    for node in root.iter(etree.Entity):
        raise HostileXmlError(f"entiteitverwijzing {node.text} wordt geweigerd", location=tree.getpath(node))
    return root
