"""Worked examples from public sources, run through the ``ieb bijdrage`` JSON contract.

For a policy officer: every row says what a public page says (in our own words, with the page it
came from), the situation we feed in, and per month what the library promises (amount in eurocent
and the ``reden``). A row marked *keuze* follows a documented choice of ours where the sources are
silent (see ``docs/policy.md``, "Choices no public source settles").

National tariff: 2020-2023 EUR 19.00, 2024 EUR 20.60, 2025 EUR 21.00, 2026 EUR 21.80 per month.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from ieb.policy.contract import estimate_from_json

CLIENT, PARTNER, KIND1, KIND2 = "999900006", "999900018", "999900043", "999900055"


def persoon(bsn: str, geboren: str, rol: str | None = None, wlz: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "bsn": bsn,
        "geboortedatum": geboren,
        "wlz_eigen_bijdrage": wlz,
        "beschermd_wonen": False,
    }
    if rol:
        data["rol"] = rol
    return data


def voorziening(
    soort: str, start: str, stop: str | None = None, bsn: str = CLIENT, **extra: Any
) -> dict[str, Any]:
    return {"bsn": bsn, "soort": soort, "start": start, "stop": stop, **extra}


AOW_ER = persoon(CLIENT, "1950-06-15")
JONG = persoon(CLIENT, "1980-01-01")


@dataclass(frozen=True)
class Voorbeeld:
    omschrijving: str
    bron: str  # the page the example comes from
    bron_zegt: str  # paraphrased, never quoted
    leden: tuple[dict[str, Any], ...]
    voorzieningen: tuple[dict[str, Any], ...]
    verwacht: dict[str, tuple[int, str]]  # maand -> (bedrag_cent, reden)
    gemeente: dict[str, Any] = field(default_factory=dict)
    inkomen_cent_per_jaar: int | None = None
    totaal_cent: int | None = None


VOORBEELDEN = [
    Voorbeeld(
        "Inning begint de maand na de beschikking",
        "gemeente.leiden.nl (eigen bijdrage zorgkosten, abonnementsgeld Wmo)",
        "Na de beschikking meldt de gemeente de voorziening bij het CAK; betalen begint de maand daarna.",
        (AOW_ER,), (voorziening("huishoudelijke_hulp", "2024-03-12"),),
        {"2024-03": (0, "startmaand"), "2024-04": (2060, "landelijk_tarief")},
    ),
    Voorbeeld(
        "Eén tarief per huishouden, ook met twee cliënten",
        "gemeente.leiden.nl; drimmelen.nl (abonnementstarief Wmo)",
        "Het maximum geldt per huishouden; gebruiken meer mensen in huis Wmo, dan betalen ze samen één keer.",
        (AOW_ER, persoon(PARTNER, "1951-02-01")),
        (voorziening("huishoudelijke_hulp", "2023-05-02"), voorziening("begeleiding", "2023-06-01", bsn=PARTNER)),
        {"2024-02": (2060, "landelijk_tarief")},
    ),
    Voorbeeld(
        "Partner onder de AOW-leeftijd: niets",
        "gemeente.leiden.nl; ede.nl (eigen bijdrage); drimmelen.nl (tabel 2023/2024)",
        "Een gezamenlijk huishouden waarin u of uw partner de AOW-leeftijd nog niet heeft, betaalt geen abonnementstarief.",
        (AOW_ER, persoon(PARTNER, "1975-02-01")), (voorziening("huishoudelijke_hulp", "2023-05-02"),),
        {"2024-02": (0, "meerpersoons_onder_aow")},
    ),
    Voorbeeld(
        "Alleenstaande onder de AOW-leeftijd betaalt wel",
        "drimmelen.nl (tabel: eenpersoonshuishouden niet AOW-gerechtigd EUR 20,60 in 2024)",
        "Voor een eenpersoonshuishouden maakt de AOW-leeftijd niet uit: het volle tarief.",
        (JONG,), (voorziening("begeleiding", "2023-05-02"),),
        {"2023-12": (1900, "landelijk_tarief"), "2024-01": (2060, "landelijk_tarief")},
    ),
    Voorbeeld(
        "Beide partners bereiken in de loop van het jaar de AOW-leeftijd",
        "rogplus.nl (ik ga met pensioen, mijn partner niet)",
        "Zolang een van beiden de AOW-leeftijd niet heeft: niets; hebben ze die allebei, dan samen het tarief. "
        "keuze: de leeftijd op de 1e van de maand telt",
        (persoon(CLIENT, "1952-01-01"), persoon(PARTNER, "1955-09-10")),  # partner: 66 + 7 mnd op 10-04-2022
        (voorziening("huishoudelijke_hulp", "2021-05-02"),),
        {"2022-04": (0, "meerpersoons_onder_aow"), "2022-05": (1900, "landelijk_tarief")},
    ),
    Voorbeeld(
        "Alleen een rolstoel: geen eigen bijdrage",
        "gemeente.leiden.nl; ede.nl; drimmelen.nl",
        "Voor rolstoelen wordt geen abonnementstarief geheven.",
        (AOW_ER,), (voorziening("rolstoel", "2023-05-02"),),
        {"2024-02": (0, "rolstoel")},
    ),
    Voorbeeld(
        "Voorziening voor een kind onder 18: niets",
        "gemeente.leiden.nl; gemeentewestland.nl; brielle.nl (eigen bijdrage)",
        "Is de voorziening voor een kind jonger dan 18, dan betaalt het huishouden daarvoor geen eigen bijdrage.",
        (persoon(CLIENT, "1985-01-01", "client"), persoon(KIND1, "2012-04-01", "kind")),
        (voorziening("begeleiding", "2023-05-02", bsn=KIND1),),
        {"2024-02": (0, "minderjarig")},
    ),
    Voorbeeld(
        "Woningaanpassing voor een kind, gemeente brengt die in rekening; alleenstaande ouder",
        "issue 16 (gemeentelijke verordeningen); spec eigen-bijdrage.md",
        "Een gemeente mag een woningaanpassing voor een minderjarige belasten; een kind is geen partner, "
        "dus dit is geen meerpersoonshuishouden onder de AOW-leeftijd.",
        (persoon(CLIENT, "1985-01-01", "client"), persoon(KIND1, "2012-04-01", "kind")),
        (voorziening("woningaanpassing", "2024-11-20", bsn=KIND1),),
        {"2024-12": (2060, "landelijk_tarief"), "2025-01": (2100, "landelijk_tarief")},
        gemeente={"woningaanpassing_minderjarigen": True},
    ),
    Voorbeeld(
        "Twee ouders en twee kinderen, woningaanpassing voor een kind",
        "issue 16; gemeente.leiden.nl (partner onder de AOW-leeftijd)",
        "Met een partner onder de AOW-leeftijd betaalt het huishouden niets, ook als de gemeente de "
        "woningaanpassing van het kind belast.",
        (persoon(CLIENT, "1985-01-01", "client"), persoon(PARTNER, "1986-01-01", "partner"),
         persoon(KIND1, "2012-04-01", "kind"), persoon(KIND2, "2016-09-01", "kind")),
        (voorziening("woningaanpassing", "2024-11-20", bsn=KIND2, kostprijs_cent=450_000),),
        {"2024-12": (0, "meerpersoons_onder_aow"), "2025-01": (0, "meerpersoons_onder_aow")},
        gemeente={"woningaanpassing_minderjarigen": True},
    ),
    Voorbeeld(
        "Iemand in het huishouden betaalt al een Wlz-eigen bijdrage",
        "gemeente.leiden.nl; ede.nl",
        "Betaalt het huishouden al een eigen bijdrage voor de Wlz, dan geen abonnementstarief.",
        (AOW_ER, persoon(PARTNER, "1951-02-01", wlz=True)), (voorziening("huishoudelijke_hulp", "2023-05-02"),),
        {"2024-02": (0, "wlz_eigen_bijdrage")},
    ),
    Voorbeeld(
        "Abonnement: betalen tot en met de maand van de stop",
        "ede.nl (eigen bijdrage: maandelijks tot de voorziening eindigt, ongeacht gebruik)",
        "Er wordt per maand betaald zolang de voorziening loopt; daarna niet meer.",
        (AOW_ER,), (voorziening("begeleiding", "2023-05-02", "2024-03-10"),),
        {"2024-03": (2060, "landelijk_tarief"), "2024-04": (0, "geen_voorziening")},
    ),
    Voorbeeld(
        "Pauze van precies één kalendermaand heeft geen effect",
        "vng.nl, vraag en antwoord 'Wanneer kan het abonnementstarief worden gepauzeerd?'",
        "Een pauze is een stop plus een nieuwe start en telt pas als hij langer dan een kalendermaand duurt.",
        (AOW_ER,),
        (voorziening("huishoudelijke_hulp", "2025-01-10", "2025-03-31", id="a"),
         voorziening("huishoudelijke_hulp", "2025-05-01", id="b")),
        {f"2025-{m:02d}": (2100, "landelijk_tarief") for m in range(2, 8)},
        totaal_cent=12_600,
    ),
    Voorbeeld(
        "Pauze van 15 maart tot 20 april heeft wel effect",
        "vng.nl, vraag en antwoord over pauzeren; stop in een maand: die maand nog betalen, start: inning de maand erna",
        "35 dagen zonder ondersteuning is langer dan een kalendermaand: april wordt niet geïnd.",
        (AOW_ER,),
        (voorziening("begeleiding", "2025-01-10", "2025-03-15", id="a"), voorziening("begeleiding", "2025-04-20", id="b")),
        {"2025-03": (2100, "landelijk_tarief"), "2025-04": (0, "startmaand"), "2025-05": (2100, "landelijk_tarief")},
    ),
    Voorbeeld(
        "Inkomen precies op de minimagrens betaalt",
        "gemeentewestland.nl (eigen bijdrage); rodi.nl (Westland houdt 130 procent)",
        "Exemption geldt als het inkomen minder dan 130% van de bijstandsnorm is (2024: EUR 34.359).",
        (AOW_ER,), (voorziening("huishoudelijke_hulp", "2024-01-10"),),
        {"2024-02": (2060, "landelijk_tarief"), "2024-03": (2060, "landelijk_tarief")},
        gemeente={"minima": {"vanaf": "2024-01-01", "grens_cent_per_jaar": dict.fromkeys(
            ("eenpersoons", "meerpersoons", "eenpersoons_aow", "meerpersoons_aow"), 3_435_900)}},
        inkomen_cent_per_jaar=3_435_900,
    ),
    Voorbeeld(
        "Inkomen één euro onder de minimagrens betaalt niets",
        "gemeentewestland.nl (eigen bijdrage)",
        "Minder dan de grens: geen eigen bijdrage, en geen gedeeltelijke korting.",
        (AOW_ER,), (voorziening("huishoudelijke_hulp", "2024-01-10"),),
        {"2024-02": (0, "minima")},
        gemeente={"minima": {"vanaf": "2024-01-01", "grens_cent_per_jaar": dict.fromkeys(
            ("eenpersoons", "meerpersoons", "eenpersoons_aow", "meerpersoons_aow"), 3_435_900)}},
        inkomen_cent_per_jaar=3_435_800,
    ),
    Voorbeeld(
        "Kostprijs EUR 570 bij EUR 19 per maand: 30 maanden",
        "CAK/VNG rekenvoorbeeld kostprijsbewaking (spec eigen-bijdrage.md)",
        "Het CAK telt elke maand tegen de kostprijs tot die is bereikt; 570 / 19 = 30 maanden.",
        (AOW_ER,), (voorziening("hulpmiddel", "2020-01-15", kostprijs_cent=57_000),),
        {"2020-02": (1900, "landelijk_tarief"), "2022-07": (1900, "landelijk_tarief"),
         "2022-08": (0, "kostprijs_bereikt")},
    ),
    Voorbeeld(
        "Tarief 2026: EUR 21,80",
        "Staatscourant 2025, 35082",
        "Het maximale abonnementstarief is in 2026 EUR 21,80 per maand.",
        (AOW_ER,), (voorziening("huishoudelijke_hulp", "2025-06-10"),),
        {"2025-12": (2100, "landelijk_tarief"), "2026-01": (2180, "landelijk_tarief")},
    ),
    Voorbeeld(
        "Na het laatst gepubliceerde jaar geldt het laatst bekende tarief",
        "keuze (docs/policy.md); voor 2027 is geen bedrag gepubliceerd",
        "Zonder gepubliceerd bedrag blijft het laatste bekende tarief staan tot een nieuw is ingesteld.",
        (AOW_ER,), (voorziening("huishoudelijke_hulp", "2025-06-10"),),
        {"2027-03": (2180, "landelijk_tarief")},
    ),
]  # fmt: skip


def request(v: Voorbeeld) -> dict[str, Any]:
    months = sorted(v.verwacht)
    return {
        "gemeente": {"code": "0363", "verlaagd_tarief": [], "minima": None, **v.gemeente},
        "huishouden": {"leden": list(v.leden), "inkomen_cent_per_jaar": v.inkomen_cent_per_jaar},
        "voorzieningen": list(v.voorzieningen),
        "van": months[0],
        "tot": months[-1],
    }


@pytest.mark.parametrize("voorbeeld", VOORBEELDEN, ids=[v.omschrijving for v in VOORBEELDEN])
def test_voorbeeld(voorbeeld: Voorbeeld) -> None:
    out = estimate_from_json(json.dumps(request(voorbeeld)))
    months = {m["maand"]: (m["bedrag_cent"], m["reden"]) for m in out["maanden"]}
    for maand, expected in voorbeeld.verwacht.items():
        assert months[maand] == expected, f"{voorbeeld.omschrijving}: {maand} ({voorbeeld.bron})"
    if voorbeeld.totaal_cent is not None:
        assert out["totaal_cent"] == voorbeeld.totaal_cent


def test_every_example_names_its_source() -> None:
    for v in VOORBEELDEN:
        assert v.bron and v.bron_zegt and v.verwacht
