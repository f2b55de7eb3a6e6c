"""Households of any size with roles (``rol``): the partner counts, a child never does.

Sources (paraphrased): the CAK and municipal pages say a multi-person household pays nothing when
"you or your partner" has not reached the AOW age (e.g. gemeente.leiden.nl, drimmelen.nl,
ede.nl: "getrouwd of een partner en minimaal een van u"); a voorziening for a child under 18 is
free, except a woningaanpassing when the gemeente charges it (brielle.nl, gemeentewestland.nl).
"""

from __future__ import annotations

import datetime as dt

import pytest
from policy_builders import ANDER, CLIENT, KIND1, KIND2, PARTNER, d, lid, vz

from ieb.policy import (
    MAX_LEDEN,
    GemeenteParameters,
    Household,
    HouseholdType,
    Member,
    MinimaLimits,
    Month,
    PolicyInputError,
    Reason,
    Role,
    estimate_household,
    household_type,
    member_roles,
)
from ieb.policy.contract import parse_request
from ieb.policy.parameters import Grenzen

CHARGES_MINORS = GemeenteParameters(gemeentecode="0363", woningaanpassing_minderjarigen=True)
DEFAULT = GemeenteParameters(gemeentecode="0363")

VADER = lid(CLIENT, "1985-04-10", rol="client")
MOEDER = lid(PARTNER, "1987-09-02", rol="partner")
ZOON = lid(KIND1, "2015-03-20", rol="kind")
DOCHTER = lid(KIND2, "2018-11-05", rol="kind")
WA_DOCHTER = vz("woningaanpassing", "2025-02-12", bsn=KIND2, kostprijs=300_000)


def one_month(leden: tuple[Member, ...], items: list, params: GemeenteParameters, maand: str = "2025-06",
              inkomen: int | None = None) -> tuple[int, Reason]:  # fmt: skip
    m = Month.parse(maand)
    schatting = estimate_household(Household(leden=leden, inkomen_cent_per_jaar=inkomen), items, params, m, m)
    [result] = schatting.maanden
    return result.bedrag_cent, result.reden


def test_two_parents_two_children_woningaanpassing_of_a_child_is_described_and_not_charged() -> None:
    # Both parents are below the AOW age: a multi-person household (client + partner) pays nothing.
    assert one_month((VADER, MOEDER, ZOON, DOCHTER), [WA_DOCHTER], CHARGES_MINORS) == (
        0,
        Reason.MEERPERSOONS_ONDER_AOW,
    )


def test_two_parents_two_children_when_the_gemeente_does_not_charge_minors() -> None:
    assert one_month((VADER, MOEDER, ZOON, DOCHTER), [WA_DOCHTER], DEFAULT) == (0, Reason.MINDERJARIG)


def test_the_order_of_members_does_not_matter() -> None:
    assert one_month((DOCHTER, ZOON, MOEDER, VADER), [WA_DOCHTER], CHARGES_MINORS) == (
        0,
        Reason.MEERPERSOONS_ONDER_AOW,
    )


def test_single_parent_with_children_pays_for_the_childs_woningaanpassing() -> None:
    # A child is not a partner: this is not a multi-person household below the AOW age.
    assert one_month((VADER, ZOON, DOCHTER), [WA_DOCHTER], CHARGES_MINORS) == (2100, Reason.LANDELIJK_TARIEF)


def test_single_parent_and_child_without_roles_keep_the_child_a_child() -> None:
    ouder, kind = lid(CLIENT, "1985-04-10"), lid(KIND2, "2018-11-05")
    item = vz("woningaanpassing", "2025-02-12", bsn=KIND2)
    assert one_month((ouder, kind), [item], CHARGES_MINORS) == (2100, Reason.LANDELIJK_TARIEF)
    assert one_month((kind, ouder), [item], CHARGES_MINORS) == (2100, Reason.LANDELIJK_TARIEF)
    assert member_roles(Household(leden=(kind, ouder)), d("2025-06-01")) == (Role.CHILD, Role.CLIENT)


def test_two_adults_without_roles_keep_todays_meaning() -> None:
    a, b = lid(CLIENT, "1950-06-15"), lid(PARTNER, "1975-02-01")
    assert member_roles(Household(leden=(a, b)), d("2025-06-01")) == (Role.CLIENT, Role.PARTNER)
    assert one_month((a, b), [vz("huishoudelijke_hulp", "2024-01-10")], DEFAULT) == (
        0,
        Reason.MEERPERSOONS_ONDER_AOW,
    )


