"""History rules (level 3): one addressable check per rule code, each with its retourcode, on a
release-neutral history of deliveries.

The same checks serve both sides of the exchange:

* the municipality's pre-flight (:mod:`ieb.ledger.planner`), against its own ledger of accepted
  *and pending* deliveries, before anything is queued;
* the CAK side (:mod:`ieb.simulator.cak`), against the CAK's ledger of accepted deliveries.

A check looks at one incoming :class:`Delivery` and a :class:`History` (the earlier deliveries that
count) and returns an :class:`~ieb.validation.report.Issue` or nothing. Run one rule with
``history_rule("TR071").check(delivery, history)`` or the rules of the delivery's release with
:func:`check_history`.

**Release-neutral.** This module names no message. A delivery's message is looked up in the release
packs (:func:`message_row`): its berichtklasse, key and date element come from the pack's table, and
its *role* from the pack's delivery mapping (:func:`roles`): the **start record** is the heenbericht
that opens a period (the mapping applies its status 1 to no period), a **stop record** the
heenbericht that closes one in a class of its own (a release whose one record carries start and
stop has none). The rules are defined here once, in those terms, and a pack lists the codes it uses
(:class:`ieb.releases.pack.RuleSet`, ``history``); :func:`check_history` runs the listed ones.

Interpretation notes for the rules of iEb 1.0 (spec section 6; **[I]** marks an inferred detail, see
docs/ledger.md):

* The logical key of a start is (Afzender, EbStartNummer); a stop has the same key in its own class.
* TR102 [I]: a start with status 1 is refused when the EbStartNummer was ever used for a start
  (OP290, also after a deletion); a stop with status 1 is refused while a (not deleted) stop exists.
* TR330 [I]: a stop whose Bsn differs from the start's Bsn counts as "no current start".
* TR328 [I]: also checked on a changed start (status 2) against the current stop.
* OP291 [I]: "one current start per Bsn" read as: after the delivery, no two current periods of the
  same Bsn share a day (a period is start..stop, open-ended without a stop). A new start (start
  record, status 1) is open-ended, so it is refused when another current period runs on or after
  its EbStartdatum (an open start from 2026-01-01 next to a current start from 2026-06-01); a change
  (start status 2, stop status 1/2/3) is refused when the period it leaves overlaps another, also
  when it only shortens an overlapping period. A deletion of a start never overlaps. Retourcode 9102
  (no code of its own).
* TR103 / TR329 [I]: a start with status 2 / 3 whose Bsn differs from the Bsn of the current start
  is refused (9103 / 9329): the later stop would otherwise be impossible (TR330).
* OP325 [I]: a second status 2 of the same record with the same Dagtekening; retourcode 9103.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ieb.errors import ConfigurationError, UnknownMessageError
from ieb.releases import default_registry
from ieb.releases.pack import MessageDef, Period, PeriodChange, PlannedRecord, ReleasePack, RuleKind
from ieb.types import RetourCode, mask_bsn
from ieb.validation.report import Issue
from ieb.validation.rules import add_months

__all__ = [
    "ALL_HISTORY_RULES",
    "HISTORY_RULES",
    "PERIOD_RULES",
    "Delivery",
    "History",
    "HistoryRule",
    "MemoryHistory",
    "PeriodState",
    "RecordState",
    "Roles",
    "check_history",
    "field_name",
    "history_rule",
    "message_row",
    "pack_of",
    "roles",
    "rules_for",
]

Role = Literal["start", "stop"]


def pack_of(bericht: str) -> ReleasePack:
    """The registered release pack whose table has heenbericht ``bericht`` (``default_registry``);
    raises :class:`~ieb.errors.UnknownMessageError` when no pack has it."""
    return _lookup(bericht.upper())[0]


def message_row(bericht: str) -> MessageDef:
    """The table row of ``bericht`` in its release pack (see :func:`pack_of`)."""
    return _lookup(bericht.upper())[1]


def _lookup(name: str) -> tuple[ReleasePack, MessageDef]:
    found = _cached_lookup(name)
    if found is None:
        _cached_lookup.cache_clear()  # a pack registered since: look again
        _roles_by_name.cache_clear()
        found = _cached_lookup(name)
    if found is None:
        known = ", ".join(m for p in default_registry for m in p.messages)
        raise UnknownMessageError(f"geen release kent bericht {name!r}; bekend: {known}")
    return found


@functools.lru_cache(maxsize=256)
def _cached_lookup(name: str) -> tuple[ReleasePack, MessageDef] | None:
    for pack in default_registry:
        row = pack.messages.get(name)
        if row is not None:
            return pack, row
    return None


@dataclass(frozen=True, slots=True)
class Roles:
    """The heenberichten of one release by role: ``start`` opens a period (its record carries
    EbStartdatum and, in a release with one record per period, the stop too); ``stop`` closes it in
    a class of its own, or None when the release has no separate stop record."""

    start: str
    stop: str | None


@functools.lru_cache(maxsize=64)
def _roles_of_pack(pack: ReleasePack) -> Roles:
    mapping = pack.require_delivery()
    opens: list[str] = []
    closes: list[str] = []
    day = dt.date(2020, 1, 1)
    # only the heenberichten the mapping plans for a period with a stop (a pack may have others,
    # e.g. iEb 4.0's beschermd-wonen record, that carry no eigen-bijdrage period)
    probe_period = Period(1, "999999990", day, dt.date(2020, 12, 31), None, None)
    planned = {r.bericht for r in mapping.records(PeriodChange(None, probe_period))}
    for row in pack.heen():
        if row.name not in planned:
            continue
        probe = PlannedRecord(row.name, "1", 1, "999999990", day)
        try:
            mapping.apply(None, probe)
        except ValueError:
            closes.append(row.name)
        else:
            opens.append(row.name)
    if len(opens) != 1 or len(closes) > 1:
        raise ConfigurationError(
            f"release {pack.name}: de leveringsafbeelding moet precies één heenbericht hebben dat een "
            f"periode opent en hoogstens één stopbericht (nu openend: {opens}, sluitend: {closes})"
        )
    return Roles(opens[0], closes[0] if closes else None)


def roles(bericht: str) -> Roles:
    """The start and stop record of the release that ``bericht`` belongs to, found by asking the
    pack's delivery mapping which heenbericht opens a period. Raises ConfigurationError for a pack
    without a usable mapping, UnknownMessageError for an unknown message."""
    return _roles_by_name(bericht.upper())


@functools.lru_cache(maxsize=256)
def _opens(bericht: str) -> bool:
    """True when ``bericht`` is its release's start record (:attr:`Delivery.is_start`, asked many
    times per planned message: cached per name, issue 22)."""
    return roles(bericht).start == bericht.upper()


@functools.lru_cache(maxsize=256)
def _roles_by_name(name: str) -> Roles:
    """:func:`roles` by message name (asked for every delivery by every history rule; cleared
    together with the message lookup when a pack is registered since)."""
    return _roles_of_pack(_lookup(name)[0])


def field_name(element: str) -> str:
    """An element name in the typed models' field style: ``EbStartNummer`` -> ``eb_start_nummer``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", element).lower()


