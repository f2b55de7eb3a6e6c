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
# element; we refuse it before the parser runs, on the text decoded the way libxml2 would decode it
# (BOM, UTF-16/UTF-32 without BOM, or the declared encoding), so no encoding can hide it.
_FORBIDDEN = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_DECLARED = re.compile(rb"^<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
_SNIFF = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
#: An envelope or payload declares a handful of namespaces; 300k declarations cost minutes in libxml2.
MAX_NAMESPACE_DECLARATIONS = 2_000


def _as_text(data: bytes) -> str:
    """``data`` decoded as libxml2 would read it (for the scans only); refuses an unknown encoding."""
    import codecs

    encoding = next((enc for mark, enc in _SNIFF if data.startswith(mark)), None)
    if encoding is None:
        declared = _DECLARED.match(data)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise HostileXmlError(f"onbekende tekenset {encoding!r}", location="prolog") from None
    return data.decode(encoding, errors="replace")


def _scan(data: bytes) -> None:
    text = _as_text(data)
    if _FORBIDDEN.search(text):
        raise HostileXmlError("XML met een DTD of entiteitdeclaratie wordt geweigerd", location="prolog")
    if text.count("xmlns") > MAX_NAMESPACE_DECLARATIONS:
        raise HostileXmlError(
            f"XML met meer dan {MAX_NAMESPACE_DECLARATIONS} namespacedeclaraties wordt geweigerd"
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
    _scan(data)
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
