"""The desired state of the eigen bijdrage from the stored iWmo messages (what ``ieb plan`` reads).

Public API::

    Instellingen / GemeenteInstellingen      the gemeente parameters: trigger, bijdrageplicht, pauzeregel, kostprijzen
    load_instellingen(path) -> Instellingen  an ``iwmo.toml`` (docs/iwmo.md)
    derive(state, instellingen, rows=...) -> Desired
    Desired.records() / Desired.write_csv(path)   header ``gemeente,bsn,start,stop,kostprijs_cent,kostprijs_start``

Per person per gemeente ONE set of periods from all their products (VNG: start with the first
verstrekking, stop when the last one ends):

1. A product counts when its WMO020 productcategorie is in the gemeente's ``bijdrageplicht`` (11
   Rolstoelen never) and its toewijzing is not withdrawn (RedenWijziging 13).
2. The trigger gives its intervals: ``toewijzing`` = WMO301 Ingangsdatum .. Einddatum; ``levering`` =
   each WMO305 Begindatum .. WMO307 Einddatum (a levering without a stop runs until the toewijzing's
   Einddatum, or stays open).
3. The intervals go to :func:`ieb.policy.derive_periods` (the policy's one pause rule ``pauzeregel``
   and kostprijsbewaking), with the product's kostprijs from the optional kostprijs table keyed by
   ToewijzingNummer (categories 12, 13 and 14 only; iWmo does not carry a kostprijs).
4. A period whose start was first reported more than one calendar month after it (Dagtekening >
   start + 1 month) is marked ``terugwerkend`` (retroactive: a "stapelfactuur" for the client).
5. A person with bijdrageplichtige products but no period (withdrawn, deleted, not delivered yet)
   gets one row with an empty ``start``: everything sent for them is deleted by ``ieb plan``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ieb.errors import ConfigurationError, IebError
from ieb.iwmo.codes import (
    CATEGORIEEN,
    KOSTPRIJS_CATEGORIEEN,
    NOOIT_BIJDRAGEPLICHTIG,
    STANDAARD_BIJDRAGEPLICHT,
)
from ieb.iwmo.reader import Product
from ieb.iwmo.state import Levering, Toewijzing, Voorzieningen
from ieb.policy import (
    Event,
    EventKind,
    GemeenteParameters,
    PauseRule,
    StartTrigger,
    Voorziening,
    VoorzieningKind,
    derive_periods,
)
from ieb.policy.months import add_calendar_months
from ieb.types import mask_bsn

__all__ = [
    "CSV_HEADER",
    "Desired",
    "DesiredPeriod",
    "GemeenteInstellingen",
    "Instellingen",
    "Trigger",
    "derive",
    "load_instellingen",
    "read_kostprijzen",
]

#: The header of the desired-state file that ``ieb plan`` reads (docs/ledger.md).
CSV_HEADER = ("gemeente", "bsn", "start", "stop", "kostprijs_cent", "kostprijs_start")


class Trigger(StrEnum):
    """What starts and stops the eigen bijdrage (a gemeente parameter)."""

    TOEWIJZING = "toewijzing"  # WMO301 Ingangsdatum / Einddatum
    LEVERING = "levering"  # WMO305 Begindatum / WMO307 Einddatum


@dataclass(frozen=True, slots=True)
class GemeenteInstellingen:
    """The choices of one gemeente: ``trigger``, ``bijdrageplicht`` (WMO020 codes that carry an eigen
    bijdrage) and ``pauzeregel`` (:class:`ieb.policy.PauseRule`)."""

    trigger: Trigger = Trigger.LEVERING
    bijdrageplicht: frozenset[str] = STANDAARD_BIJDRAGEPLICHT
    pauzeregel: PauseRule = PauseRule.LONGER_THAN_CALENDAR_MONTH

    def __post_init__(self) -> None:
        unknown = sorted(c for c in self.bijdrageplicht if c not in CATEGORIEEN)
        if unknown:
            raise ConfigurationError(
                f"bijdrageplicht: onbekende productcategorie {', '.join(unknown)}; gebruik WMO020-codes 01..18"
            )
        never = sorted(self.bijdrageplicht & NOOIT_BIJDRAGEPLICHTIG)
        if never:
            raise ConfigurationError(
                "bijdrageplicht: categorie 11 (rolstoelen) valt nooit onder de eigen bijdrage; haal 11 uit de lijst"
            )


@dataclass(frozen=True, slots=True)
class Instellingen:
    """All settings: ``standaard`` for every gemeente, ``gemeenten`` overrides per gemeentecode, and
    ``kostprijzen``: (gemeente or ``""`` for any, ToewijzingNummer) -> kostprijs in eurocent."""

    standaard: GemeenteInstellingen = field(default_factory=GemeenteInstellingen)
    gemeenten: Mapping[str, GemeenteInstellingen] = field(default_factory=dict)
    kostprijzen: Mapping[tuple[str, int], int] = field(default_factory=dict)

    def voor(self, gemeente: str) -> GemeenteInstellingen:
        """The settings of ``gemeente`` (4 digits)."""
        return self.gemeenten.get(gemeente, self.standaard)

    def kostprijs(self, gemeente: str, nummer: int) -> int | None:
        """The kostprijs (eurocent) of toewijzing ``nummer`` of ``gemeente``, or None."""
        found = self.kostprijzen.get((gemeente, nummer))
        return self.kostprijzen.get(("", nummer)) if found is None else found


def _gemeente_instellingen(
    data: Mapping[str, Any], where: str, base: GemeenteInstellingen
) -> GemeenteInstellingen:
    allowed = {"trigger", "bijdrageplicht", "pauzeregel"}
    extra = sorted(set(data) - allowed - {"gemeente", "kostprijs"})
    if extra:
        raise ConfigurationError(
            f"{where}: onbekende instelling {', '.join(extra)}; toegestaan: {', '.join(sorted(allowed))}"
        )
    try:
        trigger = Trigger(data.get("trigger", base.trigger))
    except ValueError:
        raise ConfigurationError(f"{where}trigger: kies 'toewijzing' of 'levering'") from None
    try:
        pauze = PauseRule(data.get("pauzeregel", base.pauzeregel))
    except ValueError:
        choices = ", ".join(r.value for r in PauseRule)
        raise ConfigurationError(f"{where}pauzeregel: kies uit {choices}") from None
    codes = data.get("bijdrageplicht", sorted(base.bijdrageplicht))
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise ConfigurationError(
            f'{where}bijdrageplicht: geef een lijst van WMO020-codes, bijv. ["01", "02"]'
        )
    return GemeenteInstellingen(trigger, frozenset(c.zfill(2) for c in codes), pauze)


def load_instellingen(path: Path | None, *, kostprijs: Path | None = None) -> Instellingen:
    """Read an ``iwmo.toml`` (None: the defaults). Top-level keys ``trigger``, ``bijdrageplicht``,
    ``pauzeregel``, ``kostprijs`` (a CSV, relative to the file) and tables ``[gemeente."0363"]``
    with the same keys but ``kostprijs``. ``kostprijs`` given here wins over the file's.
    Raises :class:`ConfigurationError` naming the setting."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigurationError(f"{path}: niet te lezen ({exc.strerror})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{path}: geen geldige TOML ({exc})") from None
    standaard = _gemeente_instellingen(data, "", GemeenteInstellingen())
    gemeenten: dict[str, GemeenteInstellingen] = {}
    tables = data.get("gemeente", {})
    if not isinstance(tables, dict):
        raise ConfigurationError('gemeente: gebruik tabellen [gemeente."0363"]')
    for code, table in tables.items():
        if not (isinstance(code, str) and len(code) == 4 and code.isdigit()) or not isinstance(table, dict):
            raise ConfigurationError(
                f"gemeente.{code}: een gemeentecode heeft 4 cijfers, met een tabel erbij"
            )
        gemeenten[code] = _gemeente_instellingen(table, f"gemeente.{code}.", standaard)
    table_path = kostprijs
    if table_path is None and isinstance(data.get("kostprijs"), str) and path is not None:
        table_path = path.parent / data["kostprijs"]
    kostprijzen = read_kostprijzen(table_path) if table_path is not None else {}
    return Instellingen(standaard, gemeenten, kostprijzen)


