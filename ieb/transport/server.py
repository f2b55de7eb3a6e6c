"""The receiving side of StUF-GGk "OntvangAsynchroon": a WSGI app served over mutual TLS.

:class:`Receiver` implements the service for what arrives at a gemeente: ``ggk_Du01`` (a retour),
``Fo01`` (an asynchronous error) and ``ggk_Di01``. For every call it

1. reads the peer's OIN from its TLS client certificate (subject serialNumber) and checks it
   against the allow-list (Fo03 ``IB002`` otherwise);
2. reads the body within the size limit (Fo03 ``IB007``), verifies the WUS signature when
   required (its signer must be the TLS peer: Fo03 ``IB002`` otherwise), and checks the envelope (:class:`ieb.ggk.EnvelopeChecks`; Fo03 with the first code
   found: ``RIN001``, ``IB009``, ``IB213``, ...);
3. stores the envelope in the ledger's ``inbox`` and **commits** (with an audit row);
   a referentienummer seen before is a redelivery: it is acknowledged and not processed again;
   a second retour for a message that already has one is stored as ``duplicate``;
4. hands a new retour (or Fo01) to the retour handler and marks the inbox row ``processed`` (so it
   is processed exactly once; a failing handler leaves it ``failed``); a handler that takes
   ``conn`` gets a Du01 in a savepoint of the storing transaction (one commit per retour);
5. answers ``Bv03`` (signed when the request was signed).

:class:`HttpsServer` (from :mod:`ieb.transport.httpd`) runs any WSGI app on a hardened cheroot
with an :class:`ssl.SSLContext` from :func:`ieb.transport.tls.server_context`: handshakes, the OIN
admission (:meth:`SoapEndpoint.admit`) and request heads never hold a worker thread, and every size
and time is bounded (:class:`ServerLimits`, ``docs/security.md``). It puts the peer's certificate
(DER) and the connection's socket in the WSGI environ as ``ieb.peer_cert`` and ``ieb.socket``.
:class:`SoapEndpoint` is the shared base of the receiver and of the simulator
(:mod:`ieb.simulator.server`). The inbox storage is :meth:`Receiver.store`.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import logging
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape as xml_escape

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.errors import IebError
from ieb.ggk import (
    SOAP_ACTIONS,
    Bv03,
    CheckResult,
    Di01,
    Du01,
    Envelope,
    EnvelopeChecks,
    Fo01,
    Stuurgegevens,
    Systeem,
    bv03_for,
    fo03_for,
    format_tijdstip,
    new_referentienummer,
    soap_fault,
)
from ieb.ggk.codec import STUF_NS, EnvelopeHead, envelope_to_element
from ieb.ggk.soap import soap_envelope
from ieb.transport.audit import AuditTrail
from ieb.transport.client import WusSigning
from ieb.transport.httpd import DEFAULT_MAX_BODY, HttpsServer, ServerLimits, _mb
from ieb.transport.outbox import database_unavailable, ledger_tables, utcnow, write_lock
from ieb.types import mask_bsns
from ieb.xmlsafe import MAX_ENVELOPE_BYTES

__all__ = [
    "DEFAULT_MAX_BODY",
    "PROCESSED",
    "HttpsServer",
    "InboxEntry",
    "PeerInfo",
    "Receiver",
    "RetourHandler",
    "ServerLimits",
    "SoapEndpoint",
    "SoapReply",
    "receiver_server",
]


if TYPE_CHECKING:
    from ieb.transport.inbox import KeptPgConnections

log = logging.getLogger("ieb.transport.server")

# ------------------------------------------------------------------------------------ SOAP endpoint


@dataclass(frozen=True)
class PeerInfo:
    """Who called: the OIN from the client certificate's subject serialNumber, and its subject."""

    oin: str | None
    subject: str
    address: str


@dataclass
class SoapReply:
    """An HTTP answer: status, body and headers."""

    status: int
    body: bytes
    content_type: str = "text/xml; charset=utf-8"
    drop: bool = False  # close the connection without an answer (fault injection)


@dataclass
class _Bv03Reply(SoapReply):
    """A Bv03 answer as unsigned bytes (``body``, from :class:`_Bv03Templates`) that
    :meth:`SoapEndpoint.receive` signs when the request was signed; ``cross_refnummer`` is the request's
    referentienummer (wsa:RelatesTo when the request had no MessageID)."""

    cross_refnummer: str | None = None


