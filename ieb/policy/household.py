"""Household rules and the monthly estimate (like the CAK's own calculator).

:func:`estimate_household` gives, per calendar month, the amount the household owes and the
:class:`Reason` (a "nothing owed" always carries one). Rules, in this order:

1. A person counts for a month when one of their contribution periods (:func:`derive_periods`)
   charges that month under the month rule (:mod:`ieb.policy.months`).
2. Not counted, with a reason: beschermd wonen (own regime); under 18 on the first day of the month
   (except woningaanpassingen when the gemeente charges those); an adult child or other housemate
   (role ``kind``/``overig``, 18 or older on the 1st), who is a household of their own for the
   contribution; an individual exemption on any day of the month; rolstoelen, non-designated
   algemene voorzieningen and categories the gemeente left out; the start month; the kostprijs
   reached.
3. When at least one person counts, the household owes one tariff for the month (never two),
   unless: the client or the partner pays a Wlz eigen bijdrage; the household has a partner and the
   client or the partner is below the AOW age on the first day of the month (a child is never a
   partner); the income is below the minima limit (the comparison is the gemeente's choice).
4. The tariff is the gemeente's lowered tariff when one is in force on the 1st, else the national
   maximum; in the stop month of a kostprijs at most the remaining kostprijs is charged.

Members carry a role (:class:`Role`, the ``rol`` of the input: ``client``, ``partner``, ``kind``,
``overig``). Without roles, one member is the client; two adults are client and partner (the
meaning before roles existed); of two members, one under 18 on the first day of the estimate is a
``kind``. More than two members need roles.
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
from ieb.policy.parameters import Cent, GemeenteParameters, HouseholdType, VoorzieningKind
from ieb.policy.periods import Event, Period, StopReason, Voorziening, derive_periods, voorziening_pieces
from ieb.policy.tariffs import TariffTable, monthly_tariff
from ieb.types import Bsn, Datum

__all__ = [
    "MAX_LEDEN",
    "Estimate",
    "Household",
    "KostprijsOverview",
    "Member",
    "MonthAmount",
    "Reason",
    "Role",
    "estimate_household",
    "household_type",
    "kostprijs_overzicht",
    "member_roles",
]

#: The most members a household may have (a bound on hostile input, far above any real household).
MAX_LEDEN = 30


class Reason(StrEnum):
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
    EIGEN_HUISHOUDEN = "eigen_huishouden"

    @property
    def verschuldigd(self) -> bool:
        """True when this reason goes with an amount owed."""
        return self in {Reason.LANDELIJK_TARIEF, Reason.VERLAAGD_TARIEF, Reason.KOSTPRIJS_RESTANT}

    @property
    def omschrijving(self) -> str:
        """The reason in Dutch words for the clerk (``ieb bijdrage --format text``; docs/policy.md section 3)."""
        return _OMSCHRIJVING[self]


_OMSCHRIJVING = {
    Reason.LANDELIJK_TARIEF: "abonnementstarief: het landelijk maximum per huishouden per maand",
    Reason.VERLAAGD_TARIEF: "abonnementstarief: het verlaagde tarief van de gemeente",
    Reason.KOSTPRIJS_RESTANT: "laatste maand van de kostprijs: alleen het restant van de kostprijs",
    Reason.GEEN_VOORZIENING: "geen bijdrageplichtige voorziening in deze maand",
    Reason.STARTMAAND: "de ondersteuning start deze maand; de inning begint de maand erna",
    Reason.KOSTPRIJS_BEREIKT: "de kostprijs van het hulpmiddel of de woningaanpassing is bereikt",
    Reason.MINDERJARIG: "de cliënt is jonger dan 18 jaar",
    Reason.VRIJSTELLING: "de gemeente heeft de cliënt vrijgesteld van de eigen bijdrage",
    Reason.BESCHERMD_WONEN: "beschermd wonen heeft een eigen regeling (geen abonnementstarief)",
    Reason.ROLSTOEL: "voor een rolstoel is geen eigen bijdrage verschuldigd",
    Reason.ALGEMENE_VOORZIENING: "algemene voorziening die de gemeente niet onder het tarief heeft gebracht",
    Reason.SOORT_NIET_BIJDRAGEPLICHTIG: "de gemeente heft voor deze soort voorziening geen eigen bijdrage",
    Reason.WLZ: "iemand in het huishouden betaalt al een eigen bijdrage voor de Wlz",
    Reason.MEERPERSOONS_ONDER_AOW: (
        "meerpersoonshuishouden waarin de cliënt of de partner de AOW-leeftijd nog niet heeft"
    ),
    Reason.MINIMA: "het inkomen ligt onder de minimagrens van de gemeente",
    Reason.EIGEN_HUISHOUDEN: (
        "een meerderjarig kind of andere huisgenoot betaalt als eigen huishouden; bereken die persoon apart"
    ),
}

#: Priority of the per-person reasons when nobody in the household is charged.
_PERSON_PRIORITY = (
    Reason.MINDERJARIG,
    Reason.EIGEN_HUISHOUDEN,
    Reason.VRIJSTELLING,
    Reason.BESCHERMD_WONEN,
    Reason.KOSTPRIJS_BEREIKT,
    Reason.STARTMAAND,
    Reason.ROLSTOEL,
    Reason.ALGEMENE_VOORZIENING,
    Reason.SOORT_NIET_BIJDRAGEPLICHTIG,
)


class Role(StrEnum):
    """The role of a member in the household (``rol`` in the input).

    ``client``: the person whose household it is (one per household); ``partner``: the client's
    spouse or partner (at most one, never under 18); ``kind``: a child of the client or partner;
    ``overig``: any other housemate (e.g. a foster child or a parent living in). Rules that speak of
    "the client or the partner" (AOW age, Wlz, the household type of the minima limits) look at the
    client and the partner only.
    """

    CLIENT = "client"
    PARTNER = "partner"
    CHILD = "kind"
    OTHER = "overig"


class Member(BaseModel):
    """A member of the household; ``rol`` is optional (see :func:`member_roles` for its default).

    ``bsn``: 9 digits passing the 11-proef (CS002); ``geboortedatum``: a date (ages 18 and AOW are
    taken on the 1st of each month); ``wlz_eigen_bijdrage``: the member pays a Wlz eigen bijdrage
    (frees the household when client or partner, CAK); ``beschermd_wonen``: beschermd wonen has its
    own regime (its own messages in iEb 4.0, see docs/releases.md). Invalid values raise pydantic's ``ValidationError`` here, and
    :class:`~ieb.policy.PolicyInputError` through :func:`ieb.policy.contract.parse_request`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    bsn: Bsn
    geboortedatum: Datum
    wlz_eigen_bijdrage: bool = False
    beschermd_wonen: bool = False
    rol: Role | None = None


