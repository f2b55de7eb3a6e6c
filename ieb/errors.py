"""The exception tree of ``ieb``.

Every error derives from :class:`IebError` and carries the context a caller needs to act on it:
the rule code when one applies, the location (an XPath or a file:line), and a message in plain
words. Messages never contain a full BSN (see :func:`ieb.types.mask_bsn`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ieb.issues import Issue


class IebError(Exception):
    """Root of all errors raised by ``ieb``."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.location = location

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by state, not by ``__init__`` arguments, so every subclass survives a process pool.

        Subclasses may take any constructor arguments; the copy gets the same attributes
        (``message``, ``code``, ``location``, ``issues``, ...) and the same ``args``.
        """
        return (_rebuild, (type(self), self.args, self.__dict__))

    def __str__(self) -> str:
        """``[CODE] message (plek: location)``; the location is left out when the message already
        names it (``ieb.toml: geen geldige TOML ...``), so it is never said twice."""
        parts = []
        if self.code:
            parts.append(f"[{self.code}]")
        parts.append(self.message)
        if self.location and not _names(self.message, self.location):
            parts.append(f"(plek: {self.location})")
        return " ".join(parts)


def _names(text: str, part: str) -> bool:
    """Whether ``part`` stands in ``text`` as a whole (no letter, digit or ``_`` right before or
    after it: ``regel 3`` is not named by ``regel 30``)."""
    start = text.find(part)
    while start >= 0:
        end = start + len(part)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before == "_" or after.isalnum() or after == "_"):
            return True
        start = text.find(part, start + 1)
    return False


def without_subject(subject: str, text: str) -> str:
    """``text`` (an error's ``str()``, or a reason kept as text) for a line that already names
    ``subject`` first (``a.xml: niet verwerkt: <text>``): every leading ``subject: `` is dropped,
    as is a trailing ``(plek: subject)``, so a problem line built from nested error texts names its
    file once. Other text is kept as it is (a subject named inside the text stays)."""
    lead = f"{subject}: "
    while subject and text.startswith(lead):
        text = text[len(lead) :]
    tail = f" (plek: {subject})"
    if subject and text.endswith(tail):
        text = text[: -len(tail)]
    return text


def _rebuild(cls: type[IebError], args: tuple[Any, ...], state: dict[str, Any]) -> IebError:
    """Unpickle an :class:`IebError` without calling its ``__init__`` (see ``IebError.__reduce__``)."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigurationError(IebError):
    """A setting, table or registration is missing or inconsistent."""


class UnknownMessageError(IebError):
    """The input is not a message of any registered release."""


class XmlSecurityError(IebError):
    """The input uses a forbidden XML construct (DTD, entity, external reference) or is too large."""


class MessageInvalidError(IebError):
    """A document failed validation; ``issues`` lists every problem found."""

    def __init__(self, message: str, issues: Sequence[Issue], *, location: str | None = None) -> None:
        first = issues[0].code if issues else None
        super().__init__(message, code=first, location=location)
        self.issues = tuple(issues)


class InputRowError(IebError):
    """A row of a CSV / JSON-lines input file is invalid (``location`` is ``file:line``)."""
