"""Hardened XML parsing: no DTD, no entity expansion, no file or network access, bounded work.

Every problem is reported as a :class:`XmlProblem` (an :class:`~ieb.errors.XmlSecurityError`) with
the rule code that names it: ``OP179`` (file larger than 25 MB), ``OP192`` (not UTF-8, or a byte order
mark) and ``XML`` (not well-formed, a forbidden construct such as a DTD or an entity declaration, or
more elements, depth, namespace declarations or attributes than :class:`Limits` allows).

This module is the ONE hardened-XML policy of ``ieb`` (docs/security.md, "Limits"): one set of
limits (:data:`MAX_BYTES`, :data:`MAX_ENVELOPE_BYTES`, :class:`Limits`), one pre-scan for hostile
input (:func:`prescan`) and one parse of untrusted bytes (:func:`safe_fromstring`;
:func:`parse_bytes` for iEb payloads, :func:`parse_untrusted` for StUF-GGk/SOAP envelopes). Callers
map :class:`XmlProblem` (``kind``: ``size``, ``encoding``, ``declaration``, ``limit``, ``syntax``) to
their own error and code (OP179/OP192 for a payload, IB007/RIN001 for an envelope).

Two guarantees hold for every parser made here, whatever the input's encoding (UTF-16 with a
declaration, UTF-32, ...): libxml2 never opens a file or URL (every external DTD, entity or schema
reference is answered with an empty document by a resolver, before libxml2's own loader is asked),
and no entity is expanded. :func:`parse_bytes` (iEb payloads) in addition decodes first: anything that
is not UTF-8 is OP192 before a parser sees it.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from ieb.errors import XmlSecurityError
from ieb.issues import Issue
from ieb.xmltext import dutch_parse_error

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_BYTES",
    "MAX_ENVELOPE_BYTES",
    "Limits",
    "XmlProblem",
    "parse_bytes",
    "parse_untrusted",
    "prescan",
    "safe_fromstring",
    "safe_parser",
    "schema_parser",
    "thread_schema",
]

#: OP179: an iEb file is at most 25 MB.
MAX_BYTES = 25 * 1024 * 1024
#: IB007 (IB003 in the 2025 list): a StUF-GGk envelope, base64 payload included, is at most 25 MB
#: (spec/transport.md). The same bound for every envelope we parse, signed or not.
MAX_ENVELOPE_BYTES = 25 * 1024 * 1024

_BOMS = (
    (b"\xef\xbb\xbf", "UTF-8"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_BOM_STARTS = frozenset(bom[:1] for bom, _ in _BOMS)
_DECL = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']{0,40})[\"']")
# A DTD or entity declaration can only stand before the root element. We refuse it outright, before
# the parser sees it, so that no entity is ever expanded and nothing is read from disk or network.
_FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b")
#: declarations that name UTF-8 exactly as most files start (``_DECL`` would read "UTF-8" from them)
_UTF8_DECLARATIONS = (b'<?xml version="1.0" encoding="UTF-8"?>', b'<?xml version="1.0" encoding="utf-8"?>')
_CHUNK = 1 << 16
#: A namespace declaration as it stands in a start tag: `` xmlns="..."`` or `` xmlns:p='...'``.
_ATTRIBUTE = re.compile(rb"\s[^\s=/<>\"']+\s*=\s*(?:\"[^\"<]*\"|'[^'<]*')")
_NS_DECL = re.compile(rb"\sxmlns(?::[^\s=/>]*)?\s*=\s*(?:\"[^\"<]*\"|'[^'<]*')")


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on the work one document may cause, checked while it is parsed.

    ``elements``: element count; ``depth``: nesting depth; ``namespaces``: namespace declarations in
    the whole document; ``attributes``: attributes in the whole document. An iEb payload has about 25
    elements at depth 5; a StUF-GGk envelope with WS-Security about 100 at depth 10."""

    elements: int = 100_000
    depth: int = 256
    namespaces: int = 1_000
    attributes: int = 10_000


