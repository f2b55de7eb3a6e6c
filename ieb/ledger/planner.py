"""The planner: from the desired state per person to the minimal, ordered heenberichten of a release.

``plan(ledger, afzender, desired, today=...)`` compares the desired periods of each person with the
ledger (accepted and pending deliveries) and returns a :class:`Plan`: new starts, changes (status 2),
deletions (status 3, a stop before its start), stops, changed or deleted stops; a pause is a stop
plus a new start with a new EbStartNummer. Planning the same desired state again plans nothing.

Every planned message is checked before anything is recorded: the history rules
(:mod:`ieb.ledger.history`) in the order the messages will be sent, the windows TR112-TR117
relative to the Dagtekening (``today``), and finally the complete in-message validation
(XSD and every in-message rule: compiled for the planner's own messages in
:mod:`ieb.ledger.fastcheck`, with :func:`ieb.validation.validate_bytes` giving the exact issues
whenever there is one). A change that cannot be made within the rules is reported
as a :class:`PlanningError` naming the person (masked) and the rule, instead of producing a message
the CAK would reject. The plan is recorded (as ``pending`` deliveries) in one transaction.

Ordering per person: deletions of periods that are no longer wanted first, then changes of matched
periods, then new periods, each step taken only when it passes the rules against the state the
earlier steps leave (so a pause sends the stop before the new start, a stop is deleted before its
start, and when a boundary between two periods moves the later start moves before the earlier stop
is extended). When the preferred order gets stuck the other orders are searched (backtracking).
When no order works: a blocked change of a stop (for example a second change on the same day,
OP325) is sent as a deletion of the stop plus a new stop; a blocked change of a start makes the
period be deleted and sent again with a new EbStartNummer. The rule of the first blocked attempt is
reported first.

A step whose date lies more than 1 month after the Dagtekening (TR113 / TR115 / TR117) is not an
error: it is left out of the plan and listed in :attr:`Plan.deferred` with the first Dagtekening on
which it can be sent ("uitgesteld tot"); the other steps (the start of a period whose stop is far
ahead, the stop of a running period before a far-away new start) are planned now. Planning again on
or after that day produces the deferred step.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.errors import ConfigurationError
from ieb.ledger.convert import converted
from ieb.ledger.errors import PlanningError, PreflightError
from ieb.ledger.fastcheck import planned_message
from ieb.ledger.history import Delivery, MemoryHistory, PeriodState, check_history, pack_of
from ieb.ledger.store import Ledger
from ieb.policy.cs333 import cs333_message, cs333_tariff
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.releases import get_pack
from ieb.releases.compiled import eleven_proof
from ieb.releases.pack import DeliveryMapping, PeriodChange, ReleasePack
from ieb.releases.pack import Period as PackPeriod
from ieb.store.schema import deliveries
from ieb.tabular import MAX_ISSUES, RowIssue
from ieb.types import bsn_is_valid, mask_bsn
from ieb.validation.gemeenten import GemeenteLijst
from ieb.validation.report import Issue
from ieb.validation.rules import IEB_START, add_months

#: :func:`add_months` for the planner, which asks the same few (Dagtekening, months) shifts for every
#: planned message (a pure function of hashable dates; issue 22)
_months = functools.lru_cache(maxsize=4096)(add_months)

__all__ = [
    "Deferred",
    "Period",
    "Plan",
    "PlannedMessage",
    "desired_from_records",
    "person_problems",
    "plan",
    "read_desired",
    "record_problems",
    "window_issue",
]


@dataclass(frozen=True, slots=True)
class Period:
    """One desired period of eigen bijdrage: start, optional stop, optional kostprijs (eurocent)."""

    start: dt.date
    stop: dt.date | None = None
    kostprijs_bedrag: int | None = None
    kostprijs_startdatum: dt.date | None = None

    def overlaps(self, start: dt.date, stop: dt.date | None) -> bool:
        """True when this period shares at least one day with ``start``..``stop`` (both inclusive; ``None`` stop = open-ended)."""
        return (stop is None or self.start <= stop) and (self.stop is None or start <= self.stop)


# ---------------------------------------------------------------------- input


_DATE_HINT = "schrijf de datum als JJJJ-MM-DD (2026-05-01) of DD-MM-JJJJ (01-05-2026)"


def _date(value: Any, column: str, problems: list[RowIssue]) -> dt.date | None:
    """A date cell: a date object, ``JJJJ-MM-DD``, ``JJJJMMDD`` or Excel's ``DD-MM-JJJJ``
    (:func:`ieb.tabular.parse_datum`, the reader ``ieb reconcile`` uses too)."""
    from ieb.tabular import ValueProblem, parse_datum

    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return parse_datum(str(value))
    except ValueProblem as exc:
        problems.append(RowIssue(None, column, str(exc), _DATE_HINT))
        return None


def _int(value: Any, column: str, problems: list[RowIssue]) -> int | None:
    if value is None or value == "":
        return None
    hint = "een geheel bedrag in eurocent, zonder komma of punt (EUR 570,00 = 57000)"
    if isinstance(value, bool):
        problems.append(RowIssue(None, column, f"{value!r} is geen bedrag in eurocent", hint))
        return None
    try:
        return int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        problems.append(
            RowIssue(None, column, f"{str(value)[:20]!r} is geen geheel bedrag in eurocent", hint)
        )
        return None


def _get(record: Any, name: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def _fast_record(record: Any, gemeente: str | None) -> tuple[str, Period] | None:
    """The common row read quickly: a mapping with a valid 9-digit Bsn, an ISO ``start``, an
    empty or ISO ``stop``, no kostprijs, and an empty or 4-digit gemeente that is ``gemeente``
    (or any, when None). None for anything else: :func:`record_problems` then reads it in full,
    which gives the same result for such rows (a test compares both)."""
    if not isinstance(record, Mapping):
        return None
    get = record.get
    bsn, start, stop = get("bsn"), get("start"), get("stop")
    if not (type(bsn) is str and type(start) is str and _ISO_DAY.match(start)):
        return None
    if stop and not (type(stop) is str and _ISO_DAY.match(stop)):
        return None
    if get("kostprijs_cent") or get("kostprijs_start"):
        return None
    own = get("gemeente")
    if own and not (type(own) is str and len(own) == 4 and own.isdigit() and own == (gemeente or own)):
        return None
    if not (len(bsn) == 9 and bsn.isascii() and bsn.isdigit() and eleven_proof(bsn)):
        return None  # bsn_is_valid without its generic path (tests/releases/test_compiled.py)
    try:
        first = dt.date.fromisoformat(start)
        last = dt.date.fromisoformat(stop) if stop else None
    except ValueError:
        return None
    if not 1900 <= first.year <= 2100 or (last is not None and not 1900 <= last.year <= 2100):
        return None  # ieb.tabular.parse_datum's plausible years
    return bsn, Period(first, last)


def record_problems(
    record: Any, *, line: int | None = None, gemeente: str | None = None
) -> tuple[str | None, Period | None, list[RowIssue]]:
    """One desired-state record read as ``(bsn, period, problems)``: every problem of the record as
    a :class:`ieb.tabular.RowIssue` (with ``line``, the column and what to do). ``bsn`` is None
    when the record is skipped (another gemeente than ``gemeente``) or the Bsn is bad; ``period``
    is None for a record without ``start`` (the person has no period at all) or with problems.
    A gemeentecode or Bsn that lost its leading zeros in Excel gets them back
    (:func:`ieb.tabular.restore_zeros`)."""
    fast = _fast_record(record, gemeente)
    if fast is not None:
        return fast[0], fast[1], []
    from ieb.tabular import restore_zeros

    problems: list[RowIssue] = []
    own = restore_zeros(_get(record, "gemeente") or "", 4)
    if own and not (len(own) == 4 and own.isdigit()):
        problems.append(
            RowIssue(
                line, "gemeente", f"{own[:10]!r} is geen gemeentecode van 4 cijfers", "CBS-code, bv. 0363"
            )
        )
        return None, None, problems
    if gemeente is not None and own and own != gemeente:
        return None, None, []
    raw_bsn = _get(record, "bsn")
    bsn: str | None = restore_zeros(raw_bsn, 9) if raw_bsn is not None else ""
    if not bsn_is_valid(bsn or ""):
        # say what is wrong where "geen geldig ... (11-proef)" misleads: digits of another script
        # (fullwidth from a Japanese IME, Arabic-Indic) or separators ("999 900 018") may pass it
        if bsn and bsn.isdecimal() and not bsn.isascii():
            what = "bevat andere cijfers dan 0-9 (bijvoorbeeld brede of Arabische cijfers)"
            todo = "typ het BSN met de cijfers 0-9"
        elif bsn and any(c.isdecimal() for c in bsn) and not bsn.isdecimal():
            what = "bevat andere tekens dan cijfers (spaties, punten, letters)"
            todo = "typ alleen de 9 cijfers van het BSN"
        else:
            what, todo = "is geen geldig burgerservicenummer (11-proef)", "controleer het BSN (9 cijfers)"
        problems.append(
            RowIssue(
                None,
                "bsn",
                f"Bsn {mask_bsn(bsn)} {what}",
                todo,
                "CS002",  # the message rule the CAK would apply (retourcode 0001)
            )
        )
        bsn = None
    start = _date(_get(record, "start"), "start", problems)
    stop = _date(_get(record, "stop"), "stop", problems)
    bedrag = _int(_get(record, "kostprijs_cent"), "kostprijs_cent", problems)
    kstart = _date(_get(record, "kostprijs_start"), "kostprijs_start", problems)
    period: Period | None = None
    if start is None and not _get(record, "start"):
        if stop is not None or bedrag is not None:
            problems.append(
                RowIssue(
                    None,
                    "start",
                    "een regel zonder start mag geen stop of kostprijs hebben",
                    "vul start in, of maak stop en kostprijs leeg",
                )
            )
    elif start is not None:
        if bedrag is not None and kstart is None:
            kstart = start
        if kstart is not None and bedrag is None:
            problems.append(
                RowIssue(
                    None, "kostprijs_start", "kostprijs_start zonder kostprijs_cent", "vul kostprijs_cent in"
                )
            )
        period = Period(start, stop, bedrag, kstart)
    problems = [RowIssue(line, i.column, i.message, i.hint, i.code) for i in problems]
    return bsn, (None if problems else period), problems


def desired_from_records(
    records: Iterable[Any], *, source: str = "<input>", gemeente: str | None = None
) -> dict[str, list[Period]]:
    """Desired state from records (mappings or objects, e.g. ``ieb.policy`` periods) with the fields
    ``bsn``, ``start``, ``stop``, ``kostprijs_cent``, ``kostprijs_start`` and optionally ``gemeente``
    (4 digits). With ``gemeente`` only records of that gemeente (or without one) are read.

    One record per period. A record with an empty ``start`` says the person has no period at all
    (everything sent for them is deleted). ``kostprijs_start`` defaults to ``start`` when only
    ``kostprijs_cent`` is given. Dates are ``JJJJ-MM-DD`` or ``DD-MM-JJJJ``. Raises
    :class:`ieb.tabular.TableError` (an :class:`InputRowError`; ``location`` = ``source:n`` of the
    first) naming every problem of every bad record (``n``: the record's ``line`` attribute, else
    its position from 1), bounded by :data:`ieb.tabular.MAX_ISSUES`.
    """
    from ieb.tabular import TableError

    out: dict[str, list[Period]] = {}
    issues: list[RowIssue] = []
    for n, rec in enumerate(records, start=1):
        bsn, period, problems = record_problems(rec, line=int(getattr(rec, "line", n)), gemeente=gemeente)
        if problems:
            issues += problems
            if len(issues) >= MAX_ISSUES:
                issues.append(
                    RowIssue(None, None, f"meer dan {MAX_ISSUES} problemen; de rest is niet meer bekeken")
                )
                break
            continue
        if bsn is None:
            continue
        periods = out.setdefault(bsn, [])
        if period is not None:
            periods.append(period)
    if issues:
        raise TableError(source, issues)
    return out


def read_desired(path: str | os.PathLike[str]) -> dict[str, list[Period]]:
    """Read a desired-state file through :func:`ieb.tabular.read_table`: CSV (``,`` or ``;``, UTF-8
    or Windows-1252; header ``bsn,start,stop,kostprijs_cent,kostprijs_start``), a JSON array or JSON
    lines of such objects. See docs/ledger.md.

    Raises :class:`ieb.tabular.TableError` (an :class:`InputRowError`) listing every problem of
    every bad row (:func:`record_problems`) with its true line number (``file:4`` for line 4, the
    header being line 1) and column; an empty file is an error.
    """
    from ieb.tabular import TableError, read_table

    p = Path(path)
    table = read_table(
        p,
        name=str(p),
        required=("bsn", "start"),
        optional=("stop", "kostprijs_cent", "kostprijs_start", "gemeente"),
    )
    out: dict[str, list[Period]] = {}
    issues: list[RowIssue] = []
    for row in table.rows:
        bsn, period, problems = record_problems(row, line=row.line)
        issues += problems
        if len(issues) >= MAX_ISSUES:  # issue 21: bounded like the table reader
            issues.append(
                RowIssue(None, None, f"meer dan {MAX_ISSUES} problemen; de rest is niet meer bekeken")
            )
            break
        if problems or bsn is None:
            continue
        periods = out.setdefault(bsn, [])
        if period is not None:
            periods.append(period)
    if issues:
        raise TableError(str(p), issues)
    return out


def _period_problems(
    bsn: str,
    periods: Sequence[Period],
    tariffs: TariffTable,
    afzender: str,
    kostprijs_rule: str = "CS333",
    *,
    single: bool = True,
    pairs: bool = True,
) -> list[RowIssue]:
    """Every ledger-free problem of one person's desired periods, as :class:`RowIssue` without a
    line (:func:`plan` adds the lines): before 2020 (CS332), stop before start (TR328),
    kostprijs_start before start (CS334), a kostprijs out of range or not above the tariff
    (``kostprijs_rule``), the same period twice and overlapping periods (OP291)."""
    who = f"Bsn {mask_bsn(bsn)}"
    problems: list[RowIssue] = []

    def add(column: str | None, text: str, code: str, hint: str = "") -> None:
        problems.append(RowIssue(None, column, f"{who}: {text}", hint, code))

    ordered = sorted(periods, key=lambda p: p.start)
    for p in ordered if single else ():
        if p.start < IEB_START:
            add("start", f"start {p.start} ligt voor 1 januari 2020", "CS332")
        if p.stop is not None and p.stop < p.start:
            add("stop", f"stop {p.stop} ligt voor start {p.start}", "TR328", "controleer start en stop")
        if p.kostprijs_bedrag is not None:
            assert p.kostprijs_startdatum is not None
            if p.kostprijs_startdatum < p.start:
                add(
                    "kostprijs_start",
                    f"kostprijs_start {p.kostprijs_startdatum} ligt voor start {p.start}",
                    "CS334",
                )
            if not 0 <= p.kostprijs_bedrag <= 99_999_999:
                add(
                    "kostprijs_cent",
                    f"kostprijs {p.kostprijs_bedrag} cent valt buiten 0 t/m 999.999,99 euro",
                    "XSD",
                    "het Bedrag heeft ten hoogste 8 cijfers eurocent",
                )
            else:
                try:
                    tariff = cs333_tariff(p.kostprijs_bedrag, p.kostprijs_startdatum, tariffs)
                except ConfigurationError:
                    tariff = None
                if tariff is not None:
                    text = cs333_message(p.kostprijs_bedrag, p.kostprijs_startdatum, tariff)
                    # the release's rule for retourcode S333 (iEb 4.0: TR409)
                    add("kostprijs_cent", text.replace(" (CS333)", "").replace("(CS333)", ""), kostprijs_rule)
    for a, b in itertools.pairwise(ordered) if pairs else ():
        if a == b:
            add(
                None,
                f"de periode vanaf {a.start} staat twee keer in het bestand",
                "OP291",
                "laat één regel staan",
            )
        elif a.stop is None or b.start <= a.stop:
            add(
                None,
                f"perioden vanaf {a.start} en {b.start} overlappen; per Bsn is er één actuele start",
                "OP291",
                "laat de eerste periode stoppen voor de tweede begint",
            )
    return problems


def _at_lines(issues: Sequence[RowIssue], lines: Sequence[int]) -> list[RowIssue]:
    """``issues`` placed on the first of the person's ``lines`` (the other lines named in the text)."""
    if not lines:
        return list(issues)
    more = f" (regels {', '.join(str(n) for n in lines)})" if len(lines) > 1 else ""
    return [replace(i, line=lines[0] if i.line is None else i.line, message=i.message + more) for i in issues]


