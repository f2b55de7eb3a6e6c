"""The result of validating one file: every issue found, each with its rule code and retourcode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ieb.types import mask_bsns

__all__ = ["Issue", "Report"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem. ``code`` is the rule code (``CS002``, ``TR112``, ``OP192``, ``XSD``, ``XML``),
    ``retourcode`` the code the CAK would put in its retour, ``level`` 1 (XSD/parse), 2 (rule within
    the message) or 3 (needs history or the receiver's context), ``location`` an XPath, ``message``
    plain Dutch for a municipal clerk.

    ``message`` and ``location`` are masked when the issue is made (:func:`ieb.types.mask_bsns`:
    every stand-alone run of 8-10 digits), so a BSN quoted as a value, an element name or a
    namespace URI never reaches any output format (text, JSON, JUnit, rapport).

    ``detail``: the technical text the message was made from, for developers (libxml2's own English
    for XML that is not well-formed, :mod:`ieb.xmltext`), masked too; only the JSON output shows it
    (key ``detail``, present when set). It does not take part in comparisons."""

    code: str
    retourcode: str | None
    level: int
    location: str | None
    message: str
    detail: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", mask_bsns(self.message))
        if self.location is not None:
            object.__setattr__(self, "location", mask_bsns(self.location))
        if self.detail is not None:
            object.__setattr__(self, "detail", mask_bsns(self.detail))

    def to_dict(self) -> dict[str, Any]:
        """The issue as a JSON-ready dict (code, retourcode, level, location, message; detail when set)."""
        return {
            "code": self.code,
            "retourcode": self.retourcode,
            "level": self.level,
            "location": self.location,
            "message": self.message,
            **({"detail": self.detail} if self.detail is not None else {}),
        }


@dataclass(slots=True)
class Report:
    """Validation result of one document."""

    bericht: str | None = None
    release: str | None = None
    issues: list[Issue] = field(default_factory=list)
    #: the parsed root element when the document was well-formed (not part of the JSON output)
    root: etree._Element | None = field(default=None, repr=False, compare=False)

    @property
    def valid(self) -> bool:
        """True when no issue was found at any level."""
        return not self.issues

    @property
    def level(self) -> int | None:
        """The lowest level among the issues (the level that decides the retour), or None when valid."""
        return min((i.level for i in self.issues), default=None)

    @property
    def codes(self) -> list[str]:
        """The rule codes of the issues, in the order found."""
        return [i.code for i in self.issues]

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (bericht, release, valid, issues); the parsed root is left out."""
        return {
            "bericht": self.bericht,
            "release": self.release,
            "valid": self.valid,
            "issues": [i.to_dict() for i in self.issues],
        }
