"""Tabel voor beleidsmedewerkers: per geval wat het huishouden in één maand betaalt, en waarom.

Elke regel leest als een zin: omschrijving, wie, welke voorziening(en), de keuzes van de gemeente,
de maand, en de uitkomst (bedrag in eurocent en de reden). Landelijk tarief 2025: EUR 21,00.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from policy_builders import ANDER, CLIENT, PARTNER, d, lid, vz

from ieb.policy import (
    Exemption,
    ExemptionGround,
    GemeenteParameters,
    Household,
    IncomeComparison,
    Member,
    MinimaLimits,
    Month,
    Reason,
    ReducedTariff,
    Voorziening,
    VoorzieningKind,
    estimate_household,
)
from ieb.policy.parameters import DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN, Grenzen

AOW_ER = lid(CLIENT, "1950-06-15")
AOW_PARTNER = lid(PARTNER, "1951-02-01")
JONGE_PARTNER = lid(PARTNER, "1975-02-01")
KIND = lid(ANDER, "2012-04-01")
HH = vz("huishoudelijke_hulp", "2024-01-10")
GRENZEN = Grenzen(
    eenpersoons=2_000_000, meerpersoons=2_800_000, eenpersoons_aow=2_200_000, meerpersoons_aow=3_000_000
)


def gemeente(**changes: object) -> GemeenteParameters:
    return GemeenteParameters(gemeentecode="0363", **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Geval:
    omschrijving: str
    leden: tuple[Member, ...]
    voorzieningen: tuple[Voorziening, ...]
    bedrag_cent: int
    reden: Reason
    maand: str = "2025-06"
    inkomen_cent_per_jaar: int | None = None
    parameters: GemeenteParameters = field(default_factory=gemeente)


GEVALLEN = [
    Geval("Alleenstaande AOW'er met huishoudelijke hulp betaalt het landelijk tarief",
          (AOW_ER,), (HH,), 2100, Reason.LANDELIJK_TARIEF),
    Geval("Gemeente heeft een verlaagd tarief van EUR 15,00",
          (AOW_ER,), (HH,), 1500, Reason.VERLAAGD_TARIEF,
          parameters=gemeente(verlaagd_tarief=(ReducedTariff(vanaf=d("2025-01-01"), bedrag_cent=1500),))),
    Geval("In de maand van de start wordt nog niets geïnd",
          (AOW_ER,), (vz("begeleiding", "2025-06-10"),), 0, Reason.STARTMAAND),
    Geval("Start op de 1e van de maand: ook die maand nog niets (standaardkeuze)",
          (AOW_ER,), (vz("begeleiding", "2025-06-01"),), 0, Reason.STARTMAAND),
    Geval("De maand waarin de ondersteuning stopt, wordt volledig geïnd",
          (AOW_ER,), (vz("begeleiding", "2024-01-10", "2025-06-03"),), 2100, Reason.LANDELIJK_TARIEF),
    Geval("De maand na de stop wordt niets geïnd",
          (AOW_ER,), (vz("begeleiding", "2024-01-10", "2025-05-31"),), 0, Reason.GEEN_VOORZIENING),
    Geval("Een cliënt jonger dan 18 betaalt niets",
          (KIND,), (vz("begeleiding", "2024-01-10", bsn=ANDER),), 0, Reason.MINDERJARIG),
    Geval("Woningaanpassing voor een minderjarige, als de gemeente die in rekening brengt",
          (KIND,), (vz("woningaanpassing", "2024-01-10", bsn=ANDER),), 2100, Reason.LANDELIJK_TARIEF,
          parameters=gemeente(woningaanpassing_minderjarigen=True)),
    Geval("Woningaanpassing voor een minderjarige, als de gemeente die niet in rekening brengt",
          (KIND,), (vz("woningaanpassing", "2024-01-10", bsn=ANDER),), 0, Reason.MINDERJARIG),
    Geval("Echtpaar waarvan de partner de AOW-leeftijd nog niet heeft: niets",
          (AOW_ER, JONGE_PARTNER), (HH,), 0, Reason.MEERPERSOONS_ONDER_AOW),
    Geval("Echtpaar dat allebei de AOW-leeftijd heeft betaalt het tarief",
          (AOW_ER, AOW_PARTNER), (HH,), 2100, Reason.LANDELIJK_TARIEF),
    Geval("Alleenstaande onder de AOW-leeftijd betaalt wel",
          (lid(CLIENT, "1980-01-01"),), (HH,), 2100, Reason.LANDELIJK_TARIEF),
    Geval("De partner betaalt een eigen bijdrage voor de Wlz: niets",
          (AOW_ER, lid(PARTNER, "1951-02-01", wlz=True)), (HH,), 0, Reason.WLZ),
    Geval("Beschermd wonen heeft een eigen regeling",
          (lid(CLIENT, "1950-06-15", bw=True),), (vz("begeleiding", "2024-01-10"),), 0, Reason.BESCHERMD_WONEN),
    Geval("Alleen een rolstoel: geen eigen bijdrage",
          (AOW_ER,), (vz("rolstoel", "2024-01-10"),), 0, Reason.ROLSTOEL),
    Geval("Algemene voorziening die de gemeente niet heeft aangewezen",
          (AOW_ER,), (vz("algemene_voorziening", "2024-01-10"),), 0, Reason.ALGEMENE_VOORZIENING),
    Geval("Algemene voorziening die de gemeente wél heeft aangewezen",
          (AOW_ER,), (vz("algemene_voorziening", "2024-01-10"),), 2100, Reason.LANDELIJK_TARIEF,
          parameters=gemeente(bijdrageplichtige_soorten=DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN | {VoorzieningKind.ALGEMENE_VOORZIENING})),
    Geval("Collectief vervoer dat de gemeente heeft vrijgesteld",
          (AOW_ER,), (vz("vervoer", "2024-01-10"),), 0, Reason.SOORT_NIET_BIJDRAGEPLICHTIG,
          parameters=gemeente(bijdrageplichtige_soorten=DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN - {VoorzieningKind.VERVOER})),
    Geval("Inkomen onder de minimagrens: niets",
          (AOW_ER,), (HH,), 0, Reason.MINIMA, inkomen_cent_per_jaar=2_199_999,
          parameters=gemeente(minima=(MinimaLimits(vanaf=d("2025-01-01"), grens_cent_per_jaar=GRENZEN),))),
    Geval("Inkomen precies op de minimagrens: het tarief ('onder' de grens is strikt)",
          (AOW_ER,), (HH,), 2100, Reason.LANDELIJK_TARIEF, inkomen_cent_per_jaar=2_200_000,
          parameters=gemeente(minima=(MinimaLimits(vanaf=d("2025-01-01"), grens_cent_per_jaar=GRENZEN),))),
    Geval("Inkomen op de grens, gemeente koos 'op of onder': niets",
          (AOW_ER,), (HH,), 0, Reason.MINIMA, inkomen_cent_per_jaar=2_200_000,
          parameters=gemeente(minima=(MinimaLimits(vanaf=d("2025-01-01"), grens_cent_per_jaar=GRENZEN,
                                                    vergelijking=IncomeComparison.AT_OR_BELOW),))),
    Geval("Inkomen boven de minimagrens: het tarief",
          (AOW_ER,), (HH,), 2100, Reason.LANDELIJK_TARIEF, inkomen_cent_per_jaar=2_200_001,
          parameters=gemeente(minima=(MinimaLimits(vanaf=d("2025-01-01"), grens_cent_per_jaar=GRENZEN),))),
    Geval("Minimagrens als 120% van de bijstandsnorm",
          (AOW_ER,), (HH,), 0, Reason.MINIMA, inkomen_cent_per_jaar=2_600_000,
          parameters=gemeente(minima=(MinimaLimits(vanaf=d("2025-01-01"), percentage=120, norm_cent_per_jaar=GRENZEN),))),
    Geval("Individuele vrijstelling wegens onvoldoende draagkracht",
          (AOW_ER,), (HH,), 0, Reason.VRIJSTELLING,
          parameters=gemeente(vrijstellingen=(Exemption(bsn=CLIENT, grond=ExemptionGround.ONVOLDOENDE_DRAAGKRACHT,
                                                           vanaf=d("2025-01-01")),))),
    Geval("Twee cliënten met elk twee voorzieningen: toch één tarief per huishouden",
          (AOW_ER, AOW_PARTNER),
          (HH, vz("begeleiding", "2024-03-01"), vz("dagbesteding", "2024-02-01", bsn=PARTNER),
           vz("vervoer", "2024-02-01", bsn=PARTNER)), 2100, Reason.LANDELIJK_TARIEF),
    Geval("Kostprijs van het hulpmiddel (EUR 100) is al bereikt",
          (AOW_ER,), (vz("hulpmiddel", "2024-06-10", kostprijs=10_000),), 0, Reason.KOSTPRIJS_BEREIKT),
    Geval("Laatste maand van de kostprijs: alleen het restant (EUR 100 - 4 x 20,60 = 17,60)",
          (AOW_ER,), (vz("hulpmiddel", "2024-06-10", kostprijs=10_000),), 1760, Reason.KOSTPRIJS_RESTANT,
          maand="2024-11"),
    Geval("Alleenstaande ouder met kind: de woningaanpassing van het kind wordt geïnd (een kind is geen partner)",
          (lid(CLIENT, "1985-01-01"), KIND), (vz("woningaanpassing", "2024-01-10", bsn=ANDER),),
          2100, Reason.LANDELIJK_TARIEF, parameters=gemeente(woningaanpassing_minderjarigen=True)),
    Geval("Pauze van precies één kalendermaand (april) telt niet: doorlopend geïnd",
          (AOW_ER,), (vz("begeleiding", "2024-01-10", "2025-03-31"), vz("begeleiding", "2025-05-01")),
          2100, Reason.LANDELIJK_TARIEF, maand="2025-05"),
    Geval("Korte pauze (niet langer dan een kalendermaand) telt niet: doorlopend geïnd",
          (AOW_ER,), (vz("begeleiding", "2024-01-10", "2025-05-20"), vz("begeleiding", "2025-06-15")),
          2100, Reason.LANDELIJK_TARIEF),
    Geval("Lange pauze (hele maand zonder zorg): na de herstart weer een startmaand",
          (AOW_ER,), (vz("begeleiding", "2024-01-10", "2025-04-20"), vz("begeleiding", "2025-06-15")),
          0, Reason.STARTMAAND),
    Geval("Geen enkele voorziening", (AOW_ER,), (), 0, Reason.GEEN_VOORZIENING),
]  # fmt: skip


@pytest.mark.parametrize("geval", GEVALLEN, ids=[g.omschrijving for g in GEVALLEN])
def test_geval(geval: Geval) -> None:
    maand = Month.parse(geval.maand)
    huishouden = Household(leden=geval.leden, inkomen_cent_per_jaar=geval.inkomen_cent_per_jaar)
    schatting = estimate_household(huishouden, geval.voorzieningen, geval.parameters, maand, maand)
    [uitkomst] = schatting.maanden
    assert (uitkomst.bedrag_cent, uitkomst.reden) == (geval.bedrag_cent, geval.reden), geval.omschrijving


def test_every_reason_has_a_dutch_explanation() -> None:
    for reden in Reason:
        assert reden.omschrijving and reden.omschrijving[0].islower()