def test_grandparents_at_aow_age_raising_a_grandchild_pay_one_tariff() -> None:
    opa, oma = lid(CLIENT, "1950-06-15", rol="client"), lid(PARTNER, "1952-01-01", rol="partner")
    kleinkind = lid(KIND1, "2014-01-01", rol="overig")
    item = vz("woningaanpassing", "2025-02-12", bsn=KIND1)
    assert one_month((opa, oma, kleinkind), [item], CHARGES_MINORS) == (2100, Reason.LANDELIJK_TARIEF)
    assert one_month((opa, oma, kleinkind), [item], DEFAULT) == (0, Reason.MINDERJARIG)


def test_an_adult_child_is_a_household_of_its_own() -> None:
    ouder = lid(CLIENT, "1950-06-15", rol="client")
    zoon = lid(KIND1, "1990-01-01", rol="kind")
    begeleiding = vz("begeleiding", "2024-01-10", bsn=KIND1)
    assert one_month((ouder, zoon), [begeleiding], DEFAULT) == (0, Reason.EIGEN_HUISHOUDEN)
    # ... and does not make the parent a multi-person household: the parent's own support is charged.
    hh = vz("huishoudelijke_hulp", "2024-01-10", bsn=CLIENT)
    assert one_month((lid(CLIENT, "1980-01-01", rol="client"), zoon), [hh, begeleiding], DEFAULT) == (
        2100,
        Reason.LANDELIJK_TARIEF,
    )


def test_an_adult_housemates_wlz_contribution_does_not_free_the_household() -> None:
    ouder = lid(CLIENT, "1950-06-15", rol="client")
    inwonend = lid(ANDER, "1990-01-01", wlz=True, rol="overig")
    hh = vz("huishoudelijke_hulp", "2024-01-10")
    assert one_month((ouder, inwonend), [hh], DEFAULT) == (2100, Reason.LANDELIJK_TARIEF)
    partner = lid(PARTNER, "1951-01-01", wlz=True, rol="partner")
    assert one_month((ouder, partner, inwonend), [hh], DEFAULT) == (0, Reason.WLZ)


def test_a_child_turning_18_leaves_the_parents_contribution() -> None:
    ouder = lid(CLIENT, "1980-01-01", rol="client")
    kind = lid(KIND1, "2007-07-15", rol="kind")  # 18 on 15 July 2025
    item = vz("woningaanpassing", "2025-02-12", bsn=KIND1)
    schatting = estimate_household(
        Household(leden=(ouder, kind)), [item], CHARGES_MINORS, Month(2025, 6), Month(2025, 8)
    )
    assert [(str(m.maand), m.bedrag_cent, m.reden) for m in schatting.maanden] == [
        ("2025-06", 2100, Reason.LANDELIJK_TARIEF),
        ("2025-07", 2100, Reason.LANDELIJK_TARIEF),  # still 17 on 1 July
        ("2025-08", 0, Reason.EIGEN_HUISHOUDEN),  # 18 on 1 August: a household of their own
    ]


@pytest.mark.parametrize(
    ("geboren", "juni", "juli"),
    [
        ("1958-06-15", Reason.MEERPERSOONS_ONDER_AOW, Reason.LANDELIJK_TARIEF),  # AOW (67) on 15 June 2025
        ("1958-07-01", Reason.MEERPERSOONS_ONDER_AOW, Reason.LANDELIJK_TARIEF),  # AOW on 1 July: July counts
        ("1958-06-01", Reason.LANDELIJK_TARIEF, Reason.LANDELIJK_TARIEF),  # AOW on 1 June: June counts
        ("1958-07-02", Reason.MEERPERSOONS_ONDER_AOW, Reason.MEERPERSOONS_ONDER_AOW),
    ],
)
def test_aow_age_reached_mid_month_counts_from_the_next_first(
    geboren: str, juni: Reason, juli: Reason
) -> None:
    client = lid(CLIENT, "1950-06-15", rol="client")
    partner = lid(PARTNER, geboren, rol="partner")
    schatting = estimate_household(
        Household(leden=(client, partner)),
        [vz("huishoudelijke_hulp", "2024-01-10")],
        DEFAULT,
        Month(2025, 6),
        Month(2025, 7),
    )
    assert [m.reden for m in schatting.maanden] == [juni, juli]