def read_kostprijzen(path: Path) -> dict[tuple[str, int], int]:
    """The kostprijs table: CSV (``,`` or ``;``) with ``toewijzingnummer, kostprijs_cent`` and
    optionally ``gemeente``, read by :func:`ieb.tabular.read_table` (bounded, true line numbers).
    Raises :class:`ieb.tabular.TableError` listing every bad row."""
    from ieb.tabular import RowIssue, TableError, read_table, restore_zeros

    table = read_table(
        path, name=str(path), required=("toewijzingnummer", "kostprijs_cent"), optional=("gemeente",)
    )
    out: dict[tuple[str, int], int] = {}
    issues: list[RowIssue] = []
    for row in table.rows:
        gemeente = restore_zeros(row.get("gemeente") or "", 4) if row.get("gemeente") else ""
        try:
            nummer = int(str(row["toewijzingnummer"]).strip())
            cent = int(str(row["kostprijs_cent"]).strip())
            if not 0 <= nummer <= 999_999_999 or not 0 <= cent <= 99_999_999:
                raise ValueError
        except (ValueError, TypeError):
            issues.append(
                RowIssue(
                    row.line,
                    None,
                    "toewijzingnummer (0..999999999) en kostprijs_cent (hele eurocenten, 0..99999999) moeten getallen zijn",
                )
            )
            continue
        if (gemeente, nummer) in out:
            issues.append(
                RowIssue(row.line, "toewijzingnummer", f"toewijzing {nummer} staat er twee keer in")
            )
        out[(gemeente, nummer)] = cent
    if issues:
        raise TableError(str(path), issues)
    return out