DEFAULT_LIMITS = Limits()


class XmlProblem(XmlSecurityError):
    """The input cannot be parsed safely; ``code`` names the rule (OP179, OP192, XML), ``kind`` the
    class of problem (``size``, ``encoding``, ``declaration``, ``limit``, ``syntax``) for callers that
    answer with codes of their own.

    ``issues`` holds the clerk's finding (what ``ieb validate``, ``ieb retour``, ``ieb simulate``
    show): for XML that is not well-formed the Dutch sentence of :func:`ieb.xmltext.dutch_parse_error`
    (``clerk_text``) with libxml2's own text as its ``detail``. ``message`` keeps the technical text
    (a Dutch lead, then libxml2's words): the StUF-GGk receiver answers peers with it (Fo01/Fo03
    omschrijving), and those answers do not change."""

    def __init__(
        self,
        code: str,
        message: str,
        line: int | None = None,
        *,
        kind: str = "syntax",
        clerk_text: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, code=code, location=f"regel {line}" if line else None)
        self.line = line
        self.kind = kind
        self.issues: tuple[Any, ...] = (Issue(code, "0001", 1, None, clerk_text or message, detail),)

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class _NoExternalResources(etree.Resolver):
    """Answers every request for an external DTD, entity or schema with an empty document, so
    libxml2 never opens a file (a FIFO cannot block it) or a URL, and an existing and a missing file
    look the same."""

    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        return self.resolve_string("", context)  # type: ignore[call-arg]


def _harden(parser: etree.XMLParser) -> etree.XMLParser:
    parser.resolvers.add(_NoExternalResources())
    return parser


def _options(huge_text: bool, remove_comments: bool) -> dict[str, Any]:
    return {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "dtd_validation": False,
        "huge_tree": huge_text,
        "remove_blank_text": False,
        "remove_comments": remove_comments,
        "remove_pis": False,
        "collect_ids": False,
    }


def safe_parser(*, huge_text: bool = False, remove_comments: bool = False) -> etree.XMLParser:
    """The one hardened lxml parser of the project: never loads a DTD, expands an entity or
    touches the disk or the network, in any encoding.

    ``huge_text`` lifts libxml2's 10 MB limit on a single text node (a base64 payload in a 25 MB
    envelope needs it); use it only after the size limit and the DTD scan. ``remove_comments`` is
    for signed documents, where a comment could split signed text. For untrusted bytes prefer
    :func:`safe_fromstring`, which also bounds the work (:class:`Limits`).
    """
    return _harden(etree.XMLParser(**_options(huge_text, remove_comments)))


def schema_parser() -> etree.XMLParser:
    """A parser for XSD files the user or the project trusts (a release folder): the same settings
    as :func:`safe_parser` but allowed to read the file it is given and the schemas it imports from
    disk (never the network). Never use it for input from a peer."""
    return etree.XMLParser(**_options(False, False))


_PARSERS = threading.local()


def _fast_parser(huge_text: bool, remove_comments: bool, encoding: str | None) -> etree.XMLParser:
    """The hardened parser for these settings, made once per thread (issue 22: making a parser and
    its resolver for every file cost a quarter of a small file's parse). A parser is used by one
    thread at a time and keeps no document between parses."""
    cache: dict[tuple[bool, bool, str | None], etree.XMLParser] | None = getattr(_PARSERS, "cache", None)
    if cache is None:
        cache = _PARSERS.cache = {}
    key = (huge_text, remove_comments, encoding)
    parser = cache.get(key)
    if parser is None:
        options = _options(huge_text, remove_comments)
        if encoding is not None:
            options["encoding"] = encoding
        parser = cache[key] = _harden(etree.XMLParser(**options))
    return parser


def _limit(what: str, limit: int, line: int | None) -> XmlProblem:
    return XmlProblem(
        "XML",
        f"Het bestand bevat meer {what} dan toegestaan (hoogstens {limit}); zo'n bestand wordt niet verwerkt.",
        line,
        kind="limit",
    )


