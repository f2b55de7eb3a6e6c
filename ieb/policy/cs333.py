"""Rule CS333 (retourcode S333), the one definition used by the validator, the planner and the
kostprijs module.

The retourcode's text is "Kostprijsbedrag niet groter dan nationaal tarief": a KostprijsBedrag must be
**greater than** the national maximum abonnementstarief in force on the KostprijsStartdatum, so an
amount *equal* to the tariff is rejected. Amounts in eurocent. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt

from ieb.policy.tariffs import NATIONAL_TARIFFS, Tariff, TariffTable

__all__ = ["cs333_message", "cs333_tariff"]


def cs333_tariff(
    kostprijs_bedrag: int, kostprijs_startdatum: dt.date, table: TariffTable | None = None
) -> Tariff | None:
    """The national tariff that ``kostprijs_bedrag`` (eurocent) fails against, or None when it passes.

    CS333 fails when ``kostprijs_bedrag <= tariff`` on ``kostprijs_startdatum`` (equal fails).
    Raises :class:`ieb.errors.ConfigurationError` when ``table`` (default the national table) has no
    tariff on that date; callers decide what that means (the validator leaves such dates to CS332/CS334).
    """
    tariff = (table or NATIONAL_TARIFFS).on(kostprijs_startdatum)
    return tariff if kostprijs_bedrag <= tariff.bedrag_cent else None


def cs333_message(kostprijs_bedrag: int, kostprijs_startdatum: dt.date, tariff: Tariff) -> str:
    """The clerk's message (Dutch) for a CS333 failure."""
    hoe = "gelijk aan" if kostprijs_bedrag == tariff.bedrag_cent else "lager dan"
    return (
        f"KostprijsBedrag {kostprijs_bedrag / 100:.2f} euro is {hoe} het nationale tarief van "
        f"{tariff.bedrag_cent / 100:.2f} euro op {kostprijs_startdatum.isoformat()}; de kostprijs moet "
        "groter zijn dan het tarief (CS333). Stuur geen kostprijs mee, of controleer het bedrag (in eurocent)."
    )
