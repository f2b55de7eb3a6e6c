"""Envelope models <-> XML bytes.

``build`` is deterministic (same model, same bytes: fixed prefixes ``GGK``/``StUF``, UTF-8, no
pretty printing, base64 on one line) and checks the result against our schema. ``parse`` is
hardened: the 25 MB limit (IB007) before anything else, no DTD, no entities, no network, then
validation against our XSD (RIN001) and only then the model.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from lxml import etree

from ieb.ggk._schemas import envelope_schema
from ieb.ggk._xml import MAX_ENVELOPE_BYTES, parse_xml
from ieb.ggk.errors import EnvelopeFieldError, EnvelopeInvalidError, HostileXmlError
from ieb.ggk.models import (
    Bv03,
    Di01,
    Du01,
    Envelope,
    Fo01,
    Fo03,
    Foutbericht,
    Parameters,
    Stuurgegevens,
    Systeem,
    TekstBestand,
    XmlBestand,
)

__all__ = [
    "GGK_NS",
    "STUF_NS",
    "EnvelopeHead",
    "build",
    "envelope_from_element",
    "envelope_to_element",
    "parse",
    "parse_as",
    "schema_errors",
    "validate_element",
]

GGK_NS = "http://www.stufstandaarden.nl/koppelvlak/ggk0210"
STUF_NS = "http://www.egem.nl/StUF/StUF0301"
_NSMAP_GGK = {"GGK": GGK_NS, "StUF": STUF_NS}
_NSMAP_STUF = {"StUF": STUF_NS}

_ROOTS: dict[str, type[Envelope]] = {
    f"{{{GGK_NS}}}{Di01.root_tag}": Di01,
    f"{{{GGK_NS}}}{Du01.root_tag}": Du01,
    f"{{{STUF_NS}}}{Fo01.root_tag}": Fo01,
    f"{{{STUF_NS}}}{Fo03.root_tag}": Fo03,
    f"{{{STUF_NS}}}{Bv03.root_tag}": Bv03,
}

E = TypeVar("E", Di01, Du01, Fo01, Fo03, Bv03)

#: the whitespace a base64 text may carry (XSD base64Binary collapses it); deleted before decoding
_B64_SPACE = b" \t\r\n"


# ----------------------------------------------------------------------------------------- build


def _s(tag: str) -> str:
    return f"{{{STUF_NS}}}{tag}"


def _g(tag: str) -> str:
    return f"{{{GGK_NS}}}{tag}"


def _sub(parent: etree._Element, tag: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, tag).text = text


def _systeem(parent: etree._Element, tag: str, systeem: Systeem) -> None:
    el = etree.SubElement(parent, _s(tag))
    _sub(el, _s("organisatie"), systeem.organisatie)
    _sub(el, _s("applicatie"), systeem.applicatie)
    _sub(el, _s("administratie"), systeem.administratie)
    _sub(el, _s("gebruiker"), systeem.gebruiker)


def _stuurgegevens(parent: etree._Element, tag: str, sg: Stuurgegevens) -> None:
    el = etree.SubElement(parent, tag)
    _sub(el, _s("berichtcode"), sg.berichtcode)
    _systeem(el, "zender", sg.zender)
    _systeem(el, "ontvanger", sg.ontvanger)
    _sub(el, _s("referentienummer"), sg.referentienummer)
    _sub(el, _s("tijdstipBericht"), sg.tijdstip_bericht)
    _sub(el, _s("crossRefnummer"), sg.cross_refnummer)
    _sub(el, _s("functie"), sg.functie)


def _parameters(parent: etree._Element, params: Parameters) -> None:
    el = etree.SubElement(parent, _g("parameters"))
    _sub(el, _g("applicatieVersie"), params.applicatie_versie)
    _sub(el, _g("applicatieSubversie"), params.applicatie_subversie)
    _sub(el, _g("functieVersie"), params.functie_versie)
    _sub(el, _g("functieSubversie"), params.functie_subversie)
    bericht = etree.SubElement(el, _g("bericht"))
    encoded = base64.b64encode(params.bericht.inhoud).decode("ascii")
    if isinstance(params.bericht, TekstBestand):
        tekst = etree.SubElement(bericht, _g("tekstBestand"))
        tekst.set("bestandsnaam", params.bericht.bestandsnaam)
        tekst.text = encoded
    else:
        etree.SubElement(bericht, _g("xmlBestand")).text = encoded


def _details_xml(parent: etree._Element, fragment: str) -> None:
    el = etree.SubElement(parent, _s("detailsXML"))
    if not fragment:
        return
    wrapper = f'<w xmlns:StUF="{STUF_NS}">{fragment}</w>'.encode()
    try:
        holder = parse_xml(wrapper)
    except HostileXmlError as exc:
        raise EnvelopeFieldError(
            f"body.details_xml is geen geldig XML-fragment: {exc.message}", field="body.details_xml"
        ) from None
    if (holder.text or "").strip() or any((child.tail or "").strip() for child in holder):
        raise EnvelopeFieldError(
            "body.details_xml mag alleen elementen bevatten, geen losse tekst", field="body.details_xml"
        )
    for child in holder:
        if isinstance(child.tag, str):
            child.tail = None
            el.append(child)


def _foutbericht(parent: etree._Element, body: Foutbericht) -> None:
    el = etree.SubElement(parent, _s("body"))
    _sub(el, _s("code"), body.code)
    _sub(el, _s("plek"), body.plek)
    _sub(el, _s("omschrijving"), body.omschrijving)
    _sub(el, _s("details"), body.details)
    if body.details_xml is not None:
        _details_xml(el, body.details_xml)


def envelope_to_element(envelope: Envelope) -> etree._Element:
    """The envelope as an lxml element (for embedding, e.g. in a SOAP Body)."""
    if isinstance(envelope, Di01 | Du01):
        root = etree.Element(_g(envelope.root_tag), nsmap=_NSMAP_GGK)
        _stuurgegevens(root, _g("stuurgegevens"), envelope.stuurgegevens)
        _parameters(root, envelope.parameters)
        return root
    root = etree.Element(_s(envelope.root_tag), nsmap=_NSMAP_STUF)
    _stuurgegevens(root, _s("stuurgegevens"), envelope.stuurgegevens)
    if isinstance(envelope, Fo01 | Fo03):
        _foutbericht(root, envelope.body)
    return root


#: Text the template writes itself: printable ASCII, tab and newline (``&``, ``<``, ``>`` escaped as
#: libxml2 does). Anything else (a carriage return, non-ASCII) goes through the lxml tree.
_PLAIN = re.compile(r"[\t\n\x20-\x7e]*")
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _t(tag: str, text: str | None) -> str:
    """``<tag>text</tag>`` (nothing for None), as lxml serialises it."""
    return "" if text is None else f"<{tag}>{_esc(text)}</{tag}>"


def _template_systeem(tag: str, values: tuple[str | None, ...]) -> str:
    """``<StUF:tag>`` of a Systeem from (organisatie, applicatie, administratie, gebruiker)."""
    organisatie, applicatie, administratie, gebruiker = values
    return (
        f"<StUF:{tag}>"
        + _t("StUF:organisatie", organisatie)
        + _t("StUF:applicatie", applicatie)
        + _t("StUF:administratie", administratie)
        + _t("StUF:gebruiker", gebruiker)
        + f"</StUF:{tag}>"
    )


def _plain(values: Iterable[str | None]) -> bool:
    return all(v is None or _PLAIN.fullmatch(v) for v in values)


@functools.lru_cache(maxsize=256)
def _systemen_xml(*values: str | None) -> str | None:
    """``StUF:zender`` and ``StUF:ontvanger`` of the template from their eight values (organisatie,
    applicatie, administratie, gebruiker of each), or None when one is not plain. Cached: a run has
    a few zenders and ontvangers (issue 22)."""
    if not _plain(values):
        return None
    return _template_systeem("zender", values[:4]) + _template_systeem("ontvanger", values[4:])


@functools.lru_cache(maxsize=64)
def _versies_xml(*values: str) -> str | None:
    """The four version elements of ``GGK:parameters``, or None when one is not plain (cached)."""
    if not _plain(values):
        return None
    return (
        _t("GGK:applicatieVersie", values[0])
        + _t("GGK:applicatieSubversie", values[1])
        + _t("GGK:functieVersie", values[2])
        + _t("GGK:functieSubversie", values[3])
    )


def _template(envelope: Di01 | Du01) -> bytes | None:
    """A Di01/Du01 as bytes from a fixed template: byte-identical to serialising
    :func:`envelope_to_element` (``tests/ggk/test_template.py``), without building a tree. None when
    a value holds a character the template does not write itself."""
    sg, params = envelope.stuurgegevens, envelope.parameters
    z, o = sg.zender, sg.ontvanger
    systemen = _systemen_xml(
        z.organisatie,
        z.applicatie,
        z.administratie,
        z.gebruiker,
        o.organisatie,
        o.applicatie,
        o.administratie,
        o.gebruiker,
    )
    versies = _versies_xml(
        params.applicatie_versie, params.applicatie_subversie, params.functie_versie, params.functie_subversie
    )
    bericht = params.bericht
    if (
        systemen is None
        or versies is None
        or not _plain(
            (sg.berichtcode, sg.referentienummer, sg.tijdstip_bericht, sg.cross_refnummer, sg.functie)
        )
        or (isinstance(bericht, TekstBestand) and not _PLAIN.fullmatch(bericht.bestandsnaam))
    ):
        return None
    encoded = base64.b64encode(bericht.inhoud).decode("ascii")
    if isinstance(bericht, TekstBestand):
        naam = _esc(bericht.bestandsnaam).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")
        inhoud = f'<GGK:tekstBestand bestandsnaam="{naam}">{encoded}</GGK:tekstBestand>'
    else:
        inhoud = f"<GGK:xmlBestand>{encoded}</GGK:xmlBestand>"
    root = f"GGK:{envelope.root_tag}"
    text = (
        f'<{root} xmlns:GGK="{GGK_NS}" xmlns:StUF="{STUF_NS}"><GGK:stuurgegevens>'
        + _t("StUF:berichtcode", sg.berichtcode)
        + systemen
        + _t("StUF:referentienummer", sg.referentienummer)
        + _t("StUF:tijdstipBericht", sg.tijdstip_bericht)
        + _t("StUF:crossRefnummer", sg.cross_refnummer)
        + _t("StUF:functie", sg.functie)
        + "</GGK:stuurgegevens><GGK:parameters>"
        + versies
        + f"<GGK:bericht>{inhoud}</GGK:bericht></GGK:parameters></{root}>"
    )
    return _DECLARATION + text.encode("ascii")


_TRUSTED = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def build(envelope: Envelope, *, validate: bool = True) -> bytes:
    """Serialise an envelope to UTF-8 XML bytes, deterministically; checked against our XSD.

    A Di01 or Du01 is written from a fixed template (issue 22: building the tree was most of the
    cost) and, with ``validate``, parsed back and validated; other envelopes through the lxml tree.
    Raises :class:`EnvelopeInvalidError` with every schema error (cannot happen for a model:
    the models enforce every facet)."""
    data = _template(envelope) if isinstance(envelope, Di01 | Du01) else None
    if data is not None:
        if validate:
            _check_built(envelope, etree.fromstring(data, _TRUSTED))
        return data
    root = envelope_to_element(envelope)
    if validate:
        _check_built(envelope, root)
    return _DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


def _check_built(envelope: Envelope, root: etree._Element) -> None:
    errors = schema_errors(root)
    if errors:  # pragma: no cover - the models enforce every facet
        raise EnvelopeInvalidError(
            f"opgebouwd {envelope.berichtcode}-envelop is niet schema-geldig: {errors[0]}", errors=errors
        )


# ----------------------------------------------------------------------------------------- parse


def schema_errors(element: etree._Element) -> list[str]:
    """Every error of ``element`` against our envelope schema, as ``line: path: message``."""
    schema = envelope_schema()
    if schema.validate(element):
        return []
    log: Iterable[etree._LogEntry] = schema.error_log  # type: ignore[assignment]
    return [f"{e.line}: {e.path}: {e.message}" for e in log]


def validate_element(element: etree._Element) -> None:
    """Raise :class:`EnvelopeInvalidError` (RIN001) listing every schema error of ``element``."""
    errors = schema_errors(element)
    if errors:
        raise EnvelopeInvalidError(
            f"envelop is niet geldig volgens het StUF-GGk 0210 schema: {errors[0]}"
            + (f" (en {len(errors) - 1} andere fouten)" if len(errors) > 1 else ""),
            errors=errors,
            location=errors[0].split(": ", 2)[1] if errors[0].count(": ") >= 2 else None,
        )


def _text(el: etree._Element | None) -> str | None:
    """XPath ``string()`` of ``el`` (None for no element): its text when it has no children (no
    element, comment or processing instruction: then the two are the same, without the cost of an
    XPath evaluation, issue 22), else the concatenated descendant text as XPath gives it."""
    if el is None:
        return None
    if len(el) == 0:
        return el.text or ""
    return str(el.xpath("string()"))


def _req(parent: etree._Element, tag: str) -> str:
    value = _text(parent.find(tag))
    if value is None:
        raise EnvelopeInvalidError(
            f"element {etree.QName(tag).localname} ontbreekt", location=etree.QName(tag).localname
        )
    return value


def _read_systeem(el: etree._Element | None) -> Systeem:
    if el is None:
        raise EnvelopeInvalidError("zender of ontvanger ontbreekt")
    return Systeem(
        organisatie=_text(el.find(_s("organisatie"))),
        applicatie=_req(el, _s("applicatie")),
        administratie=_text(el.find(_s("administratie"))),
        gebruiker=_text(el.find(_s("gebruiker"))),
    )


def _read_stuurgegevens(el: etree._Element | None, fixed: str | None = None) -> Stuurgegevens:
    if el is None:
        raise EnvelopeInvalidError("stuurgegevens ontbreken", location="stuurgegevens")
    berichtcode = _req(el, _s("berichtcode"))
    if fixed is not None and berichtcode == "":
        berichtcode = fixed  # an empty element with a fixed value takes that value (XSD 1.0, 3.3.4)
    return Stuurgegevens(
        berichtcode=cast(Any, berichtcode),
        zender=_read_systeem(el.find(_s("zender"))),
        ontvanger=_read_systeem(el.find(_s("ontvanger"))),
        referentienummer=_req(el, _s("referentienummer")),
        tijdstip_bericht=_req(el, _s("tijdstipBericht")),
        cross_refnummer=_text(el.find(_s("crossRefnummer"))),
        functie=_text(el.find(_s("functie"))),
    )


def _b64(el: etree._Element, field: str) -> bytes:
    raw = (_text(el) or "").encode("ascii", "replace").translate(None, _B64_SPACE)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeFieldError(f"{field} is geen geldige base64", field=field) from None


def _read_parameters(el: etree._Element | None) -> Parameters:
    if el is None:
        raise EnvelopeInvalidError("parameters ontbreken", location="parameters")
    bericht_el = el.find(_g("bericht"))
    if bericht_el is None:
        raise EnvelopeInvalidError("parameters/bericht ontbreekt", location="parameters/bericht")
    xml_el = bericht_el.find(_g("xmlBestand"))
    tekst_el = bericht_el.find(_g("tekstBestand"))
    bericht: XmlBestand | TekstBestand
    if xml_el is not None:
        bericht = XmlBestand(inhoud=_b64(xml_el, "parameters.bericht.xmlBestand"))
    elif tekst_el is not None:
        bericht = TekstBestand(
            inhoud=_b64(tekst_el, "parameters.bericht.tekstBestand"),
            bestandsnaam=tekst_el.get("bestandsnaam", ""),
        )
    else:
        raise EnvelopeInvalidError(
            "bericht bevat geen xmlBestand of tekstBestand", location="parameters/bericht"
        )
    return Parameters(
        applicatie_versie=_req(el, _g("applicatieVersie")),
        applicatie_subversie=_req(el, _g("applicatieSubversie")),
        functie_versie=_req(el, _g("functieVersie")),
        functie_subversie=_req(el, _g("functieSubversie")),
        bericht=bericht,
    )


def _read_details_xml(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    parts = []
    for child in el:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions are not content
        clone = copy.deepcopy(child)
        clone.tail = None
        etree.cleanup_namespaces(clone)
        parts.append(etree.tostring(clone, encoding="unicode", with_tail=False))
    return "".join(parts)


def _read_foutbericht(el: etree._Element | None) -> Foutbericht:
    if el is None:
        raise EnvelopeInvalidError("body ontbreekt", location="body")
    return Foutbericht(
        code=_req(el, _s("code")),
        plek=cast(Any, _req(el, _s("plek"))),
        omschrijving=_req(el, _s("omschrijving")),
        details=_text(el.find(_s("details"))),
        details_xml=_read_details_xml(el.find(_s("detailsXML"))),
    )


@dataclass(frozen=True, slots=True)
class EnvelopeHead:
    """The stuurgegevens of a checked envelope, read straight from its parsed tree (no model).

    What a receiver needs on its hot path (store, audit, Bv03) without building the pydantic
    :class:`Envelope`: ``kind`` is the model class the root maps to (``Di01``, ``Du01``, ``Fo01``,
    ``Fo03``, ``Bv03``); ``functie`` is None for a Fo01/Fo03/Bv03. Read it with :func:`envelope_head`
    from a SCHEMA-VALID tree only (a missing required element gives an empty string here)."""

    kind: type[Envelope]
    referentienummer: str
    cross_refnummer: str | None
    functie: str | None
    zender_organisatie: str | None
    ontvanger_organisatie: str | None
    stuurgegevens: etree._Element

    @property
    def berichtcode(self) -> str:
        """``Di01``, ``Du01``, ``Fo01``, ``Fo03`` or ``Bv03`` (the class's fixed code)."""
        return str(self.kind.berichtcode)

    def zender(self) -> Systeem:
        """The zender as a :class:`Systeem` (built on call; the Bv03's ontvanger)."""
        return _read_systeem(self.stuurgegevens.find(_s("zender")))

    def zender_key(self) -> tuple[str | None, ...]:
        """What :meth:`zender` is built from: (organisatie, applicatie, administratie, gebruiker)
        as read (None: absent); equal keys give equal :class:`Systeem` models (a cache key)."""
        el = self.stuurgegevens.find(_s("zender"))
        if el is None:
            return (None, None, None, None)
        return tuple(_text(el.find(_s(n))) for n in _SYSTEEM_FIELDS)


_SYSTEEM_FIELDS = ("organisatie", "applicatie", "administratie", "gebruiker")


def _first(parent: etree._Element, tag: str) -> etree._Element | None:
    """``parent.find(tag)`` for a plain ``{ns}name`` tag, without ElementPath (issue 22: ~1 us
    instead of ~3 us per lookup on the receiver's path)."""
    return next(parent.iterchildren(tag), None)


_SG_GGK = _g("stuurgegevens")
_SG_STUF = _s("stuurgegevens")
_ZENDER, _ONTVANGER, _ORGANISATIE = _s("zender"), _s("ontvanger"), _s("organisatie")
_REFERENTIENUMMER, _CROSSREF, _FUNCTIE = _s("referentienummer"), _s("crossRefnummer"), _s("functie")
_PARAMETERS, _BERICHT = _g("parameters"), _g("bericht")
_XMLBESTAND, _TEKSTBESTAND = _g("xmlBestand"), _g("tekstBestand")


def envelope_head(root: etree._Element) -> EnvelopeHead | None:
    """The :class:`EnvelopeHead` of a parsed, schema-valid envelope root; None for another root.

    One walk over the stuurgegevens' children (the first child with each tag, as ``find`` gives
    it) instead of a ``find`` per field (issue 22, RECV round 7; the same head as the per-field
    lookups: tests/ggk/test_ggk_checks_one_walk.py)."""
    kind = _ROOTS.get(root.tag) if isinstance(root.tag, str) else None
    if kind is None:
        return None
    ggk = kind is Di01 or kind is Du01
    sg = _first(root, _SG_GGK if ggk else _SG_STUF)
    if sg is None:
        return None
    first: dict[object, etree._Element] = {}
    for child in sg:
        if child.tag not in first:
            first[child.tag] = child
    zender = first.get(_ZENDER)
    ontvanger = first.get(_ONTVANGER)
    return EnvelopeHead(
        kind=kind,
        referentienummer=_text(first.get(_REFERENTIENUMMER)) or "",
        cross_refnummer=_text(first.get(_CROSSREF)),
        functie=_text(first.get(_FUNCTIE)) if ggk else None,
        zender_organisatie=_text(_first(zender, _ORGANISATIE)) if zender is not None else None,
        ontvanger_organisatie=_text(_first(ontvanger, _ORGANISATIE)) if ontvanger is not None else None,
        stuurgegevens=sg,
    )


def payload_from_element(root: etree._Element) -> tuple[bool, bytes]:
    """(is it an ``xmlBestand``, the decoded payload bytes) of a schema-valid Di01/Du01 root.

    Raises :class:`EnvelopeFieldError` when the base64 is invalid, :class:`EnvelopeInvalidError`
    when there is no bericht (the same errors as building the model)."""
    params = _first(root, _PARAMETERS)
    bericht_el = _first(params, _BERICHT) if params is not None else None
    if bericht_el is None:
        raise EnvelopeInvalidError("parameters/bericht ontbreekt", location="parameters/bericht")
    xml_el = _first(bericht_el, _XMLBESTAND)
    if xml_el is not None:
        return True, _b64(xml_el, "parameters.bericht.xmlBestand")
    tekst_el = _first(bericht_el, _TEKSTBESTAND)
    if tekst_el is not None:
        return False, _b64(tekst_el, "parameters.bericht.tekstBestand")
    raise EnvelopeInvalidError("bericht bevat geen xmlBestand of tekstBestand", location="parameters/bericht")


def envelope_from_element(root: etree._Element, *, validate: bool = True) -> Envelope:
    """Read an envelope from an already parsed (hardened!) element, validating it first."""
    cls = _ROOTS.get(root.tag) if isinstance(root.tag, str) else None
    if cls is None:
        raise EnvelopeInvalidError(
            f"onbekend berichttype {root.tag!r}; verwacht een ggk_Di01, ggk_Du01, Fo01, Fo03 of Bv03",
            location="/",
        )
    if validate:
        validate_element(root)
    if cls is Di01 or cls is Du01:
        return cls(
            stuurgegevens=_read_stuurgegevens(root.find(_g("stuurgegevens"))),
            parameters=_read_parameters(root.find(_g("parameters"))),
        )
    stuurgegevens = _read_stuurgegevens(root.find(_s("stuurgegevens")), fixed=cls.berichtcode)
    if cls is Bv03:
        return Bv03(stuurgegevens=stuurgegevens)
    body = _read_foutbericht(root.find(_s("body")))
    if cls is Fo01:
        return Fo01(stuurgegevens=stuurgegevens, body=body)
    return Fo03(stuurgegevens=stuurgegevens, body=body)


def parse(data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES, validate: bool = True) -> Envelope:
    """Parse envelope bytes (ggk_Di01, ggk_Du01, Fo01, Fo03 or Bv03) into its model.

    Raises :class:`EnvelopeTooLargeError` (IB007), :class:`HostileXmlError` (DTD, entities, not
    XML), :class:`EnvelopeInvalidError` (RIN001, with every schema error) or
    :class:`EnvelopeFieldError`.
    """
    return envelope_from_element(parse_xml(data, max_bytes=max_bytes), validate=validate)


def parse_as(data: bytes, cls: type[E], *, max_bytes: int = MAX_ENVELOPE_BYTES) -> E:
    """Like :func:`parse`, but the message must be of type ``cls`` (e.g. ``Du01``)."""
    envelope = parse(data, max_bytes=max_bytes)
    if not isinstance(envelope, cls):
        raise EnvelopeInvalidError(
            f"verwacht een {cls.berichtcode}, ontvangen een {envelope.berichtcode}", location="/"
        )
    return envelope