GRENZEN = Grenzen(
    eenpersoons=2_000_000, meerpersoons=2_800_000, eenpersoons_aow=2_200_000, meerpersoons_aow=3_000_000
)


def test_minima_cell_ignores_children() -> None:
    ouder = lid(CLIENT, "1985-04-10", rol="client")
    hh = Household(leden=(ouder, ZOON, DOCHTER), inkomen_cent_per_jaar=2_500_000)
    assert household_type(hh, Month(2025, 6)) is HouseholdType.EENPERSOONS
    params = GemeenteParameters(
        gemeentecode="0363", minima=(MinimaLimits(vanaf=d("2025-01-01"), grens_cent_per_jaar=GRENZEN),)
    )
    item = vz("huishoudelijke_hulp", "2024-01-10")
    # 25,000 is above the one-person limit (20,000), though below the multi-person one (28,000).
    assert one_month((ouder, ZOON, DOCHTER), [item], params, inkomen=2_500_000) == (
        2100,
        Reason.LANDELIJK_TARIEF,
    )


@pytest.mark.parametrize(
    ("leden", "field", "text"),
    [
        ((lid(CLIENT, rol="client"), lid(PARTNER)), "huishouden.leden[1].rol", "bij elk lid"),
        ((lid(CLIENT, rol="client"), lid(PARTNER, rol="client")), "huishouden.leden", "precies één client"),
        ((lid(CLIENT, rol="partner"),), "huishouden.leden", "precies één client"),
        ((lid(CLIENT, rol="client"), lid(PARTNER, rol="partner"), lid(ANDER, rol="partner")),
         "huishouden.leden[2].rol", "hooguit één partner"),
        ((lid(CLIENT), lid(PARTNER), lid(ANDER)), "huishouden.leden", "rol"),
        ((lid(CLIENT), lid(CLIENT)), "huishouden.leden", "twee keer"),
    ],
)  # fmt: skip
def test_impossible_households_name_the_field(leden: tuple[Member, ...], field: str, text: str) -> None:
    with pytest.raises(PolicyInputError) as info:
        Household(leden=leden)
    assert info.value.field == field and text in info.value.message
    assert CLIENT not in str(info.value)


def test_a_minor_is_never_a_partner() -> None:
    hh = Household(leden=(lid(CLIENT, "1980-01-01", rol="client"), lid(PARTNER, "2008-08-01", rol="partner")))
    with pytest.raises(PolicyInputError) as info:
        estimate_household(hh, [], DEFAULT, Month(2025, 6), Month(2025, 6))
    assert info.value.field == "huishouden.leden[1].rol" and "jonger dan 18" in info.value.message
    assert PARTNER not in str(info.value)
    # From the month they are 18 on the 1st, the same person may be the partner.
    estimate_household(hh, [], DEFAULT, Month(2026, 8), Month(2026, 8))


def test_household_size_is_bounded() -> None:
    many = [lid(CLIENT, rol="client")]
    many += [lid(f"{n:09d}", "2010-01-01", rol="kind") for n in _test_bsns(MAX_LEDEN)]
    with pytest.raises(PolicyInputError, match=r"huishouden\.leden"):
        parse_request(
            {
                "gemeente": {"code": "0363"},
                "huishouden": {
                    "leden": [
                        {"bsn": str(m.bsn), "geboortedatum": m.geboortedatum.isoformat(),
                         "wlz_eigen_bijdrage": False, "beschermd_wonen": False, "rol": m.rol}
                        for m in many
                    ],
                    "inkomen_cent_per_jaar": None,
                },
                "voorzieningen": [],
                "van": "2025-01",
                "tot": "2025-01",
            }
        )  # fmt: skip


def _test_bsns(count: int) -> list[int]:
    from ieb.types import bsn_is_valid

    found: list[int] = []
    n = 999_910_000
    while len(found) < count:
        n += 1
        if bsn_is_valid(f"{n:09d}"):
            found.append(n)
    return found


def test_roles_are_fixed_on_the_first_month_estimated() -> None:
    assert member_roles(Household(leden=(VADER, MOEDER, ZOON)), dt.date(2025, 1, 1)) == (
        Role.CLIENT,
        Role.PARTNER,
        Role.CHILD,
    )
