"""Revisions of iEb release 1.0: the rule parameters that changed within the release, each with the
date it came into force and its source.

The date windows of the technical rules TR112-TR117 (how far a start or stop date may lie before or
after the Dagtekening) and which messages TR112 applies to belong to a revision. The revision is
chosen by the Dagtekening of the message (:func:`revision_on`, also ``PACK.revision_on``);
``ieb validate --revision`` and the ``revision`` argument of :func:`ieb.validation.validate_bytes`
force one (:func:`revision`, ``PACK.revision``).

=========  ==========  ===================================================================================
revision   in force    windows
=========  ==========  ===================================================================================
``1.0.2``  2020-01-01  TR112 (start and stop, status 1) 12 months back; TR114 / TR116 (changed start / stop)
                       12 months back; TR113 / TR115 / TR117 1 month ahead. The XSD 1.2.0 rule texts
                       (spec section 6). Earlier revisions (1.0.0, 1.0.1) are not told apart: no source
                       names a window change before 1.0.3.
``1.0.3``  2021-07-19  TR112 only for a start (WMO401): "losgekoppeld van de stopdatum", an initial stop may
                       lie further back; TR114 and TR116 36 months back; the 1-month windows unchanged.
                       Source: Zorginstituut Nederland, istandaarden.nl news "Publicatie specificaties
                       revisierelease iEb 1.0.3" (mutaties dated 10-06-2021; to be implemented by all
                       gemeenten and the CAK on Monday 19 July 2021).
=========  ==========  ===================================================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ieb.errors import ConfigurationError

__all__ = ["REVISIONS", "Revision", "revision", "revision_on"]


@dataclass(frozen=True, slots=True)
class Revision:
    """The rule parameters of one revision of iEb 1.0 (months are calendar months, see ``add_months``)."""

    name: str
    in_force: dt.date
    #: messages TR112 (status 1: date at most ``tr112_months`` before the Dagtekening) applies to
    tr112_messages: frozenset[str]
    tr112_months: int
    tr113_months: int
    tr114_months: int
    tr115_months: int
    tr116_months: int
    tr117_months: int
    source: str

    def months_back(self, code: str) -> int:
        """Calendar months back from the Dagtekening allowed by ``code`` TR112 / TR114 / TR116.

        Raises ``KeyError`` for any other rule code.
        """
        return {"TR112": self.tr112_months, "TR114": self.tr114_months, "TR116": self.tr116_months}[code]

    def months_ahead(self, code: str) -> int:
        """Calendar months ahead of the Dagtekening allowed by ``code`` TR113 / TR115 / TR117.

        Raises ``KeyError`` for any other rule code.
        """
        return {"TR113": self.tr113_months, "TR115": self.tr115_months, "TR117": self.tr117_months}[code]


REVISIONS: tuple[Revision, ...] = (
    Revision(
        "1.0.2",
        dt.date(2020, 1, 1),
        frozenset({"WMO401", "WMO403"}),
        12,
        1,
        12,
        1,
        12,
        1,
        "iEb 1.0, XSD 1.2.0 (2019): rule texts TR112-TR117 (spec/ieb.md section 6)",
    ),
    Revision(
        "1.0.3",
        dt.date(2021, 7, 19),
        frozenset({"WMO401"}),
        12,
        1,
        36,
        1,
        36,
        1,
        "istandaarden.nl, 'Publicatie specificaties revisierelease iEb 1.0.3' (mutaties 10-06-2021; "
        "in gebruik bij gemeenten en CAK vanaf maandag 19 juli 2021)",
    ),
)


def revision_on(day: dt.date | None) -> Revision:
    """The revision in force on ``day`` (a message's Dagtekening); the first one before its date,
    the newest when ``day`` is None."""
    if day is None:
        return REVISIONS[-1]
    current = REVISIONS[0]
    for r in REVISIONS:
        if r.in_force <= day:
            current = r
    return current


def revision(name: str) -> Revision:
    """The revision with this name (``"1.0.3"``); raises ConfigurationError for an unknown one."""
    for r in REVISIONS:
        if r.name == name.strip():
            return r
    raise ConfigurationError(
        f"onbekende revisie {name!r} van iEb 1.0; bekend: {', '.join(r.name for r in REVISIONS)}"
    )
