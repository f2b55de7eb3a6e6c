"""The error of the exchange facade (kept apart so every module of :mod:`ieb.exchange` can raise it)."""

from __future__ import annotations

from collections.abc import Sequence

from ieb.errors import IebError

__all__ = ["ExchangeError"]


class ExchangeError(IebError):
    """The exchange cannot do what was asked; ``issues`` lists every problem (Dutch, BSNs masked)."""

    def __init__(self, message: str, issues: Sequence[str] = (), *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.issues = tuple(issues)
