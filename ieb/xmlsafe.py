"""Hardened XML parsing: no DTD, no entity expansion, no network, a size limit and UTF-8 without BOM.

Every problem is reported as a :class:`XmlProblem` with the rule code that names it:
``OP179`` (file larger than 25 MB), ``OP192`` (not UTF-8 or a byte order mark) and ``XML`` (not
well-formed, or a forbidden construct such as a DTD or an entity declaration).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

__all__ = ["MAX_BYTES", "XmlProblem", "parse_bytes", "safe_parser", "thread_schema"]

#: OP179: an iEb file is at most 25 MB.
MAX_BYTES = 25 * 1024 * 1024

_BOMS = (
    (b"\xef\xbb\xbf", "UTF-8"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_DECL = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# A DTD or entity declaration can only stand before the root element. We refuse it outright, before
# the parser sees it, so that no entity is ever expanded and nothing is read from disk or network.
_FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b")


@dataclass(frozen=True, slots=True)
class XmlProblem(Exception):
    code: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


def safe_parser(*, huge_text: bool = False, remove_comments: bool = False) -> etree.XMLParser:
    """The one hardened lxml parser of the project: never loads a DTD, expands an entity or
    touches the network.

    ``huge_text`` lifts libxml2's 10 MB limit on a single text node (a base64 payload in a 25 MB
    envelope needs it); use it only after the size limit and the DTD scan. ``remove_comments`` is
    for signed documents, where a comment could split signed text.
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=huge_text,
        remove_blank_text=False,
        remove_comments=remove_comments,
        remove_pis=False,
        collect_ids=False,
    )


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


def parse_bytes(data: bytes, *, max_bytes: int = MAX_BYTES) -> etree._Element:
    """Parse ``data`` safely and return the root element, or raise :class:`XmlProblem`."""
    if len(data) > max_bytes:
        raise XmlProblem(
            "OP179",
            f"Het bestand is {len(data) / 1_048_576:.1f} MB; een iEb-bestand mag hoogstens "
            f"{max_bytes // 1_048_576} MB zijn. Splits de aanlevering in kleinere bestanden.",
        )
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise XmlProblem(
                "OP192",
                f"Het bestand begint met een byte order mark ({name}); een iEb-bestand moet UTF-8 "
                "zonder BOM zijn. Sla het op als 'UTF-8 zonder BOM'.",
                1,
            )
    decl = _DECL.match(data)
    if decl and decl.group(1).decode("ascii").upper().replace("_", "-") not in ("UTF-8", "UTF8"):
        raise XmlProblem(
            "OP192",
            f"Het bestand is gecodeerd als {decl.group(1).decode('ascii')}; een iEb-bestand moet UTF-8 zijn.",
            1,
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise XmlProblem(
            "OP192", f"Het bestand bevat bytes die geen geldige UTF-8 zijn (regel {line}).", line
        ) from None
    prolog = _prolog(data)
    forbidden = _FORBIDDEN.search(prolog)
    if forbidden:
        line = prolog[: forbidden.start()].count(b"\n") + 1
        raise XmlProblem(
            "XML",
            f"Het bestand bevat een verboden XML-constructie (<!{forbidden.group(1).decode()}>); "
            "DTD's en entiteiten zijn in iEb niet toegestaan.",
            line,
        )
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlProblem("XML", f"Het bestand is geen welgevormde XML: {exc.msg}", exc.lineno) from None
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # belt and braces
        raise XmlProblem("XML", "Het bestand bevat een DTD; dat is in iEb niet toegestaan.", 1)
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
    cache: dict[str, etree.XMLSchema] | None = getattr(_PER_THREAD, "schemas", None)
    if cache is None:
        cache = _PER_THREAD.schemas = {}
    key = _resolved(path) if os.path.isabs(path) else str(Path(path).resolve())
    schema = cache.get(key)
    if schema is None:
        with _COMPILE_LOCK:
            schema = etree.XMLSchema(etree.parse(key, safe_parser()))
        cache[key] = schema
    return schema