def safe_fromstring(
    data: bytes,
    *,
    huge_text: bool = False,
    remove_comments: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    encoding: str | None = None,
) -> etree._Element:
    """Parse ``data`` with :func:`safe_parser`'s settings, counting elements, depth, namespace
    declarations and attributes *while* parsing (64 KB at a time), so an oversized document is refused
    before it is built whole. Raises :class:`XmlProblem` (code ``XML``) when not well-formed or over a limit.

    ``encoding`` forces the document encoding (``parse_bytes`` passes ``"utf-8"`` after decoding)."""
    # Fast path: every element needs its own '<', every namespace declaration its own 'xmlns' and
    # '=', every attribute its own '=' (in any ASCII-compatible encoding), so when these counts are
    # within the limits the document is too (depth cannot exceed the number of '<') and one plain
    # parse, with a parser made once per thread, suffices.
    # Only for an ASCII-compatible start (UTF-8); UTF-16/32 or EBCDIC input takes the counted path.
    head = data[:4]
    ascii_compatible = encoding is not None or (
        head[:1] in (b"<", b" ", b"\t", b"\r", b"\n") and b"\x00" not in head
    )
    if ascii_compatible:
        equals = data.count(b"=")
        # a namespace declaration needs an '=' too: count 'xmlns' only when there are many '='
        few_namespaces = equals <= limits.namespaces or data.count(b"xmlns") <= limits.namespaces
        # Thousands of namespace declarations or attributes in one start tag cost libxml2 a full
        # parse of the tag before the first event: refuse them from the bytes (counting stops at
        # the limit).
        if not few_namespaces:
            found = 0
            for _ in _NS_DECL.finditer(data):
                found += 1
                if found > limits.namespaces:
                    raise _limit("namespacedeclaraties", limits.namespaces, None)
        if equals > limits.attributes:
            found = 0
            for _ in _ATTRIBUTE.finditer(data):
                found += 1
                if found > limits.attributes:
                    raise _limit("attributen", limits.attributes, None)
        if (
            few_namespaces
            and equals <= limits.attributes
            and data.count(b"<") <= min(limits.elements, limits.depth)
        ):
            try:
                return etree.fromstring(data, _fast_parser(huge_text, remove_comments, encoding))
            except etree.XMLSyntaxError as exc:
                raise _not_well_formed(exc, data, limits) from None
    options = _options(huge_text, remove_comments)
    if encoding is not None:
        options["encoding"] = encoding
    parser = _harden(etree.XMLPullParser(events=("start", "end", "start-ns"), **options))
    elements = depth = namespaces = attributes = 0
    try:
        for offset in range(0, max(len(data), 1), _CHUNK):
            parser.feed(data[offset : offset + _CHUNK])
            for event, item in parser.read_events():
                if event == "start":
                    elements += 1
                    depth += 1
                    attributes += len(item.attrib)
                    if elements > limits.elements:
                        raise _limit("elementen", limits.elements, item.sourceline)
                    if depth > limits.depth:
                        raise _limit("geneste niveaus", limits.depth, item.sourceline)
                    if attributes > limits.attributes:
                        raise _limit("attributen", limits.attributes, item.sourceline)
                elif event == "end":
                    depth -= 1
                else:
                    namespaces += 1
                    if namespaces > limits.namespaces:
                        raise _limit("namespacedeclaraties", limits.namespaces, None)
        root: etree._Element = parser.close()
    except etree.XMLSyntaxError as exc:
        raise _not_well_formed(exc, data, limits) from None
    return root


_AT_POSITION = re.compile(r", line (\d+), column (\d+)\Z")
#: libxml2's own stop on nesting (``Excessive depth in document: 2048, use XML_PARSE_HUGE option``)
_LIBXML2_DEPTH = re.compile(r"Excessive depth in document: (\d+)")