def _stop_element(row: MessageDef) -> str | None:
    """The klasse element that carries a stop date beside the row's own date element (a record
    with start and stop), or None."""
    for path in row.klasse_fields:
        leaf = path[-1]
        if leaf != row.date_element and leaf.endswith("Stopdatum"):
            return leaf
    return None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery (the content of one heenbericht record), as the history rules see it.

    ``bericht``: the heenbericht's name in its release's table (for iEb 1.0 the start or the stop
    message); ``afzender``: the 4-digit CBS gemeentecode; ``identificatie`` and ``dagtekening`` (a
    date): the BerichtIdentificatie; ``bsn``: 9 digits (``repr`` masks it); ``eb_start_nummer``: the
    EbStartNummer (0..999999999), with ``afzender`` the logical key; ``status``: StatusAanlevering
    ``"1"``/``"2"``/``"3"`` (OP033); ``datum``: the value of the message's date element (EbStartdatum
    or EbStopdatum); ``kostprijs_bedrag`` (eurocent) and ``kostprijs_startdatum``: the EbKostprijs of
    a start, None otherwise; ``stopdatum``: the stop date of a record that carries start and stop
    together (a release with one record per period), None otherwise.
    """

    bericht: str
    afzender: str
    identificatie: str
    dagtekening: dt.date
    bsn: str
    eb_start_nummer: int
    status: str
    datum: dt.date
    kostprijs_bedrag: int | None = None
    kostprijs_startdatum: dt.date | None = None
    stopdatum: dt.date | None = None

    def __repr__(self) -> str:
        return (
            f"Delivery({self.bericht} {self.afzender}/{self.identificatie}/{self.dagtekening.isoformat()} "
            f"bsn={mask_bsn(self.bsn)} nr={self.eb_start_nummer} status={self.status} datum={self.datum.isoformat()} "
            f"kostprijs={self.kostprijs_bedrag}@{self.kostprijs_startdatum}"
            + (f" stop={self.stopdatum.isoformat()}" if self.stopdatum else "")
            + ")"
        )

    @property
    def row(self) -> MessageDef:
        """The message's row in its release's table."""
        return message_row(self.bericht)

    @property
    def is_start(self) -> bool:
        """True for the start record (it opens a period), False for a stop record (:func:`roles`)."""
        return _opens(self.bericht)

    @property
    def klasse(self) -> str:
        """The berichtklasse element (``StartEigenBijdrage``), from the release's table."""
        return self.row.klasse or "?"

    @property
    def datum_veld(self) -> str:
        """The name of the date element (``EbStartdatum``, ``EbStopdatum``), from the table."""
        return self.row.date_element or "?"

    def same_values(self, other: Delivery) -> bool:
        """All field values of the record equal (TR329)."""
        return (
            self.bsn == other.bsn
            and self.datum == other.datum
            and self.kostprijs_bedrag == other.kostprijs_bedrag
            and self.kostprijs_startdatum == other.kostprijs_startdatum
            and self.stopdatum == other.stopdatum
        )

    def location(self, element: str | None = None) -> str:
        """The XPath of the class (or of its ``element``) in the message, for an Issue's location,
        with the prefix the standard uses (``/p:Bericht/p:Client/p:<klasse>/p:<element>``)."""
        prefix = self.row.prefix
        path = f"/{prefix}:Bericht/{prefix}:Client/{prefix}:{self.klasse}"
        return path + (f"/{prefix}:{element}" if element else "")

    def describe(self) -> str:
        """A one-line Dutch description for a clerk, with the Bsn masked (``<bericht> start nr 7 (Bsn ...``)."""
        wat = "start" if self.is_start else "stop"
        stop = f" tot {self.stopdatum.isoformat()}" if self.stopdatum else ""
        return (
            f"{self.bericht} {wat} nr {self.eb_start_nummer} (Bsn {mask_bsn(self.bsn)}, status {self.status}, "
            f"{self.datum_veld} {self.datum.isoformat()}{stop})"
        )

    def record(self) -> PlannedRecord:
        """The record of this delivery as the release's delivery mapping sees it."""
        return PlannedRecord(
            self.bericht,
            self.status,
            self.eb_start_nummer,
            self.bsn,
            self.datum,
            self.stopdatum,
            self.kostprijs_bedrag,
            self.kostprijs_startdatum,
        )

    @classmethod
    def from_record(
        cls, record: PlannedRecord, afzender: str, identificatie: str, dagtekening: dt.date
    ) -> Delivery:
        """The delivery of a planned ``record`` with its BerichtIdentificatie."""
        return cls(
            record.bericht,
            afzender,
            identificatie,
            dagtekening,
            record.bsn,
            record.eb_start_nummer,
            record.status,
            record.datum,
            record.kostprijs_bedrag,
            record.kostprijs_startdatum,
            record.stopdatum,
        )

    @classmethod
    def from_message(cls, message: Any) -> Delivery:
        """The delivery carried by a parsed heenbericht model (values as typed by the model).

        Release-neutral: the model's table row (by its ``bericht`` name) names the klasse, key, date
        and kostprijs elements; the model's fields are those element names in snake_case
        (``client.start_eigen_bijdrage.eb_start_nummer``). Raises UnknownMessageError for a model
        no pack knows."""
        row = message_row(str(message.bericht))
        h = message.header
        klasse = getattr(message.client, field_name(row.klasse or ""))
        values: dict[str, Any] = {}
        for path in row.klasse_fields:
            value: Any = klasse
            for step in path:
                value = getattr(value, field_name(step), None) if value is not None else None
            values[path[-1]] = value
        status = values.get("StatusAanlevering")
        stop = _stop_element(row)
        return cls(
            row.name,
            str(h.afzender),
            str(h.bericht_identificatie.identificatie),
            h.bericht_identificatie.dagtekening,
            str(message.client.bsn),
            int(values[row.key_element or ""]),
            str(getattr(status, "value", status)),
            values[row.date_element or ""],
            values.get("KostprijsBedrag"),
            values.get("KostprijsStartdatum"),
            values.get(stop) if stop else None,
        )

    def to_message(self) -> Any:
        """The heenbericht model that carries this delivery (the inverse of :meth:`from_message`).

        The table row's model is built with its ``build(**values)`` classmethod: ``afzender``,
        ``identificatie``, ``dagtekening``, ``bsn``, ``status`` and the klasse's elements in
        snake_case (key, date element, ``kostprijs_bedrag``/``kostprijs_startdatum`` when the klasse
        has a kostprijs, the stop element of a record with start and stop). Raises
        ConfigurationError when the pack has no model for it, and the model's validation error
        (a ``ValueError``) when a value does not fit its XSD type, e.g. an Afzender of 3 digits.
        """
        row = self.row
        if row.model is None or not hasattr(row.model, "build"):
            raise ConfigurationError(f"release {row.release} heeft geen model om {row.name} te bouwen")
        leaves = {path[-1] for path in row.klasse_fields}
        values: dict[str, Any] = {
            "afzender": self.afzender,
            "identificatie": self.identificatie,
            "dagtekening": self.dagtekening,
            "bsn": self.bsn,
            "status": self.status,
            field_name(row.key_element or ""): self.eb_start_nummer,
            field_name(row.date_element or ""): self.datum,
        }
        if "KostprijsBedrag" in leaves:
            values["kostprijs_bedrag"] = self.kostprijs_bedrag
            values["kostprijs_startdatum"] = self.kostprijs_startdatum
        stop = _stop_element(row)
        if stop is not None:
            values[field_name(stop)] = self.stopdatum
        return row.model.build(**values)


