"""One verdict per file for every output of the conformance kit: ``ieb validate`` (text, json, junit,
rapport) and ``ieb serve-validation`` (rapport, JSON) all ask :func:`check_bytes`, so a file is valid
or invalid in all of them alike.

A StUF-GGk envelope (ggk_Di01, ggk_Du01, Fo01, also inside SOAP) is recognised: its own findings
(the GGk's Fo01 codes, level 1) come first, then those of the iEb file inside. An envelope whose
functie is not an iEb message (a WMO301, a text file) has its content left unjudged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ieb.releases import Registry, default_registry
from ieb.validation import validate_bytes
from ieb.validation.report import Issue, Report
from ieb.xmlsafe import MAX_BYTES

__all__ = ["ENVELOPE_RELEASE", "Verdict", "check_bytes", "envelope_result", "is_envelope"]

GGK_NS = "http://www.stufstandaarden.nl/koppelvlak/ggk0210"
STUF_NS = "http://www.egem.nl/StUF/StUF0301"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
#: the ``release`` of an envelope's result row
ENVELOPE_RELEASE = "stuf-ggk-0210"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict on one file.

    ``row``: the file's entry of ``ieb validate --format json`` (``{"path", "bericht", "release",
    "valid", "issues"}``, for an envelope also ``"payload"``). ``report``: every finding in order
    (envelope first), what the rapport lists. ``root``: the document whose Header fills the rapport
    Header (for an envelope the iEb file inside; None when there is none). ``payload``: the iEb
    file's bytes (for an envelope the file inside; None when there is no iEb file to judge).
    """

    row: dict[str, Any]
    report: Report
    root: etree._Element | None
    payload: bytes | None

    @property
    def valid(self) -> bool:
        """The one verdict: True when neither the file (nor its envelope) has a finding."""
        return bool(self.row["valid"])


class _Anyone(Collection[str]):
    """Every organisation code (``in`` is always true)."""

    def __contains__(self, item: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def is_envelope(root: etree._Element | None) -> bool:
    """True when ``root`` is a StUF-GGk, StUF or SOAP element (an envelope, not an iEb file)."""
    if root is None or not isinstance(root.tag, str):
        return False
    return root.tag.startswith((f"{{{GGK_NS}}}", f"{{{STUF_NS}}}", f"{{{SOAP_NS}}}"))


def envelope_result(
    name: str,
    data: bytes,
    *,
    today: dt.date | None,
    gemeenten: Any = None,
    registry: Registry | None = None,
    revision: Any = None,
) -> Verdict:
    """The verdict on a StUF-GGk envelope and, for a Di01/Du01 carrying an iEb functie, on the iEb
    file inside. Routing (who may send or receive: IB210/IB213) is the receiving GGk's business, not
    a property of the file, so any organisation is accepted here."""
    from ieb.ggk import Di01, Du01, EnvelopeChecks, check_envelope

    registry = registry or default_registry
    routing = registry.functie_berichtcodes()
    checks = EnvelopeChecks(known_zenders=_Anyone(), known_ontvangers=_Anyone(), functie_berichtcode=routing)
    result = check_envelope(data, checks)
    envelope = result.envelope
    ieb_functie = isinstance(envelope, Di01 | Du01) and envelope.functie in routing
    own = [
        Issue(f.code.value, None, 1, f.location, f.omschrijving)  # masks like every Issue
        for f in result.findings
        # the content of a non-iEb functie (WMO301, a text file) is not ours to judge
        if ieb_functie or f.code.value != "StUF055"
    ]
    bericht: str | None = None
    if envelope is not None:
        bericht = f"ggk_{envelope.berichtcode}" if isinstance(envelope, Di01 | Du01) else envelope.berichtcode
    payload: dict[str, Any] | None = None
    inner: Report | None = None
    inner_bytes: bytes | None = None
    if isinstance(envelope, Di01 | Du01):
        report = validate_bytes(
            envelope.payload, today=today, gemeenten=gemeenten, registry=registry, revision=revision
        )
        if report.bericht is not None or envelope.functie in routing:
            payload = {"functie": envelope.functie, **report.to_dict()}
            inner = report
            inner_bytes = envelope.payload
        else:
            payload = {
                "functie": envelope.functie,
                "bericht": None,
                "release": None,
                "valid": None,
                "issues": [],
                "note": f"geen iEb-bericht (functie {envelope.functie}); niet gecontroleerd",
            }
    valid = not own and (payload is None or payload["valid"] is not False)
    row = {
        "path": name,
        "bericht": bericht,
        "release": ENVELOPE_RELEASE,
        "valid": valid,
        "issues": [i.to_dict() for i in own],
        "payload": payload,
    }
    merged = Report(
        bericht=inner.bericht if inner else None,
        release=inner.release if inner else None,
        issues=own + (inner.issues if inner else []),
        root=inner.root if inner else None,
    )
    return Verdict(row=row, report=merged, root=merged.root, payload=inner_bytes)


def check_bytes(
    data: bytes,
    *,
    name: str = "bericht.xml",
    today: dt.date | None = None,
    gemeenten: Any = None,
    registry: Registry | None = None,
    revision: Any = None,
    max_bytes: int = MAX_BYTES,
) -> Verdict:
    """The verdict on one file's bytes (an iEb file or a StUF-GGk envelope); ``name`` is put in the
    row's ``path``. ``today`` is the receiver's system date (rule 8848), ``revision`` forces a
    revision of the file's release (raises ConfigurationError for an unknown one). Never raises for
    any input bytes otherwise (see :func:`ieb.validation.validate_bytes`)."""
    report = validate_bytes(
        data, today=today, gemeenten=gemeenten, registry=registry, revision=revision, max_bytes=max_bytes
    )
    if report.bericht is None and is_envelope(report.root):
        return envelope_result(
            name, bytes(data), today=today, gemeenten=gemeenten, registry=registry, revision=revision
        )
    return Verdict(
        row={"path": name, **report.to_dict()}, report=report, root=report.root, payload=bytes(data)
    )