def _not_well_formed(exc: etree.XMLSyntaxError, data: bytes, limits: Limits) -> XmlProblem:
    """The ``XML`` problem of a libxml2 syntax error: a Dutch lead naming the line and column (1-based,
    as libxml2 counts them), then libxml2's own English text, which names the construct (``Opening and
    ending tag mismatch: b line 2 and c``), without the position it repeats at its end. An error just
    past the last byte of ``data`` says that the file stops before its XML is complete (cut off in a
    download or a copy): libxml2's ``expected '>'`` alone does not tell a clerk that.

    A stop on one of libxml2's own resource limits is no syntax error but a limit (kind ``limit``):
    its nesting stop, reached before the counted parse saw the events beyond ``limits.depth``, is
    that depth limit (the same text at any depth); another is named as libxml2's."""
    detail = exc.msg or "onbekende fout"
    line, column = exc.position if exc.position else (exc.lineno, None)
    at = _AT_POSITION.search(detail)
    if at and (int(at.group(1)), int(at.group(2))) == (line, column):
        detail = detail[: at.start()]
    where = f" op regel {line}, kolom {column}" if line and column else f" op regel {line}" if line else ""
    code: int = getattr(exc, "code", 0)  # libxml2's error type (not in lxml-stubs)
    technical = _technical(detail)
    at_end = bool(where) and _at_end(data, line, column)
    clerk = dutch_parse_error(code, detail, line or None, column or None, at_end=at_end)
    if code == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
        deep = _LIBXML2_DEPTH.search(detail)
        if deep and limits.depth <= int(deep.group(1)):
            return _limit("geneste niveaus", limits.depth, line or None)
        return XmlProblem(
            "XML",
            f"Het bestand gaat{where} een grens van de XML-lezer te boven (libxml2: {technical}); zo'n bestand "
            "wordt niet verwerkt.",
            line or None,
            kind="limit",
            clerk_text=clerk,
            detail=technical,
        )
    if at_end:
        where += ", aan het einde: het bestand houdt op voordat de XML af is (afgebroken?)"
    return XmlProblem(
        "XML",
        f"Het bestand is geen welgevormde XML{where} (libxml2: {technical})",
        line or None,
        clerk_text=clerk,
        detail=technical,
    )


#: the most characters of libxml2's text in :attr:`XmlProblem.message` (peers get at most 1,000 of
#: it) and in the clerk's finding's ``detail`` (the JSON key ``detail``; masked by ``Issue``)
_TECHNICAL_CHARS = 1000
_TRAILING_DIGITS = re.compile(r"\d+\Z")


def _technical(detail: str) -> str:
    """libxml2's ``detail`` as :attr:`XmlProblem.message` quotes it: at most :data:`_TECHNICAL_CHARS`
    characters, a run of digits at the cut dropped, ``…`` after a cut. libxml2 stops its own text at
    ~64,000 characters wherever that falls, also inside a BSN quoted at the end of a long name (the
    first digits of it then escaped masking); the message's first 1,000 characters, all a peer is
    sent (Fo03), are what they were unless a run of digits stands at the cut."""
    if len(detail) <= _TECHNICAL_CHARS:
        return detail
    return _TRAILING_DIGITS.sub("", detail[:_TECHNICAL_CHARS]) + "…"


def _at_end(data: bytes, line: int | None, column: int | None) -> bool:
    """Whether (``line``, ``column``), libxml2's 1-based position, lies just past the last byte of
    ``data`` (libxml2 counts the column in bytes or characters: either matches)."""
    if not data or not line or not column or line != data.count(b"\n") + 1:
        return False
    last = data[data.rfind(b"\n") + 1 :]
    return column - 1 in (len(last), len(last.decode("utf-8", "replace")))


