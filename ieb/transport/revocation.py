"""Certificate revocation lists (CRLs) for the TLS handshake and the WS-Security chain check.

The Digikoppeling rules (``spec/transport.md`` section 5) ask both sides to check the validity of
the peer's PKIoverheid certificate *and the CRL*, refreshed at least every 4 hours. ``ieb`` never
downloads a CRL (no CRL distribution point fetching): the operator configures files or folders
(``[tls] crl = [...]`` in ieb.toml, ``crl = [...]`` in simulator.toml) and refreshes them, e.g.
with cron + curl (docs/security.md). A running process picks up a replaced file by itself.

Checking depth: the whole chain (OpenSSL's ``VERIFY_CRL_CHECK_CHAIN``), not only the peer's own
certificate. A PKIoverheid chain has four levels, root -> domain CA -> TSP CA -> service
certificate, and every CA of it publishes a CRL; the CA levels are run by different parties, and
the case the Dutch state has actually had to handle is a TSP CA revoked as a whole (DigiNotar,
2011). A leaf-only check would keep accepting every certificate of a revoked TSP CA. So the CRLs
of all three CAs are needed (the root's own CRL covers the domain CAs), and a chain whose CA has
no CRL configured is refused in the handshake (fail closed).

Every configured CRL is checked when it is read: readable (PEM, possibly several in one file, or
DER), not expired (``nextUpdate`` in the future), not issued in the future, and signed by a CA
certificate we know (the CA bundle or our own certificate chain). Anything else raises
:class:`CrlError` (a :class:`~ieb.errors.ConfigurationError` naming the file): a process refuses
to start rather than silently checking less.

:func:`load_crls` reads them into a :class:`CrlSet`; :func:`install` makes a set the one the
WS-Security chain check (:func:`check_chain`) consults in this process.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import stat
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ieb.errors import ConfigurationError
from ieb.transport.pki import CertificateChainError
from ieb.types import mask_bsns

__all__ = [
    "MAX_CRL_BYTES",
    "CertificateRevokedError",
    "ChainStamp",
    "CrlError",
    "CrlSet",
    "FileStamp",
    "LoadedCrl",
    "check_chain",
    "crl_files",
    "file_stamp",
    "install",
    "installed",
    "load_crls",
    "own_chain_problems",
    "stamp_current",
]

#: the largest CRL file read (bytes); PKIoverheid CRLs are far smaller
MAX_CRL_BYTES = 64 * 1024 * 1024
#: a CRL whose thisUpdate lies this far in the future is refused (clock skew allowed)
_SKEW = _dt.timedelta(minutes=5)
_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.S)


class CrlError(ConfigurationError):
    """A configured CRL cannot be used: unreadable, expired, not yet valid, or not signed by a
    known CA. ``location`` is the file."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"CRL {path}: {message}", code="CONFIG", location=str(path))
        self.path = path


class CertificateRevokedError(CertificateChainError):
    """A certificate of the peer's chain is on its CA's CRL (or the CA's CRL has expired)."""


@dataclass(frozen=True)
class LoadedCrl:
    """One checked CRL: the file it came from, the CRL, the CA certificate that signed it, the
    revoked serial numbers and the validity window (UTC)."""

    path: Path
    crl: x509.CertificateRevocationList
    issuer: x509.Certificate
    serials: frozenset[int]
    this_update: _dt.datetime
    next_update: _dt.datetime

    def pem(self) -> bytes:
        """The CRL in PEM form (for an OpenSSL verify store)."""
        return self.crl.public_bytes(serialization.Encoding.PEM)


