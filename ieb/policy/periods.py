"""From voorzieningen and delivery events to per-person contribution periods (for the ledger planner).

Public API::

    derive_periods(voorzieningen, gebeurtenissen=(), parameters=None, *, table=None) -> list[Period]

A :class:`Period` is one start .. stop of the contribution of one person (one EbStartNummer in the
ledger): ``bsn``, ``start``, ``stop`` (``None``: still running), ``kostprijs_cent`` and
``kostprijs_start`` (the kostprijs to send, ``None`` when none applies), ``stop_reden`` and the
chronological ``kostprijzen`` (a new entry only where a change with a new kostprijs is needed).

Steps:

1. Per voorziening the gemeente's :class:`~ieb.policy.parameters.StartTrigger` for its category
   gives its intervals: the beschikking dates (``start``/``stop`` of the voorziening), the iWmo 301
   toewijzing, the 305 start zorg / 307 stop zorg of the provider, or the first/last 303
   declaration. Categories that are not bijdrageplichtig (rolstoelen, non-designated algemene
   voorzieningen, categories the gemeente left out) are skipped.
2. The intervals of one voorziening are merged with the gemeente's pause rule
   (``parameters.pauzeregel``, :func:`ieb.policy.months.merge_intervals`); an interval of a kostprijs item is cut at its
   virtual end date (the kostprijs counted at the national tariff), and what remains of the
   kostprijs is carried over to the next interval after a pause ("send the remaining kostprijs
   again").
3. All intervals of one person are merged again with the pause rule: only the first voorziening
   triggers a start, only the end of the last one a stop. The interval that ends last governs the
   stop; when it is a kostprijs item, the period carries that kostprijs (the longest-running one).

Household rules (age, AOW age, Wlz, minima, exemptions) do not change the periods: the CAK applies
them when it invoices. See :func:`ieb.policy.household.estimate_household` for the amounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from ieb.policy.errors import PolicyInputError
from ieb.policy.kostprijs import (
    KostprijsEnd,
    check_kostprijs,
    counted_cent,
    needs_kostprijs_change,
    virtual_end,
)
from ieb.policy.months import (
    Interval,
    Month,
    PauseRule,
    first_charged_month,
    merge_intervals,
    pause_has_effect,
)
from ieb.policy.parameters import (
    DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN,
    Cent,
    GemeenteParameters,
    StartTrigger,
    VoorzieningKind,
)
from ieb.policy.tariffs import TariffTable
from ieb.types import Bsn, Datum

__all__ = [
    "Event",
    "EventKind",
    "KostprijsState",
    "Period",
    "StopReason",
    "Voorziening",
    "derive_periods",
    "voorziening_pieces",
]


class Voorziening(BaseModel):
    """One voorziening of one person: beschikking ``start``/``stop`` and an optional kostprijs.

    ``id``: unique within one call (default: its index); ``bsn``: 9 digits (11-proef); ``soort``: a
    :class:`~ieb.policy.VoorzieningKind`; ``start``/``stop``: dates, ``stop`` inclusive or None;
    ``kostprijs_cent``: eurocent, only for a hulpmiddel or woningaanpassing (kostprijsbewaking).
    Raises :class:`~ieb.policy.PolicyInputError` (``stop``, ``kostprijs_cent``) when ``stop`` lies
    before ``start`` or a kostprijs is given for another soort.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    bsn: Bsn
    soort: VoorzieningKind
    start: Datum
    stop: Datum | None = None
    kostprijs_cent: Cent | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.stop is not None and self.stop < self.start:
            raise PolicyInputError(
                "stop",
                f"de stopdatum {self.stop.isoformat()} ligt voor de startdatum {self.start.isoformat()} "
                f"(persoon {self.bsn.masked}, {self.soort.value}); controleer beide datums",
            )
        if self.kostprijs_cent is not None and not self.soort.heeft_kostprijs:
            raise PolicyInputError(
                "kostprijs_cent",
                "een kostprijs hoort alleen bij een hulpmiddel of woningaanpassing, niet bij "
                f"{self.soort.value} (persoon {self.bsn.masked}); laat kostprijs_cent leeg (null)",
            )
        return self


