"""Reconciliation of the CAK's HenV/ZA files with the gemeente's administration, and the initial
delivery (the desired state on the cut-over date, the ``peildatum``).

Public API::

    reconcile(henv, za, administratie, peildatum, *, parameters=None, table=None) -> Afstemming

Counting against a kostprijs ([C] spec: every month at the national tariff; [I] the rest):

* until 31 December 2019 the CAK charged per 4-week period (13 a year, EUR 17.50 each, see
  :class:`ieb.migration.values.CakPeriode` for the period calendar); from 1 January 2020 per
  calendar month. A *termijn* is one such period or month; :func:`counted_between` sums the national
  tariff over the termijnen that begin in a date range, so a 2019 period and a 2020 month are each
  counted once at their own tariff (this is how the 2019 periods convert to months).
* [I] PERIODE_VANAF is the first period the CAK charged. The gemeente's start date is compared with
  the CAK through the same rule as for months: collection begins in the termijn after the one that
  contains the start; the termijn that contains the stop is charged in full.
* RESTBEDRAG is what was left at the end of ZORGPERIODE. On the peildatum what is left is that
  amount minus the termijnen that begin after ZORGPERIODE and before the peildatum's month
  (:func:`cak_rest`). The gemeente's own figure is its kostprijs minus the termijnen from its start
  (not before 1 January 2019, the first year of the abonnementstarief) up to the same month
  (:func:`gemeente_rest`). Per verstrekking the CAK's RESTBEDRAG is also checked against TOTALE_KOSTEN
  minus KOSTEN_PER_PERIODE per period charged from PERIODE_VANAF through ZORGPERIODE.
* The longest-running kostprijs of a person is the one whose remaining amount is used up last
  (:func:`ieb.policy.virtual_end` from the first month charged after the peildatum).

Who is where on the peildatum: *at the CAK* = a HenV verstrekking still running in the last zorgperiode
(IND_LAATSTE_ZORGPERIODE = J), not ended before the peildatum (AANTAL_PERIODEN ends it only when it
reaches past the file's last period, see :attr:`HenvRegel.tot`) and, with a kostprijs, not used up; or
a ZA product in the last zorgperiode. Every CAK row ends up in exactly one :class:`CakRegel`
(:attr:`Afstemming.cak_regels`), never dropped silently. *At the gemeente* = at least one contribution period in the
initial delivery: a voorziening running on the peildatum in a bijdrageplichtige category whose
kostprijs, if any, is not used up (the CAK's RESTBEDRAG taken over where the verstrekking has the same
DOSSIERNUMMER, otherwise the gemeente's own figure).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ieb.errors import IebError
from ieb.migration.files import AdministratieRegel, Fout, Gelezen, HenvRegel, Persoon, ZaRegel
from ieb.migration.values import periode_of
from ieb.policy import (
    GemeenteParameters,
    Month,
    Period,
    PolicyError,
    TariffTable,
    Voorziening,
    derive_periods,
    first_charged_month,
    last_charged_month,
    monthly_tariff,
    national_tariff,
    virtual_end,
)
from ieb.policy.parameters import DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN
from ieb.types import Bsn, mask_bsn

__all__ = [
    "IEB_START",
    "Afstemming",
    "CakRegel",
    "Categorie",
    "Groep",
    "PersoonUitkomst",
    "ReconcileError",
    "Restbedrag",
    "Verschil",
    "cak_rest",
    "counted_between",
    "gemeente_rest",
    "reconcile",
]

#: first day of iEb and of monthly charging (CS332: no start before it)
IEB_START = dt.date(2020, 1, 1)
#: first day of the abonnementstarief (nothing counted against a kostprijs before it)
TARIEF_START = dt.date(2019, 1, 1)


class ReconcileError(IebError):
    """The reconciliation cannot run (e.g. a peildatum before 1 January 2020); ``issues`` lists why."""

    def __init__(self, message: str, issues: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.issues = tuple(issues) or (message,)


class Groep(StrEnum):
    """Where a person was found: only in the CAK's files, only in the gemeente's administration, or in both."""

    ALLEEN_CAK = "alleen_cak"
    ALLEEN_GEMEENTE = "alleen_gemeente"
    BEIDE = "beide"


class Categorie(StrEnum):
    """Kinds of difference between the CAK and the gemeente for one person."""

    PERIODE = "periode"
    KOSTPRIJS = "kostprijs"
    RESTBEDRAG = "restbedrag"
    GEBOORTEDATUM = "geboortedatum"
    VOORLETTERS = "voorletters"

    @property
    def omschrijving(self) -> str:
        """The Dutch label of this kind of difference, as shown in the reconciliation report."""
        return _OMSCHRIJVING[self]


_OMSCHRIJVING = {
    Categorie.PERIODE: "Periode (start of einde)",
    Categorie.KOSTPRIJS: "Kostprijs",
    Categorie.RESTBEDRAG: "Restbedrag",
    Categorie.GEBOORTEDATUM: "Geboortedatum",
    Categorie.VOORLETTERS: "Voorletters",
}


class CakRegel(StrEnum):
    """Where one data row of the CAK's files (HenV or ZA) ended up: every row is in exactly one.

    ``beide`` / ``alleen_cak``: running on the peildatum, counted for a person in that :class:`Groep`;
    ``niet_lopend``: not running on the peildatum (IND_LAATSTE_ZORGPERIODE N: ended, or an earlier
    period of a ZA product; or a HenV end before the peildatum);
    ``opgebruikt``: the kostprijs is used up; ``fout``: a bad row (see :attr:`Afstemming.fouten`).
    """

    BEIDE = "beide"
    ALLEEN_CAK = "alleen_cak"
    NIET_LOPEND = "niet_lopend"
    OPGEBRUIKT = "opgebruikt"
    FOUT = "fout"

    @property
    def omschrijving(self) -> str:
        """The Dutch label, as shown in the text output and the report."""
        return _REGEL_OMSCHRIJVING[self]


_REGEL_OMSCHRIJVING = {
    CakRegel.BEIDE: "lopend, bij beide",
    CakRegel.ALLEEN_CAK: "lopend, alleen bij het CAK",
    CakRegel.NIET_LOPEND: "niet lopend op de peildatum (beëindigd of een eerdere periode)",
    CakRegel.OPGEBRUIKT: "kostprijs opgebruikt",
    CakRegel.FOUT: "foute regel",
}


@dataclass(frozen=True, slots=True)
class Verschil:
    """One difference: what the CAK has, what the gemeente has, and what to do (Dutch)."""

    categorie: Categorie
    cak: str
    gemeente: str
    actie: str


@dataclass(frozen=True, slots=True, repr=False)
class PersoonUitkomst:
    """The outcome for one person (``bsn`` full; show :attr:`bsn_masked` to people)."""

    bsn: str
    naam: str
    groep: Groep
    verschillen: tuple[Verschil, ...] = ()
    actie: str = ""
    restbedrag_cent: int | None = None  #: remaining kostprijs taken over on the peildatum
    perioden: int = 0  #: contribution periods in the initial delivery

    @property
    def bsn_masked(self) -> str:
        """The BSN masked with :func:`ieb.types.mask_bsn` (for reports and logs)."""
        return mask_bsn(self.bsn)

    def __repr__(self) -> str:
        return f"PersoonUitkomst(bsn='{self.bsn_masked}', groep={self.groep.value}, verschillen={len(self.verschillen)})"


@dataclass(frozen=True, slots=True, repr=False)
class Restbedrag:
    """One running CAK verstrekking with a kostprijs (amounts in eurocent).

    ``restbedrag_cent`` as in the file (end of ZORGPERIODE), ``berekend_cent`` from TOTALE_KOSTEN and
    the periods charged, ``op_peildatum_cent`` what is left on the peildatum, ``virtuele_einddatum``
    when that is used up (policy rules, from the first month charged after the peildatum) and
    ``langstlopend`` whether it is the person's longest-running kostprijs at the CAK.
    """

    bsn: str
    dossiernummer: str
    groep_code: str
    regel: int
    totale_kosten_cent: int
    restbedrag_cent: int
    berekend_cent: int | None
    op_peildatum_cent: int
    virtuele_einddatum: dt.date | None
    langstlopend: bool

    def __repr__(self) -> str:
        return f"Restbedrag(bsn='{mask_bsn(self.bsn)}', dossier={self.dossiernummer!r}, rest={self.op_peildatum_cent})"


@dataclass
class Afstemming:
    """The result of :func:`reconcile`."""

    peildatum: dt.date
    personen: list[PersoonUitkomst] = field(default_factory=list)
    perioden: list[Period] = field(default_factory=list)  #: the initial delivery (ieb.policy periods)
    fouten: list[Fout] = field(default_factory=list)
    waarschuwingen: list[str] = field(default_factory=list)
    restbedrag_cent: int = 0  #: sum of the CAK's remaining amounts on the peildatum (running verstrekkingen)
    bestanden: dict[str, int] = field(default_factory=dict)  #: data rows read per file
    restbedragen: list[Restbedrag] = field(default_factory=list)  #: per running kostprijs verstrekking
    #: CAK file -> data line -> where that row ended up (every HenV/ZA row read, once)
    cak_regels: dict[str, dict[int, CakRegel]] = field(default_factory=dict)

    def cak_telling(self) -> dict[str, dict[str, int]]:
        """Per CAK file the number of rows in each :class:`CakRegel` (all keys, zeros included); the
        numbers of a file add up to its data rows read (:attr:`bestanden`)."""
        return {
            bestand: {c.value: sum(1 for v in regels.values() if v is c) for c in CakRegel}
            for bestand, regels in self.cak_regels.items()
        }

    def groep(self, groep: Groep) -> list[PersoonUitkomst]:
        """The persons of one :class:`Groep`, in the order of :attr:`personen`."""
        return [p for p in self.personen if p.groep is groep]

    @property
    def met_verschillen(self) -> list[PersoonUitkomst]:
        """The persons found on both sides with at least one :class:`Verschil`."""
        return [p for p in self.personen if p.groep is Groep.BEIDE and p.verschillen]

    def per_categorie(self) -> dict[Categorie, int]:
        """Persons with at least one difference of each category."""
        counts = dict.fromkeys(Categorie, 0)
        for p in self.met_verschillen:
            for c in {v.categorie for v in p.verschillen}:
                counts[c] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        """The counts of ``ieb reconcile --format json``."""
        return {
            "alleen_cak": len(self.groep(Groep.ALLEEN_CAK)),
            "alleen_gemeente": len(self.groep(Groep.ALLEEN_GEMEENTE)),
            "beide": len(self.groep(Groep.BEIDE)),
            "verschillen": len(self.met_verschillen),
            "restbedrag_cent": self.restbedrag_cent,
            "startberichten": len(self.perioden),
            "fouten": [f.to_dict() for f in self.fouten],
            "cak_regels": self.cak_telling(),
        }

    def desired_records(self) -> list[dict[str, str]]:
        """The initial delivery in the planner's desired-state fields (docs/ledger.md)."""
        return [
            {
                "bsn": str(p.bsn),
                "start": p.start.isoformat(),
                "stop": p.stop.isoformat() if p.stop else "",
                "kostprijs_cent": "" if p.kostprijs_cent is None else str(p.kostprijs_cent),
                "kostprijs_start": p.kostprijs_start.isoformat()
                if p.kostprijs_cent is not None and p.kostprijs_start
                else "",
            }
            for p in self.perioden
        ]