# ------------------------------------------------------------------------------ derivation


@dataclass(frozen=True, slots=True)
class DesiredPeriod:
    """One eigen-bijdrage period of a person: ``start`` .. ``stop`` (inclusive, None: open), the
    kostprijs (eurocent) and its start, the ToewijzingNummers behind it, the ids of the stored
    products behind it (``refs``), and ``terugwerkend`` (retroactive, see the module docstring)."""

    gemeente: str
    bsn: str
    start: dt.date
    stop: dt.date | None
    kostprijs_cent: int | None
    kostprijs_start: dt.date | None
    toewijzingen: tuple[int, ...]
    refs: tuple[int, ...]
    terugwerkend: bool = False
    gemeld_op: dt.date | None = None

    def record(self) -> dict[str, str]:
        """The CSV row (strings) in :data:`CSV_HEADER` order."""
        return {
            "gemeente": self.gemeente,
            "bsn": self.bsn,
            "start": self.start.isoformat(),
            "stop": self.stop.isoformat() if self.stop else "",
            "kostprijs_cent": "" if self.kostprijs_cent is None else str(self.kostprijs_cent),
            "kostprijs_start": self.kostprijs_start.isoformat() if self.kostprijs_start else "",
        }


@dataclass(slots=True)
class Desired:
    """The derived desired state: ``periods``, ``zonder_periode`` ((gemeente, bsn) with an empty
    row), ``problems`` (Dutch lines, BSN masked: persons left out) and ``notes`` (products not
    counted, per (gemeente, bsn): Dutch lines for ``ieb iwmo uitleg``)."""

    periods: list[DesiredPeriod] = field(default_factory=list)
    zonder_periode: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def records(self) -> list[dict[str, str]]:
        """All rows, sorted by gemeente, bsn and start (empty-start rows first for their person)."""
        rows = [p.record() for p in self.periods]
        rows += [
            {"gemeente": g, "bsn": b, "start": "", "stop": "", "kostprijs_cent": "", "kostprijs_start": ""}
            for g, b in self.zonder_periode
        ]
        rows.sort(key=lambda r: (r["gemeente"], r["bsn"], r["start"]))
        return rows

    def csv_text(self) -> str:
        """The desired-state file: header :data:`CSV_HEADER`, ``,``-separated, ``\\n`` line ends."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.records())
        return buffer.getvalue()

    def write_csv(self, path: Path) -> Path:
        """Write :meth:`csv_text` to ``path`` (UTF-8) through a temporary file, so a crash never
        leaves half a file."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.csv_text(), encoding="utf-8")
        tmp.replace(path)
        return path

    @property
    def terugwerkend(self) -> list[DesiredPeriod]:
        """The retroactive periods."""
        return [p for p in self.periods if p.terugwerkend]


_KINDS = {
    "01": VoorzieningKind.HUISHOUDELIJKE_HULP,
    "07": VoorzieningKind.DAGBESTEDING,
    "08": VoorzieningKind.VERVOER,
    "12": VoorzieningKind.HULPMIDDEL,
    "13": VoorzieningKind.WONINGAANPASSING,
    "14": VoorzieningKind.HULPMIDDEL,
}


def _kind(categorie: str) -> VoorzieningKind:
    return _KINDS.get(categorie, VoorzieningKind.BEGELEIDING)


@dataclass(slots=True)
class _Item:
    nummer: int
    categorie: str
    toewijzing: Toewijzing | None
    leveringen: list[Levering]

    def refs(self) -> list[int]:
        out = list(self.toewijzing.refs) if self.toewijzing else []
        for levering in self.leveringen:
            out += levering.refs
        return sorted(set(out))


