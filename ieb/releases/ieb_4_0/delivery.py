"""iEb 4.0's delivery mapping: a period change becomes ONE WMO405 record.

==========================================  =====================================================
change (receiver holds -> should hold)      record
==========================================  =====================================================
nothing -> period (with or without stop)    WMO405 status 1: EbStartdatum, EbStopdatum if any, kostprijs
period -> nothing                           WMO405 status 3 (the period as the receiver holds it)
start, stop or kostprijs changed            WMO405 status 2 with the whole period as it should be
(adding a stop is a change)
==========================================  =====================================================

Public (TR394): a stop is a status-2 change that adds EbStopdatum; start and stop travel in one record.
ASSUMED: a status-2 record carries the whole period, so a status-2 record without EbStopdatum
removes a stop the receiver held. The Bsn and EbStartNummer of a period cannot change (ValueError;
the planner withdraws the period and starts a new one).
"""

from __future__ import annotations

from ieb.releases.pack import Period, PeriodChange, PlannedRecord

__all__ = ["IEB_4_0_DELIVERY", "WMO405", "Ieb40Delivery"]

#: The heenbericht that carries periods of eigen bijdrage (the one place this module names it).
WMO405 = "WMO405"


def _record(period: Period, status: str) -> PlannedRecord:
    return PlannedRecord(
        WMO405,
        status,
        period.eb_start_nummer,
        period.bsn,
        period.startdatum,
        stopdatum=period.stopdatum,
        kostprijs_bedrag=period.kostprijs_bedrag,
        kostprijs_startdatum=period.kostprijs_startdatum,
    )


class Ieb40Delivery:
    """The :class:`~ieb.releases.pack.DeliveryMapping` of iEb 4.0 (see the module table)."""

    def records(self, change: PeriodChange) -> tuple[PlannedRecord, ...]:
        """At most one WMO405 record for ``change``; raises ValueError when the Bsn or EbStartNummer
        differs between ``before`` and ``after``."""
        before, after = change.before, change.after
        if before is None and after is None:
            return ()
        if before is None:
            assert after is not None
            return (_record(after, "1"),)
        if after is None:
            return (_record(before, "3"),)
        if before.bsn != after.bsn or before.eb_start_nummer != after.eb_start_nummer:
            raise ValueError(
                "een periode kan niet van Bsn of EbStartNummer wisselen; trek haar in en begin een nieuwe"
            )
        if before == after:
            return ()
        return (_record(after, "2"),)

    def apply(self, before: Period | None, record: PlannedRecord) -> Period | None:
        """The period after the receiver accepted ``record``; raises ValueError when the record does
        not fit ``before`` (a change or delete of no period: TR063; a second status 1; another
        message)."""
        if record.bericht != WMO405:
            raise ValueError(f"{record.bericht} is geen periodebericht van iEb 4.0")
        if record.status == "1":
            if before is not None:
                raise ValueError(f"periode nr {record.eb_start_nummer} bestaat al; wijzig haar met status 2")
            return _period(record)
        if before is None:
            raise ValueError(f"geen eerdere aanlevering van periode nr {record.eb_start_nummer} (TR063)")
        if record.status == "3":
            return None
        if record.status == "2":
            return _period(record)
        raise ValueError(f"StatusAanlevering {record.status!r} bestaat niet in iEb 4.0")


def _period(record: PlannedRecord) -> Period:
    return Period(
        record.eb_start_nummer,
        record.bsn,
        record.datum,
        record.stopdatum,
        record.kostprijs_bedrag,
        record.kostprijs_startdatum,
    )


IEB_4_0_DELIVERY = Ieb40Delivery()
