"""TLS settings for Digikoppeling: mutual TLS, TLS 1.2 minimum, TLS 1.3 preferred, NCSC cipher suites.

Both sides of the StUF-GGk exchange use the same rules (``spec/transport.md`` section 5):

* TLS 1.2 is the minimum version; TLS 1.3 is negotiated whenever the peer offers it (OpenSSL picks
  the highest version both sides support, so "preferred" needs nothing more than allowing it).
* Only cipher suites the NCSC rates "goed" or "voldoende": ECDHE key exchange with AES-GCM or
  CHACHA20-POLY1305. The TLS 1.3 suites (``TLS_AES_256_GCM_SHA384``, ``TLS_CHACHA20_POLY1305_SHA256``,
  ``TLS_AES_128_GCM_SHA256``) are all AEAD with (EC)DHE and are OpenSSL's defaults.
* Both certificates are verified against a CA bundle holding the trust anchors (for PKIoverheid:
  the root; in tests, the test root). A certificate outside that chain is refused during the
  handshake, by the client and by the server alike.
* Compression and renegotiation are off; an optional CRL file enables revocation checking of the
  whole chain.

:func:`client_context` and :func:`server_context` build the :class:`ssl.SSLContext` objects;
:class:`TlsFiles` bundles the file names a side needs.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from ieb.errors import ConfigurationError

__all__ = [
    "NCSC_TLS12_CIPHERS",
    "TlsFiles",
    "client_context",
    "server_context",
]

#: The TLS 1.2 suites used: ECDHE with AES-GCM or CHACHA20-POLY1305 (ECDSA and RSA certificates).
NCSC_TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    )
)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The PEM files one side needs for mutual TLS.

    ``cert`` holds this side's certificate, optionally followed by its intermediate CA certificates
    (sent to the peer so that it can build the chain to the root); ``key`` its private key; ``ca``
    the trust anchors the peer's certificate must chain to; ``crl`` an optional CRL bundle.
    """

    cert: Path
    key: Path
    ca: Path
    key_password: bytes | None = None
    crl: Path | None = None

    def __post_init__(self) -> None:
        for name in ("cert", "key", "ca", "crl"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))


def _harden(ctx: ssl.SSLContext, files: TlsFiles) -> ssl.SSLContext:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    try:
        ctx.set_ciphers(NCSC_TLS12_CIPHERS)
    except ssl.SSLError as exc:  # pragma: no cover - every OpenSSL 1.1.1+ has these
        raise ConfigurationError(f"OpenSSL kent de NCSC-ciphersuites niet: {exc}") from exc
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.options |= ssl.OP_SINGLE_ECDH_USE
    ctx.verify_mode = ssl.CERT_REQUIRED
    for what, path in (("certificaat", files.cert), ("sleutel", files.key), ("CA-bundel", files.ca)):
        if not path.is_file():
            raise ConfigurationError(f"TLS-{what} {path} bestaat niet")
    try:
        ctx.load_cert_chain(str(files.cert), str(files.key), password=files.key_password)
        ctx.load_verify_locations(cafile=str(files.ca))
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(f"TLS-bestanden zijn onbruikbaar: {exc}") from exc
    if files.crl is not None:
        ctx.load_verify_locations(cafile=str(files.crl))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


def client_context(files: TlsFiles, *, check_hostname: bool = True) -> ssl.SSLContext:
    """An SSLContext for the sending side: presents ``files.cert`` and verifies the server.

    The server's certificate must chain to ``files.ca``. ``check_hostname`` (on by default) also
    requires the certificate to name the host (subjectAltName); turn it off only for a peer whose
    certificate names no host, the chain is verified either way.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _harden(ctx, files)
    ctx.check_hostname = check_hostname
    return ctx


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """An SSLContext for the receiving side: presents ``files.cert`` and *requires* a client
    certificate that chains to ``files.ca`` (a handshake without one, or with another, fails)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(ctx, files)
    return ctx
