"""The iStandaarden validation report ("rapport", namespace
``http://www.istandaarden.nl/validatie/1_1/rapport/schema``) from an ieb :class:`~ieb.validation.Report`.

The shape, as the published schema of the iStandaarden validation tooling states it (validatie 1.1)::

    Rapport
      Header
        BerichtCode            string (the BerichtCode of the checked file, e.g. 470)
        BerichtVersie          integer 0..99
        BerichtSubversie       integer 0..99
        BerichtIdentificatie
          Identificatie        string, at most 12 characters
          Dagtekening          xs:date without timezone
        XSLTVersie 0..1        n.n.n: the version of the official XSLT set that checked the file
      Fouten 0..1
        Fout 0..n
          Code                 the rule code (CS002, TR112, XSD, XML, OP179, ...)
          Retourcode 0..1      the retourcode the CAK would report (0001, 9102, S300, ...)
          Locatie 1..n         an XPath (``/`` when the finding concerns the whole file)
          Details 0..1         the explanation for the clerk, in Dutch, BSNs masked

As the official XSLT set writes it (iStandaarden, ``xslt-validatie/common/2_0/basis.xsl``):

- ``Identificatie`` is the file's own Identificatie, whitespace collapsed and *not* masked, so a
  rapport can be matched to its message (cut to the 12 characters the rapport type allows); the one
  exception is a BSN put there (nine stand-alone digits passing the 11-proef), masked as everywhere;
- a ``Locatie`` is an XPath of local names without prefixes from the root (``/Bericht/Client/Bsn``),
  with a position ``[n]`` only on a step that has same-named siblings;
- ``Fouten`` is always there, empty for a valid file;
- ``XSLTVersie`` names the version of the XSLT set. ``ieb`` is no XSLT set, so it writes no
  XSLTVersie of its own: only a version given explicitly (the XSLTVersie a DVS answered, when its
  findings are merged) is written. The schema's separate ``XSLTHeader`` element (Standaard,
  StandaardRelease, XSLTVersie) describes an XSLT set and is not written either.

When the file's own header cannot be read (not XML, no Header, values that do not fit the report's
types) the report still validates: BerichtCode ``0``, versions ``0``, an empty Identificatie and the
validation day as Dagtekening; the findings say why.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence

from lxml import etree

from ieb.types import bsn_is_valid, mask_bsn, mask_bsns
from ieb.validation.report import Issue, Report

__all__ = ["RAPPORT_NS", "official_xpath", "rapport_bytes", "rapport_element"]

RAPPORT_NS = "http://www.istandaarden.nl/validatie/1_1/rapport/schema"
_R = f"{{{RAPPORT_NS}}}"
_VERSIE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*:")
#: nine stand-alone decimal digits of any script (Unicode Nd: a fullwidth BSN is a BSN too)
_NINE = re.compile(r"(?<!\d)\d{9}(?!\d)")


def _identificatie(value: str) -> str:
    """The Identificatie as the official XSLT copies it (whitespace collapsed), except that a
    stand-alone run of nine digits passing the 11-proef (a BSN put in the Identificatie) is masked:
    no full BSN in any output. Counters such as ``ZW00000001`` stay as they are."""
    text = " ".join(value.split())
    return _NINE.sub(_mask_if_bsn, text)


def _mask_if_bsn(match: re.Match[str]) -> str:
    digits = match.group(0)
    ascii_digits = "".join(str(unicodedata.digit(c)) for c in digits)
    return mask_bsn(ascii_digits) if bsn_is_valid(ascii_digits) else digits


def official_xpath(location: str) -> str:
    """``location`` (an XPath with prefixes as ``ieb`` writes them, ``/wmo401:Bericht/wmo401:Client[2]/ieb:Bsn``)
    in the official rapport's form: the same steps without prefixes (``/Bericht/Client[2]/Bsn``).
    Positions stay: ``ieb`` writes ``[n]`` under the official rule (only with same-named siblings)."""
    return "/".join(_PREFIX.sub("", step) for step in location.strip().split("/")) or "/"


def _child(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    return next((c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name), None)


def _text(el: etree._Element | None, *names: str) -> str | None:
    node = el
    for name in names:
        node = _child(node, name)
    if node is None:
        return None
    return "".join(t for t in node.itertext() if isinstance(t, str)).strip()


def _small_int(value: str | None) -> str:
    try:
        number = int(value or "")
    except ValueError:
        return "0"
    return str(number) if 0 <= number <= 99 else "0"


def _date(value: str | None, fallback: dt.date) -> str:
    if value and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    return fallback.isoformat()


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, _R + name)
    if text is not None:
        el.text = text
    return el


def _fout(parent: etree._Element, issue: Issue, source: str | None) -> None:
    fout = _sub(parent, "Fout")
    _sub(fout, "Code", issue.code)
    if issue.retourcode:
        _sub(fout, "Retourcode", issue.retourcode)
    locations = [loc.strip() for loc in (issue.location or "").split(" | ") if loc.strip()]
    for loc in locations or ["/"]:
        _sub(fout, "Locatie", mask_bsns(official_xpath(loc)))
    if issue.message:
        text = f"[{source}] {issue.message}" if source else issue.message
        _sub(fout, "Details", mask_bsns(text))


def rapport_element(
    report: Report,
    *,
    root: etree._Element | None = None,
    today: dt.date | None = None,
    xslt_versie: str | None = None,
    sources: Sequence[str | None] | None = None,
) -> etree._Element:
    """The ``Rapport`` element for ``report``.

    ``root`` is the checked document (default ``report.root``); its Header gives BerichtCode,
    versions and BerichtIdentificatie. ``today`` is the fallback Dagtekening for an unreadable header.
    ``xslt_versie`` (``n.n.n``; anything else is left out) is written as XSLTVersie; default none.
    ``sources``, one per issue (``"ieb"``, ``"dvs"``, ``"ieb+dvs"`` or None), marks each finding's
    source in front of its Details (``[dvs] ...``) when findings of a DVS are merged in.
    """
    doc = report.root if root is None else root
    header = _child(doc, "Header") if doc is not None else None
    rapport = etree.Element(_R + "Rapport", nsmap={"r": RAPPORT_NS})
    h = _sub(rapport, "Header")
    # header values are copied from a possibly hostile file: mask any BSN-like digit run; Identificatie
    # is copied as the official XSLT does (the key that matches rapport and message), only a real
    # BSN in it (nine digits passing the 11-proef) is masked
    _sub(h, "BerichtCode", mask_bsns(_text(header, "BerichtCode") or "0"))
    _sub(h, "BerichtVersie", _small_int(_text(header, "BerichtVersie")))
    _sub(h, "BerichtSubversie", _small_int(_text(header, "BerichtSubversie")))
    bid = _sub(h, "BerichtIdentificatie")
    identificatie = _identificatie(_text(header, "BerichtIdentificatie", "Identificatie") or "")
    # masked again after the cut: the first 12 characters of a longer digit run can end in a BSN
    _sub(bid, "Identificatie", _identificatie(identificatie[:12]))
    _sub(
        bid,
        "Dagtekening",
        _date(_text(header, "BerichtIdentificatie", "Dagtekening"), today or dt.date.today()),
    )
    if xslt_versie is not None and _VERSIE.fullmatch(xslt_versie):
        _sub(h, "XSLTVersie", xslt_versie)
    fouten = _sub(rapport, "Fouten")
    marks = list(sources) if sources is not None else []
    for n, issue in enumerate(report.issues):
        _fout(fouten, issue, marks[n] if n < len(marks) else None)
    return rapport


def rapport_bytes(
    report: Report,
    *,
    root: etree._Element | None = None,
    today: dt.date | None = None,
    xslt_versie: str | None = None,
    sources: Sequence[str | None] | None = None,
) -> bytes:
    """:func:`rapport_element` serialised as UTF-8 with an XML declaration."""
    element = rapport_element(report, root=root, today=today, xslt_versie=xslt_versie, sources=sources)
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)