@dataclass(frozen=True, slots=True)
class RecordState:
    """The state of one record (a start or the stop of one EbStartNummer) after its deliveries."""

    deliveries: tuple[Delivery, ...] = ()

    @property
    def ever_first(self) -> bool:
        """A status 1 was ever accepted for this key."""
        return any(d.status == "1" for d in self.deliveries)

    @property
    def last(self) -> Delivery | None:
        """The latest delivery for this key, whatever its status; None when there was none."""
        return self.deliveries[-1] if self.deliveries else None

    @property
    def deleted(self) -> bool:
        """The latest delivery deleted the record (status 3)."""
        return bool(self.deliveries) and self.deliveries[-1].status == "3"

    @property
    def current(self) -> Delivery | None:
        """The record as it stands now (latest status 1 or 2 after the last deletion), or None."""
        current: Delivery | None = None
        for d in self.deliveries:
            if d.status == "1":
                current = d
            elif d.status == "2":
                if current is not None:
                    current = d
            else:
                current = None
        return current


@dataclass(frozen=True, slots=True)
class PeriodState:
    """A current start with its current stop (if any): one period of eigen bijdrage.

    A period runs from ``start.datum`` (EbStartdatum) up to and including ``stop.datum``
    (EbStopdatum), open-ended without a stop; OP291 compares the periods of one Bsn.
    """

    eb_start_nummer: int
    start: Delivery
    stop: Delivery | None

    def contains(self, day: dt.date) -> bool:
        """True when the date ``day`` lies in the period (start and stop dates inclusive)."""
        end = self.end
        return self.start.datum <= day and (end is None or day <= end)

    @property
    def end(self) -> dt.date | None:
        """The EbStopdatum of the current stop (or of the start record, in a release whose one
        record carries both), or None while the period is open-ended."""
        return self.stop.datum if self.stop else self.start.stopdatum

    def overlaps(self, start: dt.date, stop: dt.date | None) -> bool:
        """The period shares a day with ``start..stop`` (``None``: open-ended)."""
        end = self.end
        return (stop is None or self.start.datum <= stop) and (end is None or start <= end)


