"""Mutations of valid iEb files, for property tests and ``bench/fuzz.py``.

``mutate_value`` changes one leaf value in a way the XSD may or may not accept (a comment or
processing instruction inside it, CDATA, whitespace, a ``+`` sign or leading zeros, a character
reference, a date of any year or with a timezone, other text); ``mutate_bytes`` also breaks the
structure (byte flips, truncation, a DTD, another encoding, a BOM, nesting, duplicated elements).
``reference_verdict`` is the verdict of the PUBLISHED iEb XSD (loaded with lxml from a folder
outside the project) plus the file rules OP179/OP192, the yardstick the validator is compared with.

    from ieb.testing.mutations import mutate_bytes
    rng = random.Random(1)
    data = mutate_bytes(valid_bytes, rng)
"""

from __future__ import annotations

import random
import re
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from ieb.releases import get_pack

__all__ = ["LEAF", "mutate_bytes", "mutate_value", "reference_schema", "reference_verdict"]

#: A leaf element with its value: ``<prefix:Name>value</prefix:Name>``.
LEAF = re.compile(rb"<(?P<tag>(?:[A-Za-z0-9_]+:)?(?P<name>[A-Za-z]+))>(?P<value>[^<]*)</(?P=tag)>")

_YEARS = ["0000", "0001", "0004", "2019", "2020", "2025", "2026", "2027", "9999", "10000", "12026", "02026"]
_YEARS += ["-0001", "-0004", "-2026", "99999999999999999999", "+2026", "2026 "]
_MONTHS = ["00", "01", "02", "04", "05", "06", "12", "13", "1"]
_DAYS = ["00", "01", "15", "28", "29", "30", "31", "32"]
_ZONES = ["", "", "", "Z", "+01:00", "-14:00", "+14:01", "+00:00"]
_WS = [" ", "\t", "\n", "\r\n", "  \n\t", "\u00a0", "&#32;", "&#9;", "&#10;", "&#13;"]
_TEXT = [
    "",
    " ",
    "0",
    "1",
    "2",
    "3",
    "9",
    "-1",
    "+1",
    # the BerichtCodes of the built-in release (a valid code in the wrong message: CS126)
    *sorted(m.bericht_code for m in get_pack("ieb-1.0").messages.values() if m.bericht_code),
    "0363",
    "999900006",
    "999900007",
    "S333",
    "A" * 13,
]
_HOSTILE = [
    b"<!DOCTYPE x>",
    b'<!DOCTYPE x [<!ENTITY e "e">]>',
    b'<!DOCTYPE x SYSTEM "/etc/passwd">',
    b"&e;",
    b"&#0;",
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"<a>" * 40,
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"<?xml version='1.0'?>",
    b' xmlns:x="urn:x"',
    b' x="1"',
]


def _at(value: bytes, rng: random.Random) -> int:
    return rng.randint(0, len(value))


def _date(rng: random.Random) -> bytes:
    return f"{rng.choice(_YEARS)}-{rng.choice(_MONTHS)}-{rng.choice(_DAYS)}{rng.choice(_ZONES)}".encode()


