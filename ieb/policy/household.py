"""Household rules and the monthly estimate (like the CAK's own calculator).

:func:`estimate_household` gives, per calendar month, the amount the household owes and the
:class:`Reden` (a "nothing owed" always carries one). Rules, in this order:

1. A person counts for a month when one of their contribution periods (:func:`derive_periods`)
   charges that month under the month rule (:mod:`ieb.policy.months`).
2. Not counted, with a reason: beschermd wonen (own regime); under 18 on the first day of the month
   (except woningaanpassingen when the gemeente charges those); an individual exemption on any day
   of the month; rolstoelen, non-designated algemene voorzieningen and categories the gemeente left
   out; the start month; the kostprijs reached.
3. When at least one person counts, the household owes one tariff for the month (never two),
   unless: someone in the household pays a Wlz eigen bijdrage; a multi-person household with someone
   below the AOW age on the first day of the month; the income is at or below the minima limit.
4. The tariff is the gemeente's lowered tariff when one is in force on the 1st, else the national
   maximum; in the stop month of a kostprijs at most the remaining kostprijs is charged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ieb.policy.aow import age_on, has_aow_age_in_month
from ieb.policy.errors import PolicyInputError
from ieb.policy.months import Interval, Month, charged_months
from ieb.policy.parameters import Cent, GemeenteParameters, HuishoudType, Soort
from ieb.policy.periods import Gebeurtenis, Period, StopReden, Voorziening, derive_periods, voorziening_pieces
from ieb.policy.tariffs import TariffTable, monthly_tariff
from ieb.types import Bsn, Datum

__all__ = [
    "Huishouden",
    "KostprijsOverzicht",
    "Lid",
    "MaandBedrag",
    "Reden",
    "Schatting",
    "estimate_household",
    "household_type",
    "kostprijs_overzicht",
]


class Reden(StrEnum):
    """Why a month costs what it costs; ``omschrijving`` explains it in Dutch."""

    LANDELIJK_TARIEF = "landelijk_tarief"
    VERLAAGD_TARIEF = "verlaagd_tarief"
    KOSTPRIJS_RESTANT = "kostprijs_restant"
    GEEN_VOORZIENING = "geen_voorziening"
    STARTMAAND = "startmaand"
    KOSTPRIJS_BEREIKT = "kostprijs_bereikt"
    MINDERJARIG = "minderjarig"
    VRIJSTELLING = "vrijstelling"
    BESCHERMD_WONEN = "beschermd_wonen"
    ROLSTOEL = "rolstoel"
    ALGEMENE_VOORZIENING = "algemene_voorziening_niet_aangewezen"
    SOORT_NIET_BIJDRAGEPLICHTIG = "soort_niet_bijdrageplichtig"
    WLZ = "wlz_eigen_bijdrage"
    MEERPERSOONS_ONDER_AOW = "meerpersoons_onder_aow"
    MINIMA = "minima"

    @property
    def verschuldigd(self) -> bool:
        """True when this reason goes with an amount owed."""
        return self in {Reden.LANDELIJK_TARIEF, Reden.VERLAAGD_TARIEF, Reden.KOSTPRIJS_RESTANT}

    @property
    def omschrijving(self) -> str:
        return _OMSCHRIJVING[self]


_OMSCHRIJVING = {
    Reden.LANDELIJK_TARIEF: "abonnementstarief: het landelijk maximum per huishouden per maand",
    Reden.VERLAAGD_TARIEF: "abonnementstarief: het verlaagde tarief van de gemeente",
    Reden.KOSTPRIJS_RESTANT: "laatste maand van de kostprijs: alleen het restant van de kostprijs",
    Reden.GEEN_VOORZIENING: "geen bijdrageplichtige voorziening in deze maand",
    Reden.STARTMAAND: "de ondersteuning start deze maand; de inning begint de maand erna",
    Reden.KOSTPRIJS_BEREIKT: "de kostprijs van het hulpmiddel of de woningaanpassing is bereikt",
    Reden.MINDERJARIG: "de cliënt is jonger dan 18 jaar",
    Reden.VRIJSTELLING: "de gemeente heeft de cliënt vrijgesteld van de eigen bijdrage",
    Reden.BESCHERMD_WONEN: "beschermd wonen heeft een eigen regeling (geen abonnementstarief)",
    Reden.ROLSTOEL: "voor een rolstoel is geen eigen bijdrage verschuldigd",
    Reden.ALGEMENE_VOORZIENING: "algemene voorziening die de gemeente niet onder het tarief heeft gebracht",
    Reden.SOORT_NIET_BIJDRAGEPLICHTIG: "de gemeente heft voor deze soort voorziening geen eigen bijdrage",
    Reden.WLZ: "iemand in het huishouden betaalt al een eigen bijdrage voor de Wlz",
    Reden.MEERPERSOONS_ONDER_AOW: (
        "meerpersoonshuishouden waarin de cliënt of de partner de AOW-leeftijd nog niet heeft"
    ),
    Reden.MINIMA: "het inkomen ligt op of onder de minimagrens van de gemeente",
}

#: Priority of the per-person reasons when nobody in the household is charged.
_PERSON_PRIORITY = (
    Reden.MINDERJARIG,
    Reden.VRIJSTELLING,
    Reden.BESCHERMD_WONEN,
    Reden.KOSTPRIJS_BEREIKT,
    Reden.STARTMAAND,
    Reden.ROLSTOEL,
    Reden.ALGEMENE_VOORZIENING,
    Reden.SOORT_NIET_BIJDRAGEPLICHTIG,
)


class Lid(BaseModel):
    """A member of the household (client or partner)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bsn: Bsn
    geboortedatum: Datum
    wlz_eigen_bijdrage: bool = False
    beschermd_wonen: bool = False


