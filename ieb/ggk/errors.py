"""Errors of the StUF-GGk envelope layer. All derive from :class:`ieb.errors.IebError`.

``code`` is the Fo01/Fo03 code that reports the problem to the other side (``RIN001``, ``IB007``,
``IB009``, ...); ``location`` names the field (``stuurgegevens/referentienummer``) or the XPath.
"""

from __future__ import annotations

from collections.abc import Sequence

from ieb.errors import IebError, XmlSecurityError
from ieb.issues import Issue
from ieb.types import mask_bsns

__all__ = [
    "EnvelopeError",
    "EnvelopeFieldError",
    "EnvelopeInvalidError",
    "EnvelopeTooLargeError",
    "HostileXmlError",
    "SoapError",
]


class EnvelopeError(IebError):
    """Root of the StUF-GGk envelope errors. Messages and locations are BSN-masked
    (:func:`ieb.types.mask_bsns`): they end up in Fo03 texts, logs and CLI output."""

    def __init__(self, message: str, *, code: str | None = None, location: str | None = None) -> None:
        super().__init__(
            mask_bsns(message), code=code, location=mask_bsns(location) if location is not None else None
        )


class EnvelopeFieldError(EnvelopeError, ValueError):
    """A field of an envelope model has a value the schema does not allow.

    ``field`` is the dotted model path (``stuurgegevens.referentienummer``); ``issues`` lists every
    field problem found as :class:`ieb.issues.Issue` (``code`` this error's code, ``location`` the
    field, ``message``; level 1).
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        problems: Sequence[tuple[str, str]] = (),
        code: str | None = "RIN001",
    ) -> None:
        super().__init__(message, code=code, location=field)
        self.field = field
        self.issues: tuple[Issue, ...] = tuple(Issue(code or "RIN001", None, 1, f, m) for f, m in problems)


def _path_of(error: str) -> str | None:
    """The element path of a ``line: path: message`` schema error line, or None."""
    parts = error.split(": ", 2)
    return parts[1] if len(parts) == 3 else None


class EnvelopeInvalidError(EnvelopeError):
    """An envelope is not valid against the StUF-GGk 0210 schema (Fo01 code ``RIN001``).

    ``issues`` holds one :class:`ieb.issues.Issue` per schema error, every error, not only the first
    (``location`` the element path, ``message`` the schema's own ``line: path: message`` text).
    """

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[str] = (),
        location: str | None = None,
        code: str = "RIN001",
    ) -> None:
        super().__init__(message, code=code, location=location)
        self.issues: tuple[Issue, ...] = tuple(Issue(code, None, 1, _path_of(e), e) for e in errors)


class EnvelopeTooLargeError(EnvelopeError, XmlSecurityError):
    """The envelope is larger than the 25 MB the GGk accepts (Fo01 code ``IB007``)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"envelop is {size / 1_048_576:.1f} MB, groter dan de toegestane {limit / 1_048_576:.1f} MB",
            code="IB007",
            location="envelop",
        )
        self.size = size
        self.limit = limit


class HostileXmlError(EnvelopeError, XmlSecurityError):
    """The input uses a forbidden XML construct (DTD, entity, external reference) or is not XML."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(message, code="RIN001", location=location)


class SoapError(EnvelopeError):
    """A SOAP 1.1 message does not have the expected shape (no Envelope/Body, several body parts...)."""
