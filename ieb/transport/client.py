"""The sending side of StUF-GGk "OntvangAsynchroon": a SOAP client built on zeep and our WSDL.

:class:`GgkClient` sends one envelope per call (``ggk_Di01`` from a gemeente to its adapter, or
``ggk_Du01`` / ``Fo01`` when the other side calls a receiver) to a configurable endpoint and returns
the :class:`~ieb.ggk.Bv03` acknowledgement. It uses

* a :class:`requests.Session` whose HTTPS connections use one :class:`ssl.SSLContext` from
  :func:`ieb.transport.tls.client_context` (mutual TLS, TLS 1.2+, NCSC suites, our CA bundle only),
  mounted through :class:`TlsAdapter`, with keep-alive connection pooling;
* zeep to build the SOAP request from the WSDL (the envelope is checked against the WSDL's types
  on the way) and to read the reply;
* explicit timeouts: ``connect_timeout`` for the TCP+TLS connection, ``operation_timeout`` for the
  answer;
* optionally the Digikoppeling WUS 2W-be-S profile (:class:`WusSigning`): WS-Addressing headers and
  a WS-Security signature (:mod:`ieb.transport.wssec`) on the request, and the signature of the
  answer verified, including which parts it covers and the SignatureConfirmation.

Errors: :class:`TransientSendError` (timeouts, connection errors, HTTP 5xx without a StUF fault,
an unreadable answer; safe to retry with the same envelope since receivers are idempotent on the
referentienummer) and :class:`DeliveryRejectedError` (the other side answered with a StUF Fo03;
retrying the same envelope will not help).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import requests
from lxml import etree
from requests.adapters import HTTPAdapter

from ieb.errors import IebError
from ieb.ggk import GGK_NS, SOAP_ACTIONS, STUF_NS, Bv03, Di01, Du01, Envelope, Fo01, Fo03, operation_for
from ieb.ggk import parse as parse_envelope
from ieb.ggk.codec import envelope_to_element
from ieb.ggk.soap import unwrap_soap
from ieb.transport.tls import TlsFiles, client_context
from ieb.xmlsafe import safe_parser

__all__ = [
    "DeliveryRejectedError",
    "GgkClient",
    "SendResult",
    "TlsAdapter",
    "TransientSendError",
    "TransportError",
    "WusSigning",
    "make_session",
]

log = logging.getLogger("ieb.transport.client")

_ROOT_ELEMENTS: Mapping[str, str] = {
    "ggk_Di01": f"{{{GGK_NS}}}envelopHeenbericht-ggk_Di01",
    "ggk_Du01": f"{{{GGK_NS}}}envelopRetourbericht-ggk_Du01",
    "Fo01": f"{{{STUF_NS}}}Fo01Bericht",
}


class TransportError(IebError):
    """Root of the errors of sending an envelope."""


class TransientSendError(TransportError):
    """The envelope may or may not have arrived: a timeout, a connection error, HTTP 5xx without a
    StUF fault, or an answer we cannot read. Resend the same envelope (same referentienummer)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status


class DeliveryRejectedError(TransportError):
    """The receiver answered with a StUF Fo03 fault: it will not accept this envelope as it is."""

    def __init__(self, fo03: Fo03, *, status: int | None = None) -> None:
        body = fo03.body
        super().__init__(
            f"{body.omschrijving}" + (f" ({body.details})" if body.details else ""),
            code=body.code,
            location=f"Fo03 plek={body.plek}",
        )
        self.fo03 = fo03
        self.status = status


class TlsAdapter(HTTPAdapter):
    """A requests transport adapter whose connection pools use one given :class:`ssl.SSLContext`."""

    def __init__(self, ssl_context: Any, *, pool_maxsize: int = 8, max_retries: int = 0) -> None:
        self._ssl_context = ssl_context
        super().__init__(pool_connections=1, pool_maxsize=pool_maxsize, max_retries=max_retries)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(*args, **kwargs)