class _Reject(Exception):
    def __init__(
        self, code: str, message: str, envelope: Envelope | None = None, plek: str = "client"
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.envelope = envelope
        self.plek = plek


_STATUS_TEXT = {
    200: "OK",
    408: "Request Timeout",
    413: "Content Too Large",
    405: "Method Not Allowed",
    411: "Length Required",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class SoapEndpoint:
    """Base WSGI app of an OntvangAsynchroon endpoint; subclasses implement :meth:`handle`.

    ``organisatie``/``applicatie`` are what this side puts in ``zender`` of its Bv03/Fo03.
    ``allowed_oins``: OINs allowed to call (``None``: any certificate of the trusted chain).
    ``signing``: sign answers to signed requests; ``require_signature`` refuses unsigned ones.
    """

    accepted: tuple[type[Envelope], ...] = (Di01, Du01, Fo01)

    def __init__(
        self,
        *,
        organisatie: str,
        applicatie: str = "ieb",
        allowed_oins: Collection[str] | None = None,
        checks: EnvelopeChecks | None = None,
        audit: AuditTrail | None = None,
        signing: WusSigning | None = None,
        require_signature: bool = False,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.organisatie = organisatie
        self.applicatie = applicatie
        self.allowed_oins = frozenset(allowed_oins) if allowed_oins is not None else None
        self.checks = checks or EnvelopeChecks(known_ontvangers=None, functie_berichtcode=None)
        self.audit = audit or AuditTrail()
        self.signing = signing
        self.require_signature = require_signature
        self.max_body = max_body
        if require_signature and signing is None:
            raise IebError("require_signature vraagt om signing (vertrouwde roots)")

    @property
    def systeem(self) -> Systeem:
        """This side as ``zender`` of its Bv03/Fo03 (organisatie, applicatie); the (frozen) model
        is built again only when either attribute changed."""
        key = (self.organisatie, self.applicatie)
        cached = self.__dict__.get("_systeem")
        if cached is None or cached[0] != key:
            cached = (key, Systeem(organisatie=self.organisatie, applicatie=self.applicatie))
            self.__dict__["_systeem"] = cached
        return cached[1]

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            reply = self._dispatch(environ)
        except Exception:
            log.exception("interne fout in %s", type(self).__name__)
            fo03 = fo03_for(
                None, "StUF058", "interne fout bij de ontvanger", plek="server", zender=self.systeem
            )
            reply = SoapReply(500, soap_fault(fo03))
        if reply.drop:
            sock = environ.get("ieb.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            raise ConnectionAbortedError("verbinding bewust verbroken (foutinjectie)")
        start_response(
            f"{reply.status} {_STATUS_TEXT.get(reply.status, 'Status')}",
            [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body)))],
        )
        return [reply.body]

    def peer(self, environ: dict[str, Any]) -> PeerInfo:
        """Who called: OIN and subject of ``ieb.peer_cert`` (None/"" without a readable one) and address."""
        der = environ.get("ieb.peer_cert")
        address = f"{environ.get('REMOTE_ADDR', '')}:{environ.get('REMOTE_PORT', '')}"
        oin, subject = _peer_identity(der)
        return PeerInfo(oin, subject, address)

    def admit(self, der: bytes) -> tuple[int, str, bytes] | None:
        """The OIN check right after the TLS handshake (:class:`HttpsServer` calls it before it
        reads a byte of HTTP): ``None`` lets the peer in, otherwise the Fo03 ``IB002`` to answer."""
        if self.allowed_oins is None:
            return None
        oin, _ = _peer_identity(der)
        if oin in self.allowed_oins:
            return None
        reply = self._fault(_Reject("IB002", _oin_refused(oin)))
        return reply.status, reply.content_type, reply.body

    def _fault(self, rej: _Reject) -> SoapReply:
        rej.message = mask_bsns(rej.message)
        fo03 = fo03_for(
            rej.envelope,
            rej.code,
            rej.message[:200],
            plek="server" if rej.plek == "server" else "client",
            details=rej.message[:1000] if len(rej.message) > 200 else None,
            zender=self.systeem,
        )
        self.audit.record(
            "in",
            rej.envelope.berichtcode if rej.envelope is not None else "onbekend",
            referentienummer=rej.envelope.referentienummer if rej.envelope is not None else None,
            cross_ref_nummer=rej.envelope.cross_refnummer if rej.envelope is not None else None,
            functie=getattr(rej.envelope, "functie", None) if isinstance(rej.envelope, Di01 | Du01) else None,
            outcome=f"Fo03 {rej.code}",
            detail=rej.message,
        )
        return SoapReply(500, soap_fault(fo03))

    def _dispatch(self, environ: dict[str, Any]) -> SoapReply:
        if environ.get("REQUEST_METHOD") != "POST":
            return SoapReply(405, b"alleen POST\n", "text/plain; charset=utf-8")
        peer = self.peer(environ)
        try:
            if self.allowed_oins is not None and peer.oin not in self.allowed_oins:
                raise _Reject("IB002", _oin_refused(peer.oin))
            length_text = environ.get("CONTENT_LENGTH") or ""
            if not length_text.isdigit():
                return SoapReply(411, b"Content-Length ontbreekt\n", "text/plain; charset=utf-8")
            length = int(length_text)
            if length > self.max_body:
                raise _Reject("IB007", f"bericht van {_mb(length)} is groter dan {_mb(self.max_body)}")
            try:
                body = _read(environ["wsgi.input"], length)
            except OSError as exc:  # the body did not arrive within the server's deadline
                log.warning("bericht van %s kwam niet binnen de tijd binnen: %s", peer.address, exc)
                return SoapReply(
                    408, b"de berichtinhoud kwam niet op tijd binnen\n", "text/plain; charset=utf-8"
                )
            return self.receive(body, environ, peer)
        except _Reject as rej:
            return self._fault(rej)

    def receive(self, body: bytes, environ: dict[str, Any], peer: PeerInfo) -> SoapReply:
        """Verify, check and hand a request body to :meth:`handle`; build the answer."""
        request_sig: tuple[str, str | None] | None = None
        signed = b"Signature" in body and b"wsse" in body.lower()
        if self.signing is not None and (signed or self.require_signature):
            request_sig = self._verify(body, peer)
        result = self.checks.check(body)
        head = result.head
        if not result.ok:
            found = self.on_findings(result, body, peer)
            if found is not None:
                return found
            first = result.first
            assert first is not None
            raise _Reject(first.code.value, str(first.omschrijving), _request_envelope(result))
        if head is None or head.kind not in self.accepted:
            got = head.berichtcode if head is not None else "onbekend"
            raise _Reject("StUF010", f"een {got} wordt hier niet ontvangen", _request_envelope(result))
        action = (environ.get("HTTP_SOAPACTION") or "").strip().strip('"')
        expected = SOAP_ACTIONS[_OPERATION[head.kind]]
        if action and action != expected:
            raise _Reject(
                "RIN001",
                f"SOAPAction {action!r} past niet bij een {head.berichtcode}",
                _request_envelope(result),
            )
        reply = self.handle_checked(result, body, peer, environ)
        if isinstance(reply, _Bv03Reply):  # the Bv03 from its template: signed here when asked
            if request_sig is None or self.signing is None:
                return reply
            return SoapReply(200, self._signed(reply.body, reply.cross_refnummer, request_sig))
        if isinstance(reply, SoapReply):
            return reply
        return SoapReply(200, self._answer(reply, request_sig))

    def handle_checked(
        self, result: CheckResult, raw: bytes, peer: PeerInfo, environ: dict[str, Any]
    ) -> Bv03 | SoapReply:
        """Handle an envelope that passed every check (``result.ok``, an accepted kind); by default
        :meth:`handle` with the envelope model. A subclass may answer from ``result.head`` alone
        (issue 22: the receiver without a retour handler never builds the model)."""
        envelope = result.envelope
        assert envelope is not None
        return self.handle(envelope, raw, peer, environ)

    def _verify(self, body: bytes, peer: PeerInfo) -> tuple[str, str | None]:
        """Verify the request's WUS signature; returns its SignatureValue and wsa:MessageID.

        The signer must be the TLS peer (the same OIN); without an OIN in the TLS certificate it
        must at least be on the allow-list. A signature by another party of the PKI is IB002."""
        from ieb.transport.wssec import WsSecurityError, verify_envelope

        assert self.signing is not None
        if len(body) > MAX_ENVELOPE_BYTES:  # the one envelope limit (ieb.xmlsafe): IB007, not IB002
            raise _Reject("IB007", f"bericht van {_mb(len(body))} is groter dan {_mb(MAX_ENVELOPE_BYTES)}")
        signer_oins = {peer.oin} if peer.oin else self.allowed_oins
        try:
            verified = verify_envelope(
                body,
                trusted_roots=self.signing.trusted_roots,
                intermediates=self.signing.intermediates or (),
                message_kind="request",
                signer_oins=signer_oins,
            )
        except WsSecurityError as exc:
            raise _Reject("IB002", f"WS-Security: {exc}") from exc
        return verified.signature_value, verified.message_id

    def _answer(self, bv03: Bv03, request_sig: tuple[str, str | None] | None) -> bytes:
        data = _BV03_TEMPLATES.render(bv03)
        if request_sig is None or self.signing is None:
            return data
        return self._signed(data, bv03.cross_refnummer, request_sig)

    def _signed(self, data: bytes, cross_refnummer: str | None, request_sig: tuple[str, str | None]) -> bytes:
        """The unsigned SOAP answer ``data`` (our own bytes, from a template) with WS-Addressing,
        the SignatureConfirmation of ``request_sig`` (SignatureValue, MessageID) and our signature.
        Parsing the template's bytes gives the tree :func:`soap_envelope` would build, so the
        signed bytes are the same (issue 22: building the model and its tree per answer cost more;
        tests/transport/test_signed_answer.py)."""
        from ieb.transport.wssec import (
            add_addressing,
            parse_soap_envelope,
            sign_envelope,
            signature_confirmation,
        )

        assert self.signing is not None
        tree = add_addressing(
            parse_soap_envelope(data),
            to="http://www.w3.org/2005/08/addressing/anonymous",
            action=SOAP_ACTIONS["ggk_Di01"] + "Response",
            relates_to=request_sig[1] or f"urn:uuid:{cross_refnummer}",
        )
        tree = signature_confirmation(tree, request_signature_value=request_sig[0])
        return sign_envelope(
            tree,
            key_pem=self.signing.key_pem,
            cert_pem=self.signing.cert_pem,
            key_password=self.signing.key_password,
        )

    def on_findings(self, result: CheckResult, body: bytes, peer: PeerInfo) -> SoapReply | None:
        """Hook for an envelope with findings; None (the default) answers a Fo03 with the first."""
        return None

    def handle(
        self, envelope: Envelope, raw: bytes, peer: PeerInfo, environ: dict[str, Any]
    ) -> Bv03 | SoapReply:
        """Store and process a checked envelope; return the Bv03 (or another reply)."""
        raise NotImplementedError


class _MarkStatement:
    """``UPDATE inbox SET status, error, processed_at WHERE id = :entry_id AND status = 'received'``,
    built once (bound parameters; a ``.values(...)`` per request cost as much as running it)."""

    def __init__(self) -> None:
        self._stmt: Any = None

    def get(self, t: sa.Table) -> Any:
        if self._stmt is None:
            self._stmt = (
                sa.update(t)
                .where(t.c.id == sa.bindparam("entry_id"), t.c.status == "received")
                .values(
                    status=sa.bindparam("status"),
                    error=sa.bindparam("error"),
                    processed_at=sa.bindparam("at"),
                )
            )
        return self._stmt


_MARK = _MarkStatement()

#: the OntvangAsynchroon operation per accepted envelope class (as :func:`ieb.ggk.operation_for`)
_OPERATION: dict[type[Envelope], str] = {Di01: "ggk_Di01", Du01: "ggk_Du01", Fo01: "Fo01"}


def _request_envelope(result: CheckResult) -> Envelope | None:
    """The request model for a Fo03's stuurgegevens (a Di01, Du01 or Fo01), or None."""
    try:
        envelope = result.envelope
    except IebError:  # pragma: no cover - a head is only read from a schema-valid tree
        return None
    return envelope if isinstance(envelope, Di01 | Du01 | Fo01) else None


def _soap_bv03(bv03: Bv03) -> bytes:
    """``bv03`` in a SOAP 1.1 Envelope, as UTF-8 bytes with an XML declaration."""
    from lxml import etree

    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        soap_envelope(envelope_to_element(bv03)), encoding="UTF-8"
    )


