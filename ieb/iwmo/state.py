"""The current toewijzingen and leveringen, replayed from the accepted products (pure, no I/O).

Public API::

    Voorzieningen()                      the state: toewijzingen and leveringen per (gemeente, ToewijzingNummer)
    Voorzieningen.apply(product, ref)    apply one product; returns a Refusal (nothing changed) or None
    replay(rows) -> Voorzieningen        apply products in order (refusals are ignored)

The key of a toewijzing is (gemeente, ToewijzingNummer); a levering (a WMO305 start with the WMO307
stop that ends it) is keyed by its ToewijzingNummer and Begindatum. StatusAanlevering (COD467):
1 adds, 2 replaces, 3 removes the earlier message with the same key. A WMO301 with a known
ToewijzingNummer replaces the toewijzing (gewijzigde toewijzing); RedenWijziging 13 withdraws it.

Refusal codes (iWmo TR rules where one exists): TR019 (the start or stop does not belong to the
toewijzing of this client, or the toewijzing was withdrawn), TR063 (a status 2 or 3, or a
withdrawal, without an earlier message), TR069 (a WMO307 without its WMO305), TR071 (a start that is
already stopped cannot be deleted), TR074 (the same key was already delivered), TR326 (a new start
while the current levering has not been stopped), TR332 (a ToewijzingNummer of another client),
TR415 (a second stop for one start), IW010 (conflicting dates), IW012 (StatusAanlevering 9 or
missing), IW013 (the productcategorie is not known).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from ieb.iwmo.codes import REDEN_WIJZIGING_VERWIJDERD
from ieb.iwmo.reader import Product

__all__ = ["Levering", "Refusal", "Toewijzing", "Voorzieningen", "replay"]

Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a product was not applied: ``code`` and a Dutch ``tekst`` (BSN masked)."""

    code: str
    tekst: str


@dataclass(slots=True)
class Toewijzing:
    """The current WMO301 of one ToewijzingNummer: ``ingangsdatum`` .. ``einddatum`` (inclusive,
    None: open), ``categorie`` (WMO020), ``verwijderd`` (RedenWijziging 13), ``refs`` the ids of the
    products behind it, oldest first."""

    gemeente: str
    nummer: int
    bsn: str
    categorie: str | None
    productcode: str | None
    aanbieder: str
    ingangsdatum: dt.date
    einddatum: dt.date | None
    volume: int | None = None
    eenheid: str | None = None
    frequentie: str | None = None
    verwijderd: bool = False
    refs: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Levering:
    """One delivery of a toewijzing: WMO305 ``begindatum`` and WMO307 ``einddatum``/``reden``
    (None while not stopped); ``refs`` the ids of the products behind it, oldest first."""

    gemeente: str
    nummer: int
    bsn: str
    categorie: str | None
    productcode: str | None
    aanbieder: str
    begindatum: dt.date
    einddatum: dt.date | None = None
    reden: str | None = None
    refs: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Persoon:
    """What the messages say about a client: the latest Geboortedatum and Geslacht."""

    bsn: str
    geboortedatum: dt.date | None = None
    geslacht: str | None = None


