"""iEb 1.0's delivery mapping: a period change becomes WMO401 (start) and WMO403 (stop) records.

==========================================  =========================================================
change (receiver holds -> should hold)      records, in sending order
==========================================  =========================================================
nothing -> period                           WMO401 status 1 (start, kostprijs); WMO403 status 1 if a stop
period -> nothing                           WMO403 status 3 if a stop; WMO401 status 3
start or kostprijs changed                  WMO401 status 2 (with the current values)
stop added / changed / removed              WMO403 status 1 / 2 / 3
start moves past the old stop               the stop record goes first (TR328: no start after its stop)
==========================================  =========================================================

The Bsn of a period cannot change under its EbStartNummer (TR103/TR329): such a change raises
ValueError; the planner withdraws the period and starts a new one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from ieb.releases.ieb_1_0.table import START, STOP
from ieb.releases.pack import Period, PeriodChange, PlannedRecord

__all__ = ["IEB_1_0_DELIVERY", "Ieb10Delivery"]


def _start(period: Period, status: str) -> PlannedRecord:
    return PlannedRecord(
        START.name,
        status,
        period.eb_start_nummer,
        period.bsn,
        period.startdatum,
        kostprijs_bedrag=period.kostprijs_bedrag,
        kostprijs_startdatum=period.kostprijs_startdatum,
    )


def _stop(period: Period, status: str, stopdatum: dt.date) -> PlannedRecord:
    return PlannedRecord(STOP.name, status, period.eb_start_nummer, period.bsn, stopdatum)


class Ieb10Delivery:
    """The :class:`~ieb.releases.pack.DeliveryMapping` of iEb 1.0 (see the module table)."""

    def records(self, change: PeriodChange) -> tuple[PlannedRecord, ...]:
        """The WMO401/WMO403 records for ``change`` in sending order; raises ValueError when the Bsn
        or EbStartNummer differs between ``before`` and ``after``."""
        before, after = change.before, change.after
        if before is None and after is None:
            return ()
        if before is None:
            assert after is not None
            first = [_start(after, "1")]
            if after.stopdatum is not None:
                first.append(_stop(after, "1", after.stopdatum))
            return tuple(first)
        if after is None:
            last = [_stop(before, "3", before.stopdatum)] if before.stopdatum is not None else []
            return (*last, _start(before, "3"))
        if before.bsn != after.bsn or before.eb_start_nummer != after.eb_start_nummer:
            raise ValueError(
                "een periode kan niet van Bsn of EbStartNummer wisselen; trek haar in en begin een nieuwe"
            )
        start: list[PlannedRecord] = []
        if (before.startdatum, before.kostprijs_bedrag, before.kostprijs_startdatum) != (
            after.startdatum,
            after.kostprijs_bedrag,
            after.kostprijs_startdatum,
        ):
            start.append(_start(after, "2"))
        stop: list[PlannedRecord] = []
        if before.stopdatum is None and after.stopdatum is not None:
            stop.append(_stop(after, "1", after.stopdatum))
        elif before.stopdatum is not None and after.stopdatum is None:
            stop.append(_stop(before, "3", before.stopdatum))
        elif after.stopdatum is not None and before.stopdatum != after.stopdatum:
            stop.append(_stop(after, "2", after.stopdatum))
        stop_first = before.stopdatum is not None and after.startdatum > before.stopdatum
        return tuple(stop + start if stop_first else start + stop)

    def apply(self, before: Period | None, record: PlannedRecord) -> Period | None:
        """The period after the receiver accepted ``record``; raises ValueError when the record does
        not fit ``before`` (a change or stop of no period, a second start, another message)."""
        if record.bericht == START.name:
            if record.status == "1":
                if before is not None:
                    raise ValueError(f"start nr {record.eb_start_nummer} bestaat al (TR102)")
                return Period(
                    record.eb_start_nummer,
                    record.bsn,
                    record.datum,
                    None,
                    record.kostprijs_bedrag,
                    record.kostprijs_startdatum,
                )
            if before is None:
                raise ValueError(f"geen start nr {record.eb_start_nummer} om te wijzigen (TR071)")
            if record.status == "3":
                return None
            return dataclasses.replace(
                before,
                startdatum=record.datum,
                kostprijs_bedrag=record.kostprijs_bedrag,
                kostprijs_startdatum=record.kostprijs_startdatum,
            )
        if record.bericht == STOP.name:
            if before is None:
                raise ValueError(f"geen start nr {record.eb_start_nummer} bij deze stop (TR330)")
            return dataclasses.replace(before, stopdatum=None if record.status == "3" else record.datum)
        raise ValueError(f"{record.bericht} is geen heenbericht van iEb 1.0")


IEB_1_0_DELIVERY = Ieb10Delivery()