def _intervals(item: _Item, trigger: Trigger) -> list[tuple[dt.date, dt.date | None, list[int]]]:
    """(start, stop, refs of the start) per interval of one product under ``trigger``."""
    t = item.toewijzing
    if trigger is Trigger.TOEWIJZING:
        return [] if t is None else [(t.ingangsdatum, t.einddatum, list(t.refs))]
    cap = None if t is None else t.einddatum
    out = []
    for levering in sorted(item.leveringen, key=lambda x: x.begindatum):
        stop = levering.einddatum if levering.einddatum is not None else cap
        if stop is not None and stop < levering.begindatum:
            continue
        out.append((levering.begindatum, stop, list(levering.refs)))
    return out


def derive(
    state: Voorzieningen,
    instellingen: Instellingen | None = None,
    *,
    products: Mapping[int, Product] | None = None,
    gemeente: str | None = None,
) -> Desired:
    """The desired state of every person in ``state`` (or of one ``gemeente``); see the module
    docstring. ``products`` (id -> stored product) is needed to mark retroactive starts (their
    Dagtekening). Never raises for one bad person: the person is left out with a line in
    ``problems``; raises :class:`ConfigurationError` for bad settings."""
    instellingen = instellingen or Instellingen()
    products = products or {}
    per_person: dict[tuple[str, str], dict[int, _Item]] = {}
    for (g, nummer), t in state.toewijzingen.items():
        item = _Item(nummer, t.categorie or "", t, [])
        per_person.setdefault((g, t.bsn), {})[nummer] = item
    for (g, nummer), leveringen in state.leveringen.items():
        if not leveringen:
            continue
        person = per_person.setdefault((g, leveringen[0].bsn), {})
        found = person.get(nummer)
        if found is None:
            found = person[nummer] = _Item(nummer, leveringen[0].categorie or "", None, [])
        found.leveringen = list(leveringen)
    out = Desired()
    for (g, bsn), items in sorted(per_person.items()):
        if gemeente is not None and g != gemeente:
            continue
        _derive_person(g, bsn, items, instellingen, products, out)
    return out


def _derive_person(
    g: str,
    bsn: str,
    items: Mapping[int, _Item],
    instellingen: Instellingen,
    products: Mapping[int, Product],
    out: Desired,
) -> None:
    settings = instellingen.voor(g)
    notes = out.notes.setdefault((g, bsn), [])
    voorzieningen: list[Voorziening] = []
    events: list[Event] = []
    starts: dict[tuple[int, dt.date], list[int]] = {}
    in_scope = False
    for nummer, item in sorted(items.items()):
        omschrijving = CATEGORIEEN.get(item.categorie, "onbekend")
        if item.categorie not in settings.bijdrageplicht:
            notes.append(
                f"toewijzing {nummer} (categorie {item.categorie} {omschrijving}): geen eigen bijdrage "
                "(categorie niet bijdrageplichtig)"
            )
            continue
        if item.toewijzing is not None and item.toewijzing.verwijderd:
            in_scope = True
            notes.append(f"toewijzing {nummer}: verwijderd (RedenWijziging 13), telt niet mee")
            continue
        in_scope = True
        intervals = _intervals(item, settings.trigger)
        if not intervals:
            why = (
                "geen toewijzing gelezen"
                if settings.trigger is Trigger.TOEWIJZING
                else "nog geen start (WMO305)"
            )
            notes.append(f"toewijzing {nummer} (categorie {item.categorie}): {why}")
            continue
        kostprijs = instellingen.kostprijs(g, nummer)
        if kostprijs is not None and item.categorie not in KOSTPRIJS_CATEGORIEEN:
            notes.append(
                f"toewijzing {nummer}: kostprijs genegeerd, alleen hulpmiddelen en woonvoorzieningen "
                "(categorie 12, 13, 14) hebben een kostprijs"
            )
            kostprijs = None
        first = min(start for start, _, _ in intervals)
        stops = [stop for _, stop, _ in intervals]
        last = None if any(s is None for s in stops) else max(s for s in stops if s is not None)
        voorzieningen.append(
            Voorziening(
                id=str(nummer),
                bsn=bsn,
                soort=_kind(item.categorie),
                start=first,
                stop=last,
                kostprijs_cent=kostprijs,
            )
        )
        for start, stop, refs in intervals:
            starts[(nummer, start)] = refs
            if settings.trigger is Trigger.TOEWIJZING:
                events.append(
                    Event(voorziening_id=str(nummer), soort=EventKind.TOEWIJZING, datum=start, einddatum=stop)
                )
            else:
                events.append(Event(voorziening_id=str(nummer), soort=EventKind.START_ZORG, datum=start))
                if stop is not None:
                    events.append(Event(voorziening_id=str(nummer), soort=EventKind.STOP_ZORG, datum=stop))
    if not voorzieningen:
        if in_scope:
            out.zonder_periode.append((g, bsn))
        return
    policy_trigger = (
        StartTrigger.TOEWIJZING if settings.trigger is Trigger.TOEWIJZING else StartTrigger.LEVERING
    )
    kinds = {v.soort for v in voorzieningen}
    try:
        parameters = GemeenteParameters(
            gemeentecode=g,
            bijdrageplichtige_soorten=frozenset(kinds),
            start_triggers=dict.fromkeys(kinds, policy_trigger),
            pauzeregel=settings.pauzeregel,
        )
        periods = derive_periods(voorzieningen, events, parameters)
    except (IebError, ValueError) as exc:
        out.problems.append(f"{g}: Bsn {mask_bsn(bsn)}: niet afgeleid: {mask_bsn_text(str(exc))}")
        return
    for period in periods:
        nummers = tuple(int(i) for i in period.voorziening_ids)
        refs = sorted({r for n in nummers for r in items[n].refs()})
        reported = [
            products[r].dagtekening
            for n in nummers
            for r in starts.get((n, period.start), [])
            if r in products
        ]
        gemeld = min(reported) if reported else None
        late = gemeld is not None and gemeld > add_calendar_months(period.start, 1)
        out.periods.append(
            DesiredPeriod(
                g,
                bsn,
                period.start,
                period.stop,
                period.kostprijs_cent,
                period.kostprijs_start,
                nummers,
                tuple(refs),
                late,
                gemeld,
            )
        )


