"""Certificates as Digikoppeling reads them: OIN and organizationIdentifier from a PKIoverheid
certificate, and path validation against trusted roots.

The TEST PKI generator is :mod:`ieb.testing.pki` (it is not importable from here).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.x509.oid import NameOID

from ieb.errors import ConfigurationError, IebError

__all__ = [
    "CertificateChainError",
    "load_certificates",
    "oin_from_certificate",
    "organization_identifier_from_certificate",
    "verify_chain",
]

_OIN = re.compile(r"[0-9]{20}")


class CertificateChainError(IebError):
    """A certificate does not chain to the trusted roots, is expired, or is not fit for its use."""


# ----------------------------------------------------------------------------------- inspection


def load_certificates(source: str | os.PathLike[str] | bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM file or PEM bytes (a single DER certificate is accepted too)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _as_cert(cert: x509.Certificate | bytes) -> x509.Certificate:
    return cert if isinstance(cert, x509.Certificate) else load_certificates(cert)[0]


def oin_from_certificate(cert: x509.Certificate | bytes) -> str | None:
    """The OIN in the subject serialNumber (OID 2.5.4.5): 20 digits, or None when there is none,
    and also None when the subject holds more than one serialNumber (ambiguous: a certificate with
    two must not be admitted because the allowed one happens to come first; issue 21)."""
    attrs = _as_cert(cert).subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(attrs) != 1:
        return None
    value = attrs[0].value if isinstance(attrs[0].value, str) else attrs[0].value.decode("ascii", "replace")
    return value if _OIN.fullmatch(value) else None


def organization_identifier_from_certificate(cert: x509.Certificate | bytes) -> str | None:
    """The subject organizationIdentifier (OID 2.5.4.97), e.g. ``NTRNL-99000363``, or None."""
    for attr in _as_cert(cert).subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER):
        return attr.value if isinstance(attr.value, str) else attr.value.decode("ascii", "replace")
    return None


def verify_chain(
    cert: x509.Certificate | bytes,
    chain: Sequence[x509.Certificate] | bytes = (),
    roots: Sequence[x509.Certificate] | bytes = (),
    *,
    purpose: Literal["client", "server"] = "client",
    hostname: str = "localhost",
    at: _dt.datetime | None = None,
) -> list[x509.Certificate]:
    """Check that ``cert`` chains through ``chain`` (the intermediates) to one of ``roots``.

    Uses the RFC 5280 / web-PKI path validation of ``cryptography``: signatures, validity at
    ``at`` (default now), CA basic constraints and key usage, and the leaf's extended key usage:
    clientAuth for ``purpose="client"``, serverAuth plus ``hostname`` (DNS name or IP address) in
    the subjectAltName for ``"server"``. Returns the verified path, leaf first, root last.
    Raises :class:`CertificateChainError` for a certificate outside the chain.
    """
    from cryptography.x509 import verification as v

    leaf = _as_cert(cert)
    intermediates = load_certificates(chain) if isinstance(chain, bytes) else list(chain)
    trusted = load_certificates(roots) if isinstance(roots, bytes) else list(roots)
    if not trusted:
        raise ConfigurationError("verify_chain: geen vertrouwde root-certificaten opgegeven")
    # The leaf may be sent as the first element of its own chain (chain.pem): drop it there.
    intermediates = [c for c in intermediates if c != leaf]
    builder = v.PolicyBuilder().store(v.Store(trusted)).time(at or _dt.datetime.now(_dt.UTC))
    try:
        if purpose == "server":
            subject: v.Subject
            try:
                subject = x509.IPAddress(ipaddress.ip_address(hostname))
            except ValueError:
                subject = x509.DNSName(hostname)
            return list(builder.build_server_verifier(subject).verify(leaf, intermediates))
        return list(builder.build_client_verifier().verify(leaf, intermediates).chain)
    except v.VerificationError as exc:
        raise CertificateChainError(
            f"certificaat {leaf.subject.rfc4514_string()} is niet geldig binnen de vertrouwde keten: {exc}",
            code="CERT",
            location="subject",
        ) from None