# ------------------------------------------------------------------------------------ counting


def _termijnen(van: dt.date, tot: dt.date) -> Iterator[dt.date]:
    """First days of the termijnen (2019: 4-week periods, from 2020: months) in ``[van, tot)``."""
    day = max(van, TARIEF_START)
    if day < IEB_START:
        p = periode_of(day)
        if p.eerste_dag < day:
            p = p.plus(1)
        while p.eerste_dag < min(tot, IEB_START):
            yield p.eerste_dag
            p = p.plus(1)
        day = IEB_START
    month = Month.of(day)
    if month.first_day < day:
        month = month.next()
    while month.first_day < tot:
        yield month.first_day
        month = month.next()


def counted_between(van: dt.date, tot: dt.date, table: TariffTable | None = None) -> int:
    """The national tariffs (eurocent) of the termijnen that begin on or after ``van`` and before
    ``tot`` (a 2019 period at its 4-weekly amount, a month at its monthly amount)."""
    return sum(national_tariff(day, table).bedrag_cent for day in _termijnen(van, tot))


def _first_charged(start: dt.date) -> dt.date:
    if start < IEB_START:
        return periode_of(start).plus(1).eerste_dag
    return first_charged_month(start).first_day


def _after_last_charged(stop: dt.date | None) -> dt.date:
    if stop is None:
        return dt.date.max
    if stop < IEB_START:
        return periode_of(stop).laatste_dag + dt.timedelta(days=1)
    return last_charged_month(stop).last_day + dt.timedelta(days=1)