class Household(BaseModel):
    """The members and the bijdrageplichtig inkomen (peiljaar t-2) of client and partner, eurocent a year.

    Any number of members up to :data:`MAX_LEDEN`. Either every member has a ``rol`` or none has;
    with roles there is exactly one ``client`` and at most one ``partner``; without roles there are
    at most two members. Violations raise :class:`PolicyInputError` naming ``huishouden.leden``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    leden: Annotated[tuple[Member, ...], Field(min_length=1, max_length=MAX_LEDEN)]
    inkomen_cent_per_jaar: Cent | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if len({lid.bsn for lid in self.leden}) != len(self.leden):
            raise PolicyInputError("huishouden.leden", "hetzelfde BSN staat twee keer in het huishouden")
        with_role = [lid for lid in self.leden if lid.rol is not None]
        if with_role and len(with_role) != len(self.leden):
            index = next(i for i, lid in enumerate(self.leden) if lid.rol is None)
            raise PolicyInputError(
                f"huishouden.leden[{index}].rol",
                "ontbreekt; geef bij elk lid een rol (client, partner, kind of overig) of bij geen enkel lid",
            )
        if not with_role:
            if len(self.leden) > 2:
                raise PolicyInputError(
                    "huishouden.leden",
                    f"{len(self.leden)} leden zonder rol; geef bij meer dan twee leden bij elk lid een rol "
                    "(client, partner, kind of overig)",
                )
            return self
        clients = [i for i, lid in enumerate(self.leden) if lid.rol is Role.CLIENT]
        if len(clients) != 1:
            raise PolicyInputError(
                "huishouden.leden",
                f"{len(clients)} leden met rol client; een huishouden heeft precies één client "
                "(de anderen zijn partner, kind of overig)",
            )
        partners = [i for i, lid in enumerate(self.leden) if lid.rol is Role.PARTNER]
        if len(partners) > 1:
            raise PolicyInputError(
                f"huishouden.leden[{partners[1]}].rol",
                "een huishouden heeft hooguit één partner; kies kind of overig voor de andere leden",
            )
        return self


def member_roles(huishouden: Household, peildatum: dt.date) -> tuple[Role, ...]:
    """The role of each member (in order), checked against the ages on ``peildatum``.

    ``peildatum`` is the first day of the first month estimated. Given roles are used as they are,
    but a ``partner`` under 18 on ``peildatum`` is refused (a minor is never a partner). Without
    roles: one member is the client; of two members, one under 18 is a ``kind`` and the other the
    client, two adults are client and partner.

    Raises :class:`PolicyInputError` (``huishouden.leden[i].rol``).
    """
    leden = huishouden.leden
    if leden[0].rol is not None:
        roles = tuple(lid.rol for lid in leden if lid.rol is not None)
        for index, lid in enumerate(leden):
            if lid.rol is Role.PARTNER and age_on(lid.geboortedatum, peildatum) < 18:
                raise PolicyInputError(
                    f"huishouden.leden[{index}].rol",
                    f"persoon {lid.bsn.masked} is op {peildatum.isoformat()} jonger dan 18 jaar en kan "
                    "geen partner zijn; kies kind of overig",
                )
        return roles
    if len(leden) == 1:
        return (Role.CLIENT,)
    minors = [age_on(lid.geboortedatum, peildatum) < 18 for lid in leden]
    if minors[0] and not minors[1]:
        return (Role.CHILD, Role.CLIENT)
    if minors[1]:
        return (Role.CLIENT, Role.CHILD)
    return (Role.CLIENT, Role.PARTNER)


@dataclass(frozen=True, slots=True)
class MonthAmount:
    """One month of an :class:`Estimate`: ``bedrag_cent`` (eurocent, 0 when nothing is owed), ``reden``."""

    maand: Month
    bedrag_cent: int
    reden: Reason


@dataclass(frozen=True, slots=True)
class KostprijsOverview:
    """The longest-running kostprijs item of one person, counted through ``peilmaand``."""

    bsn: Bsn
    voorziening_id: str
    kostprijs_cent: int
    resterend_cent: int
    virtuele_einddatum: dt.date | None  # when the kostprijs is used up (None: the item stops earlier)
    stop_maand: Month | None  # month for which the stop must be sent (None: no kostprijs stop needed)


@dataclass(frozen=True, slots=True)
class Estimate:
    """The result of :func:`estimate_household`: one :class:`MonthAmount` per month, in order, and
    the kostprijs overview per person (:class:`KostprijsOverview`, counted through the last month)."""

    maanden: tuple[MonthAmount, ...]
    kostprijs: tuple[KostprijsOverview, ...]

    @property
    def totaal_cent(self) -> int:
        """The sum of the monthly amounts owed, in eurocent."""
        return sum(m.bedrag_cent for m in self.maanden)


def _client_and_partner(huishouden: Household, roles: Sequence[Role]) -> list[Member]:
    return [lid for lid, rol in zip(huishouden.leden, roles, strict=True) if rol in _PAIR]


_PAIR = frozenset({Role.CLIENT, Role.PARTNER})


def household_type(huishouden: Household, maand: Month, roles: Sequence[Role] | None = None) -> HouseholdType:
    """The minima cell: one/multi-person x below/at AOW age, from the client and the partner only.

    Multi-person means: the client has a partner (children do not make a multi-person household);
    AOW means: the client and the partner have reached the AOW age on the 1st of ``maand``.
    ``roles`` defaults to :func:`member_roles` on the 1st of ``maand``.
    """
    if roles is None:
        roles = member_roles(huishouden, maand.first_day)
    pair = _client_and_partner(huishouden, roles)
    aow = all(has_aow_age_in_month(lid.geboortedatum, maand.first_day) for lid in pair)
    if len(pair) == 1:
        return HouseholdType.EENPERSOONS_AOW if aow else HouseholdType.EENPERSOONS
    return HouseholdType.MEERPERSOONS_AOW if aow else HouseholdType.MEERPERSOONS


def _overlaps(start: dt.date, stop: dt.date | None, maand: Month) -> bool:
    return start <= maand.last_day and (stop is None or stop >= maand.first_day)


class _Person:
    """Per-person month sets, computed once."""

    def __init__(
        self,
        lid: Member,
        rol: Role,
        voorzieningen: list[Voorziening],
        events: Sequence[Event],
        parameters: GemeenteParameters,
        until: Month,
        table: TariffTable | None,
    ) -> None:
        self.lid = lid
        self.rol = rol
        self.voorzieningen = voorzieningen
        self.parameters = parameters
        self.adult = derive_periods(voorzieningen, events, parameters, table=table)
        minor_ok = [v for v in voorzieningen if v.soort is VoorzieningKind.WONINGAANPASSING]
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
                    p.stop_reden is StopReason.KOSTPRIJS_BEREIKT
                    and p.stop is not None
                    and m == Month.of(p.stop)
                ):
                    cap = p.restant_stopmaand_cent
                months[m] = cap
        return months

    def assess(self, maand: Month) -> tuple[bool, int | None, Reason | None]:
        """(counted, cap in the stop month of a kostprijs, reason when not counted)."""
        lid = self.lid
        active = [v for v in self.voorzieningen if _overlaps(v.start, v.stop, maand)]
        if lid.beschermd_wonen:
            return False, None, Reason.BESCHERMD_WONEN if active else None
        minor = age_on(lid.geboortedatum, maand.first_day) < 18
        if not minor and self.rol not in _PAIR:
            # An adult child or housemate is a household of their own for the contribution.
            charged = maand in self.adult_months
            return False, None, Reason.EIGEN_HUISHOUDEN if charged or active else None
        months = self.minor_months if minor else self.adult_months
        if maand in months:
            exempt = any(
                x.bsn == lid.bsn and _overlaps(x.vanaf, x.tot, maand) for x in self.parameters.vrijstellingen
            )
            if exempt:
                return False, None, Reason.VRIJSTELLING
            return True, months[maand], None
        if minor and maand in self.adult_months:
            return False, None, Reason.MINDERJARIG
        periods = self.minor if minor else self.adult
        if any(Month.of(p.start) == maand for p in periods):
            return False, None, Reason.STARTMAAND
        if (
            any(
                p.stop_reden is StopReason.KOSTPRIJS_BEREIKT
                and p.stop is not None
                and Month.of(p.stop) < maand
                for p in periods
            )
            and active
        ):
            return False, None, Reason.KOSTPRIJS_BEREIKT
        for v in active:
            if v.soort is VoorzieningKind.ROLSTOEL:
                return False, None, Reason.ROLSTOEL
        for v in active:
            if (
                v.soort is VoorzieningKind.ALGEMENE_VOORZIENING
                and v.soort not in self.parameters.bijdrageplichtige_soorten
            ):
                return False, None, Reason.ALGEMENE_VOORZIENING
        for v in active:
            if v.soort not in self.parameters.bijdrageplichtige_soorten:
                return False, None, Reason.SOORT_NIET_BIJDRAGEPLICHTIG
        return False, None, None


def estimate_household(
    huishouden: Household,
    voorzieningen: Sequence[Voorziening],
    parameters: GemeenteParameters,
    van: Month,
    tot: Month,
    *,
    gebeurtenissen: Sequence[Event] = (),
    table: TariffTable | None = None,
) -> Estimate:
    """Per month from ``van`` to ``tot`` (inclusive) the amount owed by the household and its reason.

    Roles are fixed on the 1st of ``van`` (:func:`member_roles`); ages (18, AOW) are taken on the 1st
    of each month. Raises :class:`PolicyInputError` naming the field on bad input.
    """
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
    roles = member_roles(huishouden, van.first_day)
    people = [
        _Person(lid, rol, [v for v in numbered if v.bsn == lid.bsn], gebeurtenissen, parameters, tot, table)
        for lid, rol in zip(huishouden.leden, roles, strict=True)
    ]
    result: list[MonthAmount] = []
    for maand in van.until(tot):
        national = monthly_tariff(maand.first_day, table).bedrag_cent
        counted: list[int | None] = []
        reasons: list[Reason] = []
        for person in people:
            is_counted, cap, reason = person.assess(maand)
            if is_counted:
                counted.append(cap)
            elif reason is not None:
                reasons.append(reason)
        if not counted:
            reason = next((r for r in _PERSON_PRIORITY if r in reasons), Reason.GEEN_VOORZIENING)
            result.append(MonthAmount(maand, 0, reason))
            continue
        household_reason = _household_reason(huishouden, roles, parameters, maand)
        if household_reason is not None:
            result.append(MonthAmount(maand, 0, household_reason))
            continue
        verlaagd = parameters.verlaagd_tarief_op(maand.first_day)
        amount, reden = national, Reason.LANDELIJK_TARIEF
        if verlaagd is not None and verlaagd.bedrag_cent <= national:
            amount, reden = verlaagd.bedrag_cent, Reason.VERLAAGD_TARIEF
        if all(cap is not None for cap in counted):
            cap = max(c for c in counted if c is not None)
            if cap < amount:
                amount, reden = cap, Reason.KOSTPRIJS_RESTANT
        result.append(MonthAmount(maand, amount, reden))
    return Estimate(
        tuple(result), tuple(kostprijs_overzicht(numbered, parameters, tot, gebeurtenissen, table))
    )


def _household_reason(
    huishouden: Household, roles: Sequence[Role], parameters: GemeenteParameters, maand: Month
) -> Reason | None:
    pair = _client_and_partner(huishouden, roles)
    if any(lid.wlz_eigen_bijdrage for lid in pair):
        return Reason.WLZ
    if len(pair) > 1 and not all(has_aow_age_in_month(lid.geboortedatum, maand.first_day) for lid in pair):
        return Reason.MEERPERSOONS_ONDER_AOW
    minima = parameters.minima_op(maand.first_day)
    if minima is not None and huishouden.inkomen_cent_per_jaar is not None:
        if minima.exempts(huishouden.inkomen_cent_per_jaar, household_type(huishouden, maand, roles)):
            return Reason.MINIMA
    return None


def kostprijs_overzicht(
    voorzieningen: Sequence[Voorziening],
    parameters: GemeenteParameters,
    peilmaand: Month,
    gebeurtenissen: Sequence[Event] = (),
    table: TariffTable | None = None,
) -> list[KostprijsOverview]:
    """Per person the longest-running kostprijs item started on or before ``peilmaand``.

    ``resterend_cent``: the kostprijs minus the months counted at the national tariff up to and
    including ``peilmaand``. ``stop_maand``: set only when that item governs the end of the
    person's contribution (no other voorziening runs longer).
    """
    result: list[KostprijsOverview] = []
    periods = derive_periods(voorzieningen, gebeurtenissen, parameters, table=table)
    by_person: dict[Bsn, list[Voorziening]] = {}
    for v in voorzieningen:
        if v.kostprijs_cent is not None and v.soort in parameters.bijdrageplichtige_soorten:
            by_person.setdefault(v.bsn, []).append(v)
    for bsn in sorted(by_person):
        best: tuple[tuple[int, dt.date], KostprijsOverview] | None = None
        for v in by_person[bsn]:
            pieces = voorziening_pieces(
                v, gebeurtenissen, parameters.trigger(v.soort), table, parameters.pauzeregel
            )
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
                        and period.stop_reden is StopReason.KOSTPRIJS_BEREIKT
                        and v.id in period.voorziening_ids
                        and period.stop == pieces[-1].interval.stop
                    ):
                        stop_maand = einde.stop_month
            item = KostprijsOverview(
                bsn=bsn,
                voorziening_id=v.id,
                kostprijs_cent=v.kostprijs_cent,
                resterend_cent=max(0, v.kostprijs_cent - counted),
                virtuele_einddatum=einde.virtual_end_date if einde is not None else None,
                stop_maand=stop_maand,
            )
            if best is None or key > best[0]:
                best = (key, item)
        if best is not None:
            result.append(best[1])
    return result