def _prolog(data: bytes) -> bytes:
    """The bytes before the root element's start tag (where a DTD would be)."""
    pos = 0
    while True:
        lt = data.find(b"<", pos)
        if lt < 0 or lt + 1 >= len(data):
            return data
        nxt = data[lt + 1 : lt + 2]
        if nxt == b"?":
            end = data.find(b"?>", lt)
        elif data.startswith(b"<!--", lt):
            end = data.find(b"-->", lt)
        elif nxt == b"!":
            return data[: data.find(b">", lt) + 1 if data.find(b">", lt) >= 0 else len(data)]
        else:
            return data[:lt]
        if end < 0:
            return data
        pos = end + 2


def _not_utf8(message: str, line: int | None = 1) -> XmlProblem:
    return XmlProblem("OP192", message, line, kind="encoding")


def parse_bytes(
    data: bytes, *, max_bytes: int = MAX_BYTES, limits: Limits = DEFAULT_LIMITS
) -> etree._Element:
    """Parse an iEb file safely and return the root element, or raise :class:`XmlProblem`.

    Order: size (OP179), encoding (OP192: a BOM, a NUL byte as in UTF-16/UTF-32 without BOM, a
    declared encoding other than UTF-8, or bytes that are not UTF-8), a DTD in the prolog (XML), then
    the parse itself with the encoding forced to UTF-8 and the text-node limit lifted (the size is
    bounded and there is no DTD), with the :class:`Limits` checked while parsing."""
    if len(data) > max_bytes:
        raise XmlProblem(
            "OP179",
            f"Het bestand is {len(data) / 1_048_576:.1f} MB; een iEb-bestand mag hoogstens "
            f"{max_bytes // 1_048_576} MB zijn. Splits de aanlevering in kleinere bestanden.",
            kind="size",
        )
    for bom, name in _BOMS if data[:1] in _BOM_STARTS else ():
        if data.startswith(bom):
            raise _not_utf8(
                f"Het bestand begint met een byte order mark ({name}); een iEb-bestand moet UTF-8 "
                "zonder BOM zijn. Sla het op als 'UTF-8 zonder BOM'."
            )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _not_utf8(
            "Het bestand bevat NUL-bytes: het is geen UTF-8 (maar bijvoorbeeld UTF-16 of UTF-32); "
            "een iEb-bestand moet UTF-8 zonder BOM zijn.",
            data[:nul].count(b"\n") + 1,
        )
    # the usual declaration names UTF-8 (what _DECL would find): no regex for it
    decl = None if data.startswith(_UTF8_DECLARATIONS) else _DECL.match(data)
    if decl:
        declared = decl.group(1).decode("ascii", "replace")
        if declared.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
            raise _not_utf8(f"Het bestand is gecodeerd als {declared!r}; een iEb-bestand moet UTF-8 zijn.")
    try:
        if not data.isascii():  # ASCII is UTF-8 (isascii reads a word at a time, decode builds a str)
            data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _not_utf8(
            f"Het bestand bevat bytes die geen geldige UTF-8 zijn (regel {line}).", line
        ) from None
    # every forbidden construct starts with '<!' (so does a comment or CDATA section)
    declared = b"<!" in data
    prolog = _prolog(data) if declared else b""
    forbidden = _FORBIDDEN.search(prolog)
    if forbidden:
        line = prolog[: forbidden.start()].count(b"\n") + 1
        raise XmlProblem(
            "XML",
            f"Het bestand bevat een verboden XML-constructie (<!{forbidden.group(1).decode()}>); "
            "DTD's en entiteiten zijn in iEb niet toegestaan.",
            line,
            kind="declaration",
        )
    equals = data.count(b"=")
    if (
        equals <= limits.namespaces
        and equals <= limits.attributes
        and data.count(b"<") <= min(limits.elements, limits.depth)
    ):  # safe_fromstring's fast path, as it takes it for these counts (without its other tests)
        try:
            root = etree.fromstring(data, _fast_parser(True, False, "utf-8"))
        except etree.XMLSyntaxError as exc:
            raise _not_well_formed(exc, data, limits) from None
    else:
        root = safe_fromstring(data, huge_text=True, limits=limits, encoding="utf-8")
    if declared:  # belt and braces (without '<!' in the file there is no DTD for libxml2 to read)
        docinfo: Any = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            raise XmlProblem(
                "XML", "Het bestand bevat een DTD; dat is in iEb niet toegestaan.", 1, kind="declaration"
            )
    return root