def _new_value(value: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(10)
    if kind == 0:
        i = _at(value, rng)
        return value[:i] + rng.choice([b"<!--x-->", b"<!---->", b"<!-- 1 -->"]) + value[i:]
    if kind == 1:
        i = _at(value, rng)
        return value[:i] + rng.choice([b"<?p x?>", b"<?p?>"]) + value[i:]
    if kind == 2:
        i, j = sorted((_at(value, rng), _at(value, rng)))
        return value[:i] + b"<![CDATA[" + value[i:j] + b"]]>" + value[j:]
    if kind == 3:
        i = rng.choice([0, len(value), _at(value, rng)])
        return value[:i] + rng.choice(_WS).encode() + value[i:]
    if kind == 4:
        return rng.choice([b"+", b"-", b"0", b"00", b"+0", b"-0", b" +0"]) + value
    if kind == 5:
        return _date(rng)
    if kind == 6:
        return rng.choice(_TEXT).encode()
    if kind == 7:  # a character reference for one character
        if not value:
            return value
        i = rng.randrange(len(value))
        return value[:i] + f"&#{value[i]};".encode() + value[i + 1 :]
    if kind == 8:
        return value + value
    return _new_value(_new_value(value, rng), rng)


def mutate_value(data: bytes, rng: random.Random) -> bytes:
    """Change the value of one leaf element (see the module text); the structure stays as it was."""
    leaves = list(LEAF.finditer(data))
    if not leaves:
        return data
    m = rng.choice(leaves)
    return data[: m.start("value")] + _new_value(m.group("value"), rng) + data[m.end("value") :]


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """Any mutation: mostly value changes, also structural and encoding damage."""
    kind = rng.randrange(12)
    if kind < 6:
        return mutate_value(data, rng)
    if kind == 6 and data:  # flip a few bytes
        buf = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        return bytes(buf)
    if kind == 7:  # truncate
        return data[: _at(data, rng)]
    if kind == 8:  # insert something hostile
        i = rng.choice([data.find(b"?>") + 2, _at(data, rng)])
        return data[:i] + rng.choice(_HOSTILE) + data[i:]
    if kind == 9:  # duplicate or drop a leaf element
        leaves = list(LEAF.finditer(data))
        if leaves:
            m = rng.choice(leaves)
            part = m.group(0) * rng.choice([0, 2])
            return data[: m.start()] + part + data[m.end() :]
        return data
    if kind == 10:  # another encoding
        text = data.decode("utf-8", "replace")
        encoding = rng.choice(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"])
        if rng.random() < 0.5:
            text = text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
        return text.encode(encoding, "replace")
    return mutate_value(mutate_value(data, rng), rng)


# ---------------------------------------------------------------- the yardstick


@cache
def reference_schema(folder: str, bericht: str) -> etree.XMLSchema:
    """The published XSD of ``bericht`` (the message name, the file's stem) from ``folder``."""
    return etree.XMLSchema(etree.parse(str(Path(folder) / f"{bericht}.xsd")))


@cache
def _schemas_by_namespace(folder: str) -> dict[str, str]:
    """targetNamespace -> message name (file stem) of every XSD in ``folder`` that declares a
    ``Bericht`` element (read from the published files themselves, not from ieb's table)."""
    found: dict[str, str] = {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for path in sorted(Path(folder).glob("*.xsd")):
        doc = etree.parse(str(path), parser).getroot()
        target = doc.get("targetNamespace")
        xs = "{http://www.w3.org/2001/XMLSchema}element"
        if target and any(e.get("name") == "Bericht" for e in doc.iterchildren(xs)):
            found[target] = path.stem
    return found


def reference_verdict(data: bytes, folder: str) -> bool:
    """True when the published XSD accepts ``data`` and the file rules hold: at most 25 MB (OP179),
    UTF-8 without BOM, no other declared encoding (OP192), no DTD. Computed independently of ``ieb``:
    plain lxml, the published schema files, and Python's own UTF-8 decoder."""
    if len(data) > 25 * 1024 * 1024 or data.startswith(b"\xef\xbb\xbf"):
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if "\x00" in text:
        return False
    decl = re.match(r"<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']", text)
    if decl and decl.group(1).upper() not in ("UTF-8", "UTF8"):
        return False
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, encoding="utf-8"
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return False
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype:
        return False
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        return False  # an undeclared entity reference: not well-formed without a DTD
    bericht = _schemas_by_namespace(folder).get(etree.QName(root).namespace or "")
    if bericht is None or etree.QName(root).localname != "Bericht":
        return False
    schema = reference_schema(folder, bericht)
    try:
        return bool(schema.validate(root))
    except etree.XMLSchemaValidateError:
        return False
