"""Digikoppeling WUS 2W-be-S message security: WS-Addressing headers and a WS-Security signature.

Pure functions on SOAP 1.1 envelopes (bytes or lxml trees); no networking.

* :func:`add_addressing` adds the WS-Addressing 1.0 headers (To, Action, MessageID, RelatesTo,
  From), each with a ``wsu:Id`` so that it can be signed.
* :func:`signature_confirmation` adds a WSS 1.1 ``wsse11:SignatureConfirmation`` (for a response;
  call it *before* signing so that the confirmation is signed too).
* :func:`sign_envelope` adds ``wsse:Security`` with a ``wsu:Timestamp``, an X.509
  ``BinarySecurityToken`` and a ``ds:Signature`` over the Body, every WS-Addressing header, the
  Timestamp and every SignatureConfirmation: exclusive C14N, RSA-SHA256 (or -384/-512), SHA-256+
  digests, KeyInfo a ``wsse:SecurityTokenReference`` pointing at the token.
* :func:`verify_envelope` checks all of that on the way in, including *which* elements the
  signature covers and where they are, and returns a :class:`VerifiedEnvelope`.

XML-DSig is implemented here directly on lxml's exclusive canonicalisation and ``cryptography``
(see ``docs/wssec.md`` for why not signxml). A signed document is never re-serialised with
pretty-printing: the bytes we return are lxml's plain serialisation of the tree that was signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, overload

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import verification as x509v
from lxml import etree

from ieb.errors import ConfigurationError, IebError, XmlSecurityError
from ieb.xmlsafe import safe_parser

__all__ = [
    "C14N_EXCLUSIVE",
    "DIGEST_SHA256",
    "DIGEST_SHA384",
    "DIGEST_SHA512",
    "MAX_ENVELOPE_BYTES",
    "NS_DS",
    "NS_SOAP11",
    "NS_WSA",
    "NS_WSSE",
    "NS_WSSE11",
    "NS_WSU",
    "RSA_SHA256",
    "RSA_SHA384",
    "RSA_SHA512",
    "AddressingError",
    "CertificateError",
    "CoverageError",
    "EnvelopeError",
    "SignatureError",
    "TimestampError",
    "UnsafeEnvelopeError",
    "VerifiedEnvelope",
    "WsSecurityError",
    "add_addressing",
    "sign_envelope",
    "signature_confirmation",
    "verify_envelope",
]

# --------------------------------------------------------------------------------------------
# Namespaces and algorithm identifiers
# --------------------------------------------------------------------------------------------

NS_SOAP11: Final = "http://schemas.xmlsoap.org/soap/envelope/"
NS_WSA: Final = "http://www.w3.org/2005/08/addressing"
NS_WSSE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSU: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NS_WSSE11: Final = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"
NS_DS: Final = "http://www.w3.org/2000/09/xmldsig#"
NS_EC: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"

C14N_EXCLUSIVE: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
DIGEST_SHA256: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
DIGEST_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#sha384"
DIGEST_SHA512: Final = "http://www.w3.org/2001/04/xmlenc#sha512"

_TOKEN_PROFILE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0"  # noqa: S105
X509V3: Final = _TOKEN_PROFILE + "#X509v3"
BASE64_BINARY: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

_HashName = Literal["sha256", "sha384", "sha512"]

_SIGNATURE_METHODS: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    RSA_SHA256: hashes.SHA256,
    RSA_SHA384: hashes.SHA384,
    RSA_SHA512: hashes.SHA512,
}
_DIGEST_METHODS: Final[dict[str, str]] = {
    DIGEST_SHA256: "sha256",
    DIGEST_SHA384: "sha384",
    DIGEST_SHA512: "sha512",
}
_BY_HASH: Final[dict[str, tuple[str, str]]] = {
    "sha256": (RSA_SHA256, DIGEST_SHA256),
    "sha384": (RSA_SHA384, DIGEST_SHA384),
    "sha512": (RSA_SHA512, DIGEST_SHA512),
}
# Algorithms we recognise only to refuse them with a precise message.
_REFUSED: Final[dict[str, str]] = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": "RSA-SHA1 (SHA-1 is refused)",
    "http://www.w3.org/2000/09/xmldsig#dsa-sha1": "DSA-SHA1 (SHA-1 is refused)",
    "http://www.w3.org/2000/09/xmldsig#hmac-sha1": "HMAC-SHA1 (SHA-1 and HMAC are refused)",
    "http://www.w3.org/2000/09/xmldsig#sha1": "SHA-1 (refused)",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": "inclusive C14N 1.0 (only exclusive C14N is allowed)",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": "inclusive C14N 1.0 with comments",
    "http://www.w3.org/2006/12/xml-c14n11": "C14N 1.1 (only exclusive C14N is allowed)",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": "C14N 1.1 with comments",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": "exclusive C14N with comments",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature": "the enveloped-signature transform",
    "http://www.w3.org/TR/1999/REC-xpath-19991116": "XPath transforms",
    "http://www.w3.org/2002/06/xmldsig-filter2": "XPath filter 2.0 transforms",
    "http://www.w3.org/TR/1999/REC-xslt-19991116": "XSLT transforms",
}

#: Largest envelope accepted (a 25 MB iEb file is about 34 MB as base64, plus the envelope).
MAX_ENVELOPE_BYTES: Final = 48 * 1024 * 1024

_PREFIXES: Final[dict[str, str]] = {
    NS_SOAP11: "soap",
    NS_WSA: "wsa",
    NS_WSSE: "wsse",
    NS_WSU: "wsu",
    NS_WSSE11: "wsse11",
    NS_DS: "ds",
}

_WSU_ID: Final = f"{{{NS_WSU}}}Id"
_ID_ATTRIBUTES: Final = (_WSU_ID, "Id", "ID", "id", "{http://www.w3.org/XML/1998/namespace}id")
_MAX_REFERENCES: Final = 64
_ADDRESSING_FAULT_CODES: Final[dict[str, str]] = {
    "To": "0005",
    "Action": "0006",
    "MessageID": "0007",
    "RelatesTo": "0008",
}

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class WsSecurityError(IebError):
    """Root of the WS-Addressing / WS-Security errors of this module."""


class EnvelopeError(WsSecurityError):
    """The input is not a usable SOAP 1.1 envelope (not XML, wrong root, no Body, ...)."""


class UnsafeEnvelopeError(WsSecurityError, XmlSecurityError):
    """The envelope uses a forbidden XML construct (DOCTYPE, entities) or is too large."""


class AddressingError(WsSecurityError):
    """A WS-Addressing header is missing, duplicated or already present.

    ``code`` is the Digikoppeling best-practice fault code where one applies (0005 To, 0006 Action,
    0007 MessageID, 0008 RelatesTo missing).
    """


class SignatureError(WsSecurityError):
    """The signature is missing, malformed, uses a refused algorithm, or does not verify."""


class CoverageError(SignatureError):
    """The signature does not cover a part it must cover, or covers the wrong element (wrapping)."""


class TimestampError(WsSecurityError):
    """The wsu:Timestamp is missing, malformed, expired or from the future."""


class CertificateError(WsSecurityError):
    """The signing certificate is unusable or does not chain to a trusted root."""


# --------------------------------------------------------------------------------------------
# Result of verification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedEnvelope:
    """What :func:`verify_envelope` found and proved.

    ``signed_parts`` lists the Clark names (``{namespace}local``) of the elements the signature
    covers, in SignedInfo order; every one of them was checked to be the element in its expected
    place (the Body, a direct child of Header, or a direct child of wsse:Security).
    ``body`` and ``envelope`` are elements of the verified tree (comments were stripped at parse
    time, so reading ``.text`` gives exactly the signed text).
    """

    envelope: etree._Element
    body: etree._Element
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    signed_parts: tuple[str, ...]
    signature_value: str
    signature_method: str
    created: datetime
    expires: datetime | None
    to: str | None
    action: str | None
    message_id: str | None
    relates_to: str | None
    from_address: str | None
    signature_confirmations: tuple[str | None, ...]

    def covers(self, namespace: str, local_name: str) -> bool:
        """Whether an element with this namespace and local name is among the signed parts."""
        return f"{{{namespace}}}{local_name}" in self.signed_parts


# --------------------------------------------------------------------------------------------
# Parsing and tree helpers
# --------------------------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    # Comments are dropped at parse time: exclusive C14N without comments ignores them anyway, so
    # digests do not change, and a comment can no longer split signed text so that a naive reader
    # sees only part of it. huge_tree is needed for a base64 payload above 10 MB; entity expansion
    # and DTDs stay off and the input size is capped before parsing.
    return safe_parser(huge_text=True, remove_comments=True)


def _parse(data: bytes) -> etree._Element:
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"expected the envelope as bytes, got {type(data).__name__}")
    if len(data) > MAX_ENVELOPE_BYTES:
        raise UnsafeEnvelopeError(f"envelope of {len(data)} bytes exceeds the limit of {MAX_ENVELOPE_BYTES}")
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as exc:
        raise EnvelopeError(f"the envelope is not well-formed XML: {exc}") from exc
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeEnvelopeError("the envelope contains a DOCTYPE declaration, which is refused")
    return root


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def _tag(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def _name(el: etree._Element) -> str:
    """A readable prefixed name for messages (``wsa:To``)."""
    qn = etree.QName(el)
    prefix = _PREFIXES.get(qn.namespace or "")
    return f"{prefix}:{qn.localname}" if prefix else qn.localname


def _path(el: etree._Element) -> str:
    parts: list[str] = []
    cur: etree._Element | None = el
    while cur is not None:
        parts.append(_name(cur))
        cur = cur.getparent()
    return "/" + "/".join(reversed(parts))


def _children(el: etree._Element, ns: str | None = None, local: str | None = None) -> list[etree._Element]:
    out = []
    for child in el:
        if not isinstance(child.tag, str):
            continue  # processing instructions
        qn = etree.QName(child)
        if (ns is None or qn.namespace == ns) and (local is None or qn.localname == local):
            out.append(child)
    return out


def _only_child(parent: etree._Element, ns: str, local: str, error: type[WsSecurityError]) -> etree._Element:
    found = _children(parent, ns, local)
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise error(
            f"{_name(parent)} has {what} {_PREFIXES.get(ns, ns)}:{local} element(s), expected exactly one",
            location=_path(parent),
        )
    return found[0]


def _envelope_parts(root: etree._Element) -> tuple[etree._Element | None, etree._Element]:
    """Return (Header or None, Body) after checking the SOAP 1.1 envelope's shape."""
    if root.tag != _tag(NS_SOAP11, "Envelope"):
        qn = etree.QName(root)
        if qn.localname == "Envelope":
            raise EnvelopeError(f"the envelope is not SOAP 1.1 (namespace {qn.namespace!r})")
        raise EnvelopeError(f"the document is not a SOAP envelope (root element {qn.localname!r})")
    kids = _children(root)
    header: etree._Element | None = None
    if kids and kids[0].tag == _tag(NS_SOAP11, "Header"):
        header = kids.pop(0)
    if len(kids) != 1 or kids[0].tag != _tag(NS_SOAP11, "Body"):
        raise EnvelopeError(
            "a SOAP 1.1 envelope must hold an optional Header followed by exactly one Body and nothing else",
            location="/soap:Envelope",
        )
    return header, kids[0]