class History(Protocol):
    """The earlier deliveries that count (the ledger as one side sees it).

    The gemeente's pre-flight counts accepted and pending deliveries, the CAK only accepted ones;
    :class:`MemoryHistory` and :meth:`ieb.ledger.store.Ledger.history` implement it.
    """

    def record(self, afzender: str, eb_start_nummer: int, bericht: str) -> RecordState:
        """The deliveries of the record (``afzender``, ``eb_start_nummer``) in ``bericht``'s class, in order."""
        ...

    def periods_of(self, afzender: str, bsn: str) -> list[PeriodState]:
        """The current periods of ``bsn`` at ``afzender``, by start date then EbStartNummer (OP291)."""
        ...


@dataclass
class MemoryHistory:
    """A :class:`History` in memory: the deliveries in the order they were accepted."""

    _by_key: dict[tuple[str, int, str], list[Delivery]] = field(default_factory=dict)
    _numbers_by_bsn: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    _start_of: dict[tuple[str, int], str] = field(default_factory=dict)

    def __init__(self, deliveries: Iterable[Delivery] = ()) -> None:
        self._by_key = {}
        self._numbers_by_bsn = {}
        self._start_of = {}
        for d in deliveries:
            self.add(d)

    def add(self, delivery: Delivery) -> None:
        """Count ``delivery`` as accepted after every delivery added before it (no rule is checked)."""
        self._by_key.setdefault((delivery.afzender, delivery.eb_start_nummer, delivery.bericht), []).append(
            delivery
        )
        if delivery.is_start:
            self._start_of.setdefault((delivery.afzender, delivery.eb_start_nummer), delivery.bericht)
            numbers = self._numbers_by_bsn.setdefault((delivery.afzender, delivery.bsn), [])
            if delivery.eb_start_nummer not in numbers:
                numbers.append(delivery.eb_start_nummer)

    def identificatie_used(self, afzender: str, bericht: str, identificatie: str) -> bool:
        """True when a delivery of ``bericht`` by ``afzender`` with this Identificatie was added (TR056)."""
        return any(
            d.identificatie == identificatie and d.bericht == bericht and d.afzender == afzender
            for d in self.deliveries()
        )

    def deliveries(self) -> Iterator[Delivery]:
        """Every delivery added, grouped per record (in the order each record first appeared)."""
        for items in self._by_key.values():
            yield from items

    def record(self, afzender: str, eb_start_nummer: int, bericht: str) -> RecordState:
        """See :meth:`History.record`."""
        return RecordState(tuple(self._by_key.get((afzender, eb_start_nummer, bericht), ())))

    def periods_of(self, afzender: str, bsn: str) -> list[PeriodState]:
        """See :meth:`History.periods_of`: a start whose current Bsn is another person's does not count."""
        periods = []
        for nummer in self._numbers_by_bsn.get((afzender, bsn), []):
            role = roles(self._start_of[(afzender, nummer)])
            start = self.record(afzender, nummer, role.start).current
            if start is None or start.bsn != bsn:
                continue
            stop = self.record(afzender, nummer, role.stop).current if role.stop else None
            periods.append(PeriodState(nummer, start, stop))
        return sorted(periods, key=lambda p: (p.start.datum, p.eb_start_nummer))

    def bsns(self, afzender: str) -> list[str]:
        """Every Bsn (9 digits, sorted) that ``afzender`` ever sent a start for."""
        return sorted(b for (a, b) in self._numbers_by_bsn if a == afzender)