# --------------------------------------------------------------------------- untrusted envelopes

# A document type declaration (and with it every entity declaration) can only stand before the root
# element; the scan looks for it in the text decoded the way libxml2 would decode it (BOM, UTF-16/32
# without BOM, or the declared encoding), so no encoding can hide it.
_DECLARATION_TEXT = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_NS_DECL_TEXT = re.compile(r"\sxmlns(?::[^\s=/>]*)?\s*=")
_DECLARED = re.compile(rb"^<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
_SNIFF = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)


def _scan_text(data: bytes, *, utf8_only: bool) -> str:
    """``data`` decoded as libxml2 would read it (for the scan only). ``utf8_only`` refuses a BOM,
    UTF-16/32 and any declared encoding but UTF-8, and bytes that are not UTF-8."""
    encoding = next((enc for mark, enc in _SNIFF if data.startswith(mark)), None)
    declared = _DECLARED.match(data)
    if encoding is None:
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    if utf8_only:
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8") or (
            declared and declared.group(1).upper().replace(b"_", b"-") not in (b"UTF-8", b"UTF8")
        ):
            raise XmlProblem("XML", "XML moet UTF-8 zonder byte order mark zijn", kind="encoding")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise XmlProblem("XML", "XML bevat bytes die geen geldige UTF-8 zijn", kind="encoding") from None
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise XmlProblem("XML", f"onbekende tekenset {encoding[:40]!r}", kind="encoding") from None
    return data.decode(encoding, errors="replace")


def prescan(
    data: bytes,
    *,
    max_bytes: int = MAX_ENVELOPE_BYTES,
    limits: Limits = DEFAULT_LIMITS,
    utf8_only: bool = False,
) -> None:
    """The one pre-scan of untrusted XML, before libxml2 sees a byte: the size (``kind="size"``),
    the encoding (``"encoding"``: unknown, or anything but UTF-8 with ``utf8_only``), a DTD, entity,
    element, attribute-list or notation declaration anywhere in the decoded text (``"declaration"``),
    and more namespace declarations than ``limits.namespaces`` (``"limit"``; libxml2 spends minutes
    on 300 000 in one start tag). Raises :class:`XmlProblem` (code ``XML``)."""
    _prescan(data, max_bytes, limits, utf8_only)


def _plain_utf8(data: bytes) -> bool:
    """Whether libxml2 and :func:`_scan_text` can only read ``data`` as UTF-8: it starts with ``<``
    followed by neither ``?`` nor NUL (no declaration, no byte order mark, not UTF-16/32 or EBCDIC
    by libxml2's detection), or with one of the usual complete UTF-8 declarations."""
    return (data[:1] == b"<" and data[1:2] not in (b"?", b"\x00", b"")) or data.startswith(_UTF8_DECLARATIONS)