def _termijn(day: dt.date) -> str:
    return str(periode_of(day)) if day < IEB_START else str(Month.of(day))


def cak_rest(r: HenvRegel, peildatum: dt.date, table: TariffTable | None = None) -> int | None:
    """What is left of the verstrekking's kostprijs on ``peildatum`` (None: no kostprijs)."""
    if r.restbedrag_cent is None:
        return None
    tot = r.tot
    end = _after_last_charged(tot.laatste_dag if tot else None)
    van = r.zorgperiode.laatste_dag + dt.timedelta(days=1)
    return max(0, r.restbedrag_cent - counted_between(van, min(end, Month.of(peildatum).first_day), table))


def cak_rest_berekend(r: HenvRegel) -> int | None:
    """TOTALE_KOSTEN minus KOSTEN_PER_PERIODE per period from PERIODE_VANAF through ZORGPERIODE."""
    if r.totale_kosten_cent is None or r.kosten_per_periode_cent is None:
        return None
    charged = r.zorgperiode.index() - r.vanaf.index() + 1
    if r.aantal_perioden is not None:
        charged = min(charged, r.aantal_perioden)
    return max(0, r.totale_kosten_cent - r.kosten_per_periode_cent * charged)


def gemeente_rest(a: AdministratieRegel, peildatum: dt.date, table: TariffTable | None = None) -> int | None:
    """The gemeente's own figure of what is left of its kostprijs on ``peildatum``."""
    if a.kostprijs_cent is None:
        return None
    tot = min(_after_last_charged(a.stop), Month.of(peildatum).first_day)
    return max(0, a.kostprijs_cent - counted_between(_first_charged(a.start), tot, table))