Check = Callable[[Delivery, History], "str | None"]


@dataclass(frozen=True)
class HistoryRule:
    """One history rule: its code, the retourcode the CAK reports, and the check.

    ``code``: the rule code of spec section 6 (``TR071`` ... ``TR330``, ``OP291``, ``OP325``);
    ``retourcode``: 9nnn for TRnnn (9102 for OP291, 9103 for OP325); ``title``: the rule in a few
    Dutch words; ``records``/``statuses``: the records (``"start"``, ``"stop"``: see :func:`roles`)
    and StatusAanlevering values it applies to; ``element``: the element an issue points at (default
    the class's date element).
    """

    code: str
    retourcode: RetourCode | str
    title: str
    records: frozenset[Role]
    statuses: frozenset[str]
    _check: Check = field(repr=False)
    element: str | None = None

    def applies_to(self, delivery: Delivery) -> bool:
        """True when the rule concerns this delivery's record (start or stop) and StatusAanlevering."""
        return ("start" if delivery.is_start else "stop") in self.records and delivery.status in self.statuses

    def check(self, delivery: Delivery, history: History) -> Issue | None:
        """The issue when ``delivery`` breaks this rule given ``history``, else None."""
        if not self.applies_to(delivery):
            return None
        return self._judge(delivery, history)

    def _judge(self, delivery: Delivery, history: History) -> Issue | None:
        """:meth:`check` for a delivery the rule applies to."""
        problem = self._check(delivery, history)
        if problem is None:
            return None
        element = self.element or delivery.datum_veld
        # the retourcode is the release's (iEb 4.0 has its own table); 0001 when the table names none
        retourcode = pack_of(delivery.bericht).retourcodes.retourcode(self.code) or "0001"
        return Issue(self.code, retourcode, 3, delivery.location(element), problem)


def _start(d: Delivery, h: History) -> RecordState:
    return h.record(d.afzender, d.eb_start_nummer, roles(d.bericht).start)


def _stop(d: Delivery, h: History) -> RecordState:
    stop = roles(d.bericht).stop
    return h.record(d.afzender, d.eb_start_nummer, stop) if stop else RecordState()


def _own(d: Delivery, h: History) -> RecordState:
    return _start(d, h) if d.is_start else _stop(d, h)


def _wat(d: Delivery) -> str:
    return "start" if d.is_start else "stop"


def _tr071(d: Delivery, h: History) -> str | None:
    stop = _stop(d, h).current
    if stop is None:
        return None
    return (
        f"De start met EbStartNummer {d.eb_start_nummer} heeft een stop ({stop.datum.isoformat()}); "
        f"verwijder eerst de stop ({roles(d.bericht).stop} status 3) en daarna de start."
    )


def _tr102(d: Delivery, h: History) -> str | None:
    own = _own(d, h)
    if d.is_start and own.deliveries:
        return (
            f"EbStartNummer {d.eb_start_nummer} is al eerder gebruikt voor een start; een nieuwe start "
            "(status 1) heeft een nieuw, binnen de gemeente uniek EbStartNummer nodig (OP290)."
        )
    if not d.is_start and own.current is not None:
        return (
            f"De start met EbStartNummer {d.eb_start_nummer} heeft al een stop "
            f"({own.current.datum.isoformat()}); wijzig die met status 2 in plaats van een nieuwe stop."
        )
    return None


def _tr103(d: Delivery, h: History) -> str | None:
    own = _own(d, h)
    if own.ever_first:
        current = own.current
        if d.is_start and current is not None and current.bsn != d.bsn:
            return (
                f"De start met EbStartNummer {d.eb_start_nummer} hoort bij een ander Bsn dan {mask_bsn(d.bsn)}; "
                "het Bsn van een start kan niet gewijzigd worden. Verwijder de start en stuur een nieuwe."
            )
        return None
    return (
        f"Er is geen eerdere {_wat(d)} (status 1) met EbStartNummer {d.eb_start_nummer} om te wijzigen; "
        "stuur eerst een eerste aanlevering."
    )


def _tr104(d: Delivery, h: History) -> str | None:
    if not _own(d, h).deleted:
        return None
    return (
        f"De {_wat(d)} met EbStartNummer {d.eb_start_nummer} is verwijderd en kan niet meer gewijzigd of "
        "verwijderd worden."
    )


