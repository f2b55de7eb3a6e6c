"""The errors of sending an envelope: one tree, in the style of httpx's.

::

    TransportError                 root; every error carries .endpoint and .referentienummer
    ├── TransientSendError         may or may not have arrived: resend the SAME envelope later
    │   │                          (timeouts, connection refused/reset, HTTP 5xx/408/429, an answer
    │   │                          we cannot read, the total deadline passed)
    │   └── TransientFaultError    the receiver refused FOR NOW with a code the versioned code
    │                              table calls transient (:mod:`ieb.transport.faults`, e.g. StUF058
    │                              "cannot store", IB103 "frozen"); .code = that code
    ├── PermanentSendError         resending will not help until someone fixes something; .hint
    │   │                          says what (certificate does not chain, hostname mismatch,
    │   │                          HTTP 4xx, answer not in the WSDL, plain http, answer too large)
    │   └── RejectedError          the receiver refused the message with a permanent code (.code)
    │       └── DeliveryRejectedError   ... as a StUF Fo03 (.fo03)
    └── (the outbox's own errors live in ieb.transport.outbox)

:func:`is_permanent` tells the two kinds apart. Errors are picklable (they cross process
boundaries in the conformance kit and in multiprocessing tests; see ``IebError.__reduce__``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ieb.errors import IebError

if TYPE_CHECKING:  # pragma: no cover
    from ieb.ggk import Fo03

__all__ = [
    "DeliveryRejectedError",
    "PermanentSendError",
    "RejectedError",
    "TransientFaultError",
    "TransientSendError",
    "TransportError",
    "describe",
    "is_permanent",
]


class TransportError(IebError):
    """Root of the errors of sending an envelope.

    ``endpoint``: the URL it was sent to; ``referentienummer``: the envelope's; ``status``: the HTTP
    status when there was an answer; ``hint``: what to do about it (Dutch, for the operator).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        location: str | None = None,
        endpoint: str | None = None,
        referentienummer: str | None = None,
        status: int | None = None,
        hint: str | None = None,
        detail: str | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message, code=code, location=location)
        #: the library's own text (English), for the end of the line in parentheses
        self.detail = detail
        #: True when the endpoint could not be reached at all (refused, timed out, name unknown)
        self.unreachable = unreachable
        self.endpoint = endpoint
        self.referentienummer = referentienummer
        self.status = status
        self.hint = hint
        #: the problem and, when known, what to do about it
        self.issues: tuple[str, ...] = (message,) + ((hint,) if hint else ())


def describe(exc: TransportError) -> str:
    """One line for a clerk: ``cause; oplossing: what to do (technical detail)``."""
    text = exc.message
    if exc.hint:
        text += f"; oplossing: {exc.hint}"
    detail = getattr(exc, "detail", None)
    if detail:
        text += f" ({detail})"
    return text


class TransientSendError(TransportError):
    """The envelope may or may not have arrived. Resend the same envelope (same referentienummer);
    receivers are idempotent on it."""


class TransientFaultError(TransientSendError):
    """The receiver refused the message for now with a code the versioned code table
    (:mod:`ieb.transport.faults`) calls transient; resend the same envelope later. ``code`` is
    that code; ``fault`` the protocol's own fault object when there is one (a StUF Fo03)."""

    def __init__(self, message: str, *, fault: object | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.fault = fault


class PermanentSendError(TransportError):
    """Resending will not help until the cause is fixed (see :attr:`hint`)."""


class RejectedError(PermanentSendError):
    """The receiver refused the message with a code that is permanent (``code``): it will not
    accept this message as it is."""


class DeliveryRejectedError(RejectedError):
    """The receiver answered with a StUF Fo03 fault: it will not accept this envelope as it is."""

    def __init__(self, fo03: Fo03, *, status: int | None = None, endpoint: str | None = None) -> None:
        body = fo03.body
        super().__init__(
            f"{body.omschrijving}" + (f" ({body.details})" if body.details else ""),
            code=body.code,
            location=f"Fo03 plek={body.plek}",
            endpoint=endpoint,
            referentienummer=fo03.stuurgegevens.cross_refnummer,
            status=status,
            hint="de ontvanger weigert dit envelop (Fo03); herstel de oorzaak en bouw het bericht opnieuw",
        )
        self.fo03 = fo03


def is_permanent(exc: BaseException) -> bool:
    """True when resending the same envelope cannot succeed without a fix."""
    return isinstance(exc, PermanentSendError)