# ------------------------------------------------------------------------------- reconciliation


def _cak_state(r: HenvRegel, peildatum: dt.date, table: TariffTable | None) -> CakRegel | None:
    """Why a HenV row does not count on ``peildatum`` (None: it is running there).

    Running = in the file's last period (IND_LAATSTE_ZORGPERIODE J), not ended before the peildatum
    (:attr:`HenvRegel.tot`: AANTAL_PERIODEN only ends a J row when it reaches past the file) and,
    with a kostprijs, not used up.
    """
    tot = r.tot
    if not r.laatste_zorgperiode or (tot is not None and tot.laatste_dag < peildatum):
        return CakRegel.NIET_LOPEND
    rest = cak_rest(r, peildatum, table)
    return CakRegel.OPGEBRUIKT if rest is not None and rest <= 0 else None


def _gem_running(a: AdministratieRegel, peildatum: dt.date, soorten: frozenset[Any]) -> bool:
    return a.soort in soorten and a.start <= peildatum and (a.stop is None or a.stop >= peildatum)


def _initialen(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalpha())


def _euro(cent: int | None) -> str:
    if cent is None:
        return "geen"
    return f"EUR {cent // 100:,}.{cent % 100:02d}".replace(",", "X").replace(".", ",").replace("X", ".")


def _longest(
    items: Sequence[tuple[int, Any]], peildatum: dt.date, table: TariffTable | None
) -> tuple[int, Any] | None:
    """The (rest, item) whose rest is used up last, counting from the first month after the peildatum."""
    items = [(rest, item) for rest, item in items if rest > 0]
    if len(items) <= 1:
        return items[0] if items else None
    best: tuple[Month, int, tuple[int, Any]] | None = None
    first = first_charged_month(peildatum)
    for rest, item in items:
        if rest <= 0:
            continue
        end = virtual_end(rest, first, table)
        assert end is not None
        key = (end.stop_month, rest)
        if best is None or key > best[:2]:
            best = (end.stop_month, rest, (rest, item))
    return None if best is None else best[2]