def _tr114(d: Delivery, h: History) -> str | None:
    current = _start(d, h).current
    if current is not None and current.datum == d.datum:
        return None
    rev = pack_of(d.bericht).revision_on(d.dagtekening)  # 12 months until revision 1.0.3, 36 from 2021-07-19
    months = rev.months_back("TR114")
    limit = add_months(d.dagtekening, -months)
    if d.datum >= limit:
        return None
    return (
        f"De gewijzigde EbStartdatum {d.datum.isoformat()} ligt meer dan {months} maanden voor de dagtekening "
        f"{d.dagtekening.isoformat()} (grens {limit.isoformat()}, iEb-revisie {rev.name}) en is niet gelijk "
        "aan de huidige startdatum."
    )


def _tr115(d: Delivery, h: History) -> str | None:
    current = _start(d, h).current
    if current is not None and current.datum == d.datum:
        return None
    months = pack_of(d.bericht).revision_on(d.dagtekening).months_ahead("TR115")
    limit = add_months(d.dagtekening, months)
    if d.datum <= limit:
        return None
    return (
        f"De gewijzigde EbStartdatum {d.datum.isoformat()} ligt meer dan {months} maand na de dagtekening "
        f"{d.dagtekening.isoformat()} (grens {limit.isoformat()})."
    )


def _tr328(d: Delivery, h: History) -> str | None:
    if d.is_start and d.stopdatum is not None and d.stopdatum < d.datum:
        return (
            f"EbStopdatum {d.stopdatum.isoformat()} ligt voor de EbStartdatum {d.datum.isoformat()} van "
            f"EbStartNummer {d.eb_start_nummer}."
        )
    if d.is_start:
        stop = _stop(d, h).current
        if stop is not None and d.datum > stop.datum:
            return (
                f"De nieuwe EbStartdatum {d.datum.isoformat()} ligt na de EbStopdatum {stop.datum.isoformat()} "
                "van deze start; wijzig of verwijder eerst de stop."
            )
        return None
    start = _start(d, h).current
    if start is not None and d.datum < start.datum:
        return (
            f"EbStopdatum {d.datum.isoformat()} ligt voor de EbStartdatum {start.datum.isoformat()} van de "
            f"start met EbStartNummer {d.eb_start_nummer}."
        )
    return None


def _tr329(d: Delivery, h: History) -> str | None:
    own = _own(d, h)
    if own.deleted:
        return None  # TR104 reports a deleted record
    current = own.current
    if current is None:
        return f"Er is geen {_wat(d)} met EbStartNummer {d.eb_start_nummer} om te verwijderen."
    if current.same_values(d):
        return None
    return (
        f"Een verwijdering (status 3) moet alle waarden van de huidige {_wat(d)} herhalen "
        f"({current.datum_veld} {current.datum.isoformat()}"
        + (f", kostprijs {current.kostprijs_bedrag} cent" if current.kostprijs_bedrag is not None else "")
        + ")."
    )


def _tr330(d: Delivery, h: History) -> str | None:
    start = _start(d, h)
    current = start.current
    if current is not None and current.bsn == d.bsn:
        return None
    if current is not None:
        return (
            f"De start met EbStartNummer {d.eb_start_nummer} hoort bij een ander Bsn dan {mask_bsn(d.bsn)}."
        )
    if start.deleted:
        return f"De start met EbStartNummer {d.eb_start_nummer} is verwijderd; een stop is niet mogelijk."
    return f"Er is geen start met EbStartNummer {d.eb_start_nummer}; stuur eerst de start ({roles(d.bericht).start})."


def _resulting_period(d: Delivery, h: History) -> tuple[dt.date, dt.date | None] | None:
    """The period of ``d``'s EbStartNummer after ``d`` as (start, stop or None for open-ended), or
    None when ``d`` leaves no period (a deletion of the start) or there is no current start of this
    Bsn to stop (TR330 reports that)."""
    start, stop = _start(d, h).current, _stop(d, h).current
    if d.is_start:
        if d.status == "3":
            return None
        return d.datum, stop.datum if stop is not None else d.stopdatum
    if start is None or start.bsn != d.bsn:
        return None
    return start.datum, d.datum if d.status != "3" else None


