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
* Compression and renegotiation are off.
* Revocation: with CRLs (``TlsFiles.crl``: files or folders, PEM or DER) every certificate of the
  peer's chain is checked against its CA's CRL (``VERIFY_CRL_CHECK_CHAIN``; why the whole chain:
  :mod:`ieb.transport.revocation`). The CRLs are checked when the context is built (a
  :class:`~ieb.transport.revocation.CrlError` names an unreadable, expired or badly signed file),
  made the ones the WS-Security chain check consults, and read again when a file changes: a
  context looks at the files' modification times at most every :data:`CRL_CHECK_SECONDS` and new
  connections then use a fresh context with the new CRLs (a replaced file that does not pass the
  checks is logged as an ERROR and the previous CRLs stay in use).

:func:`client_context` and :func:`server_context` build the :class:`ssl.SSLContext` objects;
:class:`TlsFiles` bundles the file names a side needs.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509

from ieb.errors import ConfigurationError
from ieb.transport import revocation
from ieb.transport.pki import load_certificates

__all__ = [
    "CRL_CHECK_SECONDS",
    "NCSC_TLS12_CIPHERS",
    "TlsFiles",
    "check_crls",
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
    the trust anchors the peer's certificate must chain to; ``crl`` the CRLs: one file or folder,
    or a sequence of them (stored as a tuple of paths; empty = no revocation checking).
    """

    cert: Path
    key: Path
    ca: Path
    key_password: bytes | None = None
    crl: Path | tuple[Path, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("cert", "key", "ca"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        crl: Any = self.crl
        if crl is None or isinstance(crl, (str, os.PathLike)):
            crl = () if crl is None else (crl,)
        object.__setattr__(self, "crl", tuple(Path(p) for p in crl))

    @property
    def crl_sources(self) -> tuple[Path, ...]:
        """The CRL files and folders (empty: no revocation checking)."""
        return self.crl if isinstance(self.crl, tuple) else ()


#: seconds between two looks at the CRL files' modification times (per context)
CRL_CHECK_SECONDS = 60.0

log = logging.getLogger("ieb.transport.tls")


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
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


def _trusted(files: TlsFiles) -> list[x509.Certificate]:
    """The CA certificates a CRL may be signed by: the CA bundle and our own chain's CAs."""
    out: list[x509.Certificate] = []
    for path in (files.ca, files.cert):
        try:
            out.extend(load_certificates(path))
        except (OSError, ValueError):
            continue  # the files were loaded by OpenSSL already; a DER oddity is not a CRL matter
    return out


def check_crls(files: TlsFiles) -> revocation.CrlSet | None:
    """Read and check the CRLs of ``files`` as a context would (None without CRLs), so that a
    command can refuse to start before it opens anything. Raises
    :class:`~ieb.transport.revocation.CrlError` naming the file."""
    if not files.crl_sources:
        return None
    return revocation.load_crls(files.crl_sources, _trusted(files))


def _load_crls(ctx: ssl.SSLContext, crls: revocation.CrlSet) -> None:
    """Put ``crls`` into the context's verify store and check the whole chain against them."""
    fd, name = tempfile.mkstemp(prefix="ieb-crl-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(crls.pem())
        ctx.load_verify_locations(cafile=name)
    except ssl.SSLError as exc:  # pragma: no cover - the CRLs were parsed and checked already
        raise ConfigurationError(f"de CRL's zijn niet te laden in OpenSSL: {exc}", code="CONFIG") from None
    finally:
        os.unlink(name)
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN | ssl.VERIFY_CRL_CHECK_LEAF


class _Context(ssl.SSLContext):
    """An :class:`ssl.SSLContext` that, with CRLs, hands new connections to a fresh context once
    the CRL files changed (see the module docstring). Without CRLs it is a plain context."""

    _crl_watch: _CrlWatch | None = None

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        """Wrap ``sock`` with this context, or with the fresh one after a CRL change."""
        current = self._crl_watch.current(self) if self._crl_watch is not None else self
        if current is self:
            return super().wrap_socket(sock, *args, **kwargs)
        return current.wrap_socket(sock, *args, **kwargs)


class _CrlWatch:
    """The CRL files of one context: when they change, a fresh context is built and used."""

    def __init__(
        self,
        kind: Literal["client", "server"],
        files: TlsFiles,
        check_hostname: bool,
        crls: revocation.CrlSet,
    ) -> None:
        self.kind: Literal["client", "server"] = kind
        self.files = files
        self.check_hostname = check_hostname
        self.crls = crls
        self.context: ssl.SSLContext | None = None  # None: the watching context itself
        self.checked = time.monotonic()
        self.warned_expiry = False
        self.refused: tuple[revocation.FileStamp, ...] | None = None  # files that failed the checks
        self.lock = threading.Lock()
        # the WS-Security check consults the installed CRLs on every signed message, also on a
        # keep-alive connection that never wraps a new socket: it polls the files too
        revocation.watch(self.poll)

    def _stamp(self) -> tuple[revocation.FileStamp, ...] | None:
        try:
            return tuple(revocation.file_stamp(path) for path in revocation.crl_files(self.files.crl_sources))
        except (revocation.CrlError, OSError):
            return None  # a folder being rewritten: read it again at the next look

    def current(self, owner: ssl.SSLContext) -> ssl.SSLContext:
        """The context for a new connection: the fresh one once the CRL files changed (:meth:`poll`)."""
        self.poll()
        return self.context or owner

    def poll(self) -> None:
        """Read the CRL files again when they changed (at most every :data:`CRL_CHECK_SECONDS`): a
        fresh context for new connections, and the new CRLs installed (:func:`revocation.install`)."""
        tick = time.monotonic()
        with self.lock:
            if tick - self.checked < CRL_CHECK_SECONDS:
                return
            self.checked = tick
            stamp = self._stamp()
            if stamp is not None and stamp not in (self.crls.stamp, self.refused):
                try:
                    fresh, crls = _build(self.kind, self.files, self.check_hostname, watch=False)
                except ConfigurationError as exc:
                    self.refused = stamp  # logged once per version of the files
                    log.error("nieuwe CRL's niet in gebruik genomen, de vorige blijven gelden: %s", exc)
                else:
                    assert crls is not None
                    self.context, self.crls = fresh, crls
                    self.warned_expiry = False
                    log.info(
                        "CRL's opnieuw gelezen: %d CRL('s), geldig tot %s UTC",
                        len(crls.crls),
                        f"{crls.next_update:%Y-%m-%d %H:%M}",
                    )
            if not self.warned_expiry and self.crls.next_update <= _dt.datetime.now(_dt.UTC):
                self.warned_expiry = True
                log.error(
                    "de CRL's zijn verlopen sinds %s UTC: verbindingen worden geweigerd tot de CRL-bestanden "
                    "vernieuwd zijn (%s)",
                    f"{self.crls.next_update:%Y-%m-%d %H:%M}",
                    ", ".join(str(p) for p in self.files.crl_sources),
                )


def _build(
    kind: Literal["client", "server"], files: TlsFiles, check_hostname: bool, *, watch: bool
) -> tuple[_Context, revocation.CrlSet | None]:
    ctx = _Context(ssl.PROTOCOL_TLS_CLIENT if kind == "client" else ssl.PROTOCOL_TLS_SERVER)
    _harden(ctx, files)
    crls = None
    if files.crl_sources:
        crls = check_crls(files)
        assert crls is not None
        _load_crls(ctx, crls)
        revocation.install(crls)
        if watch:
            ctx._crl_watch = _CrlWatch(kind, files, check_hostname, crls)
    if kind == "client":
        ctx.check_hostname = check_hostname
    return ctx, crls


def client_context(files: TlsFiles, *, check_hostname: bool = True) -> ssl.SSLContext:
    """An SSLContext for the sending side: presents ``files.cert`` and verifies the server.

    The server's certificate must chain to ``files.ca`` (and, with ``files.crl``, no certificate
    of its chain may be revoked). ``check_hostname`` (on by default) also requires the certificate
    to name the host (subjectAltName); turn it off only for a peer whose certificate names no
    host, the chain is verified either way. Raises :class:`ConfigurationError` for unusable files
    (:class:`~ieb.transport.revocation.CrlError` for a CRL).
    """
    return _build("client", files, check_hostname, watch=True)[0]


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """An SSLContext for the receiving side: presents ``files.cert`` and *requires* a client
    certificate that chains to ``files.ca`` (a handshake without one, or with another, fails; with
    ``files.crl`` also one whose chain holds a revoked certificate). Raises
    :class:`ConfigurationError` for unusable files (:class:`~ieb.transport.revocation.CrlError`
    for a CRL)."""
    return _build("server", files, True, watch=True)[0]