def _differences(
    henv: Sequence[HenvRegel],
    za: Sequence[ZaRegel],
    gem: Sequence[AdministratieRegel],
    gem_rest: dict[int, int | None],
    peildatum: dt.date,
    table: TariffTable | None,
) -> list[Verschil]:
    """Every :class:`Verschil` of one person found on both sides (CAK rows ``henv``/``za``, gemeente
    rows ``gem``; ``gem_rest``: the gemeente's remaining kostprijs per line, eurocent)."""
    return [
        *_person_differences(henv, za, gem),
        *_period_differences(henv, gem),
        *_kostprijs_differences(henv, gem, gem_rest, peildatum, table),
    ]


def _person_differences(
    henv: Sequence[HenvRegel], za: Sequence[ZaRegel], gem: Sequence[AdministratieRegel]
) -> list[Verschil]:
    """Geboortedatum and voorletters (compared as initials)."""
    out: list[Verschil] = []
    cak_persoon = henv[0].persoon if henv else za[0].persoon
    gem_persoon = gem[0].persoon
    if cak_persoon.geboortedatum != gem_persoon.geboortedatum:
        out.append(
            Verschil(
                Categorie.GEBOORTEDATUM,
                cak_persoon.geboortedatum.isoformat(),
                gem_persoon.geboortedatum.isoformat(),
                "Controleer de geboortedatum in de BRP en corrigeer de eigen administratie of meld het aan het CAK.",
            )
        )
    if _initialen(cak_persoon.voorletters) != _initialen(gem_persoon.voorletters):
        out.append(
            Verschil(
                Categorie.VOORLETTERS,
                cak_persoon.voorletters or "(leeg)",
                gem_persoon.voorletters or "(leeg)",
                "Controleer de voorletters in de BRP; het BSN is gelijk, dus het is dezelfde persoon.",
            )
        )
    return out


def _period_differences(henv: Sequence[HenvRegel], gem: Sequence[AdministratieRegel]) -> list[Verschil]:
    """The first charged termijn, and the end of the verstrekkingen without kostprijs."""
    out: list[Verschil] = []
    # periods: start of the earliest running verstrekking, end of the non-kostprijs ones
    if henv:
        cak_start = min(r.vanaf for r in henv)
        eerste = min(a.start for a in gem)
        if _termijn(_first_charged(eerste)) != str(cak_start):
            out.append(
                Verschil(
                    Categorie.PERIODE,
                    f"eerste periode {cak_start} (vanaf {cak_start.eerste_dag.isoformat()})",
                    f"start {eerste.isoformat()} (eerste periode {_termijn(_first_charged(eerste))})",
                    "Controleer de ingangsdatum in de beschikking; de startdatum in de eerste levering is de "
                    "peildatum, maar een afwijkende start wijst op een fout in een van beide administraties.",
                )
            )
    cak_plain = [r for r in henv if r.totale_kosten_cent is None]
    gem_plain = [a for a in gem if a.kostprijs_cent is None]
    if cak_plain and gem_plain:
        cak_open = any(r.tot is None for r in cak_plain)
        gem_open = any(a.stop is None for a in gem_plain)
        cak_end = None if cak_open else max(r.tot.laatste_dag for r in cak_plain if r.tot is not None)
        gem_end = None if gem_open else max(a.stop for a in gem_plain if a.stop is not None)
        if (cak_end is None) != (gem_end is None) or (
            cak_end is not None and gem_end is not None and _termijn(cak_end) != _termijn(gem_end)
        ):
            out.append(
                Verschil(
                    Categorie.PERIODE,
                    f"einde {_termijn(cak_end)}" if cak_end else "geen einde",
                    f"stop {gem_end.isoformat()}" if gem_end else "geen stop",
                    "Controleer de einddatum in de beschikking; de eerste levering stuurt de stop van de eigen "
                    "administratie.",
                )
            )
    return out