def _prescan(data: bytes, max_bytes: int, limits: Limits, utf8_only: bool) -> bool:
    """:func:`prescan`; True when ``data`` is plain UTF-8 (:func:`_plain_utf8`) without ``<!``
    anywhere: then libxml2 can find no DTD, entity declaration (nor comment or CDATA) in it.

    That case needs no decoded copy (issue 22, RECV round 8): decoded as UTF-8 (also with
    ``errors="replace"``) every ASCII character comes from its own ASCII byte, in order, so the
    text has no ``<!`` (no declaration for ``_DECLARATION_TEXT``) and as many ``xmlns`` as the
    bytes; ``utf8_only`` still decodes non-ASCII bytes strictly."""
    if len(data) > max_bytes:
        raise XmlProblem(
            "XML",
            f"XML van {len(data) / 1_048_576:.1f} MB is groter dan de grens van {max_bytes / 1_048_576:.1f} MB",
            kind="size",
        )
    if b"<!" not in data and _plain_utf8(data) and data.count(b"xmlns") <= limits.namespaces:
        if utf8_only and not data.isascii():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise XmlProblem(
                    "XML", "XML bevat bytes die geen geldige UTF-8 zijn", kind="encoding"
                ) from None
        return True
    text = _scan_text(data, utf8_only=utf8_only)
    found = _DECLARATION_TEXT.search(text)
    if found:
        raise XmlProblem(
            "XML",
            f"XML met een {found.group(1).upper()}-declaratie (DTD of entiteit) wordt geweigerd",
            kind="declaration",
        )
    if text.count("xmlns") > limits.namespaces:
        count = 0
        for _ in _NS_DECL_TEXT.finditer(text):
            count += 1
            if count > limits.namespaces:
                raise _limit("namespacedeclaraties", limits.namespaces, None)
    return False


def parse_untrusted(
    data: bytes,
    *,
    max_bytes: int = MAX_ENVELOPE_BYTES,
    limits: Limits = DEFAULT_LIMITS,
    utf8_only: bool = False,
    remove_comments: bool = False,
) -> etree._Element:
    """Parse untrusted XML (a StUF-GGk or SOAP envelope): :func:`prescan`, then
    :func:`safe_fromstring` with the text-node limit lifted (a base64 payload; the size is bounded
    and there is no DTD) and ``limits`` counted while parsing, then a check that no DTD or entity
    reference slipped through. Raises :class:`XmlProblem` (see ``kind``); ``TypeError`` for non-bytes."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"verwacht bytes, niet {type(data).__name__}")
    data = bytes(data)
    plain = _prescan(data, max_bytes, limits, utf8_only)
    root = safe_fromstring(data, huge_text=True, remove_comments=remove_comments, limits=limits)
    if plain:  # plain UTF-8 without '<!': no DTD, hence no entity declaration or reference node
        return root
    tree = root.getroottree()
    docinfo: Any = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlProblem("XML", "XML met een DTD wordt geweigerd", kind="declaration")
    for node in root.iter(etree.Entity):
        raise XmlProblem("XML", f"entiteitverwijzing {node.text} wordt geweigerd", kind="declaration")
    return root


@functools.lru_cache(maxsize=256)
def _resolved(path: str | Path) -> str:
    """An absolute schema path resolved once (resolving on every validation cost 19 % of B1's CPU)."""
    return str(Path(path).resolve())


# libxml2 cannot compile two schemas at the same time in different threads ("Internal error:
# xmlSchemaPValAttrNodeValue"), and a compiled schema's error log belongs to the object, so two
# threads validating with one object would mix their findings. Hence: compile under one lock, and
# keep one compiled schema per thread and path.
_COMPILE_LOCK = threading.Lock()
_PER_THREAD = threading.local()


def thread_schema(path: str | Path) -> etree.XMLSchema:
    """The compiled XSD at ``path`` for the calling thread (compiled once per thread, never concurrently)."""
    cache: dict[str | Path, etree.XMLSchema] | None = getattr(_PER_THREAD, "schemas", None)
    if cache is None:
        cache = _PER_THREAD.schemas = {}
    schema = cache.get(path)  # the path object as given (a pack's schema_path: one per message)
    if schema is not None:
        return schema
    key = _resolved(path) if os.path.isabs(path) else str(Path(path).resolve())
    schema = cache.get(key)
    if schema is None:
        with _COMPILE_LOCK:
            schema = etree.XMLSchema(etree.parse(key, schema_parser()))
        cache[key] = schema
    if os.path.isabs(path) and len(cache) < 1024:  # a relative path may mean another file later
        cache[path] = schema
    return schema
