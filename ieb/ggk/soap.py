"""SOAP 1.1 wrapping of the envelopes for the OntvangAsynchroon service (document/literal).

A request Body holds exactly one envelope (ggk_Di01, ggk_Du01 or Fo01); the answer Body holds a
Bv03Bericht, or a ``soapenv:Fault`` whose ``detail`` holds a Fo03Bericht.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from lxml import etree

from ieb.ggk._xml import MAX_ENVELOPE_BYTES, parse_xml
from ieb.ggk.codec import STUF_NS, build, envelope_from_element, envelope_to_element
from ieb.ggk.errors import SoapError
from ieb.ggk.models import Bv03, Di01, Du01, Envelope, Fo01, Fo03

__all__ = [
    "SOAP11_NS",
    "SOAP_ACTIONS",
    "SoapFaultError",
    "operation_for",
    "soap_action_for",
    "soap_body_child",
    "soap_body_element",
    "soap_envelope",
    "soap_fault",
    "unwrap_soap",
    "wrap_soap",
]

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"

#: Operation name -> SOAPAction, as in the published WSDL.
SOAP_ACTIONS: Mapping[str, str] = {
    "ggk_Di01": "http://www.stufstandaarden.nl/koppelvlak/ggk0210/ggk_Di01",
    "ggk_Du01": "http://www.stufstandaarden.nl/koppelvlak/ggk0210/ggk_Du01",
    "Fo01": "http://www.egem.nl/StUF/StUF0301/Fo01",
}

_OPERATIONS: Mapping[type, str] = {Di01: "ggk_Di01", Du01: "ggk_Du01", Fo01: "Fo01"}


class SoapFaultError(SoapError):
    """A SOAP Fault that does not carry a StUF Fo03Bericht (``faultcode``, ``faultstring`` kept)."""

    def __init__(self, faultcode: str, faultstring: str) -> None:
        super().__init__(f"SOAP fault {faultcode}: {faultstring}", code=faultcode, location="Body/Fault")
        self.faultcode = faultcode
        self.faultstring = faultstring


def operation_for(envelope: Envelope) -> str:
    """The OntvangAsynchroon operation that carries ``envelope`` (``ggk_Di01``, ``ggk_Du01``, ``Fo01``)."""
    try:
        return _OPERATIONS[type(envelope)]
    except KeyError:
        raise SoapError(f"een {envelope.berichtcode} is geen verzoek aan OntvangAsynchroon") from None


def soap_action_for(envelope: Envelope) -> str:
    """The SOAPAction HTTP header value for sending ``envelope``."""
    return SOAP_ACTIONS[operation_for(envelope)]


def _q(tag: str) -> str:
    return f"{{{SOAP11_NS}}}{tag}"


def soap_envelope(
    envelope: Envelope | etree._Element, *, headers: Sequence[etree._Element] = ()
) -> etree._Element:
    """A ``soapenv:Envelope`` element with a Header (holding ``headers``) and the envelope in its Body.

    Returned as a tree so that a WS-Addressing/WS-Security layer can add to it before serialising.
    """
    body_child = envelope if isinstance(envelope, etree._Element) else envelope_to_element(envelope)
    root = etree.Element(_q("Envelope"), nsmap={"soapenv": SOAP11_NS})
    header = etree.SubElement(root, _q("Header"))
    for h in headers:
        header.append(h)
    etree.SubElement(root, _q("Body")).append(body_child)
    return root


def wrap_soap(envelope: Envelope) -> bytes:
    """``envelope`` inside a SOAP 1.1 Envelope, as deterministic UTF-8 bytes (schema-checked first)."""
    build(envelope)  # validates against our schema
    return _serialise(soap_envelope(envelope))


def soap_fault(fo03: Fo03, *, faultstring: str | None = None) -> bytes:
    """A SOAP 1.1 Fault carrying ``fo03`` in its detail; faultcode Client or Server after ``plek``."""
    build(fo03)
    root = etree.Element(_q("Envelope"), nsmap={"soapenv": SOAP11_NS})
    etree.SubElement(root, _q("Header"))
    fault = etree.SubElement(etree.SubElement(root, _q("Body")), _q("Fault"))
    side: Literal["Client", "Server"] = "Client" if fo03.body.plek == "client" else "Server"
    etree.SubElement(fault, "faultcode").text = f"soapenv:{side}"
    etree.SubElement(fault, "faultstring").text = faultstring or f"{fo03.body.code}: {fo03.body.omschrijving}"
    etree.SubElement(fault, "detail").append(envelope_to_element(fo03))
    return _serialise(root)


def _serialise(root: etree._Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        root, encoding="UTF-8", xml_declaration=False
    )


def soap_body_element(data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> etree._Element:
    """Parse SOAP bytes (hardened, size-limited) and return the single element in its Body."""
    return soap_body_child(parse_xml(data, max_bytes=max_bytes))


def soap_body_child(root: etree._Element) -> etree._Element:
    """The single element in the Body of a parsed SOAP 1.1 Envelope ``root`` (the checks of
    :func:`soap_body_element`, for a caller that parsed the bytes itself). Raises :class:`SoapError`."""
    if root.tag != _q("Envelope"):
        raise SoapError(f"geen SOAP 1.1 Envelope maar {root.tag!r}", location="/")
    parts = [c.tag for c in root if isinstance(c.tag, str)]
    if _q("Body") not in parts:
        raise SoapError("SOAP Envelope zonder Body", location="Envelope")
    if parts not in ([_q("Body")], [_q("Header"), _q("Body")]):
        # SOAP 1.1 section 4 with WS-I Basic Profile R1011: an optional Header, then one Body, nothing
        # else; a second Body (or Header) is how a signature-wrapping answer hides what it says
        raise SoapError(
            "SOAP Envelope moet hoogstens één Header en daarna precies één Body bevatten, niet: "
            + ", ".join(etree.QName(t).localname for t in parts),
            location="Envelope",
        )
    body = root.find(_q("Body"))
    assert body is not None
    children = [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise SoapError(f"SOAP Body moet precies één element bevatten, niet {len(children)}", location="Body")
    return children[0]


def unwrap_soap(data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES, validate: bool = True) -> Envelope:
    """The envelope inside a SOAP 1.1 message. A Fault with a Fo03Bericht returns that :class:`Fo03`;
    any other Fault raises :class:`SoapFaultError`."""
    child = soap_body_element(data, max_bytes=max_bytes)
    if child.tag == _q("Fault"):
        fo03 = child.find(f"detail/{{{STUF_NS}}}Fo03Bericht")
        if fo03 is not None:
            return envelope_from_element(fo03, validate=validate)
        raise SoapFaultError(child.findtext("faultcode") or "", child.findtext("faultstring") or "")
    return envelope_from_element(child, validate=validate)


# Answers the service gives: for type checkers and readers.
Answer = Bv03 | Fo03