def _kostprijs_differences(
    henv: Sequence[HenvRegel],
    gem: Sequence[AdministratieRegel],
    gem_rest: dict[int, int | None],
    peildatum: dt.date,
    table: TariffTable | None,
) -> list[Verschil]:
    """Kostprijs and restbedrag (eurocent) of the longest-running kostprijs item on each side, and a
    CAK RESTBEDRAG that does not follow from its own TOTALE_KOSTEN."""
    out: list[Verschil] = []
    # kostprijs and restbedrag of the longest-running kostprijs item on each side
    cak_items = [(cak_rest(r, peildatum, table) or 0, r) for r in henv if r.totale_kosten_cent is not None]
    gem_items = [(gem_rest[a.regel] or 0, a) for a in gem if a.kostprijs_cent is not None]
    cak_long = _longest(cak_items, peildatum, table)
    gem_long = _longest(gem_items, peildatum, table)
    cak_k = None if cak_long is None else cak_long[1].totale_kosten_cent
    gem_k = None if gem_long is None else gem_long[1].kostprijs_cent
    if cak_k != gem_k:
        out.append(
            Verschil(
                Categorie.KOSTPRIJS,
                _euro(cak_k),
                _euro(gem_k),
                "Controleer de kostprijs in de beschikking (de langstlopende voorziening met kostprijs); "
                "bij een hogere kostprijs stuurt u na de eerste levering een wijziging.",
            )
        )
    cak_r = None if cak_long is None else cak_long[0]
    gem_r = None if gem_long is None else gem_long[0]
    if cak_r != gem_r:
        out.append(
            Verschil(
                Categorie.RESTBEDRAG,
                _euro(cak_r),
                _euro(gem_r),
                "De eerste levering neemt het restbedrag van het CAK over (zelfde DOSSIERNUMMER); controleer "
                "bij een groot verschil de geïnde perioden bij het CAK.",
            )
        )
    for r in henv:
        berekend = cak_rest_berekend(r)
        if berekend is not None and r.restbedrag_cent is not None and berekend != r.restbedrag_cent:
            out.append(
                Verschil(
                    Categorie.RESTBEDRAG,
                    f"RESTBEDRAG {_euro(r.restbedrag_cent)} (dossier {r.dossiernummer})",
                    f"berekend uit het CAK-bestand {_euro(berekend)}",
                    "Het RESTBEDRAG klopt niet met TOTALE_KOSTEN en de geïnde perioden; vraag het CAK om uitleg "
                    "voordat u het overneemt.",
                )
            )
    return out