def _op291(d: Delivery, h: History) -> str | None:
    """OP291 "one current start per Bsn": after ``d`` no two current periods of the Bsn share a day.

    A new start is open-ended until its stop arrives, so it may not begin before the end of another
    current period that is still running on or after its start (nor inside one). Every other delivery
    is judged by the period it leaves behind, also a stop that shortens a period that overlaps.
    """
    result = _resulting_period(d, h)
    if result is None:
        return None
    new_start, new_stop = result
    tot_nieuw = new_stop.isoformat() if new_stop else "open"
    for period in h.periods_of(d.afzender, d.bsn):
        if period.eb_start_nummer == d.eb_start_nummer:
            continue
        if not (period.overlaps(new_start, new_stop) or period.contains(new_start)):
            continue  # (contains: a start moved inside another period, even past its own stop)
        tot = period.end.isoformat() if period.end else "open"
        if d.is_start and d.status == "1":
            return (
                f"Bsn {mask_bsn(d.bsn)} heeft al een lopende start (EbStartNummer {period.eb_start_nummer}, "
                f"{period.start.datum.isoformat()} tot {tot}); een nieuwe start vanaf {new_start.isoformat()} "
                "loopt tot er een stop is en zou die overlappen. Per Bsn is er één actuele start: stop, "
                "wijzig of verwijder eerst die andere start."
            )
        return (
            f"Na deze aanlevering loopt de periode van EbStartNummer {d.eb_start_nummer} van "
            f"{new_start.isoformat()} tot {tot_nieuw} en overlapt die de lopende start van Bsn "
            f"{mask_bsn(d.bsn)} (EbStartNummer {period.eb_start_nummer}, {period.start.datum.isoformat()} "
            f"tot {tot}); per Bsn is er één actuele start. Wijzig eerst die andere periode."
        )
    return None


def _op325(d: Delivery, h: History) -> str | None:
    last = _own(d, h).last
    if last is not None and last.status == "2" and last.dagtekening == d.dagtekening:
        return (
            f"De {_wat(d)} met EbStartNummer {d.eb_start_nummer} is op {d.dagtekening.isoformat()} al gewijzigd; "
            "een wijziging vervangt de hele vorige aanlevering, twee wijzigingen op één dag kan niet. "
            "Stuur de wijziging met een latere dagtekening."
        )
    return None


def _parameter(d: Delivery, name: str, default: Any) -> Any:
    """A rule parameter of the revision of ``d``'s release in force on its Dagtekening."""
    try:
        return getattr(pack_of(d.bericht).revision_on(d.dagtekening), name, default)
    except ConfigurationError:
        return default


def _tr056(d: Delivery, h: History) -> str | None:
    """TR056 (iEb 4.0, from 2022-10-01): Identificatie unique per berichtsoort for the sender (a
    planner's placeholder ``"?"``, before identificaties are allocated, is not judged)."""
    if d.dagtekening < _parameter(d, "tr056_from", dt.date(2022, 10, 1)):
        return None
    used = getattr(h, "identificatie_used", None)
    if d.identificatie == "?" or used is None or not used(d.afzender, d.bericht, d.identificatie):
        return None
    return (
        f"Identificatie {d.identificatie} is al eerder gebruikt in een {d.bericht} van afzender {d.afzender}; "
        "een Identificatie is per berichtsoort voor altijd uniek. Stuur het bericht met een nieuwe Identificatie."
    )


def _tr063(d: Delivery, h: History) -> str | None:
    """TR063 (iEb 4.0, from 2025-04-07): a deletion (status 3) needs an earlier delivery of the key."""
    if d.dagtekening < _parameter(d, "tr063_from", dt.date(2025, 4, 7)):
        return None
    if h.record(d.afzender, d.eb_start_nummer, d.bericht).deliveries:
        return None
    return (
        f"Er is geen eerdere aanlevering met EbStartNummer {d.eb_start_nummer} om te verwijderen (status 3); "
        "controleer het EbStartNummer."
    )


def _start_window(d: Delivery, h: History, code: str) -> str | None:
    """TR393 / TR395: a changed start date (status 2) lies at or after Dagtekening minus the term,
    or equals the current start date of the same EbStartNummer."""
    current = h.record(d.afzender, d.eb_start_nummer, d.bericht).current
    if current is not None and current.datum == d.datum:
        return None
    months = int(_parameter(d, "tr393_months", 36))
    limit = add_months(d.dagtekening, -months)
    if d.datum >= limit:
        return None
    return (
        f"De gewijzigde {d.datum_veld} {d.datum.isoformat()} ligt meer dan {months} maanden voor de "
        f"dagtekening {d.dagtekening.isoformat()} (grens {limit.isoformat()}) en is niet gelijk aan de "
        f"huidige startdatum ({code})."
    )


def _tr393(d: Delivery, h: History) -> str | None:
    if not d.is_start:
        return None
    return _start_window(d, h, "TR393")


def _tr395(d: Delivery, h: History) -> str | None:
    if d.is_start or not d.datum_veld.startswith("Bw"):
        return None  # the beschermd-wonen record (BwStartdatum)
    return _start_window(d, h, "TR395")


_START: frozenset[Role] = frozenset({"start"})
_STOP: frozenset[Role] = frozenset({"stop"})
_BOTH: frozenset[Role] = frozenset({"start", "stop"})
_S1, _S2, _S3 = frozenset("1"), frozenset("2"), frozenset("3")