def _ensure_header(root: etree._Element) -> etree._Element:
    header, _ = _envelope_parts(root)
    if header is None:
        prefix = root.prefix
        header = etree.Element(_tag(NS_SOAP11, "Header"), nsmap={prefix: NS_SOAP11} if prefix else None)
        root.insert(0, header)
    return header


def _new_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex}"


def _declare_wsu(el: etree._Element) -> etree._Element:
    """Return ``el`` with the ``wsu`` prefix in scope, replacing it by an identical copy if needed.

    lxml cannot add a namespace declaration to an existing element; setting ``wsu:Id`` on an element
    without ``wsu`` in scope would invent an ``ns0`` prefix. So the element is rebuilt with the same
    tag, attributes, text and (moved) children, declaring ``wsu`` plus every prefix the element itself
    declared or uses, so that no descendant loses a declaration (QNames in content keep working).
    """
    if NS_WSU in el.nsmap.values():
        return el
    parent = el.getparent()
    if parent is None or "wsu" in el.nsmap:
        return el  # the root, or 'wsu' bound to something else: let lxml choose a prefix
    inherited = parent.nsmap
    nsmap: dict[Any, str] = {p: u for p, u in el.nsmap.items() if inherited.get(p) != u}
    used = [etree.QName(el).namespace] + [etree.QName(a).namespace for a in el.attrib]
    for prefix, uri in el.nsmap.items():
        if uri in used:
            nsmap[prefix] = uri
    nsmap["wsu"] = NS_WSU
    new = parent.makeelement(el.tag, nsmap=nsmap)
    for name, value in el.attrib.items():
        new.set(name, value)
    new.text, new.tail = el.text, el.tail
    for child in list(el):
        new.append(child)
    parent.replace(el, new)
    return new