def reconcile(
    henv: Gelezen[HenvRegel],
    za: Gelezen[ZaRegel],
    administratie: Gelezen[AdministratieRegel],
    peildatum: dt.date,
    *,
    parameters: GemeenteParameters | None = None,
    table: TariffTable | None = None,
) -> Afstemming:
    """Compare the files on Bsn and compute the initial delivery on ``peildatum``.

    Raises :class:`ReconcileError` when ``peildatum`` lies before 1 January 2020 (CS332). Problems
    of single persons (e.g. data the policy rules refuse) become fouten of the administratie file.
    """
    if peildatum < IEB_START:
        raise ReconcileError(
            f"peildatum {peildatum.isoformat()} ligt voor 1 januari 2020; iEb-berichten kunnen niet eerder "
            "ingaan (regel CS332)"
        )
    soorten = parameters.bijdrageplichtige_soorten if parameters else DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN
    result = Afstemming(peildatum)
    names = _distinct_names(
        (henv.bestand, za.bestand, administratie.bestand), ("HenV", "ZA", "administratie")
    )
    gelezen: tuple[Gelezen[Any], ...] = (henv, za, administratie)
    for g, name in zip(gelezen, names, strict=True):
        result.fouten.extend(g.fouten)
        result.waarschuwingen.extend(g.waarschuwingen)
        result.bestanden[name] = g.regels
    henv_state = result.cak_regels[names[0]] = {f.regel: CakRegel.FOUT for f in henv.fouten if f.regel > 0}
    za_state = result.cak_regels[names[1]] = {f.regel: CakRegel.FOUT for f in za.fouten if f.regel > 0}
    cak_henv: dict[str, list[HenvRegel]] = defaultdict(list)
    for r in henv.records:
        state = _cak_state(r, peildatum, table)
        if state is not None:
            henv_state[r.regel] = state
            continue
        cak_henv[r.bsn].append(r)
        result.restbedrag_cent += cak_rest(r, peildatum, table) or 0
    cak_za: dict[str, list[ZaRegel]] = defaultdict(list)
    for z in za.records:
        if z.laatste_zorgperiode:
            cak_za[z.bsn].append(z)
        else:
            za_state[z.regel] = CakRegel.NIET_LOPEND
    result.restbedragen.extend(_restbedragen(cak_henv, peildatum, table))
    gemeente = _gemeente_side(henv, administratie, peildatum, soorten, parameters, table, result)

    cak_bsns = set(cak_henv) | set(cak_za)
    for bsn in sorted(cak_bsns | set(gemeente.active)):
        henv_rows, za_rows, gem = cak_henv.get(bsn, []), cak_za.get(bsn, []), gemeente.active.get(bsn, [])
        periods = gemeente.periods.get(bsn, [])
        note = "; ".join(gemeente.notes.get(bsn, []))
        diffs = (
            _differences(henv_rows, za_rows, gem, gemeente.rest, peildatum, table)
            if bsn in cak_bsns and gem
            else []
        )
        result.personen.append(
            _uitkomst(
                bsn, (gem or henv_rows or za_rows)[0].persoon, bsn in cak_bsns, gem, diffs, periods, note
            )
        )
        result.perioden.extend(periods)
        counted = CakRegel.BEIDE if bsn in cak_bsns and gem else CakRegel.ALLEEN_CAK
        henv_state.update((r.regel, counted) for r in henv_rows)
        za_state.update((z.regel, counted) for z in za_rows)
    result.fouten.sort(key=lambda f: (f.bestand, f.regel))
    return result


def _distinct_names(names: Sequence[str], kinds: Sequence[str]) -> list[str]:
    """The files' names as keys of :attr:`Afstemming.bestanden` / ``cak_regels``; two files with
    the same name (e.g. both read from bytes, ``<invoer>``) get their kind added, so neither
    file's rows are counted under the other."""
    return [f"{n} ({k})" if names.count(n) > 1 else n for n, k in zip(names, kinds, strict=True)]


def _restbedragen(
    cak_henv: Mapping[str, list[HenvRegel]], peildatum: dt.date, table: TariffTable | None
) -> Iterator[Restbedrag]:
    """Per running HenV row with a restbedrag: what is left on ``peildatum`` (eurocent) and the
    virtual end date it gives; the longest of a person is marked."""
    first_month = first_charged_month(peildatum)
    for bsn, rows_of in cak_henv.items():
        items = [(cak_rest(r, peildatum, table) or 0, r) for r in rows_of if r.restbedrag_cent is not None]
        longest = _longest(items, peildatum, table)
        for left, r in items:
            end = virtual_end(left, first_month, table) if left > 0 else None
            assert r.totale_kosten_cent is not None and r.restbedrag_cent is not None
            yield Restbedrag(
                bsn,
                r.dossiernummer,
                r.groep_code,
                r.regel,
                r.totale_kosten_cent,
                r.restbedrag_cent,
                cak_rest_berekend(r),
                left,
                end.virtual_end_date if end else None,
                longest is not None and longest[1] is r,
            )


@dataclass
class _GemeenteSide:
    """The gemeente's running voorzieningen on the peildatum, as the initial delivery sees them."""

    active: dict[str, list[AdministratieRegel]] = field(default_factory=dict)  #: bsn -> rows with periods
    rest: dict[int, int | None] = field(default_factory=dict)  #: line -> own remaining kostprijs (eurocent)
    periods: dict[str, list[Period]] = field(default_factory=dict)  #: bsn -> periods to start
    notes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  #: bsn -> remarks