def person_problems(
    bsn: str,
    periods: Sequence[Period],
    *,
    lines: Sequence[int] = (),
    tariffs: TariffTable = NATIONAL_TARIFFS,
    release: str | ReleasePack = "ieb-1.0",
    single: bool = True,
    pairs: bool = True,
) -> list[RowIssue]:
    """The problems of one person's desired periods that need no ledger, placed on the person's
    ``lines`` of the desired-state file; empty when planning may start. ``single``: those of each
    period alone (CS332, TR328 stop before start, CS334, the kostprijs rule); ``pairs``: those
    between periods (OP291: the same period twice, overlapping periods). A streamed reader checks
    each row alone as it reads and only persons with several rows for pairs."""
    if single and any(p.kostprijs_bedrag is not None for p in periods):
        pack = get_pack(release) if isinstance(release, str) else release
        rule = pack.retourcodes.rule("S333") or "CS333"
    else:
        rule = "CS333"  # not used: no kostprijs to check
    found = _period_problems(bsn, periods, tariffs, "", rule, single=single, pairs=pairs)
    return _at_lines(found, lines) if found else found


# ---------------------------------------------------------------------- plan objects


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """One planned heenbericht, in sending order: its :class:`Delivery` (the header and class
    fields), the serialised XML and why it is sent.

    The typed message is not kept (a plan of many messages would hold a pydantic model per message);
    :attr:`message` builds it again from the delivery on each access.
    """

    seq: int
    delivery: Delivery
    xml: bytes
    reason: str

    @property
    def message(self) -> Any:
        """The typed heenbericht of this delivery, built anew on each access from :attr:`delivery`
        (the same model :attr:`xml` was serialised from; :meth:`Delivery.to_message`)."""
        return self.delivery.to_message()

    @property
    def bericht(self) -> str:
        """The message name of the planned delivery in its release's table (the start or stop record)."""
        return self.delivery.bericht

    @property
    def filename(self) -> str:
        """File name for ``ieb plan --out``: ``<seq:04d>-<bericht>-<afzender>-<identificatie>.xml``."""
        d = self.delivery
        return f"{self.seq:04d}-{d.bericht}-{d.afzender}-{d.identificatie}.xml"