def make_session(tls: TlsFiles, *, check_hostname: bool = True, pool_maxsize: int = 8) -> requests.Session:
    """A :class:`requests.Session` for mutual TLS with ``tls``: HTTPS only, no proxies from the
    environment, our CA bundle only (never the system or certifi store)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tls.ca)
    adapter = TlsAdapter(client_context(tls, check_hostname=check_hostname), pool_maxsize=pool_maxsize)
    session.mount("https://", adapter)
    session.mount("http://", _RefusePlainHttp())
    return session


class _RefusePlainHttp(HTTPAdapter):
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        raise TransportError(f"onversleuteld HTTP wordt geweigerd: {request.url}")


@dataclass(frozen=True)
class WusSigning:
    """Digikoppeling WUS 2W-be-S: sign requests with ``key_pem``/``cert_pem`` and verify the signed
    answers against ``trusted_roots`` (PEM; ``intermediates`` likewise)."""

    key_pem: bytes
    cert_pem: bytes
    trusted_roots: bytes
    intermediates: bytes = b""
    key_password: bytes | None = None
    verify_answers: bool = True
    #: OINs allowed to sign answers (the receiver's); None: any certificate of the trusted chain.
    peer_oins: frozenset[str] | None = None

    @classmethod
    def from_files(
        cls, key: str | Path, cert: str | Path, roots: str | Path, intermediates: str | Path | None = None
    ) -> WusSigning:
        return cls(
            key_pem=Path(key).read_bytes(),
            cert_pem=Path(cert).read_bytes(),
            trusted_roots=Path(roots).read_bytes(),
            intermediates=Path(intermediates).read_bytes() if intermediates else b"",
        )


@dataclass(frozen=True)
class SendResult:
    """What a successful call returned: the Bv03, the HTTP status and how long it took."""

    bv03: Bv03
    status: int
    seconds: float
    signed_parts: tuple[str, ...] = field(default=())


def _signature_value(signed: bytes) -> str | None:
    root = etree.fromstring(signed, safe_parser(huge_text=True))
    value = root.findtext(".//{http://www.w3.org/2000/09/xmldsig#}SignatureValue")
    return "".join(value.split()) if value else None


class GgkClient:
    """A StUF-GGk OntvangAsynchroon client for one endpoint.

    Thread-safe: the zeep client is shared read-only and requests' connection pool is thread-safe;
    use one instance from several sender threads. ``endpoint`` is the service URL
    (``https://host:port/ggk0210/OntvangAsynchroon``).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        tls: TlsFiles | None = None,
        session: requests.Session | None = None,
        connect_timeout: float = 5.0,
        operation_timeout: float = 30.0,
        check_hostname: bool = True,
        signing: WusSigning | None = None,
        pool_maxsize: int = 8,
    ) -> None:
        import zeep
        from zeep.transports import Transport

        from ieb.ggk import wsdl_path

        if not endpoint.startswith("https://"):
            raise TransportError(f"endpoint moet https:// zijn, niet {endpoint!r}")
        if session is None:
            if tls is None:
                raise TransportError("geef tls (certificaat, sleutel, CA-bundel) of een session")
            session = make_session(tls, check_hostname=check_hostname, pool_maxsize=pool_maxsize)
        self.endpoint = endpoint
        self.session = session
        self.connect_timeout = connect_timeout
        self.operation_timeout = operation_timeout
        self.signing = signing
        settings = zeep.Settings(
            strict=True,
            xml_huge_tree=False,
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
            raw_response=False,
        )
        transport = Transport(  # type: ignore[no-untyped-call]
            session=session,
            timeout=connect_timeout,
            operation_timeout=(connect_timeout, operation_timeout),  # zeep hands it to requests
        )
        self._zeep: Any = cast(
            Any,
            zeep.Client(str(wsdl_path()), transport=transport, settings=settings),  # type: ignore[no-untyped-call]
        )
        self._service: Any = self._zeep.create_service(f"{{{GGK_NS}}}SOAPOntvangAsynchroon", endpoint)
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> GgkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------

    def soap_request(self, envelope: Envelope) -> tuple[str, bytes]:
        """The operation name and the SOAP request bytes zeep builds for ``envelope`` (signed when
        :attr:`signing` is set)."""
        operation = operation_for(envelope)
        element = envelope_to_element(envelope)
        xsd_element = self._zeep.get_element(_ROOT_ELEMENTS[operation])
        values = xsd_element.parse(element, self._zeep.wsdl.types)
        with self._lock:  # zeep's message builder is not documented as thread-safe
            message = self._zeep.create_message(
                self._service, operation, **{name: values[name] for name in values}
            )
        data: bytes = etree.tostring(message, xml_declaration=True, encoding="UTF-8")
        if self.signing is not None:
            from ieb.transport.wssec import add_addressing, sign_envelope

            data = add_addressing(
                data,
                to=self.endpoint,
                action=SOAP_ACTIONS[operation],
                message_id=f"urn:uuid:{envelope.referentienummer}",
            )
            data = sign_envelope(
                data,
                key_pem=self.signing.key_pem,
                cert_pem=self.signing.cert_pem,
                key_password=self.signing.key_password,
            )
        return operation, data

    def send(self, envelope: Envelope | bytes) -> SendResult:
        """Send one envelope (a model, or its XML bytes as stored in the outbox) and return the Bv03.

        Raises :class:`TransientSendError` or :class:`DeliveryRejectedError`.
        """
        if isinstance(envelope, bytes | bytearray):
            envelope = parse_envelope(bytes(envelope))
        if not isinstance(envelope, Di01 | Du01 | Fo01):
            raise TransportError(f"een {envelope.berichtcode} wordt niet verstuurd")
        operation, data = self.soap_request(envelope)
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{SOAP_ACTIONS[operation]}"',
        }
        started = time.perf_counter()
        try:
            response = self.session.post(
                self.endpoint,
                data=data,
                headers=headers,
                timeout=(self.connect_timeout, self.operation_timeout),
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise TransientSendError(f"time-out bij {self.endpoint}: {type(exc).__name__}") from exc
        except requests.ConnectionError as exc:
            raise TransientSendError(f"verbinding met {self.endpoint} mislukt: {_short(exc)}") from exc
        except requests.RequestException as exc:
            raise TransientSendError(f"HTTP-fout bij {self.endpoint}: {_short(exc)}") from exc
        seconds = time.perf_counter() - started
        return self._answer(envelope, operation, data, response, seconds)

    def _answer(
        self,
        envelope: Envelope,
        operation: str,
        request: bytes,
        response: requests.Response,
        seconds: float,
    ) -> SendResult:
        status = response.status_code
        content = response.content
        media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        is_xml = media in ("text/xml", "application/soap+xml", "application/xml")
        if not is_xml or not content:
            if status >= 500 or status in (408, 429):
                raise TransientSendError(f"HTTP {status} van {self.endpoint}", status=status)
            raise TransportError(f"onverwacht antwoord HTTP {status} ({media or 'geen inhoud'})")
        signed_parts: tuple[str, ...] = ()
        if self.signing is not None and self.signing.verify_answers:
            signed_parts = self._verify_answer(envelope, request, content)
        try:
            answer = unwrap_soap(content)
        except IebError as exc:
            raise TransientSendError(
                f"onleesbaar antwoord (HTTP {status}): {exc}", status=status, code=exc.code
            ) from exc
        if isinstance(answer, Fo03):
            raise DeliveryRejectedError(answer, status=status)
        if not isinstance(answer, Bv03):
            raise TransientSendError(f"antwoord is een {answer.berichtcode}, geen Bv03", status=status)
        if status != 200:
            raise TransientSendError(f"Bv03 met HTTP {status}", status=status)
        if answer.cross_refnummer != envelope.referentienummer:
            raise TransientSendError(
                f"Bv03 hoort bij {answer.cross_refnummer}, niet bij {envelope.referentienummer}",
                status=status,
            )
        self._zeep_check(operation, response)
        return SendResult(bv03=answer, status=status, seconds=seconds, signed_parts=signed_parts)

    def _zeep_check(self, operation: str, response: requests.Response) -> None:
        """Let zeep read the answer against the WSDL's output message as well (interoperability)."""
        from zeep.exceptions import Error as ZeepError

        binding = self._service._binding
        try:
            binding.process_reply(self._zeep, binding.get(operation), response)
        except ZeepError as exc:
            raise TransientSendError(f"antwoord past niet bij de WSDL: {exc}") from exc

    def _verify_answer(self, envelope: Envelope, request: bytes, content: bytes) -> tuple[str, ...]:
        from ieb.transport.wssec import WsSecurityError, verify_envelope

        assert self.signing is not None
        try:
            verified = verify_envelope(
                content,
                trusted_roots=self.signing.trusted_roots,
                intermediates=self.signing.intermediates or (),
                message_kind="response",
                expected_signature_confirmation=_signature_value(request),
                signer_oins=self.signing.peer_oins,
            )
        except WsSecurityError as exc:
            raise TransientSendError(f"handtekening van het antwoord is ongeldig: {exc}") from exc
        if verified.relates_to != f"urn:uuid:{envelope.referentienummer}":
            raise TransientSendError(f"wsa:RelatesTo {verified.relates_to!r} hoort niet bij dit verzoek")
        return verified.signed_parts


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."
