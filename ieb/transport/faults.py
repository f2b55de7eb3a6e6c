"""Transient or permanent: the versioned classification of the GGk's Fo01/Fo03 codes.

A fault code from the other side either means "not now" (resend the SAME envelope later: the CAK
answers a resent identical message idempotently, our receiver is idempotent on the
referentienummer) or "not like this" (a person or a setting must change first). The code lists
of the GGk changed: the 2018 list (Foutcodes ISD-keten 2.1 patch 04 revisie 3, the codes of
:class:`ieb.ggk.codes.FoutCode`) and the November 2025 list of BIDN, which runs the GGk since June
2025 (``reference/ggk-0210/foutcodes/fo01-foutcodelijst-2025-11.md``; spec/transport.md §2). The
2025 list RENUMBERS: IB003 is "too large" there (IB007 in 2018), IB007 is "functie and organisatie
do not go together", IB016 "referentienummer not unique", and the CAK may send IB001 (payload not
XSD-valid). So one code can mean two things; :class:`FaultTable` keeps each list whole, with its
version name, and every code is classified explicitly.

Classification (each row of the tables below):

* **transient**: ``IB103`` message type frozen (2018), ``IB023`` functie not active (2025), ``StUF058`` the receiver could not process the message now (what our own
  receiver answers when it cannot store: disk full, database down). Also any fault answered with
  HTTP 503 (the receiver says "try later", whatever the code).
* **permanent**: everything else in the lists (XSD, size, authorisation, unknown organisation,
  functie, ZIP, ...), and any code in no list (a human looks at it; unknown codes are never
  retried blindly). ``IB102`` "no route" is permanent: spec/transport.md lists it beside ``IB101``
  "no valid CPA for organisation and message type", a routing/configuration state at the GGk that
  the same envelope sent again cannot change until someone configures the route, whereas ``IB103``
  names a temporary state ("bevroren", not processed *now*). (An earlier table called IB102
  transient; issue 25 called it permanent.)

:func:`classify` picks the table by date (:func:`table_for`): the 2025 list from
:data:`GGK_2025_11`'s ``valid_from``; a code that is not in the chosen table is looked up in the
other (a GGk that still sends the old numbers). :func:`fault_error` turns a StUF Fo03 into the
right error of :mod:`ieb.transport.errors`; :func:`fo01_retry_delay` says when a message whose
Fo01 was transient is sent again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from ieb.ggk.codes import FoutCode
from ieb.transport.errors import DeliveryRejectedError, TransientFaultError, TransportError

if TYPE_CHECKING:  # pragma: no cover
    from ieb.ggk import Fo03
    from ieb.transport.outbox import Outbox

__all__ = [
    "FO01_MAX_RESENDS",
    "GGK_2018",
    "GGK_2025_11",
    "TABLES",
    "FaultKind",
    "FaultRule",
    "FaultTable",
    "classify",
    "fault_error",
    "fo01_retry_delay",
    "resend_if_transient",
    "table_for",
]


class FaultKind(StrEnum):
    """What a fault code means for the sender."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One code of one list: its meaning (Dutch, short) and whether it is transient."""

    code: str
    omschrijving: str
    kind: FaultKind


@dataclass(frozen=True)
class FaultTable:
    """One published list of fault codes: ``version`` (e.g. ``"2025-11"``), the first day it
    applies (``valid_from``), the publisher, and a :class:`FaultRule` per code."""

    version: str
    valid_from: dt.date
    source: str
    rules: Mapping[str, FaultRule]

    def get(self, code: str) -> FaultRule | None:
        """The rule for ``code`` in this list, or None."""
        return self.rules.get(code)


T, P = FaultKind.TRANSIENT, FaultKind.PERMANENT

#: StUF's own fault of a receiver that cannot process a message now; not a GGk list code, in both
_STUF058 = FaultRule("StUF058", "De ontvanger kon het bericht nu niet verwerken (tijdelijk).", T)


def _table(version: str, valid_from: dt.date, source: str, rows: list[FaultRule]) -> FaultTable:
    rules = {r.code: r for r in rows}
    rules.setdefault(_STUF058.code, _STUF058)
    return FaultTable(version, valid_from, source, rules)


_TRANSIENT_2018 = {"IB103"}

#: The 2018 list: the codes of :class:`ieb.ggk.codes.FoutCode` with their omschrijving, plus IB216
#: named by the same document.
GGK_2018 = _table(
    "2018",
    dt.date(2018, 1, 1),
    "Foutcodes ISD-keten 2.1 patch 04 revisie 3",
    [FaultRule(c.value, c.omschrijving, T if c.value in _TRANSIENT_2018 else P) for c in FoutCode]
    + [FaultRule("IB216", "De combinatie van zender en referentienummer is niet uniek.", P)],
)