@dataclass(frozen=True)
class Deferred:
    """A step that cannot be sent yet: its date lies more than 1 month after the Dagtekening."""

    bsn: str
    reason: str
    #: the first Dagtekening on which the step is within the window
    until: dt.date
    #: the rule that holds it back (TR113, TR115 or TR117) or why it waits
    rule: str
    message: str

    def describe(self) -> str:
        """One Dutch line for the clerk: masked BSN, reason, the date it is deferred to and the rule code with its message."""
        return f"Bsn {mask_bsn(self.bsn)}: {self.reason} uitgesteld tot {self.until.isoformat()} ({self.rule}: {self.message})"

    def __str__(self) -> str:
        return self.describe()


@dataclass
class Plan:
    """The result of planning: the messages to send, in order, what could not be planned, and what
    is deferred to a later Dagtekening (:class:`Deferred`)."""

    afzender: str
    dagtekening: dt.date
    messages: list[PlannedMessage] = field(default_factory=list)
    #: persons that could not be planned (with ``partial``): one :class:`RowIssue` per problem
    problems: list[RowIssue] = field(default_factory=list)
    recorded: bool = False
    deferred: list[Deferred] = field(default_factory=list)

    def write(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write every message as ``out_dir/<seq>-<bericht>-<afzender>-<identificatie>.xml``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for m in self.messages:
            path = out / m.filename
            path.write_bytes(m.xml)
            paths.append(path)
        return paths


# ---------------------------------------------------------------------- scheduling


def window_issue(d: Delivery) -> Issue | None:
    """The TR112/TR113/TR116/TR117 issue of a delivery (date window relative to its Dagtekening), with
    the windows of the revision of the delivery's release in force on the Dagtekening (for iEb 1.0
    :mod:`ieb.validation.revisions`). None when the window holds, and for a release whose revisions
    define no such windows (its own rules judge its dates)."""
    pack = pack_of(d.bericht)
    if not pack.revisions:
        return None
    rev = pack.revision_on(d.dagtekening)
    if d.status == "1":
        codes = ("TR112", "TR113")
    elif d.status == "2" and not d.is_start:
        codes = ("TR116", "TR117")
    else:
        return None
    try:
        back = rev.months_back(codes[0]) if codes[0] != "TR112" or d.bericht in rev.tr112_messages else None
        ahead = rev.months_ahead(codes[1])
    except (KeyError, AttributeError):
        return None
    low, high = (
        _months(d.dagtekening, -back) if back is not None else None,
        _months(d.dagtekening, ahead),
    )
    if low is not None and d.datum < low:
        return Issue(
            codes[0],
            "0001",
            2,
            d.location(d.datum_veld),
            f"{d.datum_veld} {d.datum} ligt meer dan {back} maanden voor de dagtekening {d.dagtekening} "
            f"(vanaf {low}; iEb-revisie {rev.name}).",
        )
    if d.datum > high:
        return Issue(
            codes[1],
            "0001",
            2,
            d.location(d.datum_veld),
            f"{d.datum_veld} {d.datum} ligt meer dan 1 maand na de dagtekening {d.dagtekening} (tot {high}).",
        )
    return None


@dataclass
class _Op:
    """One step: why it is sent and the delivery (BerichtIdentificatie still open) the release's
    mapping gave for it; its date window is checked up front (:func:`_defer`)."""

    reason: str
    fixed: Delivery


@dataclass
class _Queue:
    kind: Literal["remove", "pair", "new"]
    ops: list[_Op]
    existing: PeriodState | None = None
    desired: Period | None = None


class _Ctx:
    def __init__(self, afzender: str, bsn: str, today: dt.date, mapping: DeliveryMapping) -> None:
        self.afzender, self.bsn, self.today, self.mapping = afzender, bsn, today, mapping
        self.next_placeholder = -1

    def placeholder(self) -> int:
        value = self.next_placeholder
        self.next_placeholder -= 1
        return value

    def deliveries(self, before: PackPeriod | None, after: PackPeriod | None) -> list[Delivery]:
        """The deliveries (BerichtIdentificatie still open) the release's mapping sends for one change."""
        records = self.mapping.records(PeriodChange(before, after))
        return [Delivery.from_record(r, self.afzender, "?", self.today) for r in records]


def _as_period(e: PeriodState) -> PackPeriod:
    """An existing period as the release's delivery mapping sees it."""
    s = e.start
    return PackPeriod(e.eb_start_nummer, s.bsn, s.datum, e.end, s.kostprijs_bedrag, s.kostprijs_startdatum)


#: one step towards the desired period: why, and the period after it (None: withdrawn)
_Hop = tuple[str, PackPeriod | None]


def _ops(first: PackPeriod | None, hops: Sequence[_Hop], ctx: _Ctx, *, exact: bool = False) -> list[_Op]:
    """The steps of one queue: the records the release's mapping sends for each hop, in order.

    The hops are the planner's preferred waypoints (one record each in a release with separate start
    and stop records). Unless ``exact``, when the mapping reaches the last waypoint in fewer records
    at once (a release whose one record carries start and stop), those records are taken instead,
    with the hops' reasons joined. Raises PlanningError when the mapping cannot express a hop.
    """
    try:
        steps: list[tuple[str, Delivery]] = []
        before = first
        for reason, after in hops:
            steps.extend((reason, d) for d in ctx.deliveries(before, after))
            before = after
        if not exact and len(hops) > 1:
            whole = ctx.deliveries(first, hops[-1][1])
            if len(whole) < len(steps):
                joined = "; ".join(reason for reason, _ in hops)
                steps = [(joined, d) for d in whole]
    except ValueError as exc:
        raise PlanningError(f"Bsn {mask_bsn(ctx.bsn)}: {exc}", [f"Bsn {mask_bsn(ctx.bsn)}: {exc}"]) from exc
    return [_fixed_op(reason, d) for reason, d in steps]


def _fixed_op(reason: str, d: Delivery) -> _Op:
    return _Op(reason, d)


def _removal(e: PeriodState, ctx: _Ctx) -> _Queue:
    n = e.eb_start_nummer
    current = _as_period(e)
    hops: list[_Hop] = []
    if current.stopdatum is not None:
        hops.append((f"verwijder stop {current.stopdatum} (nr {n})", replace(current, stopdatum=None)))
    hops.append((f"verwijder start {e.start.datum} (nr {n})", None))
    return _Queue("remove", _ops(current, hops, ctx), existing=e)


def _new(d: Period, ctx: _Ctx) -> _Queue:
    nummer = ctx.placeholder()
    opened = PackPeriod(nummer, ctx.bsn, d.start, None, d.kostprijs_bedrag, d.kostprijs_startdatum)
    hops: list[_Hop] = [(f"nieuwe start {d.start}", opened)]
    if d.stop is not None:
        hops.append((f"stop {d.stop}", replace(opened, stopdatum=d.stop)))
    return _Queue("new", _ops(None, hops, ctx), desired=d)


def _euro(cent: int | None) -> str:
    """An amount in eurocent for a clerk: ``€ 1.570,00``; ``geen`` for no kostprijs."""
    if cent is None:
        return "geen"
    sign = "-" if cent < 0 else ""
    euros, rest = divmod(abs(cent), 100)
    return f"€ {sign}{euros:,}".replace(",", ".") + f",{rest:02d}"


def _pair(e: PeriodState, d: Period, ctx: _Ctx, *, stop_via_delete: bool = False) -> _Queue:
    n = e.eb_start_nummer
    current = _as_period(e)
    start_changed = (current.startdatum, current.kostprijs_bedrag, current.kostprijs_startdatum) != (
        d.start,
        d.kostprijs_bedrag,
        d.kostprijs_startdatum,
    )
    start_reason = f"wijzig start nr {n}: {current.startdatum} -> {d.start}" + (
        f", kostprijs {_euro(current.kostprijs_bedrag)} -> {_euro(d.kostprijs_bedrag)}"
        if current.kostprijs_bedrag != d.kostprijs_bedrag
        else ""
    )
    # each hop changes the stop (None: removed) or the start; the start hop keeps whatever stop holds then
    stop_hops: list[tuple[str, dt.date | None]] = []
    stop_first = False
    old_stop = current.stopdatum
    if d.stop is None and old_stop is not None:
        stop_hops = [(f"verwijder stop {old_stop} (nr {n})", None)]
        stop_first = True
    elif d.stop is not None and old_stop is None:
        stop_hops = [(f"stop nr {n} op {d.stop}", d.stop)]
    elif d.stop is not None and old_stop is not None and d.stop != old_stop:
        if stop_via_delete:
            # OP325: a second status 2 on one day is impossible; delete the stop and send it again
            stop_hops = [
                (f"verwijder stop {old_stop} (nr {n}) om hem te wijzigen", None),
                (f"stop nr {n} opnieuw op {d.stop}", d.stop),
            ]
        else:
            stop_hops = [(f"wijzig stop nr {n}: {old_stop} -> {d.stop}", d.stop)]
        stop_first = d.stop >= current.startdatum
    order: list[tuple[str, str, dt.date | None]] = [("stop", r, v) for r, v in stop_hops]
    if start_changed:
        start_hop = ("start", start_reason, None)
        order = [*order, start_hop] if stop_first else [start_hop, *order]
    hops: list[_Hop] = []
    state = current
    for kind, reason, value in order:
        if kind == "start":
            state = replace(
                state,
                startdatum=d.start,
                kostprijs_bedrag=d.kostprijs_bedrag,
                kostprijs_startdatum=d.kostprijs_startdatum,
            )
        else:
            state = replace(state, stopdatum=value)
        hops.append((reason, state))
    return _Queue("pair", _ops(current, hops, ctx, exact=stop_via_delete), existing=e, desired=d)


def _match(
    existing: list[PeriodState], desired: list[Period], *, pair_moved: bool = True
) -> tuple[list[tuple[PeriodState, Period]], list[PeriodState], list[Period]]:
    pairs: list[tuple[PeriodState, Period]] = []
    left_e = list(existing)
    left_d = []
    for d in sorted(desired, key=lambda p: p.start):
        same = next((e for e in left_e if e.start.datum == d.start), None)
        if same is not None:
            pairs.append((same, d))
            left_e.remove(same)
        else:
            left_d.append(d)
    new = []
    for d in left_d:
        over = next((e for e in left_e if d.overlaps(e.start.datum, e.stop.datum if e.stop else None)), None)
        if over is not None:
            pairs.append((over, d))
            left_e.remove(over)
        else:
            new.append(d)
    # a period that moves past its own stop (or start) overlaps nothing it had: changing the start and
    # the stop (at most 2 messages) is never longer than deleting it and sending it anew (2 to 4);
    # when the rules block the change, _plan_person falls back to deleting and re-sending it
    if not pair_moved:
        return pairs, left_e, new
    moved = list(
        zip(sorted(left_e, key=lambda e: e.start.datum), sorted(new, key=lambda p: p.start), strict=False)
    )
    for e, d in moved:
        pairs.append((e, d))
        left_e.remove(e)
        new.remove(d)
    return pairs, left_e, new


def _first_day(datum: dt.date, today: dt.date) -> dt.date:
    """The first Dagtekening (>= ``today``) on which ``datum`` is at most 1 month ahead (TR113/TR115/TR117)."""
    day = max(today, _months(datum, -1) - dt.timedelta(days=4))
    while _months(day, 1) < datum:
        day += dt.timedelta(days=1)
    return day


def _future_rule(op: _Op, queue: _Queue, today: dt.date) -> str | None:
    """The window rule that makes ``op`` too early to send (its date > Dagtekening + 1 month), if any."""
    d = op.fixed
    if d.datum <= _months(today, 1):
        return None
    if d.status == "1":
        return "TR113"
    if d.status == "2" and not d.is_start:
        return "TR117"
    if d.status == "2" and (queue.existing is None or d.datum != queue.existing.start.datum):
        return "TR115"
    return None


def _defer(queues: list[_Queue], ctx: _Ctx) -> tuple[list[_Queue], list[Deferred]]:
    """Take the steps whose date is too far ahead out of the queues (and, in a new period, everything
    after a deferred start)."""
    limit = _months(ctx.today, 1)
    deferred: list[Deferred] = []
    out: list[_Queue] = []
    for q in queues:
        kept: list[_Op] = []
        waiting: Deferred | None = None
        for op in q.ops:
            rule = _future_rule(op, q, ctx.today)
            if rule is None and waiting is None:
                kept.append(op)
                continue
            if rule is not None:
                until = _first_day(op.fixed.datum, ctx.today)
                if waiting is not None:
                    until = max(until, waiting.until)
                message = (
                    f"{op.fixed.datum_veld} {op.fixed.datum} ligt meer dan 1 maand na de dagtekening "
                    f"{ctx.today} (tot {limit})"
                )
                item = Deferred(ctx.bsn, op.reason, until, rule, message)
            else:
                assert waiting is not None
                item = Deferred(
                    ctx.bsn, op.reason, waiting.until, waiting.rule, f"wacht op: {waiting.reason}"
                )
            deferred.append(item)
            if q.kind == "new":
                waiting = waiting or item  # the rest of a new period needs its start
        out.append(_Queue(q.kind, kept, q.existing, q.desired))
    return out, deferred


@dataclass
class _Block:
    queue: _Queue
    delivery: Delivery
    issues: list[Issue]


_MAX_NODES = 5000


def _schedule(queues: list[_Queue], base: list[Delivery]) -> tuple[list[tuple[Delivery, str]], _Block | None]:
    """An order of all steps in which each passes the rules against the state the earlier ones leave.

    Depth first, preferring the earliest queue whose next step passes (removals, changes, new
    periods); a dead end backtracks. Without a solution the first blocked step of the first dead end
    (the one the preferred order runs into) is returned.
    """
    if len(queues) == 1:
        return _schedule_one(queues[0], base)
    heads = [0] * len(queues)
    applied: list[tuple[Delivery, str]] = []
    failed: set[tuple[int, ...]] = set()
    first_block: _Block | None = None
    nodes = 0

    def search() -> bool:
        nonlocal first_block, nodes
        if all(h >= len(q.ops) for h, q in zip(heads, queues, strict=True)):
            return True
        key = tuple(heads)
        if key in failed or nodes >= _MAX_NODES:
            return False
        nodes += 1
        sim = MemoryHistory([*base, *(d for d, _ in applied)])
        block: _Block | None = None
        for i, q in enumerate(queues):
            if heads[i] >= len(q.ops):
                continue
            op = q.ops[heads[i]]
            d = op.fixed
            issues = check_history(d, sim)
            window = window_issue(d)
            if window is not None:
                issues.append(window)
            if issues:
                if block is None:
                    block = _Block(q, d, issues)
                continue
            applied.append((d, op.reason))
            heads[i] += 1
            if search():
                return True
            heads[i] -= 1
            applied.pop()
        if first_block is None and block is not None:
            first_block = block
        failed.add(key)
        return False

    if search():
        return list(applied), None
    assert first_block is not None
    return [], first_block


def _schedule_one(queue: _Queue, base: list[Delivery]) -> tuple[list[tuple[Delivery, str]], _Block | None]:
    """:func:`_schedule` of a single queue (most persons: one new period): there is no other order,
    so the search is a straight walk; one history grows along instead of one rebuilt per node
    (issue 22). The same steps, or the same first block, as the search."""
    sim = MemoryHistory(base)
    applied: list[tuple[Delivery, str]] = []
    for op in queue.ops:
        d = op.fixed
        issues = check_history(d, sim)
        window = window_issue(d)
        if window is not None:
            issues.append(window)
        if issues:
            return [], _Block(queue, d, issues)
        applied.append((d, op.reason))
        sim.add(d)
    return applied, None


def _plan_person(
    afzender: str,
    bsn: str,
    desired: list[Period],
    history: MemoryHistory,
    today: dt.date,
    mapping: DeliveryMapping,
) -> tuple[list[tuple[Delivery, str]], list[Deferred]]:
    """The shortest plan over the candidate matchings of existing to desired periods: the default
    (same start, then overlap, then what is left in order) and, with as many existing as desired
    periods, each existing period changed into the desired one at the same position (periods that
    all move along need only changes; the default would delete one that is in the way)."""
    existing = history.periods_of(afzender, bsn)
    candidates = [_match(existing, desired)]
    # without pairing what is left over: left-over periods deleted, new ones sent anew (longer, but
    # never blocked by an overlap that a moved period would cause while another one still runs)
    # (with no existing period both matchings are "everything new": one is enough)
    plain = _match(existing, desired, pair_moved=False) if existing else candidates[0]
    if sorted(plain[0], key=_pair_key) != sorted(candidates[0][0], key=_pair_key):
        candidates.append(plain)
    if existing and len(existing) == len(desired):
        in_order: tuple[list[tuple[PeriodState, Period]], list[PeriodState], list[Period]] = (
            list(zip(existing, sorted(desired, key=lambda p: p.start), strict=True)),
            [],
            [],
        )
        if sorted(in_order[0], key=_pair_key) != sorted(candidates[0][0], key=_pair_key):
            candidates.append(in_order)
    best: tuple[list[tuple[Delivery, str]], list[Deferred]] | None = None
    first_error: PlanningError | None = None
    for pairs, removals, news in candidates:
        try:
            found = _plan_matching(
                afzender, bsn, history, today, mapping, list(pairs), list(removals), list(news)
            )
        except PlanningError as exc:
            first_error = first_error or exc
            continue
        if best is None or len(found[0]) + len(found[1]) < len(best[0]) + len(best[1]):
            best = found
    if best is None:
        assert first_error is not None
        raise first_error
    return best


def _pair_key(pair: tuple[PeriodState, Period]) -> tuple[int, dt.date]:
    return pair[0].eb_start_nummer, pair[1].start


def _plan_matching(
    afzender: str,
    bsn: str,
    history: MemoryHistory,
    today: dt.date,
    mapping: DeliveryMapping,
    pairs: list[tuple[PeriodState, Period]],
    removals: list[PeriodState],
    news: list[Period],
) -> tuple[list[tuple[Delivery, str]], list[Deferred]]:
    ctx = _Ctx(afzender, bsn, today, mapping)
    moved = {(e.eb_start_nummer, d) for e, d in pairs if not d.overlaps(e.start.datum, e.end)}
    base = list(history.deliveries())
    recreate: list[tuple[PeriodState, Period]] = []
    via_delete: set[int] = set()
    problems: list[RowIssue] = []
    while True:
        ctx.next_placeholder = -1
        queues = (
            [_removal(e, ctx) for e in removals]
            + [_removal(e, ctx) for e, _ in recreate]
            + [_pair(e, d, ctx, stop_via_delete=e.eb_start_nummer in via_delete) for e, d in pairs]
            + [_new(d, ctx) for d in sorted(news + [d for _, d in recreate], key=lambda p: p.start)]
        )
        queues, deferred = _defer(queues, ctx)
        steps, blocked = _schedule(queues, base)
        if blocked is None:
            return steps, deferred
        for i in blocked.issues:
            code = f"{i.code}, retourcode {i.retourcode}" if i.retourcode else i.code
            issue = RowIssue(None, None, f"Bsn {mask_bsn(bsn)}: {i.message}", "", code)
            if issue not in problems:
                problems.append(issue)  # the first blocked attempt's rules come first
        q, d = blocked.queue, blocked.delivery
        codes = {i.code for i in blocked.issues}
        if q.kind == "pair" and q.existing is not None and q.desired is not None:
            key = (q.existing.eb_start_nummer, q.desired)
            if key in moved and (q.existing, q.desired) in pairs:
                moved.discard(key)  # the move cannot be made by changes: delete it, send it anew
                pairs.remove((q.existing, q.desired))
                recreate.append((q.existing, q.desired))
                continue
        if q.kind == "pair" and q.existing is not None and q.desired is not None:
            nummer = q.existing.eb_start_nummer
            if "OP325" in codes and not d.is_start and d.status == "2" and nummer not in via_delete:
                via_delete.add(nummer)  # second change of a stop on one day: delete it, send it again
                continue
        if "OP291" in codes:
            # the step would overlap a later period for a moment (deleting the stop of a period that
            # goes, moving a stop past the next start): re-create the next kept period
            since = q.existing.start.datum if q.existing is not None else d.datum
            later = sorted(
                (p for p in pairs if p[0].start.datum > since and p[0].eb_start_nummer != d.eb_start_nummer),
                key=lambda p: p[0].start.datum,
            )
            if later:
                pairs.remove(later[0])
                recreate.append(later[0])
                continue
        if q.kind == "pair" and q.existing is not None and q.desired is not None:
            pair = (q.existing, q.desired)
            if d.is_start and pair in pairs:
                pairs.remove(pair)  # the start itself must change: delete the period, send it anew
                recreate.append(pair)
                continue
        raise PlanningError(
            f"Bsn {mask_bsn(bsn)}: de gewenste situatie is niet te bereiken binnen de regels", problems
        )


def _releases_of(conn: sa.Connection, afzender: str) -> set[str]:
    """Every release the gemeente sent deliveries in: one ``min(release) ... > previous`` lookup
    per release on the (afzender, release) index (migration 0009), never a scan of its deliveries."""
    d = deliveries
    found: set[str] = set()
    last: str | None = None
    while True:
        query = sa.select(sa.func.min(d.c.release)).where(d.c.afzender == afzender)
        if last is not None:
            query = query.where(d.c.release > last)
        value = conn.execute(query).scalar()
        if value is None:
            return found
        last = str(value)
        found.add(last)


def _refuse_older_release(conn: sa.Connection, afzender: str, pack: ReleasePack) -> None:
    """A ledger moves forward through releases, never back: planning in ``pack`` is refused when the
    gemeente already sent deliveries of a release that is not ``pack`` and does not come before it
    (an unknown release, or one valid from a later date). A 1.0 ledger continues in 4.0
    (:mod:`ieb.ledger.convert`); 4.0 periods cannot be expressed as 1.0 messages. Raises
    :class:`PlanningError` naming both releases; nothing is planned."""
    releases = _releases_of(conn, afzender)
    for name in sorted({r for r in releases if r and r != pack.name}):
        try:
            other: ReleasePack | None = get_pack(name)
        except ConfigurationError:  # a release no longer registered: refused below
            other = None
        if (
            other is not None
            and other.valid_from is not None
            and pack.valid_from is not None
            and other.valid_from < pack.valid_from
        ):
            continue  # an older release's deliveries continue in this one
        raise PlanningError(
            f"gemeente {afzender}: het grootboek bevat al berichten in release {name}; plannen in "
            f"{pack.name} zou teruggaan naar een oudere of onbekende release. Gebruik release = "
            f"'{name}' (ieb.toml) of laat --release weg; er is niets gepland",
            [f"gemeente {afzender}: grootboek in {name}, gevraagd {pack.name}"],
        )


def plan(
    ledger: Ledger | Engine,
    afzender: str,
    desired: Mapping[str, Sequence[Period]],
    *,
    today: dt.date | None = None,
    gemeenten: GemeenteLijst | None = None,
    tariffs: TariffTable = NATIONAL_TARIFFS,
    record: bool = True,
    partial: bool = False,
    release: str | ReleasePack = "ieb-1.0",
    lines: Mapping[str, Sequence[int]] | None = None,
) -> Plan:
    """Plan the messages that bring the ledger to ``desired`` (persons not in ``desired`` are untouched).

    ``release`` (a registered pack name or a :class:`~ieb.releases.pack.ReleasePack`) says in which
    messages: the planner works on periods per person (EbStartNummer, start, optional stop,
    kostprijs) and asks the release's delivery mapping (``pack.delivery``) which records bring the
    receiver from the period it holds to the desired one; the history rules the pack lists and its
    in-message rules check them. Raises ConfigurationError for a release without a delivery mapping.

    ``today`` is the Dagtekening of the planned messages. With ``record`` the messages are stored as
    pending deliveries (numbers and identificaties allocated) in one transaction; without it nothing
    is stored and numbers are still allocated but rolled back. With ``partial`` persons whose desired
    state cannot be reached are left out and listed in ``Plan.problems``; otherwise a
    :class:`PlanningError` is raised and nothing is recorded. Either way every problem of every
    person is collected (one :class:`~ieb.tabular.RowIssue` each, with its rule code); ``lines``
    (Bsn -> the lines of the desired-state file the person's rows are on) puts each on its line.
    """
    if isinstance(ledger, Engine):
        ledger = Ledger(ledger)
    pack = get_pack(release) if isinstance(release, str) else release
    mapping = pack.require_delivery()
    day = today or dt.date.today()
    result = Plan(afzender, day)
    with ledger.transaction() as unit:
        conn = unit.connection
        ledger.lock_afzenders(conn, [afzender])
        _refuse_older_release(conn, afzender, pack)
        all_steps: list[tuple[Delivery, str]] = []
        known = ledger.histories(conn, afzender, desired)  # batched: a few queries per 500 persons
        for bsn in sorted(desired):
            periods = list(desired[bsn])
            problems = _period_problems(
                bsn, periods, tariffs, afzender, pack.retourcodes.rule("S333") or "CS333"
            )
            if not problems:
                history = converted(known.of(bsn), pack)  # a 1.0 ledger continues in 4.0
                try:
                    steps, deferred = _plan_person(
                        afzender, bsn, sorted(periods, key=lambda p: p.start), history, day, mapping
                    )
                    all_steps.extend(steps)
                    result.deferred.extend(deferred)
                    continue
                except PlanningError as exc:
                    problems = exc.issues or [RowIssue(None, None, exc.message)]
            result.problems.extend(_at_lines(problems, (lines or {}).get(bsn, ())))
        if result.problems and not partial:
            unit.rollback()
            raise PlanningError(
                f"{len(result.problems)} probleem/problemen; er is niets gepland", result.problems
            )
        # placeholders are numbered per person; numbers and identificaties are allocated as ranges
        wanted = list(
            dict.fromkeys((d.bsn, d.eb_start_nummer) for d, _ in all_steps if d.eb_start_nummer < 0)
        )
        allocated = ledger.allocate_eb_start_nummers(conn, afzender, [b for b, _ in wanted])
        numbers: dict[tuple[str, int], int] = dict(zip(wanted, allocated, strict=True))
        idents = iter(ledger.next_identificaties(conn, afzender, len(all_steps)))
        final: list[tuple[Delivery, str]] = []
        for d, reason in all_steps:
            nummer = d.eb_start_nummer
            if nummer < 0:
                nummer = numbers[(d.bsn, nummer)]
            ident = next(idents)
            final.append(
                (
                    replace(
                        d, afzender=afzender, identificatie=ident, dagtekening=day, eb_start_nummer=nummer
                    ),
                    reason,
                )
            )
        # pre-flight: in-message rules and history rules, in sending order, against the ledger
        check = converted(known.combined(), pack)  # the planned persons' deliveries: all the rules look at
        failures: list[str] = []
        for seq, (d, reason) in enumerate(final, start=1):
            # built from a per-shape tree and checked by the compiled rules; the model and the full
            # engine when those find a problem (the exact issues) or cannot tell (ieb.ledger.fastcheck)
            xml, issues = planned_message(d, today=day, gemeenten=gemeenten, tariffs=tariffs)
            issues.extend(check_history(d, check))
            if issues:
                failures.extend(f"{d.describe()}: {i.code} ({i.retourcode}): {i.message}" for i in issues)
            check.add(d)
            result.messages.append(PlannedMessage(seq, d, xml, reason))
        if failures:
            unit.rollback()
            raise PreflightError(
                "pre-flight: geplande berichten zouden worden afgekeurd; er is niets gepland", failures
            )
        if record:
            ledger.add_many(
                conn,
                [
                    {
                        "delivery": m.delivery,
                        "outcome": "pending",
                        "payload": m.xml,
                        "source": m.filename,
                        "detail": m.reason,
                        "release": pack.name,
                    }
                    for m in result.messages
                ],
            )
            result.recorded = True
        else:
            unit.rollback()
    return result