def mask_bsn_text(text: str) -> str:
    """``text`` with every possible BSN masked (:func:`ieb.types.mask_bsns`)."""
    from ieb.types import mask_bsns

    return mask_bsns(text)


def describe_period(p: DesiredPeriod) -> str:
    """One Dutch line for a period (BSN masked)."""
    stop = p.stop.isoformat() if p.stop else "open"
    kost = (
        f", kostprijs {p.kostprijs_cent / 100:.2f} euro vanaf {p.kostprijs_start}" if p.kostprijs_cent else ""
    )
    late = f" (met terugwerkende kracht: gemeld op {p.gemeld_op})" if p.terugwerkend else ""
    nummers = ", ".join(str(n) for n in p.toewijzingen)
    return f"{p.gemeente} Bsn {mask_bsn(p.bsn)}: {p.start} t/m {stop}{kost}; toewijzing {nummers}{late}"


def explain(bsn: str, desired: Desired, rows: Sequence[tuple[int, Product]]) -> list[str]:
    """``ieb iwmo uitleg``: per gemeente the periods of ``bsn`` and, under each, the stored messages
    behind it (bericht, Identificatie, Dagtekening, file:line, ToewijzingNummer, dates, status);
    then the products that do not count and why. BSN masked."""
    by_id = dict(rows)
    lines: list[str] = []
    gemeenten = sorted({p.gemeente for _, p in rows if p.bsn == bsn})
    for g in gemeenten:
        lines.append(f"Gemeente {g}, Bsn {mask_bsn(bsn)}:")
        periods = [p for p in desired.periods if p.gemeente == g and p.bsn == bsn]
        if not periods:
            if (g, bsn) in desired.zonder_periode:
                lines.append("  geen periode: alles wat voor deze persoon verstuurd is, wordt verwijderd")
            else:
                lines.append("  geen periode")
        for period in periods:
            lines.append("  periode " + describe_period(period).split(": ", 1)[1])
            for ref in period.refs:
                product = by_id.get(ref)
                if product is not None:
                    lines.append("    " + describe_product(product))
        for note in desired.notes.get((g, bsn), []):
            lines.append(f"  let op: {note}")
        for problem in desired.problems:
            if problem.startswith(f"{g}: Bsn {mask_bsn(bsn)}"):
                lines.append(f"  probleem: {problem}")
    return lines


def describe_product(p: Product) -> str:
    """One Dutch line for a stored product (no BSN)."""
    status = {"1": "eerste", "2": "wijziging", "3": "verwijdering"}.get(p.status or "", "")
    if p.bericht == "WMO301":
        what = f"toewijzing {p.begindatum} t/m {p.einddatum or 'open'}"
        if p.reden:
            what += f", RedenWijziging {p.reden}"
    elif p.bericht == "WMO305":
        what = f"start levering {p.begindatum} ({status})"
    else:
        what = f"stop levering {p.einddatum}, reden {p.reden} ({status})"
    return (
        f"{p.bericht} {p.identificatie} van {p.dagtekening} ({p.bron}:{p.regel}): "
        f"toewijzing {p.toewijzing_nummer}, categorie {p.categorie}: {what}"
    )