HISTORY_RULES: tuple[HistoryRule, ...] = (
    HistoryRule(
        "TR071",
        RetourCode.TR071,
        "Geen verwijdering van een start die een stop heeft",
        _START,
        _S3,
        _tr071,
        "StatusAanlevering",
    ),
    HistoryRule(
        "TR102",
        RetourCode.TR102,
        "Sleutel van een eerste aanlevering is uniek",
        _BOTH,
        _S1,
        _tr102,
        "EbStartNummer",
    ),
    HistoryRule(
        "TR103",
        RetourCode.TR103,
        "Wijziging heeft een eerdere eerste aanlevering",
        _BOTH,
        _S2,
        _tr103,
        "EbStartNummer",
    ),
    HistoryRule(
        "TR104",
        RetourCode.TR104,
        "Een verwijderd record kan niet gewijzigd worden",
        _BOTH,
        frozenset("23"),
        _tr104,
        "StatusAanlevering",
    ),
    HistoryRule(
        "TR114",
        RetourCode.TR114,
        "Gewijzigde EbStartdatum hoogstens 12 (vanaf revisie 1.0.3: 36) maanden terug",
        _START,
        _S2,
        _tr114,
    ),
    HistoryRule(
        "TR115", RetourCode.TR115, "Gewijzigde EbStartdatum hoogstens 1 maand vooruit", _START, _S2, _tr115
    ),
    HistoryRule(
        "TR328", RetourCode.TR328, "EbStopdatum niet voor de EbStartdatum", _BOTH, frozenset("12"), _tr328
    ),
    HistoryRule(
        "TR329",
        RetourCode.TR329,
        "Verwijdering herhaalt alle waarden",
        _BOTH,
        _S3,
        _tr329,
        "StatusAanlevering",
    ),
    HistoryRule(
        "TR330",
        RetourCode.TR330,
        "Stop hoort bij een niet-verwijderde start",
        _STOP,
        frozenset("123"),
        _tr330,
        "EbStartNummer",
    ),
    HistoryRule("OP291", RetourCode.TR102, "Eén actuele start per Bsn", _BOTH, frozenset("123"), _op291),
    HistoryRule(
        "OP325", RetourCode.TR103, "Eén wijziging per record per dag", _BOTH, _S2, _op325, "StatusAanlevering"
    ),
)

#: Rules of releases whose one record carries a whole period (iEb 4.0 lists them; their retourcodes
#: 9056, 9063, 9393, 9395 come from that release's table).
PERIOD_RULES: tuple[HistoryRule, ...] = (
    # iEb 4.0 (listed by the ieb-4.0 pack; retourcodes from its table: 9056, 9063, 9393, 9395)
    HistoryRule(
        "TR056",
        "9056",
        "Identificatie uniek per berichtsoort per afzender",
        _BOTH,
        frozenset("123"),
        _tr056,
        "EbStartNummer",
    ),
    HistoryRule(
        "TR063", "9063", "Verwijdering heeft een eerdere aanlevering", _BOTH, _S3, _tr063, "StatusAanlevering"
    ),
    HistoryRule("TR393", "9393", "Gewijzigde EbStartdatum hoogstens 36 maanden terug", _START, _S2, _tr393),
    HistoryRule("TR395", "9395", "Gewijzigde BwStartdatum hoogstens 36 maanden terug", _STOP, _S2, _tr395),
)
#: Every history rule defined here; a pack lists the codes it uses.
ALL_HISTORY_RULES: tuple[HistoryRule, ...] = HISTORY_RULES + PERIOD_RULES

_BY_CODE = {r.code: r for r in ALL_HISTORY_RULES}


def history_rule(code: str) -> HistoryRule:
    """The history rule with this code (``TR071`` ... ``OP325``).

    Raises ``KeyError`` (listing the known codes) for a code that is not a history rule.
    """
    try:
        return _BY_CODE[code]
    except KeyError:
        raise KeyError(f"geen historische regel {code!r}; bekend: {', '.join(_BY_CODE)}") from None


@functools.lru_cache(maxsize=64)
def _listed(pack: ReleasePack) -> tuple[HistoryRule, ...]:
    return pack.rules.select(RuleKind.HISTORY, ALL_HISTORY_RULES)


def rules_for(bericht: str) -> tuple[HistoryRule, ...]:
    """The history rules the release of ``bericht`` lists (its pack's ``rules.history``), in the
    pack's order. Raises ConfigurationError when the pack lists a code no rule here defines."""
    return _listed(pack_of(bericht))


def check_history(
    delivery: Delivery, history: History, rules: Sequence[HistoryRule] | None = None
) -> list[Issue]:
    """Every history issue of ``delivery`` against ``history`` (empty: acceptable).

    Each :class:`~ieb.validation.report.Issue` has level 3, the rule code and its retourcode, and a
    Dutch message with the Bsn masked; ``rules`` defaults to the rules the delivery's release pack
    lists (:func:`rules_for`; for iEb 1.0 those of spec section 6).
    """
    issues = []
    role = "start" if delivery.is_start else "stop"  # once, not once per rule (issue 22)
    status = delivery.status
    for rule in rules_for(delivery.bericht) if rules is None else rules:
        if role not in rule.records or status not in rule.statuses:
            continue  # HistoryRule.applies_to
        issue = rule._judge(delivery, history)
        if issue is not None:
            issues.append(issue)
    return issues