def _issuer_key(cert: x509.Certificate) -> tuple[bytes, bytes]:
    """A CA by name and public key (a re-issued CA certificate with the same key matches)."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cert.subject.public_bytes(), spki


#: one version of a CRL file: (path, st_dev, st_ino, st_mtime_ns, st_size). The device and inode
#: tell a file replaced by rename (cron's ``curl -o tmp && mv tmp crl.pem``) even when the new one
#: has the same size and mtime (within one tick of the file system's clock).
FileStamp = tuple[str, int, int, int, int]


def file_stamp(path: Path) -> FileStamp:
    """The :data:`FileStamp` of ``path`` now (``os.stat``, following links); raises OSError."""
    st = path.stat()
    return (str(path), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class CrlSet:
    """The CRLs read from the configured files, each checked (see :func:`load_crls`)."""

    crls: tuple[LoadedCrl, ...]
    #: the :func:`file_stamp` of every file read: a change means the set must be read again
    stamp: tuple[FileStamp, ...]

    def pem(self) -> bytes:
        """Every CRL as PEM, for :meth:`ssl.SSLContext.load_verify_locations`."""
        return b"".join(c.pem() for c in self.crls)

    @property
    def next_update(self) -> _dt.datetime:
        """The earliest nextUpdate of the set (UTC): refresh the files before this moment."""
        return min(c.next_update for c in self.crls)

    def for_issuer(self, issuer: x509.Certificate) -> LoadedCrl | None:
        """The newest CRL signed by ``issuer`` (by name and key), or None."""
        key = _issuer_key(issuer)
        found = [c for c in self.crls if _issuer_key(c.issuer) == key]
        return max(found, key=lambda c: c.this_update) if found else None


def crl_files(sources: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files of ``sources``: a file as given, a folder as its regular files (sorted, names
    starting with ``.`` skipped). Raises :class:`CrlError` for a path that does not exist and for
    a folder without files."""
    out: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not found:
                raise CrlError(
                    path,
                    "de map bevat geen CRL-bestanden; oplossing: zet de CRL's van de CA's erin "
                    "(docs/security.md) of haal de map uit de instelling crl",
                )
            out.extend(found)
        elif path.is_file():
            out.append(path)
        elif path.exists():
            raise CrlError(path, _NOT_A_FILE)
        else:
            raise CrlError(
                path, "bestand of map bestaat niet; oplossing: controleer het pad in de instelling crl"
            )
    return out


_NOT_A_FILE = (
    "is geen gewoon bestand (een pipe, apparaat of socket); oplossing: noem het CRL-bestand van de CA"
)


