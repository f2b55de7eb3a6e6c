"""FROZEN ORACLE (issue 22, RECV round 8): :func:`ieb.xmlsafe.prescan` and
:func:`ieb.xmlsafe.parse_untrusted` as they were at main ``93aaa5d``, before the plain-UTF-8 path
(every input decoded and scanned, every tree checked for a DTD and entity nodes). Only the
differential test ``test_xmlsafe_plain_utf8.py`` uses it; do not "improve" it: it is the yardstick.
``_scan_text``, ``safe_fromstring`` and the patterns are the module's own (unchanged)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from ieb.xmlsafe import (
    _DECLARATION_TEXT,
    _NS_DECL_TEXT,
    DEFAULT_LIMITS,
    MAX_ENVELOPE_BYTES,
    Limits,
    XmlProblem,
    _limit,
    _scan_text,
    safe_fromstring,
)

__all__ = ["frozen_parse_untrusted", "frozen_prescan"]


def frozen_prescan(
    data: bytes,
    *,
    max_bytes: int = MAX_ENVELOPE_BYTES,
    limits: Limits = DEFAULT_LIMITS,
    utf8_only: bool = False,
) -> None:
    if len(data) > max_bytes:
        raise XmlProblem(
            "XML",
            f"XML van {len(data) / 1_048_576:.1f} MB is groter dan de grens van {max_bytes / 1_048_576:.1f} MB",
            kind="size",
        )
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


def frozen_parse_untrusted(
    data: bytes,
    *,
    max_bytes: int = MAX_ENVELOPE_BYTES,
    limits: Limits = DEFAULT_LIMITS,
    utf8_only: bool = False,
    remove_comments: bool = False,
) -> etree._Element:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"verwacht bytes, niet {type(data).__name__}")
    data = bytes(data)
    frozen_prescan(data, max_bytes=max_bytes, limits=limits, utf8_only=utf8_only)
    root = safe_fromstring(data, huge_text=True, remove_comments=remove_comments, limits=limits)
    tree = root.getroottree()
    docinfo: Any = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlProblem("XML", "XML met een DTD wordt geweigerd", kind="declaration")
    for node in root.iter(etree.Entity):
        raise XmlProblem("XML", f"entiteitverwijzing {node.text} wordt geweigerd", kind="declaration")
    return root
