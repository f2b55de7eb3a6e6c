"""The one reader of element values: an element's value as the XSD value space sees it.

lxml's ``.text`` is only the text before an element's first child node, so ``<Bsn>9999<!--x-->00007</Bsn>``
reads as ``9999``. XSD reads the *character data* of the element: every text node, with comments and
processing instructions left out (CDATA is text), then applies the type's ``whiteSpace`` facet:

* ``preserve`` (``xs:string`` and its restrictions such as ``LDT_BurgerServicenummer``): as is;
* ``replace`` (``xs:normalizedString``): tab, CR and LF become spaces;
* ``collapse`` (``xs:date``, ``xs:integer``, ``xs:token`` and every other built-in type): runs of
  XML whitespace (space, tab, CR, LF; not a no-break space) become one space, none at either end.

Integers accept a ``+`` sign and leading zeros (``+0363`` is 363); dates are read as
:class:`ieb.dates.XsdDate`, which holds every year the XSD allows. The validator's rules, the codec
(:func:`ieb.codec.from_xml`), ``ieb show``, the retour processing, the CAK simulator and the generic
release path all read values through this module, so they agree with each other and with the XSD.
"""

from __future__ import annotations

import re
from typing import Literal

from lxml import etree

from ieb.dates import XsdDate, parse_xsd_date

__all__ = [
    "INTEGER_TYPES",
    "WhiteSpace",
    "collapse",
    "element_text",
    "parse_xsd_integer",
    "read_date",
    "read_integer",
    "read_string",
    "read_value",
    "whitespace_of",
]

WhiteSpace = Literal["preserve", "replace", "collapse"]

_RUNS = re.compile(r"[ \t\r\n]+")
_REPLACE = re.compile(r"[\t\r\n]")
_INTEGER = re.compile(r"([+-]?)0*([0-9]+)")
#: Integers longer than this are out of every range in the iEb schemas; they are read as a value of
#: this many digits (keeping the sign), so no hostile input makes a huge Python integer.
_MAX_INTEGER_DIGITS = 40


def element_text(element: etree._Element) -> str:
    """All character data directly inside ``element`` (its text and the tails of its child nodes);
    comments and processing instructions are skipped, child elements' own content is not included."""
    parts = [element.text or ""]
    for child in element:
        if child.tail:
            parts.append(child.tail)
    return "".join(parts)


def collapse(text: str) -> str:
    """XSD ``whiteSpace="collapse"``: XML whitespace runs to one space, trimmed at both ends."""
    return _RUNS.sub(" ", text).strip(" ")


def read_string(element: etree._Element, whitespace: WhiteSpace = "preserve") -> str:
    """The element's value under the given whiteSpace facet (default: ``xs:string``, preserved)."""
    text = element_text(element)
    if whitespace == "collapse":
        return collapse(text)
    if whitespace == "replace":
        return _REPLACE.sub(" ", text)
    return text


def parse_xsd_integer(text: str) -> int | None:
    """An ``xs:integer`` lexical value (already collapsed) as an int, or None when it is not one.

    ``+`` and leading zeros are accepted (``+0363`` -> 363); only ASCII digits (``int()`` would also
    take ``1_000`` and other scripts' digits, which the XSD refuses)."""
    m = _INTEGER.fullmatch(text)
    if m is None:
        return None
    digits = m.group(2)[:_MAX_INTEGER_DIGITS]
    value = int(digits)
    return -value if m.group(1) == "-" else value


def read_integer(element: etree._Element) -> int | None:
    """The ``xs:integer`` value of ``element`` (whitespace collapsed), or None when it is not one."""
    return parse_xsd_integer(collapse(element_text(element)))


def read_date(element: etree._Element) -> XsdDate | None:
    """The ``xs:date`` value of ``element`` (whitespace collapsed), or None when it is not one."""
    return parse_xsd_date(collapse(element_text(element)))


#: Built-in XSD types whose whiteSpace facet is not ``collapse``.
_NOT_COLLAPSED: dict[str, WhiteSpace] = {
    "string": "preserve",
    "anySimpleType": "preserve",
    "normalizedString": "replace",
}


def whitespace_of(builtin: str | None) -> WhiteSpace:
    """The whiteSpace facet of a built-in XSD type by local name (``"date"`` -> ``"collapse"``).
    Unknown (None): ``preserve``, the value as written."""
    if builtin is None:
        return "preserve"
    return _NOT_COLLAPSED.get(builtin, "collapse")


def read_value(element: etree._Element, builtin: str | None) -> str:
    """The element's value as text, normalised the way its built-in base type says: whitespace per
    the facet, and an integer with its sign and leading zeros normalised (``+0363`` -> ``363``).
    A value that is not in the type's lexical space is returned as read."""
    text = read_string(element, whitespace_of(builtin))
    if builtin in INTEGER_TYPES:
        number = parse_xsd_integer(text)
        return text if number is None else str(number)
    return text


#: The built-in XSD types whose values are integers (read as such by :func:`read_value`).
INTEGER_TYPES = frozenset(
    {
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    }
)