class EventKind(StrEnum):
    """A delivery event reported by the provider (iWmo) for one voorziening."""

    TOEWIJZING = "301"  # toewijzing: datum = ingangsdatum, einddatum = einddatum (optional)
    START_ZORG = "305"  # start zorg: datum
    STOP_ZORG = "307"  # stop zorg: datum
    DECLARATIE = "303"  # declaratie: datum = begin, einddatum = einde van de gedeclareerde periode


class Event(BaseModel):
    """An event about voorziening ``voorziening_id``: an iWmo message of the provider.

    ``soort``: 301 toewijzing, 305 start zorg, 307 stop zorg or 303 declaratie; ``datum`` and
    ``einddatum`` (dates, inclusive) as :class:`EventKind` describes. Raises
    :class:`~ieb.policy.PolicyInputError` (``gebeurtenissen.einddatum``) when ``einddatum`` lies
    before ``datum`` or a declaratie has none.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    voorziening_id: str
    soort: EventKind
    datum: Datum
    einddatum: Datum | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.einddatum is not None and self.einddatum < self.datum:
            raise PolicyInputError(
                "gebeurtenissen.einddatum",
                f"einddatum {self.einddatum.isoformat()} ligt voor datum {self.datum.isoformat()} "
                f"(voorziening {self.voorziening_id!r}, bericht {self.soort.value})",
            )
        if self.soort is EventKind.DECLARATIE and self.einddatum is None:
            raise PolicyInputError(
                "gebeurtenissen.einddatum",
                f"een declaratie (303) heeft een einddatum nodig (voorziening {self.voorziening_id!r})",
            )
        return self


class StopReason(StrEnum):
    """Why a :class:`Period` stops (``Period.stop_reden``; the value is the JSON word).

    ``EINDE_VOORZIENING``: the last voorziening of the person ends (beschikking or delivery
    trigger); ``KOSTPRIJS_BEREIKT``: the kostprijs is used up, and ``Period.stop`` is the virtual
    end date (the last day of the stop month; kostprijsbewaking, checklist 1.1.4).
    """

    EINDE_VOORZIENING = "einde_voorziening"
    KOSTPRIJS_BEREIKT = "kostprijs_bereikt"


@dataclass(frozen=True, slots=True)
class KostprijsState:
    """A kostprijs to send from ``vanaf`` (in the start message, or in a change)."""

    vanaf: dt.date
    kostprijs_cent: int
    voorziening_id: str


@dataclass(frozen=True, slots=True)
class Piece:
    """One interval of one voorziening, with its kostprijs bookkeeping (internal, but inspectable)."""

    voorziening: Voorziening
    interval: Interval
    kostprijs_start_cent: int | None = None  # remaining kostprijs at the start of this interval
    einde: KostprijsEnd | None = None  # set when the kostprijs is used up within this interval

    @property
    def eerste_maand(self) -> Month:
        """The first month this piece counts against its kostprijs (the month rule: after the start month)."""
        return first_charged_month(self.interval.start)

    def counted_through(self, month: Month, table: TariffTable | None = None) -> int:
        """What this piece counted against the kostprijs up to and including ``month``."""
        if self.kostprijs_start_cent is None:
            return 0
        last = month
        if self.interval.stop is not None:
            last = min(last, Month.of(self.interval.stop))
        return min(self.kostprijs_start_cent, counted_cent(self.eerste_maand.until(last), table))


@dataclass(frozen=True, slots=True)
class Period:
    """The contribution of one person from ``start`` to ``stop`` (``None``: not stopped).

    ``kostprijs_cent``/``kostprijs_start``: the kostprijs of the longest-running kostprijs item, as
    to be sent (after a pause: the remaining kostprijs, from the new start). ``None`` when the period
    does not end through a kostprijs (e.g. huishoudelijke hulp runs longer). ``restant_stopmaand_cent``:
    when the kostprijs is reached, the most that may be charged in the stop month.
    """

    bsn: Bsn
    start: dt.date
    stop: dt.date | None
    kostprijs_cent: int | None = None
    kostprijs_start: dt.date | None = None
    stop_reden: StopReason | None = None
    restant_stopmaand_cent: int | None = None
    voorziening_ids: tuple[str, ...] = ()
    kostprijzen: tuple[KostprijsState, ...] = field(default=())

    @property
    def interval(self) -> Interval:
        """The period as an :class:`~ieb.policy.months.Interval` (``start``..``stop``, dates inclusive)."""
        return Interval(self.start, self.stop)


def _raw_intervals(v: Voorziening, events: Sequence[Event], trigger: StartTrigger) -> list[Interval]:
    if trigger is StartTrigger.BESCHIKKING:
        return [Interval(v.start, v.stop)]
    own = sorted((e for e in events if e.voorziening_id == v.id), key=lambda e: (e.datum, e.soort.value))
    if trigger is StartTrigger.TOEWIJZING:
        return [Interval(e.datum, e.einddatum) for e in own if e.soort is EventKind.TOEWIJZING]
    if trigger is StartTrigger.DECLARATIE:
        declared = [e for e in own if e.soort is EventKind.DECLARATIE]
        if not declared:
            return []
        last_end = max(e.einddatum or e.datum for e in declared)
        return [Interval(declared[0].datum, last_end if v.stop is not None else None)]
    intervals: list[Interval] = []
    open_start: dt.date | None = None
    for e in own:
        if e.soort is EventKind.START_ZORG and open_start is None:
            open_start = e.datum
        elif e.soort is EventKind.STOP_ZORG:
            if open_start is None:
                raise PolicyInputError(
                    "gebeurtenissen",
                    f"stop zorg (307) op {e.datum.isoformat()} zonder voorafgaande start zorg (305) "
                    f"voor voorziening {v.id!r}; controleer de berichten van de aanbieder",
                )
            intervals.append(Interval(open_start, e.datum))
            open_start = None
    if open_start is not None:
        intervals.append(Interval(open_start, None))
    return intervals


def voorziening_pieces(
    v: Voorziening,
    events: Sequence[Event] = (),
    trigger: StartTrigger = StartTrigger.BESCHIKKING,
    table: TariffTable | None = None,
    rule: PauseRule = PauseRule.LONGER_THAN_CALENDAR_MONTH,
) -> list[Piece]:
    """The intervals of one voorziening after the pause ``rule``, kostprijs items cut at their end."""
    intervals = merge_intervals(_raw_intervals(v, events, trigger), rule)
    if v.kostprijs_cent is None or not intervals:
        return [Piece(v, iv) for iv in intervals]
    check_kostprijs(v.kostprijs_cent, intervals[0].start, table)
    pieces: list[Piece] = []
    remaining = v.kostprijs_cent
    for iv in intervals:
        if remaining <= 0:
            break
        first = first_charged_month(iv.start)
        end = virtual_end(remaining, first, table)
        stop_month = None if iv.stop is None else Month.of(iv.stop)
        if end is not None and (stop_month is None or end.stop_month <= stop_month):
            stop = end.virtual_end_date if iv.stop is None else min(iv.stop, end.virtual_end_date)
            pieces.append(Piece(v, Interval(iv.start, max(stop, iv.start)), remaining, end))
            remaining = 0
        else:
            pieces.append(Piece(v, iv, remaining, None))
            assert stop_month is not None
            remaining -= counted_cent(first.until(stop_month), table)
    return pieces


def _end_key(piece: Piece) -> tuple[int, dt.date, int]:
    # Open intervals end last; on equal dates the non-kostprijs item governs (no kostprijs stop needed).
    if piece.interval.stop is None:
        return (1, dt.date.max, 0)
    return (0, piece.interval.stop, 0 if piece.kostprijs_start_cent is not None else 1)


def _period(bsn: Bsn, group: list[Piece], table: TariffTable | None) -> Period:
    start = min(p.interval.start for p in group)
    governing = max(group, key=_end_key)
    stop = governing.interval.stop
    ids = tuple(dict.fromkeys(p.voorziening.id for p in sorted(group, key=lambda p: p.interval.start)))
    if governing.kostprijs_start_cent is None:
        return Period(
            bsn,
            start,
            stop,
            stop_reden=None if stop is None else StopReason.EINDE_VOORZIENING,
            voorziening_ids=ids,
        )
    history: list[tuple[KostprijsState, Piece]] = []
    for piece in sorted(
        (p for p in group if p.kostprijs_start_cent is not None), key=lambda p: p.interval.start
    ):
        assert piece.kostprijs_start_cent is not None
        entry = KostprijsState(piece.interval.start, piece.kostprijs_start_cent, piece.voorziening.id)
        if not history:
            history.append((entry, piece))
            continue
        current_entry, current = history[-1]
        left = current_entry.kostprijs_cent - current.counted_through(Month.of(piece.interval.start), table)
        if needs_kostprijs_change(left, entry.kostprijs_cent):
            history.append((entry, piece))
    if history[-1][1] is not governing:
        assert governing.kostprijs_start_cent is not None
        history.append(
            (
                KostprijsState(
                    governing.interval.start, governing.kostprijs_start_cent, governing.voorziening.id
                ),
                governing,
            )
        )
    reached = governing.einde is not None
    return Period(
        bsn,
        start,
        stop,
        kostprijs_cent=governing.kostprijs_start_cent,
        kostprijs_start=governing.interval.start,
        stop_reden=StopReason.KOSTPRIJS_BEREIKT
        if reached
        else (None if stop is None else StopReason.EINDE_VOORZIENING),
        restant_stopmaand_cent=governing.einde.stop_month_remainder_cent
        if governing.einde is not None
        else None,
        voorziening_ids=ids,
        kostprijzen=tuple(e for e, _ in history),
    )


def _group(pieces: list[Piece], rule: PauseRule) -> list[list[Piece]]:
    groups: list[list[Piece]] = []
    running_stop: dt.date | None = None
    is_open = False
    for piece in sorted(pieces, key=lambda p: p.interval.start):
        if groups and (is_open or not _separate(running_stop, piece.interval.start, rule)):
            groups[-1].append(piece)
        else:
            groups.append([piece])
            running_stop, is_open = None, False
        if piece.interval.stop is None:
            is_open = True
        elif running_stop is None or piece.interval.stop > running_stop:
            running_stop = piece.interval.stop
    return groups


def _separate(stop: dt.date | None, start: dt.date, rule: PauseRule) -> bool:
    return stop is not None and start > stop and pause_has_effect(stop, start, rule)


def derive_periods(
    voorzieningen: Sequence[Voorziening],
    gebeurtenissen: Sequence[Event] = (),
    parameters: GemeenteParameters | None = None,
    *,
    table: TariffTable | None = None,
) -> list[Period]:
    """The contribution periods per person, ordered by BSN and start date.

    ``parameters`` gives the bijdrageplichtige categories, the start trigger per category and the
    pause rule (default: the legal minimum exclusions, the beschikking dates and the VNG pause
    rule, see :func:`ieb.policy.months.pause_has_effect`). Voorzieningen without an id get
    ``"<index>"``; ids must be unique. Kostprijs amounts are eurocent, counted at the national
    tariff of each month (kostprijsbewaking, ``docs/policy.md`` section 6).

    Raises :class:`~ieb.policy.PolicyInputError` naming ``voorzieningen[i].<field>`` (a duplicate
    id, an event that does not fit), :class:`~ieb.policy.KostprijsError` (code ``CS333``) for a
    kostprijs not above one month of the national tariff, and
    :class:`~ieb.errors.ConfigurationError` when a kostprijs would be counted in 2019 or earlier.
    """
    soorten = parameters.bijdrageplichtige_soorten if parameters else DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN
    rule = parameters.pauzeregel if parameters else PauseRule.LONGER_THAN_CALENDAR_MONTH
    seen: set[str] = set()
    by_person: dict[Bsn, list[Piece]] = {}
    for index, v in enumerate(voorzieningen):
        if not v.id:
            v = v.model_copy(update={"id": str(index)})
        if v.id in seen:
            raise PolicyInputError(
                f"voorzieningen[{index}].id", f"id {v.id!r} komt twee keer voor; maak het uniek"
            )
        seen.add(v.id)
        if v.soort not in soorten:
            continue
        trigger = parameters.trigger(v.soort) if parameters else StartTrigger.BESCHIKKING
        try:
            pieces = voorziening_pieces(v, gebeurtenissen, trigger, table, rule)
        except PolicyInputError as exc:
            message = exc.message.split(": ", 1)[-1]
            raise type(exc)(f"voorzieningen[{index}].{exc.field}", message, code=exc.code) from None
        by_person.setdefault(v.bsn, []).extend(pieces)
    periods: list[Period] = []
    for bsn in sorted(by_person):
        periods.extend(_period(bsn, group, table) for group in _group(by_person[bsn], rule))
    return periods