class Huishouden(BaseModel):
    """One or two members and the bijdrageplichtig inkomen (peiljaar t-2) in eurocent per year."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    leden: Annotated[tuple[Lid, ...], Field(min_length=1, max_length=2)]
    inkomen_cent_per_jaar: Cent | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if len({lid.bsn for lid in self.leden}) != len(self.leden):
            raise PolicyInputError("huishouden.leden", "hetzelfde BSN staat twee keer in het huishouden")
        return self


@dataclass(frozen=True, slots=True)
class MaandBedrag:
    maand: Month
    bedrag_cent: int
    reden: Reden


@dataclass(frozen=True, slots=True)
class KostprijsOverzicht:
    """The longest-running kostprijs item of one person, counted through ``peilmaand``."""

    bsn: Bsn
    voorziening_id: str
    kostprijs_cent: int
    resterend_cent: int
    virtuele_einddatum: dt.date | None  # when the kostprijs is used up (None: the item stops earlier)
    stop_maand: Month | None  # month for which the stop must be sent (None: no kostprijs stop needed)


@dataclass(frozen=True, slots=True)
class Schatting:
    maanden: tuple[MaandBedrag, ...]
    kostprijs: tuple[KostprijsOverzicht, ...]

    @property
    def totaal_cent(self) -> int:
        return sum(m.bedrag_cent for m in self.maanden)


def household_type(huishouden: Huishouden, maand: Month) -> HuishoudType:
    """The minima cell: one/multi-person x below/at AOW age (everyone at AOW age on the 1st)."""
    aow = all(has_aow_age_in_month(lid.geboortedatum, maand.first_day) for lid in huishouden.leden)
    if len(huishouden.leden) == 1:
        return HuishoudType.EENPERSOONS_AOW if aow else HuishoudType.EENPERSOONS
    return HuishoudType.MEERPERSOONS_AOW if aow else HuishoudType.MEERPERSOONS


def _overlaps(start: dt.date, stop: dt.date | None, maand: Month) -> bool:
    return start <= maand.last_day and (stop is None or stop >= maand.first_day)


class _Person:
    """Per-person month sets, computed once."""

    def __init__(
        self,
        lid: Lid,
        voorzieningen: list[Voorziening],
        events: Sequence[Gebeurtenis],
        parameters: GemeenteParameters,
        until: Month,
        table: TariffTable | None,
    ) -> None:
        self.lid = lid
        self.voorzieningen = voorzieningen
        self.parameters = parameters
        self.adult = derive_periods(voorzieningen, events, parameters, table=table)
        minor_ok = [v for v in voorzieningen if v.soort is Soort.WONINGAANPASSING]
        self.minor = (
            derive_periods(minor_ok, events, parameters, table=table)
            if parameters.woningaanpassing_minderjarigen
            else []
        )
        self.adult_months = self._months(self.adult, until)
        self.minor_months = self._months(self.minor, until)

    @staticmethod
    def _months(periods: list[Period], until: Month) -> dict[Month, int | None]:
        months: dict[Month, int | None] = {}
        for p in periods:
            for m in charged_months(Interval(p.start, p.stop), until):
                cap = None
                if (
                    p.stop_reden is StopReden.KOSTPRIJS_BEREIKT
                    and p.stop is not None
                    and m == Month.of(p.stop)
                ):
                    cap = p.restant_stopmaand_cent
                months[m] = cap
        return months

    def assess(self, maand: Month) -> tuple[bool, int | None, Reden | None]:
        """(counted, cap in the stop month of a kostprijs, reason when not counted)."""
        lid = self.lid
        active = [v for v in self.voorzieningen if _overlaps(v.start, v.stop, maand)]
        if lid.beschermd_wonen:
            return False, None, Reden.BESCHERMD_WONEN if active else None
        minor = age_on(lid.geboortedatum, maand.first_day) < 18
        months = self.minor_months if minor else self.adult_months
        if maand in months:
            exempt = any(
                x.bsn == lid.bsn and _overlaps(x.vanaf, x.tot, maand) for x in self.parameters.vrijstellingen
            )
            if exempt:
                return False, None, Reden.VRIJSTELLING
            return True, months[maand], None
        if minor and maand in self.adult_months:
            return False, None, Reden.MINDERJARIG
        periods = self.minor if minor else self.adult
        if any(Month.of(p.start) == maand for p in periods):
            return False, None, Reden.STARTMAAND
        if (
            any(
                p.stop_reden is StopReden.KOSTPRIJS_BEREIKT
                and p.stop is not None
                and Month.of(p.stop) < maand
                for p in periods
            )
            and active
        ):
            return False, None, Reden.KOSTPRIJS_BEREIKT
        for v in active:
            if v.soort is Soort.ROLSTOEL:
                return False, None, Reden.ROLSTOEL
        for v in active:
            if (
                v.soort is Soort.ALGEMENE_VOORZIENING
                and v.soort not in self.parameters.bijdrageplichtige_soorten
            ):
                return False, None, Reden.ALGEMENE_VOORZIENING
        for v in active:
            if v.soort not in self.parameters.bijdrageplichtige_soorten:
                return False, None, Reden.SOORT_NIET_BIJDRAGEPLICHTIG
        return False, None, None


def estimate_household(
    huishouden: Huishouden,
    voorzieningen: Sequence[Voorziening],
    parameters: GemeenteParameters,
    van: Month,
    tot: Month,
    *,
    gebeurtenissen: Sequence[Gebeurtenis] = (),
    table: TariffTable | None = None,
) -> Schatting:
    """Per month from ``van`` to ``tot`` (inclusive) the amount owed by the household and its reason."""
    if tot < van:
        raise PolicyInputError(
            "tot", f"{tot} ligt voor van ({van}); kies een tot-maand op of na de van-maand"
        )
    if tot.year * 12 + tot.month - (van.year * 12 + van.month) > 12 * 50:
        raise PolicyInputError("tot", "de periode is langer dan 50 jaar; kies een kortere periode")
    members = {lid.bsn: lid for lid in huishouden.leden}
    for index, v in enumerate(voorzieningen):
        if v.bsn not in members:
            raise PolicyInputError(
                f"voorzieningen[{index}].bsn",
                f"persoon {v.bsn.masked} is geen lid van het huishouden; voeg de persoon toe aan leden",
            )
    numbered = [v if v.id else v.model_copy(update={"id": str(i)}) for i, v in enumerate(voorzieningen)]
    people = [
        _Person(lid, [v for v in numbered if v.bsn == lid.bsn], gebeurtenissen, parameters, tot, table)
        for lid in huishouden.leden
    ]
    result: list[MaandBedrag] = []
    for maand in van.until(tot):
        national = monthly_tariff(maand.first_day, table).bedrag_cent
        counted: list[int | None] = []
        reasons: list[Reden] = []
        for person in people:
            is_counted, cap, reason = person.assess(maand)
            if is_counted:
                counted.append(cap)
            elif reason is not None:
                reasons.append(reason)
        if not counted:
            reason = next((r for r in _PERSON_PRIORITY if r in reasons), Reden.GEEN_VOORZIENING)
            result.append(MaandBedrag(maand, 0, reason))
            continue
        household_reason = _household_reason(huishouden, parameters, maand)
        if household_reason is not None:
            result.append(MaandBedrag(maand, 0, household_reason))
            continue
        verlaagd = parameters.verlaagd_tarief_op(maand.first_day)
        amount, reden = national, Reden.LANDELIJK_TARIEF
        if verlaagd is not None and verlaagd.bedrag_cent <= national:
            amount, reden = verlaagd.bedrag_cent, Reden.VERLAAGD_TARIEF
        if all(cap is not None for cap in counted):
            cap = max(c for c in counted if c is not None)
            if cap < amount:
                amount, reden = cap, Reden.KOSTPRIJS_RESTANT
        result.append(MaandBedrag(maand, amount, reden))
    return Schatting(
        tuple(result), tuple(kostprijs_overzicht(numbered, parameters, tot, gebeurtenissen, table))
    )


def _household_reason(huishouden: Huishouden, parameters: GemeenteParameters, maand: Month) -> Reden | None:
    if any(lid.wlz_eigen_bijdrage for lid in huishouden.leden):
        return Reden.WLZ
    if len(huishouden.leden) > 1 and not all(
        has_aow_age_in_month(lid.geboortedatum, maand.first_day) for lid in huishouden.leden
    ):
        return Reden.MEERPERSOONS_ONDER_AOW
    minima = parameters.minima_op(maand.first_day)
    if minima is not None and huishouden.inkomen_cent_per_jaar is not None:
        if huishouden.inkomen_cent_per_jaar <= minima.grens(household_type(huishouden, maand)):
            return Reden.MINIMA
    return None


def kostprijs_overzicht(
    voorzieningen: Sequence[Voorziening],
    parameters: GemeenteParameters,
    peilmaand: Month,
    gebeurtenissen: Sequence[Gebeurtenis] = (),
    table: TariffTable | None = None,
) -> list[KostprijsOverzicht]:
    """Per person the longest-running kostprijs item started on or before ``peilmaand``.

    ``resterend_cent``: the kostprijs minus the months counted at the national tariff up to and
    including ``peilmaand``. ``stop_maand``: set only when that item governs the end of the
    person's contribution (no other voorziening runs longer).
    """
    result: list[KostprijsOverzicht] = []
    periods = derive_periods(voorzieningen, gebeurtenissen, parameters, table=table)
    by_person: dict[Bsn, list[Voorziening]] = {}
    for v in voorzieningen:
        if v.kostprijs_cent is not None and v.soort in parameters.bijdrageplichtige_soorten:
            by_person.setdefault(v.bsn, []).append(v)
    for bsn in sorted(by_person):
        best: tuple[tuple[int, dt.date], KostprijsOverzicht] | None = None
        for v in by_person[bsn]:
            pieces = voorziening_pieces(v, gebeurtenissen, parameters.trigger(v.soort), table)
            pieces = [p for p in pieces if Month.of(p.interval.start) <= peilmaand]
            if not pieces:
                continue
            assert v.kostprijs_cent is not None
            counted = sum(p.counted_through(peilmaand, table) for p in pieces)
            einde = pieces[-1].einde
            end = pieces[-1].interval.stop
            key = (1, dt.date.max) if end is None else (0, end)
            stop_maand = None
            if einde is not None:
                for period in periods:
                    if (
                        period.bsn == bsn
                        and period.stop_reden is StopReden.KOSTPRIJS_BEREIKT
                        and v.id in period.voorziening_ids
                        and period.stop == pieces[-1].interval.stop
                    ):
                        stop_maand = einde.stop_maand
            item = KostprijsOverzicht(
                bsn=bsn,
                voorziening_id=v.id,
                kostprijs_cent=v.kostprijs_cent,
                resterend_cent=max(0, v.kostprijs_cent - counted),
                virtuele_einddatum=einde.virtuele_einddatum if einde is not None else None,
                stop_maand=stop_maand,
            )
            if best is None or key > best[0]:
                best = (key, item)
        if best is not None:
            result.append(best[1])
    return result