def _ensure_id(el: etree._Element, kind: str) -> etree._Element:
    """Give ``el`` a wsu:Id unless it has one; returns the (possibly rebuilt) element."""
    if el.get(_WSU_ID):
        return el
    el = _declare_wsu(el)
    el.set(_WSU_ID, _new_id(kind))
    return el


def _sub(parent: etree._Element, ns: str, local: str, **nsmap: str) -> etree._Element:
    return etree.SubElement(parent, _tag(ns, local), nsmap=dict(nsmap) if nsmap else None)


def _wsa_headers(header: etree._Element | None) -> list[etree._Element]:
    return [] if header is None else _children(header, NS_WSA)


def _security_headers(header: etree._Element | None) -> list[etree._Element]:
    return [] if header is None else _children(header, NS_WSSE, "Security")


def _c14n(el: etree._Element, inclusive_prefixes: Sequence[str] = ()) -> bytes:
    return etree.tostring(
        el,
        method="c14n",
        exclusive=True,
        with_comments=False,
        inclusive_ns_prefixes=list(inclusive_prefixes) or None,
    )


def _format_time(dt: datetime) -> str:
    dt = dt.astimezone(UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


_DATETIME_RE: Final = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|\+00:00|-00:00)$"
)


def _parse_time(text: str | None, what: str, location: str) -> datetime:
    m = _DATETIME_RE.match((text or "").strip())
    if not m:
        raise TimestampError(f"{what} {text!r} is not a UTC xs:dateTime (expected e.g. 2024-01-31T12:00:00Z)")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError as exc:
        raise TimestampError(f"{what} {text!r} is not a valid date-time: {exc}", location=location) from exc


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# WS-Addressing
# --------------------------------------------------------------------------------------------


@overload
def add_addressing(
    envelope: bytes,
    *,
    to: str,
    action: str,
    message_id: str | None = None,
    relates_to: str | None = None,
    from_: str | None = None,
) -> bytes: ...


@overload
def add_addressing(
    envelope: etree._Element,
    *,
    to: str,
    action: str,
    message_id: str | None = None,
    relates_to: str | None = None,
    from_: str | None = None,
) -> etree._Element: ...


