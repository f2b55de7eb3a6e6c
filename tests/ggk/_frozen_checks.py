"""FROZEN ORACLE (issue 22, RECV round 7): :meth:`ieb.ggk.codes.EnvelopeChecks.check`,
:func:`ieb.ggk.codec.envelope_head` and :func:`ieb.ggk.codec.payload_from_element` as they were at
main ``f1422cc``, before the one-walk rewrite. Only the differential tests use it
(``test_ggk_checks_one_walk.py``); do not "improve" it: it is the yardstick."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Sequence

from lxml import etree

from ieb.errors import IebError
from ieb.ggk._xml import parse_xml
from ieb.ggk.codec import _ROOTS, GGK_NS, EnvelopeHead, _g, _s, schema_errors
from ieb.ggk.codes import FIXED_ORGANISATIES, EnvelopeChecks, Finding, FoutCode, payload_berichtcode
from ieb.ggk.errors import EnvelopeFieldError, EnvelopeInvalidError, EnvelopeTooLargeError
from ieb.ggk.models import Di01, Du01

_GEMEENTE = re.compile(r"[0-9]{4}")
_UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_WS = re.compile(rb"[ \t\r\n]+")

__all__ = ["frozen_check", "frozen_head", "frozen_payload"]


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    if len(el) == 0:
        return el.text or ""
    return str(el.xpath("string()"))


def _b64(el: etree._Element, field: str) -> bytes:
    raw = _WS.sub(b"", (_text(el) or "").encode("ascii", "replace"))
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeFieldError(f"{field} is geen geldige base64", field=field) from None


def frozen_head(root: etree._Element) -> EnvelopeHead | None:
    kind = _ROOTS.get(root.tag) if isinstance(root.tag, str) else None
    if kind is None:
        return None
    sg = root.find(_g("stuurgegevens") if kind is Di01 or kind is Du01 else _s("stuurgegevens"))
    if sg is None:
        return None
    zender = sg.find(_s("zender"))
    ontvanger = sg.find(_s("ontvanger"))
    return EnvelopeHead(
        kind=kind,
        referentienummer=_text(sg.find(_s("referentienummer"))) or "",
        cross_refnummer=_text(sg.find(_s("crossRefnummer"))),
        functie=_text(sg.find(_s("functie"))) if kind is Di01 or kind is Du01 else None,
        zender_organisatie=_text(zender.find(_s("organisatie"))) if zender is not None else None,
        ontvanger_organisatie=_text(ontvanger.find(_s("organisatie"))) if ontvanger is not None else None,
        stuurgegevens=sg,
    )


def frozen_zender_key(head: EnvelopeHead) -> tuple[str | None, ...]:
    el = head.stuurgegevens.find(_s("zender"))
    if el is None:
        return (None, None, None, None)
    return tuple(_text(el.find(_s(n))) for n in ("organisatie", "applicatie", "administratie", "gebruiker"))


def frozen_payload(root: etree._Element) -> tuple[bool, bytes]:
    params = root.find(_g("parameters"))
    bericht_el = params.find(_g("bericht")) if params is not None else None
    if bericht_el is None:
        raise EnvelopeInvalidError("parameters/bericht ontbreekt", location="parameters/bericht")
    xml_el = bericht_el.find(_g("xmlBestand"))
    if xml_el is not None:
        return True, _b64(xml_el, "parameters.bericht.xmlBestand")
    tekst_el = bericht_el.find(_g("tekstBestand"))
    if tekst_el is not None:
        return False, _b64(tekst_el, "parameters.bericht.tekstBestand")
    raise EnvelopeInvalidError("bericht bevat geen xmlBestand of tekstBestand", location="parameters/bericht")


def _local(tag: object) -> str | None:
    return tag.rpartition("}")[2] if isinstance(tag, str) else None


def _children_named(root: etree._Element, parent: str, name: str) -> Iterator[etree._Element]:
    for group in root:
        if _local(group.tag) == parent:
            for child in group:
                if _local(child.tag) == name:
                    yield child


def _string_value(el: etree._Element) -> str:
    return (el.text or "") if len(el) == 0 else str(el.xpath("string()"))


def _unwrap_soap_body(root: etree._Element) -> etree._Element | None:
    soap = "http://schemas.xmlsoap.org/soap/envelope/"
    if root.tag != f"{{{soap}}}Envelope":
        return root
    body = root.find(f"{{{soap}}}Body")
    if body is None:
        return None
    children = [c for c in body if isinstance(c.tag, str)]
    return children[0] if len(children) == 1 else None


def _zender_known(self: EnvelopeChecks, organisatie: str | None) -> bool:
    if organisatie is None:
        return False
    if self.known_zenders is not None:
        return organisatie in self.known_zenders
    return bool(_GEMEENTE.fullmatch(organisatie)) or organisatie in FIXED_ORGANISATIES


def _payload_findings(self: EnvelopeChecks, functie: str, payload: bytes, is_xml: bool) -> list[Finding]:
    findings: list[Finding] = []
    if self.allowed_functies is not None and functie not in self.allowed_functies:
        findings.append(
            Finding(FoutCode.IB234, f"functie {functie!r} is niet toegestaan", "stuurgegevens/functie")
        )
    if is_xml:
        try:
            parse_xml(payload, max_bytes=self.max_bytes)
        except IebError as exc:
            findings.append(Finding(FoutCode.STUF055, f"xmlBestand is geen XML: {exc.message}", "xmlBestand"))
            return findings
    matcher = self.functie_berichtcode
    if matcher is not None:
        if callable(matcher):
            matches = matcher(functie, payload)
            expected = None
        else:
            expected = matcher.get(functie)
            matches = expected is None or payload_berichtcode(payload) == expected
        if not matches:
            found = payload_berichtcode(payload)
            wanted = f" (verwacht {expected})" if expected else ""
            findings.append(
                Finding(
                    FoutCode.IB240,
                    f"functie {functie} past niet bij BerichtCode {found or 'ontbreekt'}{wanted}",
                    "stuurgegevens/functie",
                )
            )
    if self.payload_validator is not None:
        verdict = self.payload_validator(payload)
        problems: Sequence[object]
        if isinstance(verdict, bool):
            problems = () if verdict else ("",)
        else:
            problems = tuple(verdict)
        if problems:
            first = str(problems[0])
            findings.append(
                Finding(
                    FoutCode.STUF055,
                    "payload is niet geldig volgens de iStandaard" + (f": {first}" if first else ""),
                    "bericht",
                )
            )
    return findings


def frozen_check(
    self: EnvelopeChecks, data: bytes
) -> tuple[tuple[Finding, ...], EnvelopeHead | None, etree._Element | None]:
    """(findings, head, the envelope root kept for the model) as the old ``check`` gave them."""
    if len(data) > self.max_bytes:
        error = EnvelopeTooLargeError(len(data), self.max_bytes)
        return (Finding(FoutCode.IB007, error.message, "envelop"),), None, None
    try:
        root = parse_xml(data, max_bytes=self.max_bytes)
    except IebError as exc:
        return (Finding(FoutCode.RIN001, exc.message, exc.location),), None, None
    body = _unwrap_soap_body(root)
    if body is None:
        return (Finding(FoutCode.RIN001, "SOAP Body bevat geen envelop", "Body"),), None, None

    root = body
    findings: list[Finding] = []
    is_ggk = etree.QName(root).namespace == GGK_NS
    ref_fields = ("referentienummer", "crossRefnummer") if is_ggk else ("referentienummer",)
    bad_refs: set[str] = set()
    for name in ref_fields:
        for value_el in _children_named(root, "stuurgegevens", name):
            value = _string_value(value_el)
            if name == "crossRefnummer" and root.tag.endswith("ggk_Di01"):
                continue
            if not _UUID4.fullmatch(value):
                bad_refs.add(name)
                findings.append(
                    Finding(
                        FoutCode.IB009,
                        f"{name} {value[:40]!r} is geen UUID versie 4 in kleine letters",
                        f"stuurgegevens/{name}",
                    )
                )

    errors = [
        e for e in schema_errors(root) if not any(e.split(": ", 2)[1].endswith(f":{n}") for n in bad_refs)
    ]
    if errors:
        findings.append(
            Finding(
                FoutCode.RIN001,
                "envelop is niet geldig volgens StUF-GGk 0210: " + errors[0].split(": ", 2)[-1],
                errors[0].split(": ", 2)[1] if errors[0].count(": ") >= 2 else None,
            )
        )
        return tuple(findings), None, None
    if bad_refs:
        return tuple(findings), None, None
    head = frozen_head(root)
    if head is None:  # pragma: no cover
        findings.append(Finding(FoutCode.RIN001, "onbekend berichttype", "/"))
        return tuple(findings), None, None
    is_ggk_message = head.kind is Di01 or head.kind is Du01
    payload = b""
    is_xml = False
    if is_ggk_message:
        try:
            is_xml, payload = frozen_payload(root)
        except IebError as exc:  # pragma: no cover
            findings.append(Finding(FoutCode.RIN001, exc.message, exc.location))
            return tuple(findings), None, None

    zender = head.zender_organisatie
    if not _zender_known(self, zender):
        findings.append(Finding(FoutCode.IB213, f"zender {zender!r} is onbekend", "stuurgegevens/zender"))
    ontvangers = self.known_ontvangers
    if ontvangers is None and head.kind is Di01:
        ontvangers = {"CAK"}
    if ontvangers is not None and head.ontvanger_organisatie not in ontvangers:
        findings.append(
            Finding(
                FoutCode.IB210,
                f"ontvangende organisatie {head.ontvanger_organisatie!r} is onbekend",
                "stuurgegevens/ontvanger",
            )
        )
    if is_ggk_message:
        findings.extend(_payload_findings(self, head.functie or "", payload, is_xml))
    return tuple(findings), head, root