def _read_file(path: Path) -> tuple[FileStamp, bytes]:
    """The :func:`file_stamp` and the bytes of ``path``, both of the one file opened (a file
    renamed, removed or swapped for a FIFO after :func:`crl_files` listed it cannot make the read
    hang or raise anything but :class:`CrlError`): only a regular file, read up to
    :data:`MAX_CRL_BYTES` (its size may grow while it is read)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    too_big = f"groter dan {MAX_CRL_BYTES // (1024 * 1024)} MB"
    try:
        fd = os.open(path, flags)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise CrlError(path, _NOT_A_FILE)
            if st.st_size > MAX_CRL_BYTES:
                raise CrlError(path, too_big)
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read(MAX_CRL_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise CrlError(path, f"niet te lezen ({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_CRL_BYTES:
        raise CrlError(path, too_big)
    return (str(path), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size), data


def _read(path: Path, data: bytes) -> list[x509.CertificateRevocationList]:
    blocks = _PEM_CRL.findall(data) if b"-----BEGIN" in data else None
    if blocks is not None and data.count(b"-----BEGIN X509 CRL-----") > len(blocks):
        raise CrlError(
            path,
            "geen leesbare CRL (PEM of DER): het PEM-bestand is afgebroken (een 'BEGIN X509 CRL'-blok zonder "
            "'END X509 CRL'); oplossing: haal de CRL opnieuw op bij de CA",
        )
    if blocks == []:
        raise CrlError(
            path,
            "geen leesbare CRL (PEM of DER): het PEM-bestand bevat geen 'BEGIN X509 CRL'-blok "
            "(een certificaat of sleutel?); oplossing: noem het CRL-bestand van de CA",
        )
    try:
        if blocks is not None:
            return [x509.load_pem_x509_crl(b) for b in blocks]
        return [x509.load_der_x509_crl(data)]
    except ValueError as exc:  # the parser's text is English and technical: after a Dutch lead
        raise CrlError(
            path,
            "geen leesbare CRL (PEM of DER): het bestand is beschadigd, afgebroken of geen CRL; "
            f"oplossing: haal de CRL opnieuw op bij de CA (technische melding: {exc})",
        ) from None


def load_crls(
    sources: Iterable[str | os.PathLike[str]],
    trusted: Sequence[x509.Certificate],
    *,
    at: _dt.datetime | None = None,
) -> CrlSet:
    """Read and check every CRL of ``sources`` (files or folders, see :func:`crl_files`).

    ``trusted``: the CA certificates a CRL may be signed by (the CA bundle and the intermediates
    of our own chain). ``at``: the moment of the validity check (default now, UTC).
    Raises :class:`CrlError` naming the file for a CRL that is unreadable, expired (nextUpdate
    past or missing), issued in the future, signed by no certificate of ``trusted`` (unknown
    issuer) or not validly signed by its issuer.
    """
    now = at or _dt.datetime.now(_dt.UTC)
    cas = [c for c in trusted if _is_ca(c)]
    loaded: list[LoadedCrl] = []
    stamp: list[FileStamp] = []
    for path in crl_files(sources):
        file, data = _read_file(path)
        stamp.append(file)
        for crl in _read(path, data):
            loaded.append(_check(path, crl, cas, now))
    return CrlSet(tuple(loaded), tuple(stamp))


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


#: RFC 4514 has no short names for these two PKIoverheid subject fields; without them the text
#: reads ``2.5.4.5=000000...,2.5.4.97=NTRNL-...``
_NAMES: Final = {
    x509.NameOID.SERIAL_NUMBER: "serialNumber",
    x509.NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
}


def _name(name: x509.Name) -> str:
    try:
        return mask_bsns(name.rfc4514_string(_NAMES))
    except ValueError:
        return "(onleesbare naam)"


def _check(
    path: Path, crl: x509.CertificateRevocationList, cas: Sequence[x509.Certificate], now: _dt.datetime
) -> LoadedCrl:
    issuer_name = _name(crl.issuer)
    candidates = [c for c in cas if c.subject == crl.issuer]
    if not candidates:
        raise CrlError(
            path,
            f"uitgegeven door {issuer_name}, dat geen bekende CA is; oplossing: zet het CA-certificaat "
            "in de CA-bundel (organisatie.ca)",
        )
    issuer = next((c for c in candidates if crl.is_signature_valid(c.public_key())), None)  # type: ignore[arg-type]
    if issuer is None:
        raise CrlError(path, f"de handtekening klopt niet met het certificaat van {issuer_name}")
    this_update = crl.last_update_utc
    next_update = crl.next_update_utc
    if next_update is None:
        raise CrlError(path, "heeft geen nextUpdate (geldigheid onbekend)")
    if next_update <= now:
        raise CrlError(
            path,
            f"is verlopen: nextUpdate {next_update:%Y-%m-%d %H:%M} UTC ligt voor nu "
            f"({now:%Y-%m-%d %H:%M} UTC); oplossing: haal de actuele CRL op",
        )
    if this_update > now + _SKEW:
        raise CrlError(path, f"is pas geldig vanaf {this_update:%Y-%m-%d %H:%M} UTC (klok?)")
    serials = frozenset(r.serial_number for r in crl)
    return LoadedCrl(path, crl, issuer, serials, this_update, next_update)


# ------------------------------------------------------------------ the CRLs of this process

_lock = threading.Lock()
_installed: dict[tuple[bytes, bytes], LoadedCrl] = {}
#: bumped whenever the installed CRLs change (:func:`install`): a :class:`ChainStamp` of another
#: generation is no longer current
_generation = 0


@dataclass(frozen=True, slots=True)
class ChainStamp:
    """What a passed :func:`check_chain` depended on: the generation of the installed CRLs and the
    earliest nextUpdate (UTC) of the CRLs it consulted (None: it consulted none). While both hold
    (:func:`stamp_current`), checking the same chain again gives the same verdict."""

    generation: int
    valid_until: _dt.datetime | None


#: the CRL-file polls of the TLS contexts that watch their files (:func:`watch`), weakly held
_polls: list[weakref.WeakMethod[Callable[[], None]]] = []


def watch(poll: Callable[[], None]) -> None:
    """Have :func:`check_chain` and :func:`stamp_current` call ``poll`` (a bound method, held weakly:
    a TLS context's CRL watch, which reads changed files at most every ``CRL_CHECK_SECONDS`` and
    then calls :func:`install`). Without it a refreshed CRL file reached the signature check only
    when a new TLS connection was made (tests/attack/test_wssec_crl_refresh.py)."""
    with _lock:
        _polls[:] = [p for p in _polls if p() is not None]
        _polls.append(weakref.WeakMethod(poll))


def _poll_files() -> None:
    """Run the registered polls (outside the lock: a poll may :func:`install`)."""
    if not _polls:
        return
    with _lock:
        polls = [p() for p in _polls]
    for poll in polls:
        if poll is not None:
            poll()


def stamp_current(stamp: ChainStamp, now: _dt.datetime) -> bool:
    """Whether a chain that passed :func:`check_chain` with ``stamp`` would pass again at ``now``:
    no CRL was installed since (a refreshed file, another CA's CRL) and none it consulted has
    expired (``now`` before ``valid_until``). Changed CRL files are read first (:func:`watch`)."""
    _poll_files()
    with _lock:
        generation = _generation
    return stamp.generation == generation and (stamp.valid_until is None or now < stamp.valid_until)


def install(crls: CrlSet) -> None:
    """Make the CRLs of ``crls`` the ones :func:`check_chain` consults in this process (per CA,
    the newest CRL installed so far wins; called by :mod:`ieb.transport.tls` when it builds a
    context with CRLs). Every :class:`ChainStamp` given out before is no longer current."""
    global _generation
    with _lock:
        _generation += 1
        for c in crls.crls:
            key = _issuer_key(c.issuer)
            old = _installed.get(key)
            if old is None or c.this_update >= old.this_update:
                _installed[key] = c


def installed() -> list[LoadedCrl]:
    """The CRLs :func:`check_chain` consults now (one per CA)."""
    with _lock:
        return list(_installed.values())


def _uninstall_all() -> None:  # for tests
    global _generation
    with _lock:
        _generation += 1
        _installed.clear()


def check_chain(
    chain: Sequence[x509.Certificate],
    now: _dt.datetime,
    *,
    error: Callable[[str], Exception] = CertificateRevokedError,
) -> ChainStamp:
    """Refuse a verified ``chain`` (leaf first, root last) when a certificate of it is on the
    installed CRL of its issuer, or when that CRL has expired at ``now``. A CA without an installed
    CRL is not judged here (the TLS handshake, which checks the whole chain, refuses it).
    Raises ``error(message)`` (default :class:`CertificateRevokedError`); the message names the
    subject (BSNs masked), the serial number and the CRL file, nothing private. Returns the
    :class:`ChainStamp` of a passed check (a caller may skip checking the same chain again while
    :func:`stamp_current` holds). Changed CRL files are read first (:func:`watch`)."""
    _poll_files()
    with _lock:
        generation = _generation
        if not _installed:
            return ChainStamp(generation, None)
        table = dict(_installed)
    return ChainStamp(generation, _check_against(table, chain, now, error))


def _check_against(
    table: dict[tuple[bytes, bytes], LoadedCrl],
    chain: Sequence[x509.Certificate],
    now: _dt.datetime,
    error: Callable[[str], Exception],
) -> _dt.datetime | None:
    """:func:`check_chain` with the CRLs of ``table`` (per CA key): raises ``error(message)``,
    returns the earliest nextUpdate of the CRLs consulted (None: none)."""
    valid_until: _dt.datetime | None = None
    for i, cert in enumerate(chain):
        issuer = chain[i + 1] if i + 1 < len(chain) else cert
        if i + 1 == len(chain) and cert.issuer != cert.subject:
            continue  # a root that is not self-signed: its issuer is not in the chain
        crl = table.get(_issuer_key(issuer))
        if crl is None:
            continue
        if crl.next_update <= now:
            raise error(
                f"de CRL van {_name(issuer.subject)} ({crl.path.name}) is verlopen sinds "
                f"{crl.next_update:%Y-%m-%d %H:%M} UTC: certificaten van deze CA worden geweigerd tot de "
                "CRL is vernieuwd"
            )
        if cert.serial_number in crl.serials:
            entry = crl.crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            since = f" sinds {entry.revocation_date_utc:%Y-%m-%d}" if entry is not None else ""
            raise error(
                f"certificaat {_name(cert.subject)} (serienummer {cert.serial_number:x}) is ingetrokken"
                f"{since} volgens de CRL {crl.path.name}"
            )
        if valid_until is None or crl.next_update < valid_until:
            valid_until = crl.next_update
    return valid_until


def own_chain_problems(
    chain: Sequence[x509.Certificate], crls: CrlSet | None, now: _dt.datetime
) -> list[str]:
    """What is wrong with our OWN certificate chain (leaf first, root last when known) at ``now``,
    one Dutch line per problem, empty when nothing is: a certificate expired or not yet valid
    (naming its subject, BSNs masked, and serial number), and the first certificate revoked by
    ``crls`` (the CRLs the process was configured with; the check of :func:`check_chain`, naming
    subject, serial number and CRL file). For a start-up warning of ``ieb serve`` / ``ieb simulate
    serve``: peers refuse such a certificate, but serving goes on (the peers decide)."""
    out: list[str] = []
    for cert in chain:
        what = f"certificaat {_name(cert.subject)} (serienummer {cert.serial_number:x})"
        if cert.not_valid_after_utc <= now:
            out.append(f"{what} is verlopen sinds {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
        elif cert.not_valid_before_utc > now:
            out.append(f"{what} is pas geldig vanaf {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    if crls is not None:
        table: dict[tuple[bytes, bytes], LoadedCrl] = {}
        for c in crls.crls:  # per CA the newest, as install() keeps them
            key = _issuer_key(c.issuer)
            if key not in table or c.this_update >= table[key].this_update:
                table[key] = c
        try:
            _check_against(table, chain, now, CertificateRevokedError)
        except CertificateRevokedError as exc:
            out.append(str(exc))
    return out