def add_addressing(
    envelope: bytes | etree._Element,
    *,
    to: str,
    action: str,
    message_id: str | None = None,
    relates_to: str | None = None,
    from_: str | None = None,
) -> bytes | etree._Element:
    """Add WS-Addressing 1.0 headers (To, Action, MessageID, optional RelatesTo and From).

    ``message_id`` defaults to a fresh ``urn:uuid:`` URI. Each header gets a ``wsu:Id`` so that
    :func:`sign_envelope` can reference it. Given bytes, returns new bytes; given the Envelope
    element of a tree, changes that tree in place and returns the element. Refuses an envelope
    that already has WS-Addressing headers or a signature (a signature would no longer cover them).
    """
    root = _parse(envelope) if isinstance(envelope, bytes | bytearray) else envelope
    header = _ensure_header(root)
    if _wsa_headers(header):
        raise AddressingError("the envelope already has WS-Addressing headers", location=_path(header))
    for security in _security_headers(header):
        if _children(security, NS_DS, "Signature"):
            raise AddressingError("the envelope is already signed; add WS-Addressing headers before signing")
    values: list[tuple[str, str | None]] = [
        ("To", to),
        ("Action", action),
        ("MessageID", message_id if message_id is not None else f"urn:uuid:{uuid.uuid4()}"),
        ("RelatesTo", relates_to),
    ]
    for local, value in values:
        if value is None:
            continue
        if not value.strip():
            raise AddressingError(f"wsa:{local} must not be empty", code=_ADDRESSING_FAULT_CODES.get(local))
        el = _sub(header, NS_WSA, local, wsa=NS_WSA, wsu=NS_WSU)
        el.text = value
        el.set(_WSU_ID, _new_id(local))
    if from_ is not None:
        if not from_.strip():
            raise AddressingError("wsa:From must not be empty")
        el = _sub(header, NS_WSA, "From", wsa=NS_WSA, wsu=NS_WSU)
        el.set(_WSU_ID, _new_id("From"))
        _sub(el, NS_WSA, "Address").text = from_
    return _serialise(root) if isinstance(envelope, bytes | bytearray) else root


# --------------------------------------------------------------------------------------------
# SignatureConfirmation (WSS 1.1)
# --------------------------------------------------------------------------------------------


@overload
def signature_confirmation(envelope: bytes, *, request_signature_value: str | None) -> bytes: ...


@overload
def signature_confirmation(
    envelope: etree._Element, *, request_signature_value: str | None
) -> etree._Element: ...


def signature_confirmation(
    envelope: bytes | etree._Element, *, request_signature_value: str | None
) -> bytes | etree._Element:
    """Add a ``wsse11:SignatureConfirmation`` for a response to a signed request.

    ``request_signature_value`` is the request's ``ds:SignatureValue`` (for example
    ``VerifiedEnvelope.signature_value``); ``None`` records that the request was not signed (the
    element then has no Value). Call this *before* :func:`sign_envelope`, which signs every
    SignatureConfirmation it finds; calling it on a signed envelope is refused, because the
    confirmation would be unsigned.
    """
    root = _parse(envelope) if isinstance(envelope, bytes | bytearray) else envelope
    header = _ensure_header(root)
    securities = _security_headers(header)
    if len(securities) > 1:
        raise SignatureError("the envelope has more than one wsse:Security header", location=_path(header))
    if securities:
        security = securities[0]
        if _children(security, NS_DS, "Signature"):
            raise SignatureError(
                "the envelope is already signed; add the SignatureConfirmation before signing, "
                "so that it is signed"
            )
    else:
        security = _new_security(root, header)
    conf = _sub(security, NS_WSSE11, "SignatureConfirmation", wsse11=NS_WSSE11, wsu=NS_WSU)
    conf.set(_WSU_ID, _new_id("SC"))
    if request_signature_value is not None:
        value = "".join(request_signature_value.split())
        try:
            base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise SignatureError("request_signature_value is not base64") from exc
        conf.set("Value", value)
    return _serialise(root) if isinstance(envelope, bytes | bytearray) else root


def _new_security(root: etree._Element, header: etree._Element) -> etree._Element:
    security = etree.Element(_tag(NS_WSSE, "Security"), nsmap={"wsse": NS_WSSE, "wsu": NS_WSU})
    security.set(_tag(NS_SOAP11, "mustUnderstand"), "1")
    header.insert(0, security)
    return security


# --------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------


