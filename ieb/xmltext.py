"""libxml2's parse errors (XML that is not well-formed) in plain Dutch for a clerk.

The one place that turns a libxml2 syntax error into a clerk's sentence (the companion of
:mod:`ieb.validation.xsdtext` for schema errors). The sentence is chosen by libxml2's error type
(``XMLSyntaxError.code``, the ``type`` of lxml's ``error_log`` entries: ``ERR_TAG_NAME_MISMATCH``,
``ERR_DOCUMENT_EMPTY``, ...), never by its English wording, so a libxml2 that words an error
differently still gets the right kind; names quoted in the English text (a tag, an entity) are
taken from it when it has the expected form. A type without a sentence of its own keeps libxml2's
text in parentheses. libxml2's own text is returned beside the sentence as the detail
(``Issue.detail``: the JSON output keeps it).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from ieb.types import mask_bsns

__all__ = ["dutch_parse_error"]

_T = etree.ErrorTypes

#: the lead of every sentence: what is wrong with the file, and where (libxml2's 1-based position)
_LEAD = "Het bestand is geen welgevormde XML"

_MISMATCH = re.compile(r"Opening and ending tag mismatch: (\S+) line (\d+) and ([^\s,]+)")
_PREMATURE = re.compile(r"Premature end of data in tag (\S+) line (\d+)")
_CHAR = re.compile(r"(?:Char|char|xmlChar) value (\d+)")
_ENTITY = re.compile(r"Entity '([^']+)' not defined")
_PREFIX = re.compile(r"Namespace prefix (\S+) on (\S+) is not defined")
_ATTRIBUTE = re.compile(r"Attribute (\S+) redefined")

#: the most characters of a name (tag, prefix, attribute, entity) a sentence quotes: a hostile file's
#: 60 000-character name is not repeated whole in the clerk's line (libxml2's detail keeps it)
_NAME_CHARS = 80


def _name(text: str) -> str:
    """``text`` (a name quoted by libxml2) as a sentence quotes it: a BSN in it masked first (a cut
    must not leave part of one unmasked), then at most :data:`_NAME_CHARS` characters, ``…`` after a
    cut."""
    text = mask_bsns(text)
    return text if len(text) <= _NAME_CHARS else text[: _NAME_CHARS - 1] + "…"


def _mismatch(detail: str) -> str:
    found = _MISMATCH.search(detail)
    if not found:
        return "een eindtag past niet bij de open tag ervoor: een tag is verkeerd gesloten of een eindtag ontbreekt"
    # libxml2 names the elements without their prefix (wmo401:Bsx is "Bsx"): no <...> as if quoted
    opened, line, closing = _name(found.group(1)), found.group(2), _name(found.group(3))
    return (
        f"de eindtag van element {closing} past niet bij het open element {opened} van regel {line}: "
        "een tag is verkeerd gesloten of een eindtag ontbreekt"
    )


def _premature(detail: str) -> str:
    found = _PREMATURE.search(detail)
    where = f" terwijl element {_name(found.group(1))} (regel {found.group(2)}) nog open is" if found else ""
    return f"het bestand houdt op{where}: het is afgebroken (bij downloaden of kopiëren?) of er ontbreekt een eindtag"


def _empty(detail: str) -> str:
    if detail.startswith("Document is empty"):
        return "het bestand is leeg (of bevat alleen witruimte)"
    return "er staat geen XML in: het bestand moet met een tag ('<') beginnen"


def _char(detail: str) -> str:
    found = _CHAR.search(detail)
    code = f" (tekencode {found.group(1)})" if found else ""
    return (
        f"er staat een teken in dat in XML niet mag{code}, bijvoorbeeld een stuurteken dat mee is "
        "gekopieerd; haal het weg"
    )


def _entity(detail: str) -> str:
    found = _ENTITY.search(detail)
    if found:
        return (
            f"de entiteit &{_name(found.group(1))}; is niet toegestaan (iEb kent geen DTD of eigen "
            "entiteiten); schrijf een & in tekst als &amp;"
        )
    return (
        "er staat een losse '&' in de tekst; schrijf die als &amp; (entiteiten zijn in iEb niet toegestaan)"
    )


def _prefix(detail: str) -> str:
    found = _PREFIX.search(detail)
    if found:
        prefix, name = _name(found.group(1)), _name(found.group(2))
        return (
            f"het voorvoegsel '{prefix}' van <{prefix}:{name}> is niet gedeclareerd "
            f'(xmlns:{prefix}="..." ontbreekt)'
        )
    return "een voorvoegsel (namespace-prefix) is niet gedeclareerd (xmlns:... ontbreekt)"


def _attribute_twice(detail: str) -> str:
    found = _ATTRIBUTE.search(detail)
    name = f" {_name(found.group(1))}" if found else ""
    return f"het attribuut{name} staat twee keer in dezelfde tag"


def _name_required(detail: str) -> str:
    if "EntityRef" in detail:
        return _entity(detail)
    return "na een '<' staat geen geldige naam; schrijf een '<' in tekst als &lt;"


def _fixed(text: str) -> Callable[[str], str]:
    return lambda _detail: text


#: libxml2 error type -> the sentence (from libxml2's detail text) after the lead
_SENTENCES: dict[int, Callable[[str], str]] = {
    _T.ERR_TAG_NAME_MISMATCH: _mismatch,
    _T.ERR_LTSLASH_REQUIRED: _fixed("een eindtag ontbreekt of is verkeerd geschreven ('</naam>')"),
    _T.ERR_TAG_NOT_FINISHED: _premature,
    _T.ERR_DOCUMENT_EMPTY: _empty,
    _T.ERR_DOCUMENT_END: _fixed(
        "na het einde van het hoofdelement staat nog inhoud (een XML-bestand heeft één hoofdelement)"
    ),
    _T.ERR_INVALID_CHAR: _char,
    _T.ERR_INVALID_CHARREF: _char,
    _T.ERR_INVALID_DEC_CHARREF: _char,
    _T.ERR_INVALID_HEX_CHARREF: _char,
    _T.ERR_INVALID_ENCODING: _fixed(
        "de bytes passen niet bij de tekenset; een iEb-bestand moet UTF-8 zijn (sla het op als 'UTF-8')"
    ),
    _T.ERR_UNKNOWN_ENCODING: _fixed("de tekenset in de XML-declaratie is onbekend; een iEb-bestand is UTF-8"),
    _T.ERR_UNSUPPORTED_ENCODING: _fixed(
        "de tekenset in de XML-declaratie wordt niet ondersteund; een iEb-bestand is UTF-8"
    ),
    _T.ERR_UNDECLARED_ENTITY: _entity,
    _T.WAR_UNDECLARED_ENTITY: _entity,
    _T.ERR_ENTITYREF_SEMICOL_MISSING: _entity,
    _T.ERR_ENTITY_LOOP: _fixed(
        "de entiteiten verwijzen naar elkaar; DTD's en entiteiten zijn in iEb niet toegestaan"
    ),
    _T.ERR_NAME_REQUIRED: _name_required,
    _T.NS_ERR_UNDEFINED_NAMESPACE: _prefix,
    _T.ERR_ATTRIBUTE_NOT_STARTED: _fixed("een attribuutwaarde staat niet tussen aanhalingstekens"),
    _T.ERR_ATTRIBUTE_WITHOUT_VALUE: _fixed('een attribuut heeft geen waarde (naam="waarde")'),
    _T.ERR_ATTRIBUTE_NOT_FINISHED: _fixed("een attribuutwaarde is niet afgesloten met een aanhalingsteken"),
    _T.ERR_LT_IN_ATTRIBUTE: _fixed(
        "een attribuutwaarde bevat een '<' of is niet afgesloten met een aanhalingsteken"
    ),
    _T.ERR_ATTRIBUTE_REDEFINED: _attribute_twice,
    _T.ERR_COMMENT_NOT_FINISHED: _fixed("een commentaar ('<!--') is niet afgesloten met '-->'"),
    _T.ERR_CDATA_NOT_FINISHED: _fixed("een CDATA-blok ('<![CDATA[') is niet afgesloten met ']]>'"),
    _T.ERR_RESERVED_XML_NAME: _fixed(
        "de XML-declaratie ('<?xml ...?>') staat niet aan het begin van het bestand"
    ),
    _T.ERR_GT_REQUIRED: _fixed("een tag is niet afgesloten met '>'"),
    _T.ERR_RESOURCE_LIMIT: _fixed(
        "het gaat een grens van de XML-lezer te boven (te groot of te diep genest); zo'n bestand wordt "
        "niet verwerkt"
    ),
}

#: the sentence of a file that stops before its XML is complete (the position just past the last byte)
CUT_OFF = "het bestand houdt op voordat de XML af is (afgebroken bij downloaden of kopiëren?)"


def dutch_parse_error(
    code: int, detail: str, line: int | None, column: int | None, *, at_end: bool = False
) -> str:
    """The clerk's sentence for a libxml2 parse error.

    ``code``: libxml2's error type (``XMLSyntaxError.code``); ``detail``: libxml2's text without the
    position it repeats at its end; ``line``, ``column``: libxml2's 1-based position (None when not
    known); ``at_end``: the position lies just past the last byte (the file is cut off: said so
    whatever the type). Returns ``Het bestand is geen welgevormde XML op regel L, kolom C: <wat er
    mis is>.``; for a type without a sentence of its own, libxml2's text stays in parentheses."""
    where = f" op regel {line}, kolom {column}" if line and column else f" op regel {line}" if line else ""
    make = _SENTENCES.get(code)
    if at_end and code not in (_T.ERR_DOCUMENT_EMPTY, _T.ERR_RESOURCE_LIMIT):
        sentence = _premature(detail) if code == _T.ERR_TAG_NOT_FINISHED else CUT_OFF
    elif make is not None:
        sentence = make(detail)
    else:
        return f"{_LEAD}{where} (libxml2: {detail})."
    return f"{_LEAD}{where}: {sentence}."