@dataclass
class Voorzieningen:
    """The state of one database (all gemeenten)."""

    toewijzingen: dict[Key, Toewijzing] = field(default_factory=dict)
    leveringen: dict[Key, list[Levering]] = field(default_factory=dict)
    personen: dict[tuple[str, str], Persoon] = field(default_factory=dict)

    def apply(self, p: Product, ref: int) -> Refusal | None:
        """Apply product ``p`` (stored or to be stored with id ``ref``). Returns a :class:`Refusal`
        and changes nothing when the product does not fit the state."""
        if p.bericht == "WMO301":
            refusal = self._toewijzing(p, ref)
        elif p.status not in ("1", "2", "3"):
            refusal = Refusal(
                "IW012",
                f"{p.wie}: StatusAanlevering {p.status or '(leeg)'} is hier niet toegestaan; gebruik 1 "
                "(eerste), 2 (wijziging) of 3 (verwijderen).",
            )
        elif p.bericht == "WMO305":
            refusal = self._start(p, ref)
        else:
            refusal = self._stop(p, ref)
        if refusal is None:
            person = self.personen.setdefault((p.gemeente, p.bsn), Persoon(p.bsn))
            if p.geboortedatum is not None:
                person.geboortedatum = p.geboortedatum
            if p.geslacht is not None:
                person.geslacht = p.geslacht
        return refusal

    # ----------------------------------------------------------------- WMO301

    def _toewijzing(self, p: Product, ref: int) -> Refusal | None:
        key = (p.gemeente, p.toewijzing_nummer)
        current = self.toewijzingen.get(key)
        if current is not None and current.bsn != p.bsn:
            return Refusal(
                "TR332",
                f"{p.wie}: dit ToewijzingNummer hoort al bij een andere client; een toewijzing heeft een "
                "uniek nummer. Controleer het nummer in het bronsysteem.",
            )
        if p.reden == REDEN_WIJZIGING_VERWIJDERD:
            if current is None:
                return Refusal(
                    "TR063",
                    f"{p.wie}: verwijdering (RedenWijziging 13) van een toewijzing die niet eerder is "
                    "gelezen; lees eerst het oorspronkelijke WMO301-bericht.",
                )
            current.verwijderd = True
            current.refs.append(ref)
            return None
        if p.einddatum is not None and p.einddatum < p.begindatum:
            return Refusal(
                "IW010",
                f"{p.wie}: Einddatum {p.einddatum} ligt voor Ingangsdatum {p.begindatum}; de datums "
                "spreken elkaar tegen.",
            )
        if p.categorie is None:
            return Refusal(
                "IW013",
                f"{p.wie}: de toewijzing noemt geen Productcategorie; zonder categorie is niet te bepalen "
                "of er een eigen bijdrage geldt.",
            )
        refs = [] if current is None else current.refs
        self.toewijzingen[key] = Toewijzing(
            p.gemeente,
            p.toewijzing_nummer,
            p.bsn,
            p.categorie,
            p.productcode,
            p.aanbieder,
            p.begindatum,
            p.einddatum,
            p.volume,
            p.eenheid,
            p.frequentie,
            refs=[*refs, ref],
        )
        return None

    # ----------------------------------------------------------------- WMO305 / WMO307

    def _context(self, p: Product) -> tuple[Toewijzing | None, Refusal | None]:
        toewijzing = self.toewijzingen.get((p.gemeente, p.toewijzing_nummer))
        if toewijzing is None:
            if p.categorie is None:
                return None, Refusal(
                    "IW013",
                    f"{p.wie}: de toewijzing is niet gelezen en het bericht noemt geen Productcategorie; "
                    "lees eerst het WMO301-bericht.",
                )
            return None, None
        if toewijzing.bsn != p.bsn:
            return toewijzing, Refusal(
                "TR019",
                f"{p.wie}: de toewijzing met dit nummer hoort bij een andere client.",
            )
        if toewijzing.verwijderd:
            return toewijzing, Refusal(
                "TR019",
                f"{p.wie}: de toewijzing is verwijderd (RedenWijziging 13); een start of stop past daar "
                "niet bij.",
            )
        return toewijzing, None

    def _outside(self, p: Product, t: Toewijzing | None, day: dt.date, what: str) -> Refusal | None:
        if t is None:
            return None
        if day < t.ingangsdatum or (t.einddatum is not None and day > t.einddatum):
            end = t.einddatum.isoformat() if t.einddatum else "open"
            return Refusal(
                "IW010",
                f"{p.wie}: {what} {day} ligt buiten de toewijzing ({t.ingangsdatum} t/m {end}); de datums "
                "spreken elkaar tegen.",
            )
        return None

    def _start(self, p: Product, ref: int) -> Refusal | None:
        toewijzing, refusal = self._context(p)
        if refusal is not None:
            return refusal
        key = (p.gemeente, p.toewijzing_nummer)
        items = self.leveringen.get(key, [])
        same = next((x for x in items if x.begindatum == p.begindatum), None)
        categorie = p.categorie or (toewijzing.categorie if toewijzing else None)
        if p.status == "1":
            if same is not None:
                return Refusal(
                    "TR074",
                    f"{p.wie}: er is al een start op {p.begindatum}; stuur een wijziging (status 2) of "
                    "verwijder de eerdere start (status 3).",
                )
            if any(x.einddatum is None for x in items):
                return Refusal(
                    "TR326",
                    f"{p.wie}: de lopende levering is nog niet gestopt met een WMO307; een nieuwe start kan "
                    "pas daarna.",
                )
            overlap = next(
                (x for x in items if x.einddatum is not None and x.begindatum <= p.begindatum <= x.einddatum),
                None,
            )
            if overlap is not None:
                return Refusal(
                    "IW010",
                    f"{p.wie}: Begindatum {p.begindatum} valt in de eerdere levering {overlap.begindatum} t/m "
                    f"{overlap.einddatum}; de datums spreken elkaar tegen.",
                )
            late = self._outside(p, toewijzing, p.begindatum, "Begindatum")
            if late is not None:
                return late
            self.leveringen.setdefault(key, items).append(
                Levering(
                    p.gemeente,
                    p.toewijzing_nummer,
                    p.bsn,
                    categorie,
                    p.productcode,
                    p.aanbieder,
                    p.begindatum,
                    refs=[ref],
                )
            )
            return None
        if p.status == "2":
            target = same
            if target is None:
                open_ = [x for x in items if x.einddatum is None]
                target = open_[0] if len(open_) == 1 else None
            if target is None:
                return Refusal(
                    "TR063",
                    f"{p.wie}: wijziging (status 2) van een start die niet eerder is gelezen; lees eerst "
                    "de oorspronkelijke WMO305.",
                )
            if target.einddatum is not None and p.begindatum > target.einddatum:
                return Refusal(
                    "IW010",
                    f"{p.wie}: de nieuwe Begindatum {p.begindatum} ligt na de Einddatum {target.einddatum} "
                    "van deze levering.",
                )
            late = self._outside(p, toewijzing, p.begindatum, "Begindatum")
            if late is not None:
                return late
            target.begindatum = p.begindatum
            target.categorie = categorie
            target.refs.append(ref)
            return None
        if same is None:
            return Refusal(
                "TR063",
                f"{p.wie}: verwijdering (status 3) van een start op {p.begindatum} die niet eerder is gelezen.",
            )
        if same.einddatum is not None:
            return Refusal(
                "TR071",
                f"{p.wie}: de start op {p.begindatum} kan niet verwijderd worden omdat de levering al "
                "gestopt is; verwijder eerst de stop (WMO307 status 3).",
            )
        items.remove(same)
        return None

    def _stop(self, p: Product, ref: int) -> Refusal | None:
        toewijzing, refusal = self._context(p)
        if refusal is not None:
            return refusal
        items = self.leveringen.get((p.gemeente, p.toewijzing_nummer), [])
        target = next((x for x in items if x.begindatum == p.begindatum), None)
        if target is None:
            return Refusal(
                "TR069",
                f"{p.wie}: er is geen start (WMO305) met Begindatum {p.begindatum}; een stop kan alleen bij "
                "een gelezen start horen. Lees eerst de WMO305 of controleer de Begindatum.",
            )
        if p.status == "3":
            if target.einddatum is None:
                return Refusal(
                    "TR063",
                    f"{p.wie}: verwijdering (status 3) van een stop die niet eerder is gelezen.",
                )
            if any(x.einddatum is None for x in items if x is not target):
                return Refusal(
                    "TR326",
                    f"{p.wie}: na het verwijderen van deze stop lopen twee leveringen tegelijk.",
                )
            target.einddatum, target.reden = None, None
            target.refs.append(ref)
            return None
        assert p.einddatum is not None  # required by the XSD
        if p.einddatum < p.begindatum:
            return Refusal(
                "IW010",
                f"{p.wie}: Einddatum {p.einddatum} ligt voor Begindatum {p.begindatum}; de datums spreken "
                "elkaar tegen.",
            )
        late = self._outside(p, toewijzing, p.einddatum, "Einddatum")
        if late is not None:
            return late
        later = [x for x in items if x is not target and x.begindatum > target.begindatum]
        if later and p.einddatum >= min(x.begindatum for x in later):
            return Refusal(
                "IW010",
                f"{p.wie}: Einddatum {p.einddatum} ligt op of na de start van een latere levering.",
            )
        if p.status == "1" and target.einddatum is not None:
            return Refusal(
                "TR415",
                f"{p.wie}: de levering vanaf {p.begindatum} is al gestopt; stuur een wijziging (status 2).",
            )
        if p.status == "2" and target.einddatum is None:
            return Refusal(
                "TR063",
                f"{p.wie}: wijziging (status 2) van een stop die niet eerder is gelezen.",
            )
        target.einddatum, target.reden = p.einddatum, p.reden
        target.refs.append(ref)
        return None


def replay(rows: Iterable[tuple[int, Product]]) -> Voorzieningen:
    """The state after applying ``(id, product)`` pairs in the given order (refusals skipped)."""
    state = Voorzieningen()
    for ref, product in rows:
        state.apply(product, ref)
    return state