_TIJDSTIP: list[tuple[int | None, str]] = [(None, "")]


def _tijdstip_now(clock: Callable[[], float] = time.time) -> str:
    """:func:`format_tijdstip` of now: ``yyyyMMddHHmmss`` in Dutch local time, formatted once per
    second (the answers of one second share it; the time zone conversion and ``strftime`` were
    most of building the answer). The second is ``clock()`` rounded down, as
    ``datetime.fromtimestamp`` reads it: that rounds to the microsecond first, so in the last
    microsecond of a second it asks ``fromtimestamp`` (issue 22, RECV round 8: no datetime per
    answer)."""
    now = clock()
    second = int(now // 1)
    if now - second >= 0.999999:  # may round up to the next second
        second = int(dt.datetime.fromtimestamp(now, dt.UTC).replace(microsecond=0).timestamp())
    cached = _TIJDSTIP[0]
    if cached[0] != second:
        cached = (second, format_tijdstip(dt.datetime.fromtimestamp(second, dt.UTC)))
        _TIJDSTIP[0] = cached
    return cached[1]


def _bv03_of(zender: Systeem, head: EnvelopeHead, referentienummer: str, tijdstip: str) -> Bv03:
    """The Bv03 that ``zender`` answers to the checked request ``head``."""
    return Bv03(
        stuurgegevens=Stuurgegevens(
            berichtcode="Bv03",
            zender=zender,
            ontvanger=head.zender(),
            referentienummer=referentienummer,
            tijdstip_bericht=tijdstip,
            cross_refnummer=head.referentienummer,
        )
    )


class _Bv03Templates:
    """Unsigned Bv03 answers from a serialised template per (zender, ontvanger): what differs per
    answer (referentienummer, tijdstipBericht, crossRefnummer) is put in by text replacement
    (escaped), the same bytes :func:`_soap_bv03` makes (tested); serialising the tree per request
    was a tenth of the receiver's CPU (issue 22)."""

    _FIELDS = ("referentienummer", "tijdstip_bericht", "cross_refnummer")

    def __init__(self) -> None:
        self._cache: dict[tuple[object, ...], tuple[list[bytes], list[str]] | None] = {}
        self._lock = threading.Lock()

    def render(self, bv03: Bv03) -> bytes:
        sg = bv03.stuurgegevens
        key = (sg.zender, sg.ontvanger, sg.functie)
        with self._lock:
            known = key in self._cache
            template = self._cache.get(key)
        if not known:
            template = self._template(bv03)
            with self._lock:
                if len(self._cache) >= 256:
                    self._cache.clear()
                self._cache[key] = template
        values = {f: getattr(sg, f) for f in self._FIELDS}
        if template is None or any(v is None for v in values.values()):  # pragma: no cover
            return _soap_bv03(bv03)
        literals, fields = template
        out = [literals[0]]
        for field, literal in zip(fields, literals[1:], strict=True):
            out.append(xml_escape(str(values[field]), _CR).encode())
            out.append(literal)
        return b"".join(out)

    def answer(self, zender: Systeem, head: EnvelopeHead, referentienummer: str, tijdstip: str) -> bytes:
        """:func:`_soap_bv03` of ``_bv03_of(zender, head, referentienummer, tijdstip)``, the same
        bytes, without building the model per answer: the template is kept per (zender, the
        request's zender element's children as they are, :func:`_zender_key`: a few us where
        reading its four fields with ``find`` cost ~40-70); a new pair builds the model once (and
        raises what it raises)."""
        key = ("head", zender, _zender_key(head))
        with self._lock:
            template = self._cache.get(key, _NO_TEMPLATE)
        if template is _NO_TEMPLATE:
            bv03 = _bv03_of(zender, head, referentienummer, tijdstip)
            template = self._template(bv03)
            with self._lock:
                if len(self._cache) >= 256:
                    self._cache.clear()
                self._cache[key] = template
            if template is None:  # pragma: no cover - defensive, as in render
                return _soap_bv03(bv03)
        assert isinstance(template, tuple)
        values = {
            "referentienummer": referentienummer,
            "tijdstip_bericht": tijdstip,
            "cross_refnummer": head.referentienummer,
        }
        literals, fields = template
        out = [literals[0]]
        for field, literal in zip(fields, literals[1:], strict=True):
            out.append(_escaped(values[field]))
            out.append(literal)
        return b"".join(out)

    def _template(self, bv03: Bv03) -> tuple[list[bytes], list[str]] | None:
        marks = {f: f"\ue000{i}\ue000" for i, f in enumerate(self._FIELDS)}  # XML-safe, never in data
        sg = bv03.stuurgegevens.model_copy(update=marks)
        data = _soap_bv03(bv03.model_copy(update={"stuurgegevens": sg}))
        encoded = {f: m.encode() for f, m in marks.items()}
        if any(data.count(m) != 1 for m in encoded.values()):  # pragma: no cover - defensive
            return None
        fields = sorted(self._FIELDS, key=lambda f: data.index(encoded[f]))
        literals: list[bytes] = []
        rest = data
        for f in fields:
            before, rest = rest.split(encoded[f], 1)
            literals.append(before)
        literals.append(rest)
        return literals, fields


def _zender_key(head: EnvelopeHead) -> tuple[object, ...] | None:
    """A cache key for the request's zender (the Bv03's ontvanger), finer than the fields it is
    read from: the first ``zender`` element's children in order, (tag, text) each, when each is
    plain text (as in every schema-valid request); else :meth:`EnvelopeHead.zender_key` (the
    fields as read). Equal keys give an equal :class:`Systeem`. None without a zender."""
    for child in head.stuurgegevens:
        if child.tag == _ZENDER:
            parts: list[tuple[object, str | None]] = []
            for field in child:
                if len(field):  # a comment or PI inside a field
                    return head.zender_key()
                parts.append((field.tag, field.text))
            return tuple(parts)
    return None


def _escaped(text: str) -> bytes:
    """``text`` as element content (UTF-8): ``xml_escape`` with ``_CR``, skipped when there is
    nothing to escape (our referentienummer and tijdstip, the request's checked UUID)."""
    if _TO_ESCAPE.search(text) is None:
        return text.encode()
    return xml_escape(text, _CR).encode()


_TO_ESCAPE = re.compile(r"[&<>\r]")
_ZENDER = f"{{{STUF_NS}}}zender"
_NO_TEMPLATE: Any = object()
#: lxml writes a carriage return in element text as a character reference (raw, a reader would
#: turn it into a line feed); ``xml_escape`` does ``&``, ``<`` and ``>`` (tests/attack)
_CR = {"\r": "&#13;"}
_BV03_TEMPLATES = _Bv03Templates()


#: The audit detail of a successful processing (see :meth:`Receiver.outcomes`).
#: the audit ``detail`` of an inbox entry processed without error (read back by the receiver)
PROCESSED = "verwerkt"


def _oin_refused(oin: str | None) -> str:
    return f"OIN {oin or 'onbekend'} van het clientcertificaat is niet toegestaan"


def _peer_identity(der: bytes | None) -> tuple[str | None, str]:
    """(OIN, subject) of a peer certificate (DER); (None, "") without a readable one."""
    if not der:
        return None, ""
    return _identity_of(bytes(der))


@functools.lru_cache(maxsize=256)
def _identity_of(der: bytes) -> tuple[str | None, str]:
    """:func:`_peer_identity` of one certificate, remembered (a keep-alive peer sends many requests
    with the same certificate; parsing it per request was a tenth of the receiver's CPU)."""
    from ieb.transport.pki import load_certificates, oin_from_certificate

    try:
        cert = load_certificates(der)[0]
        return oin_from_certificate(cert), cert.subject.rfc4514_string()
    except (IebError, ValueError, IndexError):
        return None, ""


def _read(stream: Any, length: int) -> bytes:
    chunks: list[bytes] = []
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------------------------------- inbox


@dataclass(frozen=True)
class InboxEntry:
    """An inbox row as handed to a retour handler."""

    id: int
    referentienummer: str
    cross_ref_nummer: str | None
    berichtcode: str
    functie: str | None
    peer_oin: str | None


#: ``handler(envelope, entry) -> outcome``: process a retour/Fo01 (in its own transaction). It must
#: be idempotent: after a crash between processing and marking the inbox row it runs again. A
#: handler that also takes a keyword ``conn`` is given the receiver's open transaction for a Du01
#: (it must write only through ``conn``; it runs in a savepoint): storing, processing and marking a
#: retour is then one commit (issue 22).
RetourHandler = Callable[..., str | None]


def _handler_failed(entry: InboxEntry, exc: Exception) -> str:
    """Log a retour handler's failure for ``entry`` (the ``ieb`` logger's BsnMaskingFilter masks any
    BSN in it) and return the reason stored with the entry (``failed``), where the whole text is kept."""
    log.warning("verwerken van %s mislukt: %s", entry.referentienummer, exc)
    return f"{type(exc).__name__}: {exc}"


_KEPT_GUARD = threading.Lock()


class Receiver(SoapEndpoint):
    """The gemeente's OntvangAsynchroon endpoint (see the module docstring).

    ``engine``: the ledger database (inbox + audit). ``handler``: the ledger's retour processing
    (called once per new Du01/Fo01/Di01, inside the transaction that marks it processed).
    """

    def __init__(self, engine: Engine, *, handler: RetourHandler | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("audit", AuditTrail(engine))
        super().__init__(**kwargs)
        self.engine = engine
        self.handler = handler
        #: the handler takes ``conn``: a Du01 is stored, processed and marked in one transaction
        self.joins_handler = handler is not None and _takes_conn(handler)
        self.inbox = ledger_tables().inbox
        self.audit_table = ledger_tables().audit

    def handle(
        self, envelope: Envelope, raw: bytes, peer: PeerInfo, environ: dict[str, Any]
    ) -> Bv03 | SoapReply:
        """Store the envelope (:meth:`store`), process a new one (:meth:`process`) and answer Bv03.

        Without a handler, storing and marking the entry processed (with both audit rows) is ONE
        transaction per request (issue 22: two commits per message were most of the receiver's
        CPU); with a handler that takes ``conn`` a Du01 is stored, handled (in a savepoint:
        :meth:`_process_joined`) and marked in ONE transaction too; with another handler (or for
        a Fo01/Di01) the entry is committed first (nothing acknowledged is lost), the handler runs
        in its own transaction and the entry is marked after it. A redelivery of an envelope that was stored but never processed (the database failed in
        between) is processed now. When the database cannot be used (down, locked, disk full) the
        answer is the RETRYABLE fault :meth:`retry_later` (HTTP 503, Fo03 StUF058): the sender
        keeps the message and offers it again; nothing is acknowledged that was not stored."""
        try:
            if self.handler is None:
                with write_lock(self.engine), self.engine.begin() as conn:
                    entry, status = self.store(envelope, raw, peer, conn=conn, processed=True)
                    # a new entry was stored as processed, with both audit rows (store_envelope)
                    if status == "redelivery":
                        entry = self._unprocessed(envelope.referentienummer, conn=conn)
                        if entry is not None:
                            self._mark(conn, entry, None, None)
                return bv03_for(envelope, zender=self.systeem)
            if self.joins_handler and isinstance(envelope, Du01):
                with write_lock(self.engine), self.engine.begin() as conn:
                    entry, status = self.store(envelope, raw, peer, conn=conn)
                    if status == "redelivery":
                        entry = self._unprocessed(envelope.referentienummer, conn=conn)
                        status = "received" if entry is not None else status
                    if status == "received" and entry is not None:
                        self._process_joined(conn, envelope, entry)
                return bv03_for(envelope, zender=self.systeem)
            entry, status = self.store(envelope, raw, peer)
            if status == "redelivery":
                entry = self._unprocessed(envelope.referentienummer)
                status = "received" if entry is not None else status
            if status == "received" and entry is not None:
                self.process(envelope, entry)
        except Exception as exc:
            if not database_unavailable(exc) and not _disk_full(exc):
                raise
            return self.retry_later(envelope, exc)
        return bv03_for(envelope, zender=self.systeem)

    def handle_checked(
        self, result: CheckResult, raw: bytes, peer: PeerInfo, environ: dict[str, Any]
    ) -> Bv03 | SoapReply:
        """Without a retour handler: store the entry as processed and answer the Bv03 from the
        stuurgegevens read in the checks (:attr:`CheckResult.head`), in ONE transaction and without
        building the envelope model (issue 22, RECV). With a handler: :meth:`handle`."""
        head = result.head
        if self.handler is not None or head is None or type(self).handle is not Receiver.handle:
            return super().handle_checked(result, raw, peer, environ)
        try:
            if not self._store_processed(head, raw, peer):
                self._store_processed_core(head, raw, peer)
        except Exception as exc:
            if not database_unavailable(exc) and not _disk_full(exc):
                raise
            envelope = result.envelope
            assert envelope is not None
            return self.retry_later(envelope, exc)
        referentienummer = new_referentienummer()
        tijdstip = _tijdstip_now()
        # the bytes straight from the template; receive() signs them when the request was signed
        data = _BV03_TEMPLATES.answer(self.systeem, head, referentienummer, tijdstip)
        return _Bv03Reply(200, data, cross_refnummer=head.referentienummer)

    def _store_processed(self, head: EnvelopeHead, raw: bytes, peer: PeerInfo) -> bool:
        """On SQLite (sqlite3) and PostgreSQL (psycopg 3): store a new entry as processed, or record
        a redelivery, in one transaction on the DBAPI connection
        (:func:`ieb.transport.inbox.store_processed_sqlite`, ``store_processed_postgresql``); False
        when that path does not apply (another driver, a case it leaves to the Core path)."""
        engine = self.engine
        dialect = (engine.dialect.name, engine.dialect.driver)
        kept: dict[str, Any] = {}
        store: Callable[..., object]
        if dialect == ("sqlite", "pysqlite"):
            from ieb.transport.inbox import store_processed_sqlite as store
        elif dialect == ("postgresql", "psycopg"):
            from ieb.transport.inbox import store_processed_postgresql as store
        else:
            return False
        with write_lock(engine):
            if dialect[0] == "sqlite":
                kept["connection"] = self._kept_sqlite(engine)
            else:
                kept["connections"] = self._kept_pg(engine)
            stored = store(
                engine,
                referentienummer=head.referentienummer,
                cross_ref_nummer=head.cross_refnummer,
                berichtcode=head.berichtcode,
                functie=head.functie,
                zender=head.zender_organisatie,
                peer_oin=peer.oin,
                raw=raw,
                received_at=utcnow(),
                audit=self.audit,
                processed_detail=PROCESSED,
                **kept,
            )
        return stored is not None

    def _kept_sqlite(self, engine: Engine) -> Any:
        """The sqlite3 connection this receiver keeps for its fast path on a SQLite file
        (:func:`ieb.transport.inbox.kept_sqlite_connection`, made on first use, closed when the
        receiver is collected); None for an in-memory database. The caller holds the write lock,
        so one thread at a time uses it (issue 22, RECV round 7: no pool checkout per message)."""
        kept = self.__dict__.get("_kept_sqlite_connection")
        if kept is None or kept[0] is not engine:
            from ieb.transport.inbox import kept_sqlite_connection

            connection = kept_sqlite_connection(engine)
            if connection is not None:
                weakref.finalize(self, connection.close)
            kept = self.__dict__["_kept_sqlite_connection"] = (engine, connection)
        return kept[1]

    def _kept_pg(self, engine: Engine) -> KeptPgConnections:
        """The psycopg connections this receiver keeps for its fast path on PostgreSQL
        (:class:`ieb.transport.inbox.KeptPgConnections`: at most one per thread storing at once,
        closed when the engine is disposed or the receiver collected; issue 22, RECV round 8)."""
        kept: KeptPgConnections | None = self.__dict__.get("_kept_pg_connections")
        if kept is None or kept.engine is not engine:
            from ieb.transport.inbox import KeptPgConnections

            with _KEPT_GUARD:
                kept = self.__dict__.get("_kept_pg_connections")
                if kept is None or kept.engine is not engine:
                    kept = self.__dict__["_kept_pg_connections"] = KeptPgConnections(engine)
        return kept

    def _store_processed_core(self, head: EnvelopeHead, raw: bytes, peer: PeerInfo) -> None:
        """Store the entry as processed (or record a redelivery, marking an entry that was never
        processed) in one SQLAlchemy Core transaction."""
        with write_lock(self.engine), self.engine.begin() as conn:
            entry, status = self._store_fields(
                head.referentienummer,
                head.cross_refnummer,
                head.berichtcode,
                head.functie,
                head.zender_organisatie,
                raw,
                peer,
                conn=conn,
                processed=True,
            )
            # a new entry was stored as processed, with both audit rows (store_envelope)
            if status == "redelivery":
                entry = self._unprocessed(head.referentienummer, conn=conn)
                if entry is not None:
                    self._mark(conn, entry, None, None)

    def retry_later(self, envelope: Envelope, exc: BaseException) -> SoapReply:
        """The answer when the envelope cannot be stored now: HTTP 503 with a Fo03 ``StUF058``
        whose text says it is temporary (:mod:`ieb.transport.faults` classifies StUF058 and any 503
        as transient, so the sender offers the same envelope again later). Logged at ERROR with
        the cause (masked), the durable trace while the database is away."""
        cause = mask_bsns(f"{type(exc).__name__}: {exc}")[:300]
        log.error(
            "%s %s niet opgeslagen (database niet bruikbaar: %s); tijdelijke fout StUF058 geantwoord, "
            "de afzender biedt het opnieuw aan",
            envelope.berichtcode,
            envelope.referentienummer,
            cause,
            extra={"referentienummer": envelope.referentienummer, "oplossing": "herstel de database"},
        )
        fo03 = fo03_for(
            envelope,
            "StUF058",
            "tijdelijk niet op te slaan; bied het bericht later opnieuw aan",
            plek="server",
            zender=self.systeem,
        )
        return SoapReply(503, soap_fault(fo03))

    def _unprocessed(self, referentienummer: str, *, conn: sa.Connection | None = None) -> InboxEntry | None:
        """The inbox entry of ``referentienummer`` when it is still ``received`` (not processed)."""
        t = self.inbox
        query = sa.select(t).where(t.c.referentienummer == referentienummer, t.c.status == "received")
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.engine.connect() as c:
                row = c.execute(query).first()
        if row is None:
            return None
        return InboxEntry(
            int(row.id),
            row.referentienummer,
            row.cross_ref_nummer,
            row.berichtcode,
            row.functie,
            row.peer_oin,
        )

    def store(
        self,
        envelope: Envelope,
        raw: bytes,
        peer: PeerInfo,
        *,
        conn: sa.Connection | None = None,
        processed: bool = False,
    ) -> tuple[InboxEntry | None, str]:
        """Insert the envelope in the inbox and commit (or write in ``conn``'s transaction); returns
        the entry and its status (``received``, ``duplicate`` for a second retour, or ``redelivery``
        when seen before). ``processed``: a new entry is stored as processed at once (no handler)."""
        return self._store_fields(
            envelope.referentienummer,
            envelope.cross_refnummer,
            envelope.berichtcode,
            envelope.functie if isinstance(envelope, Di01 | Du01) else None,
            envelope.stuurgegevens.zender.organisatie,
            raw,
            peer,
            conn=conn,
            processed=processed,
        )

    def _store_fields(
        self,
        referentienummer: str,
        cross: str | None,
        berichtcode: str,
        functie: str | None,
        zender: str | None,
        raw: bytes,
        peer: PeerInfo,
        *,
        conn: sa.Connection | None,
        processed: bool,
    ) -> tuple[InboxEntry | None, str]:
        from ieb.transport.inbox import store_envelope

        stored = store_envelope(
            conn if conn is not None else self.engine,
            referentienummer=referentienummer,
            cross_ref_nummer=cross,
            berichtcode=berichtcode,
            functie=functie,
            zender=zender,
            peer_oin=peer.oin,
            raw=raw,
            received_at=utcnow(),
            audit=self.audit,
            processed=processed,
            processed_detail=PROCESSED,
        )
        status, new_id = stored.status, stored.id
        if new_id is None:
            return None, status
        entry = InboxEntry(int(new_id), referentienummer, cross, berichtcode, functie, peer.oin)
        return entry, status

    def process(self, envelope: Envelope, entry: InboxEntry) -> str:
        """Run the handler for ``entry`` and mark it ``processed`` (or ``failed`` with the error).

        The handler runs first, in its own transaction, then the row is marked; a crash in between
        leaves the row ``received`` and :meth:`ieb.exchange.retours.Retours.replay` runs the (idempotent)
        handler again.
        """
        outcome: str | None = None
        error: str | None = None
        try:
            if self.handler is not None:
                outcome = self.handler(envelope, entry)
        except Exception as exc:
            if database_unavailable(exc):
                raise  # stays ``received``: processed on the redelivery or by the inbox replay
            error = _handler_failed(entry, exc)
        with write_lock(self.engine), self.engine.begin() as conn:
            return self._mark(conn, entry, outcome, error)

    def _process_joined(self, conn: sa.Connection, envelope: Envelope, entry: InboxEntry) -> str:
        """Run the handler inside ``conn``'s transaction, in a savepoint, and mark ``entry``: when
        the handler fails, only its savepoint is rolled back and the entry is stored ``failed``
        with the reason (nothing acknowledged is lost); a database that is not usable is raised
        (the whole transaction rolls back and the sender is told to retry)."""
        assert self.handler is not None
        outcome: str | None = None
        error: str | None = None
        savepoint = conn.begin_nested()
        try:
            outcome = self.handler(envelope, entry, conn=conn)
        except Exception as exc:
            if savepoint.is_active:
                savepoint.rollback()
            if database_unavailable(exc):
                raise
            error = _handler_failed(entry, exc)
        else:
            if savepoint.is_active:
                savepoint.commit()
        return self._mark(conn, entry, outcome, error)

    def _mark(self, conn: sa.Connection, entry: InboxEntry, outcome: str | None, error: str | None) -> str:
        """Mark ``entry`` processed (or failed with ``error``) in ``conn``'s transaction, with its
        audit row (detail :data:`PROCESSED` when it went well). Returns the status."""
        t = self.inbox
        status = "failed" if error else "processed"
        conn.execute(
            _MARK.get(t),
            {
                "entry_id": entry.id,
                "status": status,
                "error": error[:2000] if error else None,
                "at": utcnow(),
            },
        )
        self._audit_processed(conn, entry, outcome, error)
        return status

    def _audit_processed(
        self, conn: sa.Connection, entry: InboxEntry, outcome: str | None, error: str | None
    ) -> None:
        status = "failed" if error else "processed"
        self.audit.record(
            "in",
            entry.berichtcode,
            referentienummer=entry.referentienummer,
            cross_ref_nummer=entry.cross_ref_nummer,
            functie=entry.functie,
            outcome=outcome if outcome is not None and not error else status,
            detail=error or PROCESSED,
            conn=conn,
        )

    def _processing_rows(self) -> list[tuple[str, str]]:
        """(retour key, outcome) of every successful processing, oldest first, from the audit table."""
        a = self.audit_table
        key = sa.func.coalesce(a.c.cross_ref_nummer, a.c.referentienummer)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(key, a.c.outcome)
                .where(a.c.direction == "in", a.c.detail == PROCESSED)
                .order_by(a.c.id)
            ).all()
        return [(str(k), str(o)) for k, o in rows]

    @property
    def outcomes(self) -> dict[str, str]:
        """The handler's outcome per processed retour, by its cross-ref nummer (the Di01's
        referentienummer; a Di01's own referentienummer), read from the audit table (nothing is
        kept in memory per message)."""
        return dict(self._processing_rows())

    def duplicates_processed(self) -> int:
        """How many retours were processed more than once (per the audit table); should be 0."""
        seen: dict[str, int] = {}
        for key, _ in self._processing_rows():
            seen[key] = seen.get(key, 0) + 1
        return sum(n - 1 for n in seen.values() if n > 1)


def receiver_server(
    app: Callable[..., Iterable[bytes]],
    endpoint: SoapEndpoint,
    tls: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = 8,
    limits: ServerLimits | None = None,
    monitor_oins: Collection[str] = (),
) -> HttpsServer:
    """The ONE way a receiving endpoint goes on the network (``ieb receive``, ``ieb serve``):
    ``app`` (the endpoint itself, or middleware in front of it such as /health and /metrics) on
    :class:`HttpsServer` with ``endpoint``'s post-handshake OIN admission
    (:meth:`SoapEndpoint.admit`) and the server's limits and slot policy, so middleware in front
    can never drop the admission (issue 21: ``ieb serve`` once skipped it). ``monitor_oins`` (for
    example the organisation's own OIN) are admitted as well, to read /health and /metrics; the
    SOAP endpoint itself still refuses them (Fo03 IB002)."""
    extra = frozenset(monitor_oins)

    def admit(der: bytes) -> tuple[int, str, bytes] | None:
        if extra and _peer_identity(der)[0] in extra:
            return None
        return endpoint.admit(der)

    return HttpsServer(app, tls, host=host, port=port, threads=threads, limits=limits, admit=admit)


def _takes_conn(handler: Callable[..., object]) -> bool:
    """True when ``handler`` accepts a keyword argument ``conn`` (see :data:`RetourHandler`)."""
    try:
        return "conn" in inspect.signature(handler).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


def _disk_full(exc: BaseException) -> bool:
    """The database (or its file system) is full: SQLite's "database or disk is full", ENOSPC."""
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text or getattr(exc, "errno", None) == 28


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


_ = dt  # datetime kept for type hints in subclasses
