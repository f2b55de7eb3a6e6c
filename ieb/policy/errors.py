"""Errors of :mod:`ieb.policy`.

Every message is plain Dutch for a municipal clerk: it names the field and says what to do. A full
BSN never appears in a message (see :func:`ieb.types.mask_bsn`).
"""

from __future__ import annotations

from ieb.errors import IebError

__all__ = ["KostprijsError", "PolicyError", "PolicyInputError", "TariffError"]


class PolicyError(IebError):
    """Root of the errors of the contribution rules."""


class PolicyInputError(PolicyError):
    """An input value is missing, impossible or out of range; ``field`` names it (``location`` too)."""

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {message}", code=code, location=field)
        self.field = field


class TariffError(PolicyInputError):
    """A (lowered) tariff is not allowed, e.g. above the national maximum on its date."""


class KostprijsError(PolicyInputError):
    """A kostprijs is not usable (negative, or lower than one month of the national tariff)."""