def _gemeente_side(
    henv: Gelezen[HenvRegel],
    administratie: Gelezen[AdministratieRegel],
    peildatum: dt.date,
    soorten: frozenset[Any],
    parameters: GemeenteParameters | None,
    table: TariffTable | None,
    result: Afstemming,
) -> _GemeenteSide:
    """The periods of the initial delivery per person (the policy rules, :func:`derive_periods`), with
    the CAK's restbedrag taken over where the dossier matches; refused data becomes a fout of the
    administratie file in ``result``."""
    by_dossier: dict[tuple[str, str], HenvRegel] = {}
    for r in henv.records:
        if r.restbedrag_cent is not None and r.dossiernummer:
            by_dossier.setdefault((r.bsn, r.dossiernummer), r)
    gem_rows: dict[str, list[AdministratieRegel]] = defaultdict(list)
    for a in administratie.records:
        if _gem_running(a, peildatum, soorten):
            gem_rows[a.bsn].append(a)

    side = _GemeenteSide()
    first_month = first_charged_month(peildatum)
    for bsn, rows in gem_rows.items():
        voorzieningen: list[Voorziening] = []
        for a in rows:
            rest = side.rest[a.regel] = gemeente_rest(a, peildatum, table)
            match = by_dossier.get((bsn, a.dossiernummer)) if a.kostprijs_cent is not None else None
            if match is not None:
                rest = cak_rest(match, peildatum, table)  # the CAK's restbedrag is taken over
            stop = a.stop
            if rest is not None and rest <= 0:
                continue  # kostprijs used up: nothing more to charge for this voorziening
            if rest is not None and rest < monthly_tariff(peildatum, table).bedrag_cent:
                side.notes[bsn].append(
                    f"restbedrag {_euro(rest)} (regel {a.regel}) is minder dan één maandtarief: er wordt nog één "
                    f"maand geïnd, de stop staat aan het eind van {first_month}"
                )
                stop = first_month.last_day if stop is None else min(stop, first_month.last_day)
                rest = None
            try:
                voorzieningen.append(
                    Voorziening(
                        id=str(a.regel),
                        bsn=Bsn(bsn),
                        soort=a.soort,
                        start=peildatum,
                        stop=max(stop, peildatum) if stop is not None else None,
                        kostprijs_cent=rest,
                    )
                )
            except (PolicyError, ValueError) as exc:
                result.fouten.append(Fout(administratie.bestand, a.regel, str(exc)))
        if not voorzieningen:
            continue
        try:
            periods = derive_periods(voorzieningen, parameters=parameters, table=table)
        except PolicyError as exc:
            result.fouten.append(Fout(administratie.bestand, rows[0].regel, exc.message))
            continue
        if periods:
            side.active[bsn] = rows
            side.periods[bsn] = periods
    return side


def _uitkomst(
    bsn: str,
    persoon: Persoon,
    at_cak: bool,
    gem: list[AdministratieRegel],
    diffs: list[Verschil],
    periods: list[Period],
    note: str,
) -> PersoonUitkomst:
    """The outcome of one person: in both (with ``diffs``), only at the gemeente, or only at the CAK."""
    naam = " ".join(x for x in (persoon.voorletters, persoon.voorvoegsel, persoon.achternaam) if x)
    rest_sent = next((p.kostprijs_cent for p in periods if p.kostprijs_cent is not None), None)
    if at_cak and gem:
        return PersoonUitkomst(bsn, naam, Groep.BEIDE, tuple(diffs), note, rest_sent, len(periods))
    if gem:
        return PersoonUitkomst(
            bsn,
            naam,
            Groep.ALLEEN_GEMEENTE,
            (),
            "Niet bij het CAK bekend: controleer of de voorziening bijdrageplichtig is en al geleverd wordt; "
            "de eerste levering stuurt een start." + (f" {note}" if note else ""),
            rest_sent,
            len(periods),
        )
    return PersoonUitkomst(
        bsn,
        naam,
        Groep.ALLEEN_CAK,
        (),
        "Wel bij het CAK, niet (lopend) in de eigen administratie: zoek de beschikking op en voeg de "
        "voorziening toe, of bevestig dat die is beëindigd (dan gaat er geen start).",
    )
