"""Fo01 codes of the GGk and the checks that decide which of them apply to an incoming envelope.

:class:`EnvelopeChecks` holds the settings (who is a known sender/receiver, which functie goes
with which iStandaard BerichtCode, how to validate a payload); :meth:`EnvelopeChecks.check`
returns every :class:`Finding` that applies, in a fixed order. The checks run on the raw bytes so
that the size limit (IB007) is applied before any parsing.

=====================  ==========================================================================
code                   fires when
=====================  ==========================================================================
``IB007``              the envelope (including base64) is larger than 25 MB; nothing else is checked
``RIN001``             the envelope is not well-formed, hostile (DTD/entities) or not XSD-valid
``IB009``              referentienummer (or a Du01's crossRefnummer) is not a lower-case UUID v4
``IB213``              zender/organisatie is not a known sending organisation
``IB210``              ontvanger/organisatie is not a known receiving organisation
``IB234``              functie is not allowed (only with ``allowed_functies``)
``IB240``              the payload's BerichtCode does not belong to the functie (a table functie -> code)
``StUF055``            the payload is not well-formed XML or the payload validator rejects it
=====================  ==========================================================================
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree

from ieb.errors import IebError
from ieb.ggk._xml import MAX_ENVELOPE_BYTES, parse_xml
from ieb.ggk.codec import (
    GGK_NS,
    EnvelopeHead,
    envelope_from_element,
    envelope_head,
    payload_from_element,
    schema_errors,
)
from ieb.ggk.errors import EnvelopeTooLargeError
from ieb.ggk.models import Di01, Du01, Envelope

__all__ = [
    "FIXED_ORGANISATIES",
    "CheckResult",
    "EnvelopeChecks",
    "Finding",
    "FoutCode",
    "check_envelope",
    "payload_berichtcode",
]


class FoutCode(StrEnum):
    """The Fo01 codes a gemeente can receive from the GGk, with their meaning (``omschrijving``)."""

    STUF055 = "StUF055"
    IB002 = "IB002"
    IB007 = "IB007"
    IB009 = "IB009"
    IB101 = "IB101"
    IB102 = "IB102"
    IB103 = "IB103"
    IB210 = "IB210"
    IB213 = "IB213"
    IB234 = "IB234"
    IB240 = "IB240"
    IB798 = "IB798"
    RIN001 = "RIN001"

    @property
    def omschrijving(self) -> str:
        """The Dutch description of this StUF-GGk foutcode (as in the GGk koppelvlakspecificatie)."""
        return _OMSCHRIJVING[self.value]


_OMSCHRIJVING = {
    "StUF055": "Het bericht (de payload) is niet geldig volgens het XML-schema van de iStandaard.",
    "IB002": "De verzender is niet geautoriseerd voor dit bericht.",
    "IB007": "Het bericht is te groot: een envelop mag inclusief bijlage hoogstens 25 MB zijn.",
    "IB009": "Het referentienummer is geen UUID versie 4.",
    "IB101": "Er is geen geldig CPA voor deze organisatie en dit berichttype.",
    "IB102": "Er is geen route voor dit bericht.",
    "IB103": "Het berichttype is bevroren en wordt nu niet verwerkt.",
    "IB210": "De ontvangende organisatie is onbekend.",
    "IB213": "De verzendende organisatie is onbekend.",
    "IB234": "Deze functie is niet toegestaan voor deze organisatie.",
    "IB240": "De berichtcode en de functie passen niet bij elkaar.",
    "IB798": "De StUF-versie van het bericht wordt niet ondersteund.",
    "RIN001": "De envelop is niet geldig volgens het StUF-GGk-schema.",
}

#: The fixed organisation values of StUF-GGk 0210 (zender/ontvanger ``organisatie``; a gemeente uses
#: its 4-digit CBS code instead): CAK, SVB, IB (Inlichtingenbureau), RINIS, VECOZO, and VWS, CBS and
#: UWV (Specificaties GGk0210 v2.1.04 versie 4; spec/transport.md). Nothing else: ``GGk`` is the
#: *applicatie* of the knooppunt, not an organisation, and CIZ / ZIN are not in the list.
FIXED_ORGANISATIES = frozenset({"CAK", "SVB", "IB", "RINIS", "VECOZO", "VWS", "CBS", "UWV"})


_GEMEENTE = re.compile(r"[0-9]{4}")
_GGK_PREFIX = "{" + GGK_NS + "}"
_UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class Finding:
    """One Fo01 code that applies, with a plain-Dutch message naming the field and value."""

    code: FoutCode
    omschrijving: str
    location: str | None = None

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"[{self.code.value}] {self.omschrijving}{where}"


class CheckResult:
    """What :meth:`EnvelopeChecks.check` found.

    ``findings``: the Fo01 codes that apply, in order. ``head``: the stuurgegevens read from the
    tree (:class:`ieb.ggk.codec.EnvelopeHead`) when the envelope was schema-valid, else None.
    ``envelope``: the parsed model when it was readable; built on first use from the kept tree
    (issue 22: the checks themselves read the tree; a receiver that only stores and acknowledges
    never builds the model)."""

    __slots__ = ("_envelope", "_root", "findings", "head")

    def __init__(
        self,
        findings: tuple[Finding, ...],
        envelope: Envelope | None = None,
        *,
        head: EnvelopeHead | None = None,
        root: etree._Element | None = None,
    ) -> None:
        self.findings = findings
        self.head = head
        self._envelope = envelope
        self._root = root

    @property
    def envelope(self) -> Envelope | None:
        """The envelope model (built once, on first use) or None when it was not readable."""
        if self._envelope is None and self._root is not None:
            root, self._root = self._root, None
            self._envelope = envelope_from_element(root, validate=False)
        return self._envelope

    @property
    def ok(self) -> bool:
        """True when no finding was made (the envelope passes every GGk check)."""
        return not self.findings

    @property
    def codes(self) -> tuple[str, ...]:
        """The foutcodes of the findings, in order (e.g. ``('StUF001',)``); empty when :attr:`ok`."""
        return tuple(f.code.value for f in self.findings)

    @property
    def first(self) -> Finding | None:
        """The first finding (the one the GGk reports in a Fo01), or ``None`` when :attr:`ok`."""
        return self.findings[0] if self.findings else None

    def __repr__(self) -> str:
        return f"CheckResult(findings={self.findings!r}, head={self.head!r})"


PayloadValidator = Callable[[bytes], "bool | Sequence[object]"]
FunctieMatcher = Callable[[str, bytes], bool]


def payload_berichtcode(payload: bytes) -> str | None:
    """The iStandaard ``Header/BerichtCode`` of a payload (any namespace), or None when absent/unreadable."""

    try:
        root = parse_xml(payload)
    except IebError:
        return None
    return _berichtcode_of(root)


def _berichtcode_of(root: etree._Element) -> str | None:
    """:func:`payload_berichtcode` of an already parsed payload ``root``."""
    found = root.xpath("./*[local-name()='Header']/*[local-name()='BerichtCode']")
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return str(found[0].xpath("string()")).strip()
    return None


@dataclass(frozen=True)
class EnvelopeChecks:
    """Settings of the envelope checks; one frozen object shared by a receiver or the simulator.

    ``known_zenders``: sending organisations; ``None`` means any 4-digit gemeentecode or a
    :data:`FIXED_ORGANISATIES` code. ``known_ontvangers``: receiving organisations; ``None`` means
    ``{"CAK"}`` for a Di01 and no check for other messages. ``functie_berichtcode``: a mapping
    functie (message name) -> BerichtCode, or a callable ``(functie, payload) -> bool``; ``None``
    (the default) switches IB240 off. The GGk knows no iStandaard: the caller passes the table of
    the releases it carries (``ieb.releases.default_registry.functie_berichtcodes()``).
    ``payload_validator``: ``bytes -> bool | list of problems`` (an empty list or ``True`` means
    valid). ``allowed_functies``: when set, any other functie gives IB234.
    """

    max_bytes: int = 25 * 1024 * 1024
    known_zenders: Collection[str] | None = None
    known_ontvangers: Collection[str] | None = None
    functie_berichtcode: Mapping[str, str] | FunctieMatcher | None = None
    payload_validator: PayloadValidator | None = None
    allowed_functies: Collection[str] | None = None

    def check(self, data: bytes) -> CheckResult:
        """Every Fo01 code that applies to the envelope ``data`` (bare or inside a SOAP 1.1 Envelope)."""

        if len(data) > self.max_bytes:
            error = EnvelopeTooLargeError(len(data), self.max_bytes)
            return CheckResult((Finding(FoutCode.IB007, error.message, "envelop"),))
        try:
            root = parse_xml(data, max_bytes=self.max_bytes)
        except IebError as exc:
            return CheckResult((Finding(FoutCode.RIN001, exc.message, exc.location),))
        body = _unwrap_soap_body(root)
        if body is None:
            return CheckResult((Finding(FoutCode.RIN001, "SOAP Body bevat geen envelop", "Body"),))

        root = body
        findings: list[Finding] = []
        is_ggk = root.tag.startswith(_GGK_PREFIX)  # etree.QName(root).namespace == GGK_NS
        bad_refs: set[str] = set()
        # XPath ./*[local-name()='stuurgegevens']/*[local-name()=name] per field, in document
        # order, as lxml's "{*}name" child iterators (any namespace or none; elements only): one
        # C-level filter instead of a Python test per child (issue 22, RECV round 7)
        groups = list(root.iterchildren("{*}stuurgegevens"))
        # a Di01's crossRefnummer is not checked (it has none of its own to answer to)
        names = (
            ("referentienummer", "crossRefnummer")
            if is_ggk and not root.tag.endswith("ggk_Di01")
            else ("referentienummer",)
        )
        for name in names:
            for group in groups:
                for value_el in group.iterchildren("{*}" + name):
                    value = _string_value(value_el)
                    if not _UUID4.fullmatch(value):
                        bad_refs.add(name)
                        findings.append(
                            Finding(
                                FoutCode.IB009,
                                f"{name} {value[:40]!r} is geen UUID versie 4 in kleine letters",
                                f"stuurgegevens/{name}",
                            )
                        )

        errors = schema_errors(root)
        if bad_refs:
            errors = [e for e in errors if not any(e.split(": ", 2)[1].endswith(f":{n}") for n in bad_refs)]
        if errors:
            findings.append(
                Finding(
                    FoutCode.RIN001,
                    "envelop is niet geldig volgens StUF-GGk 0210: " + errors[0].split(": ", 2)[-1],
                    errors[0].split(": ", 2)[1] if errors[0].count(": ") >= 2 else None,
                )
            )
            return CheckResult(tuple(findings))
        if bad_refs:
            return CheckResult(tuple(findings))
        head = envelope_head(root)
        if head is None:  # pragma: no cover - a schema-valid document has a known root
            findings.append(Finding(FoutCode.RIN001, "onbekend berichttype", "/"))
            return CheckResult(tuple(findings))
        is_ggk_message = head.kind is Di01 or head.kind is Du01
        payload = b""
        is_xml = False
        if is_ggk_message:
            try:
                is_xml, payload = payload_from_element(root)
            except IebError as exc:  # pragma: no cover - the schema checks base64Binary
                findings.append(Finding(FoutCode.RIN001, exc.message, exc.location))
                return CheckResult(tuple(findings))

        zender = head.zender_organisatie
        if not self._zender_known(zender):
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
            findings.extend(self._payload_findings(head.functie or "", payload, is_xml))
        return CheckResult(tuple(findings), head=head, root=root)

    def _zender_known(self, organisatie: str | None) -> bool:
        if organisatie is None:
            return False
        if self.known_zenders is not None:
            return organisatie in self.known_zenders
        return bool(_GEMEENTE.fullmatch(organisatie)) or organisatie in FIXED_ORGANISATIES

    def _payload_findings(self, functie: str, payload: bytes, is_xml: bool) -> list[Finding]:
        findings: list[Finding] = []
        if self.allowed_functies is not None and functie not in self.allowed_functies:
            findings.append(
                Finding(FoutCode.IB234, f"functie {functie!r} is niet toegestaan", "stuurgegevens/functie")
            )
        tree: etree._Element | None = None
        if is_xml:
            try:
                tree = parse_xml(payload, max_bytes=self.max_bytes)
            except IebError as exc:
                findings.append(
                    Finding(FoutCode.STUF055, f"xmlBestand is geen XML: {exc.message}", "xmlBestand")
                )
                return findings
        matcher = self.functie_berichtcode
        if matcher is not None:
            # the BerichtCode (IB240) from the tree parsed above when payload_berichtcode would
            # parse the same bytes under its own (25 MB) limit; else as payload_berichtcode reads it
            berichtcode: Callable[[], str | None] = (
                functools.partial(_berichtcode_of, tree)
                if tree is not None and len(payload) <= MAX_ENVELOPE_BYTES
                else functools.partial(payload_berichtcode, payload)
            )
            if callable(matcher):
                matches = matcher(functie, payload)
                expected = None
            else:
                expected = matcher.get(functie)
                matches = expected is None or berichtcode() == expected
            if not matches:
                found = berichtcode()
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


def _string_value(el: etree._Element) -> str:
    """XPath ``string()`` of ``el``: its text without children, else XPath's own answer."""
    return (el.text or "") if len(el) == 0 else str(el.xpath("string()"))


_SOAP_ENVELOPE = "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
_SOAP_BODY = "{http://schemas.xmlsoap.org/soap/envelope/}Body"


def _unwrap_soap_body(root: etree._Element) -> etree._Element | None:
    """``root`` itself, or the one element in the Body of a SOAP 1.1 Envelope (None: no Body, or
    not exactly one element in it; comments and processing instructions do not count)."""
    if root.tag != _SOAP_ENVELOPE:
        return root
    body = next(root.iterchildren(_SOAP_BODY), None)
    if body is None:
        return None
    children = list(body.iterchildren("*"))
    return children[0] if len(children) == 1 else None


def check_envelope(data: bytes, checks: EnvelopeChecks | None = None) -> CheckResult:
    """Run :class:`EnvelopeChecks` (default settings unless given) on ``data``."""
    return (checks or EnvelopeChecks()).check(data)