#: The November 2025 list of BIDN (renumbered; see the module docstring).
GGK_2025_11 = _table(
    "2025-11",
    dt.date(2025, 11, 1),
    "Foutcodelijst Berichtenverkeer, november 2025 (BIDN)",
    [
        FaultRule("IB001", "Het bericht is niet geldig volgens het XSD.", P),
        FaultRule("IB002", "De verzender mag het GGk niet gebruiken.", P),
        FaultRule("IB003", "Het bericht is groter dan 25 MB.", P),
        FaultRule("IB004", "De functie wordt niet ondersteund.", P),
        FaultRule("IB005", "De gemeentecode is niet bekend bij het GGk.", P),
        FaultRule(
            "IB006", "Het systeem mag deze berichtcode, dit entiteittype of deze functie niet sturen.", P
        ),
        FaultRule("IB007", "Deze functie mag niet door deze organisatie worden gestuurd.", P),
        *(
            FaultRule(f"IB0{n:02d}", "Weigering door VECOZO (rol, toestemming, inhoud).", P)
            for n in range(8, 16)
        ),
        FaultRule("IB016", "Het referentienummer is niet uniek.", P),
        *(
            FaultRule(f"IB0{n:02d}", "Weigering door VECOZO (applicatiegegevens, antwoord).", P)
            for n in range(17, 23)
        ),
        FaultRule("IB023", "De functie is (nu) niet actief.", T),
        *(FaultRule(f"IB90{n}", "Het ZIP-bestand is niet bruikbaar.", P) for n in range(1, 6)),
    ],
)

#: Every table, oldest first.
TABLES: tuple[FaultTable, ...] = (GGK_2018, GGK_2025_11)


def table_for(day: dt.date) -> FaultTable:
    """The newest table whose ``valid_from`` is on or before ``day``."""
    chosen = TABLES[0]
    for table in TABLES:
        if table.valid_from <= day:
            chosen = table
    return chosen


def classify(code: str, *, day: dt.date | None = None, table: FaultTable | None = None) -> FaultRule:
    """The rule for ``code``: from ``table`` (default :func:`table_for` ``day``, default today),
    else from the other tables (newest first); a code in no table is permanent ("onbekende
    foutcode")."""
    first = table or table_for(day or dt.date.today())
    for t in (first, *reversed(TABLES)):
        rule = t.get(code)
        if rule is not None:
            return rule
    return FaultRule(code, f"Onbekende foutcode {code}.", P)


def fault_error(
    fo03: Fo03, *, status: int | None = None, endpoint: str | None = None, day: dt.date | None = None
) -> TransportError:
    """The error for a Fo03 answer: :class:`~ieb.transport.errors.TransientFaultError` when its
    code is transient (or the answer was HTTP 503), else
    :class:`~ieb.transport.errors.DeliveryRejectedError`."""
    body = fo03.body
    rule = classify(body.code, day=day)
    if rule.kind is FaultKind.TRANSIENT or status == 503:
        return TransientFaultError(
            f"tijdelijke weigering {body.code}: {body.omschrijving}",
            fault=fo03,
            code=body.code,
            location=f"Fo03 plek={body.plek}",
            endpoint=endpoint,
            referentienummer=fo03.stuurgegevens.cross_refnummer,
            status=status,
            hint="niets te doen: hetzelfde bericht gaat later opnieuw",
        )
    return DeliveryRejectedError(fo03, status=status, endpoint=endpoint)


#: after this many resends for transient Fo01s the delivery is marked ``technical`` (about 2.5 days)
FO01_MAX_RESENDS = 12


def resend_if_transient(
    outbox: Outbox, code: str, referentienummer: str, *, day: dt.date | None = None
) -> bool:
    """A Fo01 with ``code`` arrived for the envelope ``referentienummer``: when the code is
    transient and the envelope was resent fewer than :data:`FO01_MAX_RESENDS` times for such a
    Fo01, put it back in the outbox (the same envelope) after :func:`fo01_retry_delay` and return
    True; the caller then leaves its delivery ``pending``. False: mark it as refused."""
    rule = classify(code, day=day)
    if rule.kind is not FaultKind.TRANSIENT:
        return False
    resends = outbox.fault_resends(referentienummer)
    if resends >= FO01_MAX_RESENDS:
        return False
    delay = fo01_retry_delay(resends)
    reason = f"Fo01 {code} (tijdelijk: {rule.omschrijving}); opnieuw over {delay / 60:.0f} min"
    return outbox.resend_after_fault(referentienummer, reason, delay)


def fo01_retry_delay(resends: int) -> float:
    """Seconds before a message whose Fo01 was transient goes out again, after ``resends`` earlier
    resends for a Fo01: 10 minutes, doubling, at most 6 hours."""
    return float(min(6 * 3600, 600 * (2 ** max(0, resends))))