def _load_signing_material(
    key_pem: bytes, cert_pem: bytes, key_password: bytes | None
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    try:
        key = serialization.load_pem_private_key(key_pem, password=key_password)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"cannot load the signing key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError("the signing key must be an RSA key (2W-be-S uses RSA-SHA256/384/512)")
    if key.key_size < 2048:
        raise ConfigurationError(f"the signing key has {key.key_size} bits; at least 2048 are required")
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as exc:
        raise ConfigurationError(f"cannot load the signing certificate: {exc}") from exc
    cert = certs[0]
    if cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise ConfigurationError("the signing certificate does not belong to the signing key")
    return key, cert


def sign_envelope(
    envelope_bytes: bytes,
    *,
    key_pem: bytes,
    cert_pem: bytes,
    timestamp_ttl: int = 300,
    now: datetime | None = None,
    key_password: bytes | None = None,
    hash_algorithm: _HashName = "sha256",
) -> bytes:
    """Sign a SOAP 1.1 envelope the Digikoppeling 2W-be-S way and return the signed bytes.

    Adds (or completes) a ``wsse:Security`` header with ``soap:mustUnderstand="1"`` holding a
    ``wsu:Timestamp`` (Created = ``now``, Expires = ``now + timestamp_ttl``), a
    ``wsse:BinarySecurityToken`` with ``cert_pem``'s first certificate and a ``ds:Signature``
    that references by ``wsu:Id`` the Body, every WS-Addressing header, the Timestamp and every
    ``wsse11:SignatureConfirmation``; exclusive C14N, RSA with ``hash_algorithm`` (SHA-256 by
    default) and digests with the same hash.
    """
    if timestamp_ttl <= 0:
        raise ValueError("timestamp_ttl must be positive")
    if hash_algorithm not in _BY_HASH:
        raise ValueError(f"hash_algorithm must be one of {sorted(_BY_HASH)}")
    signature_method, digest_method = _BY_HASH[hash_algorithm]
    key, cert = _load_signing_material(key_pem, cert_pem, key_password)
    created = _now(now)

    root = _parse(envelope_bytes)
    header = _ensure_header(root)
    _, body = _envelope_parts(root)
    securities = _security_headers(header)
    if len(securities) > 1:
        raise SignatureError("the envelope has more than one wsse:Security header", location=_path(header))
    if securities:
        security = securities[0]
        for ns, local in ((NS_WSU, "Timestamp"), (NS_WSSE, "BinarySecurityToken"), (NS_DS, "Signature")):
            if _children(security, ns, local):
                raise SignatureError(
                    f"the envelope's wsse:Security already has a {local}; it is signed already"
                )
        security.set(_tag(NS_SOAP11, "mustUnderstand"), "1")
    else:
        security = _new_security(root, header)

    # Timestamp first in the Security header (WS-I BSP), then the token, then the signature.
    timestamp = etree.Element(_tag(NS_WSU, "Timestamp"), nsmap={"wsu": NS_WSU})
    timestamp.set(_WSU_ID, _new_id("TS"))
    _sub(timestamp, NS_WSU, "Created").text = _format_time(created)
    _sub(timestamp, NS_WSU, "Expires").text = _format_time(created + timedelta(seconds=timestamp_ttl))
    security.insert(0, timestamp)

    bst = etree.Element(_tag(NS_WSSE, "BinarySecurityToken"), nsmap={"wsse": NS_WSSE, "wsu": NS_WSU})
    bst.set("EncodingType", BASE64_BINARY)
    bst.set("ValueType", X509V3)
    bst_id = _new_id("X509")
    bst.set(_WSU_ID, bst_id)
    bst.text = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")
    timestamp.addnext(bst)

    targets: list[etree._Element] = [body, *_wsa_headers(header), timestamp]
    targets += _children(security, NS_WSSE11, "SignatureConfirmation")
    kinds = {"Body": "Body", "Timestamp": "TS", "SignatureConfirmation": "SC"}
    targets = [
        _ensure_id(el, kinds.get(etree.QName(el).localname, etree.QName(el).localname)) for el in targets
    ]
    _check_unique_ids(root)
    index = _id_index(root)
    for el in [*targets, bst]:
        if _resolve_id(index, "#" + el.get(_WSU_ID, ""), "the Id") is not el:  # pragma: no cover - defensive
            raise CoverageError(f"the Id of {_path(el)} does not identify it uniquely")

    signature = etree.Element(_tag(NS_DS, "Signature"), nsmap={"ds": NS_DS})
    signature.set("Id", _new_id("SIG"))
    signed_info = _sub(signature, NS_DS, "SignedInfo")
    _sub(signed_info, NS_DS, "CanonicalizationMethod").set("Algorithm", C14N_EXCLUSIVE)
    _sub(signed_info, NS_DS, "SignatureMethod").set("Algorithm", signature_method)
    for el in targets:
        ref = _sub(signed_info, NS_DS, "Reference")
        ref.set("URI", "#" + el.get(_WSU_ID, ""))
        transforms = _sub(ref, NS_DS, "Transforms")
        _sub(transforms, NS_DS, "Transform").set("Algorithm", C14N_EXCLUSIVE)
        _sub(ref, NS_DS, "DigestMethod").set("Algorithm", digest_method)
        digest = hashlib.new(_DIGEST_METHODS[digest_method], _c14n(el)).digest()
        _sub(ref, NS_DS, "DigestValue").text = base64.b64encode(digest).decode("ascii")
    signature_value = _sub(signature, NS_DS, "SignatureValue")
    key_info = _sub(signature, NS_DS, "KeyInfo")
    key_info.set("Id", _new_id("KI"))
    str_el = _sub(key_info, NS_WSSE, "SecurityTokenReference", wsse=NS_WSSE, wsu=NS_WSU)
    str_el.set(_WSU_ID, _new_id("STR"))
    str_ref = _sub(str_el, NS_WSSE, "Reference")
    str_ref.set("URI", "#" + bst_id)
    str_ref.set("ValueType", X509V3)
    bst.addnext(signature)

    # SignedInfo is canonicalised where it finally sits; exclusive C14N makes that context-free.
    raw = key.sign(_c14n(signed_info), padding.PKCS1v15(), _SIGNATURE_METHODS[signature_method]())
    signature_value.text = base64.b64encode(raw).decode("ascii")
    return _serialise(root)


def _check_unique_ids(root: etree._Element) -> None:
    """wsu:Id values must be unique in the document (other Id-like attributes are checked when a
    reference uses them: payloads may legitimately repeat their own ``id`` attributes)."""
    seen: dict[str, etree._Element] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        value = el.get(_WSU_ID)
        if value is not None:
            other = seen.get(value)
            if other is not None:
                raise CoverageError(
                    f"the Id {value!r} occurs on both {_path(other)} and {_path(el)}; IDs must be unique "
                    "(duplicate IDs are how signature wrapping attacks work)",
                    location=_path(el),
                )
            seen[value] = el


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


def _load_certs(value: bytes | Sequence[x509.Certificate], what: str) -> list[x509.Certificate]:
    if isinstance(value, bytes | bytearray):
        if not value.strip():
            return []
        try:
            return x509.load_pem_x509_certificates(bytes(value))
        except ValueError as exc:
            raise ConfigurationError(f"cannot load the {what}: {exc}") from exc
    return list(value)


def _verify_chain(
    leaf: x509.Certificate,
    roots: list[x509.Certificate],
    intermediates: list[x509.Certificate],
    now: datetime,
) -> tuple[x509.Certificate, ...]:
    if not roots:
        raise ConfigurationError("no trusted root certificates were given")
    if not hasattr(x509v, "ExtensionPolicy"):  # pragma: no cover - cryptography < 45
        raise ConfigurationError("verifying signing certificates needs cryptography >= 45")
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise CertificateError(
            f"the signing certificate ({leaf.subject.rfc4514_string()}) is not valid at {_format_time(now)}: "
            f"valid from {_format_time(leaf.not_valid_before_utc)} "
            f"to {_format_time(leaf.not_valid_after_utc)}"
        )
    # A signing certificate is not a TLS client certificate: the web-PKI checks apply to the CAs
    # (basic constraints, key usage keyCertSign, ...), not to the leaf's EKU/SAN. The leaf's own
    # suitability (not a CA, key usage allows signatures) is checked below.
    verifier = (
        x509v.PolicyBuilder()
        .store(x509v.Store(roots))
        .time(now)
        .extension_policies(
            ca_policy=x509v.ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=x509v.ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(leaf, intermediates)
    except x509v.VerificationError as exc:
        raise CertificateError(
            f"the signing certificate ({leaf.subject.rfc4514_string()}) does not chain to a trusted root: "
            f"{exc}"
        ) from exc
    try:
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is not None and bc.ca:
        raise CertificateError("the signing certificate is a CA certificate")
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    if ku is not None and not (ku.digital_signature or ku.content_commitment):
        raise CertificateError("the signing certificate's key usage does not allow digital signatures")
    return tuple(verified.chain)


def _algorithm(el: etree._Element, allowed: Iterable[str], what: str) -> str:
    alg = el.get("Algorithm") or ""
    if alg in allowed:
        return alg
    reason = _REFUSED.get(alg)
    if reason:
        raise SignatureError(f"{what} {alg} is refused: {reason}", location=_path(el))
    raise SignatureError(f"{what} {alg!r} is not supported", location=_path(el))


def _inclusive_prefixes(method: etree._Element) -> list[str]:
    found = _children(method, NS_EC, "InclusiveNamespaces")
    if len(found) > 1:
        raise SignatureError("more than one ec:InclusiveNamespaces", location=_path(method))
    if not found:
        return []
    return [p if p != "#default" else "" for p in (found[0].get("PrefixList") or "").split()]


_IdIndex = dict[str, list[etree._Element]]


def _id_index(root: etree._Element) -> _IdIndex:
    """Every element carrying any Id-like attribute (wsu:Id, Id, ID, id, xml:id), by value."""
    index: _IdIndex = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for value in {v for attr in _ID_ATTRIBUTES if (v := el.get(attr)) is not None}:
            index.setdefault(value, []).append(el)
    return index


def _resolve_id(index: _IdIndex, uri: str | None, where: str) -> etree._Element:
    if not uri or not uri.startswith("#") or len(uri) < 2:
        raise SignatureError(f"{where} URI {uri!r} is not a same-document shorthand reference ('#id')")
    if uri.startswith("#xpointer("):
        raise SignatureError(f"{where} uses an XPointer reference, which is refused")
    matches = index.get(uri[1:], [])
    if not matches:
        raise CoverageError(f"{where} {uri} does not resolve to any element")
    if len(matches) > 1:
        raise CoverageError(
            f"{where} {uri} resolves to {len(matches)} elements ({', '.join(_path(m) for m in matches)}); "
            "possible signature wrapping"
        )
    return matches[0]


def verify_envelope(
    envelope_bytes: bytes,
    *,
    trusted_roots: bytes | Sequence[x509.Certificate],
    intermediates: bytes | Sequence[x509.Certificate] = (),
    require_addressing: bool = True,
    message_kind: Literal["request", "response"] | None = None,
    max_clock_skew: int = 300,
    max_age: int | None = 300,
    expected_signature_confirmation: str | None = None,
    now: datetime | None = None,
) -> VerifiedEnvelope:
    """Verify a 2W-be-S signed SOAP 1.1 envelope and report what the signature covers.

    Checks, in order: the envelope's shape (one Header, one Body, exactly one ``wsse:Security``
    holding exactly one Timestamp and one Signature); the algorithms (exclusive C14N only; RSA
    with SHA-256/384/512; SHA-256/384/512 digests; SHA-1 and other C14N variants refused); the
    signing certificate from the BinarySecurityToken named by the SecurityTokenReference, which
    must chain to ``trusted_roots`` (PEM bundle or certificates; ``intermediates`` likewise) at
    ``now``; the signature value; every reference (unique IDs, each resolving to exactly one
    element that is the Body, a direct child of Header or of ``wsse:Security``) and its digest;
    that the Body, the Timestamp, every WS-Addressing header and every SignatureConfirmation are
    covered; the Timestamp (Created not more than ``max_clock_skew`` seconds in the future and
    not older than ``max_age`` seconds plus the skew - WSS4J's "time to live" rule, ``None`` turns
    it off - and Expires, if present, plus the skew not passed); and, when ``require_addressing``,
    the WS-Addressing headers Digikoppeling requires (``message_kind`` "request": To, Action,
    MessageID; "response": Action, MessageID, RelatesTo; ``None``: Action and MessageID).
    ``expected_signature_confirmation`` (the SignatureValue of our
    request) must then appear in a signed SignatureConfirmation.
    """
    moment = _now(now)
    root = _parse(envelope_bytes)
    header, body = _envelope_parts(root)
    if header is None:
        raise SignatureError("the envelope has no Header, so it carries no WS-Security signature")
    securities = _security_headers(header)
    if not securities:
        raise SignatureError(
            "the envelope has no wsse:Security header (it is not signed)", location=_path(header)
        )
    if len(securities) > 1:
        raise SignatureError("the envelope has more than one wsse:Security header", location=_path(header))
    security = securities[0]
    _check_unique_ids(root)

    timestamps = _children(security, NS_WSU, "Timestamp")
    if not timestamps:
        raise TimestampError("the wsse:Security header has no wsu:Timestamp", location=_path(security))
    if len(timestamps) > 1:
        raise TimestampError(
            "the wsse:Security header has more than one wsu:Timestamp", location=_path(security)
        )
    timestamp = timestamps[0]
    signature = _only_child(security, NS_DS, "Signature", SignatureError)

    # --- the Signature element's shape and algorithms
    sig_kids = _children(signature)
    expected = [_tag(NS_DS, "SignedInfo"), _tag(NS_DS, "SignatureValue"), _tag(NS_DS, "KeyInfo")]
    if [k.tag for k in sig_kids] != expected:
        raise SignatureError(
            "ds:Signature must hold exactly SignedInfo, SignatureValue and KeyInfo (no ds:Object)",
            location=_path(signature),
        )
    signed_info, signature_value_el, key_info = sig_kids
    c14n_method = _only_child(signed_info, NS_DS, "CanonicalizationMethod", SignatureError)
    _algorithm(c14n_method, (C14N_EXCLUSIVE,), "CanonicalizationMethod")
    signature_method = _algorithm(
        _only_child(signed_info, NS_DS, "SignatureMethod", SignatureError),
        _SIGNATURE_METHODS,
        "SignatureMethod",
    )
    signature_value = "".join((signature_value_el.text or "").split())
    try:
        raw_signature = base64.b64decode(signature_value, validate=True)
    except ValueError as exc:
        raise SignatureError("ds:SignatureValue is not base64", location=_path(signature_value_el)) from exc

    # --- the signing certificate: KeyInfo/STR/Reference -> BinarySecurityToken in this header
    str_el = _only_child(key_info, NS_WSSE, "SecurityTokenReference", SignatureError)
    str_ref = _only_child(str_el, NS_WSSE, "Reference", SignatureError)
    index = _id_index(root)
    bst = _resolve_id(index, str_ref.get("URI"), "the SecurityTokenReference")
    if bst.tag != _tag(NS_WSSE, "BinarySecurityToken") or bst.getparent() is not security:
        raise SignatureError(
            "the SecurityTokenReference must point at a wsse:BinarySecurityToken in the wsse:Security "
            f"header, not at {_path(bst)}"
        )
    if bst.get("ValueType") != X509V3 or (str_ref.get("ValueType") not in (None, X509V3)):
        raise SignatureError("the BinarySecurityToken is not an X509v3 token", location=_path(bst))
    if bst.get("EncodingType") not in (None, BASE64_BINARY):
        raise SignatureError("the BinarySecurityToken is not Base64Binary encoded", location=_path(bst))
    try:
        cert = x509.load_der_x509_certificate(
            base64.b64decode("".join((bst.text or "").split()), validate=True)
        )
    except ValueError as exc:
        raise CertificateError(f"the BinarySecurityToken holds no readable certificate: {exc}") from exc
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise CertificateError("the signing certificate does not hold an RSA key")
    if public_key.key_size < 2048:
        raise CertificateError(f"the signing key has {public_key.key_size} bits; at least 2048 are required")

    # --- the signature value over the canonical SignedInfo
    signed_info_c14n = _c14n(signed_info, _inclusive_prefixes(c14n_method))
    try:
        public_key.verify(
            raw_signature, signed_info_c14n, padding.PKCS1v15(), _SIGNATURE_METHODS[signature_method]()
        )
    except InvalidSignature as exc:
        raise SignatureError(
            "the signature value does not verify: SignedInfo was changed or signed with another key",
            location=_path(signature_value_el),
        ) from exc

    chain = _verify_chain(
        cert,
        _load_certs(trusted_roots, "trusted root certificates"),
        _load_certs(intermediates, "intermediate certificates"),
        moment,
    )

    # --- the references, read from the bytes that were actually signed
    verified_info = etree.fromstring(signed_info_c14n, _parser())
    references = _children(verified_info, NS_DS, "Reference")
    if not references:
        raise SignatureError("SignedInfo has no references")
    if len(references) > _MAX_REFERENCES:
        raise SignatureError(
            f"SignedInfo has {len(references)} references; at most {_MAX_REFERENCES} are accepted"
        )
    signed: list[etree._Element] = []
    for number, ref in enumerate(references, start=1):
        where = f"reference {number}"
        target = _resolve_id(index, ref.get("URI"), where)
        if any(target is s for s in signed):
            raise CoverageError(f"{where} references {_path(target)} a second time")
        parent = target.getparent()
        if not ((target is body) or (parent is header) or (parent is security and target is not signature)):
            raise CoverageError(
                f"{where} points at {_path(target)}, which is not the Body, a header or a security token; "
                "possible signature wrapping",
                location=_path(target),
            )
        transforms = _children(ref, NS_DS, "Transforms")
        transform_list = _children(transforms[0], NS_DS, "Transform") if len(transforms) == 1 else []
        if len(transform_list) != 1:
            raise SignatureError(f"{where} must have exactly one Transform (exclusive C14N)")
        _algorithm(transform_list[0], (C14N_EXCLUSIVE,), f"{where} Transform")
        digest_method = _algorithm(
            _only_child(ref, NS_DS, "DigestMethod", SignatureError), _DIGEST_METHODS, f"{where} DigestMethod"
        )
        digest_value_el = _only_child(ref, NS_DS, "DigestValue", SignatureError)
        try:
            expected_digest = base64.b64decode("".join((digest_value_el.text or "").split()), validate=True)
        except ValueError as exc:
            raise SignatureError(f"{where} DigestValue is not base64") from exc
        actual = hashlib.new(
            _DIGEST_METHODS[digest_method], _c14n(target, _inclusive_prefixes(transform_list[0]))
        ).digest()
        if not hmac.compare_digest(actual, expected_digest):
            raise SignatureError(
                f"the digest of {_name(target)} does not match: it was changed after signing",
                location=_path(target),
            )
        signed.append(target)

    # --- coverage: what 2W-be-S requires to be signed
    wsa = _wsa_headers(header)
    confirmations = _children(security, NS_WSSE11, "SignatureConfirmation")
    for required in [body, timestamp, *wsa, *confirmations]:
        if not any(required is s for s in signed):
            raise CoverageError(
                f"{_name(required)} is not covered by the signature", location=_path(required)
            )

    # --- timestamp
    created = _parse_time(
        _only_child(timestamp, NS_WSU, "Created", TimestampError).text, "wsu:Created", _path(timestamp)
    )
    expires_els = _children(timestamp, NS_WSU, "Expires")
    if len(expires_els) > 1:
        raise TimestampError("the wsu:Timestamp has more than one Expires", location=_path(timestamp))
    expires = _parse_time(expires_els[0].text, "wsu:Expires", _path(timestamp)) if expires_els else None
    skew = timedelta(seconds=max_clock_skew)
    if expires is not None and expires <= created:
        raise TimestampError("wsu:Expires is not after wsu:Created", location=_path(timestamp))
    if created > moment + skew:
        raise TimestampError(
            f"wsu:Created {_format_time(created)} is in the future (now {_format_time(moment)}, "
            f"allowed skew {max_clock_skew} s)",
            location=_path(timestamp),
        )
    if expires is not None and moment >= expires + skew:
        raise TimestampError(
            f"the message expired at {_format_time(expires)} (now {_format_time(moment)}, "
            f"allowed skew {max_clock_skew} s)",
            location=_path(timestamp),
        )
    if max_age is not None and moment >= created + timedelta(seconds=max_age) + skew:
        raise TimestampError(
            f"the message is too old and expired: created {_format_time(created)}, "
            f"now {_format_time(moment)} "
            f"(maximum age {max_age} s, allowed skew {max_clock_skew} s)",
            location=_path(timestamp),
        )

    # --- addressing
    values: dict[str, str | None] = {}
    for el in wsa:
        local = etree.QName(el).localname
        if local in values:
            raise AddressingError(f"the envelope has more than one wsa:{local} header", location=_path(el))
        if local == "From":
            addresses = _children(el, NS_WSA, "Address")
            values[local] = (addresses[0].text or "").strip() if len(addresses) == 1 else None
        else:
            values[local] = (el.text or "").strip()
    if require_addressing:
        needed = {
            "request": ("To", "Action", "MessageID"),
            "response": ("Action", "MessageID", "RelatesTo"),
            None: ("Action", "MessageID"),
        }[message_kind]
        for local in needed:
            if not values.get(local):
                raise AddressingError(
                    f"the required WS-Addressing header wsa:{local} is missing or empty",
                    code=_ADDRESSING_FAULT_CODES.get(local),
                    location=_path(header),
                )

    confirmation_values = tuple(
        "".join(v.split()) if (v := c.get("Value")) is not None else None for c in confirmations
    )
    if expected_signature_confirmation is not None:
        wanted = "".join(expected_signature_confirmation.split())
        if wanted not in confirmation_values:
            raise SignatureError(
                "the response carries no signed SignatureConfirmation of our request's signature",
                location=_path(security),
            )

    return VerifiedEnvelope(
        envelope=root,
        body=body,
        certificate=cert,
        chain=chain,
        signed_parts=tuple(etree.QName(s).text for s in signed),
        signature_value=signature_value,
        signature_method=signature_method,
        created=created,
        expires=expires,
        to=values.get("To"),
        action=values.get("Action"),
        message_id=values.get("MessageID"),
        relates_to=values.get("RelatesTo"),
        from_address=values.get("From"),
        signature_confirmations=confirmation_values,
    )
