"""Reconciliation on hand-made edge cases (test BSNs only)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ieb.migration import (
    Categorie,
    Groep,
    ReconcileError,
    read_administratie,
    read_henv,
    read_za,
    reconcile,
)
from ieb.migration.reconcile import Afstemming
from ieb.policy import first_charged_month, virtual_end
from tests.migration.build import adm, henv, za

P = dt.date(2020, 1, 1)
A, B, C = "999900006", "999900018", "999900031"


def run(h: bytes, z: bytes, a: bytes, peildatum: dt.date = P) -> Afstemming:
    return reconcile(
        read_henv(h, name="henv.csv"),
        read_za(z, name="za.csv"),
        read_administratie(a, name="adm.csv"),
        peildatum,
    )


def hm(dossier: str, vanaf: int, kosten_euro: int, charged: int, **extra: str) -> dict[str, str]:
    rest = kosten_euro * 100 - 1750 * charged
    return {
        "DOSSIERNUMMER": dossier,
        "HENV_GROEP_CODE": "HM",
        "PERIODE_VANAF": str(vanaf),
        "TOTALE_KOSTEN": f"{kosten_euro},00",
        "AANTAL_PERIODEN": str(-(-kosten_euro * 100 // 1750)),
        "KOSTEN_PER_PERIODE": "17,50",
        "RESTBEDRAG": f"{rest // 100},{rest % 100:02d}",
        **extra,
    }


def only_za() -> bytes:
    return za({"BSN": "999900043", "IND_LAATSTE_ZORGPERIODE": "N"})


def test_three_kostprijzen_in_a_row_the_longest_running_goes_out() -> None:
    # starts in periods 1, 4 and 8 of 2019: first charged periods 2, 5 and 9, charged through 13
    h = henv(hm("K1", 2, 600, 12), hm("K2", 5, 900, 9), hm("K3", 9, 300, 5))
    a = adm(
        {"soort": "hulpmiddel", "start": "2019-01-20", "kostprijs_cent": "60000", "dossiernummer": "K1"},
        {"soort": "hulpmiddel", "start": "2019-04-10", "kostprijs_cent": "90000", "dossiernummer": "K2"},
        {"soort": "hulpmiddel", "start": "2019-08-01", "kostprijs_cent": "30000", "dossiernummer": "K3"},
    )
    result = run(h, only_za(), a)
    (person,) = result.personen
    assert person.groep is Groep.BEIDE and person.verschillen == ()
    assert result.restbedrag_cent == 39000 + 74250 + 21250
    (period,) = result.perioden
    end = virtual_end(74250, first_charged_month(P))
    assert end is not None
    assert (period.start, period.stop) == (P, end.virtual_end_date)  # the kostprijs governs the stop
    assert period.kostprijs_cent == 74250  # K2: EUR 900 - 9 x 17.50 lasts longest
    rests = {r.dossiernummer: r for r in result.restbedragen}
    assert {d: (r.op_peildatum_cent, r.langstlopend) for d, r in rests.items()} == {
        "K1": (39000, False),
        "K2": (74250, True),
        "K3": (21250, False),
    }
    assert rests["K2"].virtuele_einddatum == end.virtual_end_date
    assert rests["K1"].berekend_cent == rests["K1"].restbedrag_cent == 39000
    assert period.kostprijs_start == P
    assert result.summary()["startberichten"] == 1


def test_a_different_kostprijs_on_the_longest_item_is_a_kostprijs_and_restbedrag_difference() -> None:
    h = henv(hm("K1", 2, 600, 12), hm("K2", 5, 900, 9))
    a = adm(
        {"soort": "hulpmiddel", "start": "2019-01-20", "kostprijs_cent": "60000", "dossiernummer": "K1"},
        {"soort": "hulpmiddel", "start": "2019-04-10", "kostprijs_cent": "95000", "dossiernummer": "K2"},
    )
    result = run(h, only_za(), a)
    (person,) = result.met_verschillen
    kinds = {v.categorie: v for v in person.verschillen}
    assert set(kinds) == {Categorie.KOSTPRIJS, Categorie.RESTBEDRAG}
    assert (kinds[Categorie.KOSTPRIJS].cak, kinds[Categorie.KOSTPRIJS].gemeente) == (
        "EUR 900,00",
        "EUR 950,00",
    )
    assert (kinds[Categorie.RESTBEDRAG].cak, kinds[Categorie.RESTBEDRAG].gemeente) == (
        "EUR 742,50",
        "EUR 792,50",
    )
    assert all(v.actie for v in person.verschillen)
    assert result.perioden[0].kostprijs_cent == 74250  # the CAK's restbedrag is taken over


def test_restbedrag_zero_means_nothing_left_to_charge() -> None:
    h = henv(hm("K1", 2, 210, 12), {"BSN": B})  # EUR 210 = 12 x 17.50: used up in 2019
    a = adm(
        {"soort": "hulpmiddel", "start": "2019-01-20", "kostprijs_cent": "21000", "dossiernummer": "K1"},
        {"bsn": B},
    )
    result = run(h, only_za(), a)
    assert [p.bsn for p in result.personen] == [B]  # A owes nothing on 2020-01-01, at neither side
    assert result.restbedrag_cent == 0
    assert [str(p.bsn) for p in result.perioden] == [B]


def test_a_verstrekking_not_flagged_in_the_last_period_is_not_running() -> None:
    ended = {"AANTAL_PERIODEN": "11", "PERIODE_VANAF": "3", "IND_LAATSTE_ZORGPERIODE": "N"}  # 3..13 of 2019
    h = henv(ended, {"BSN": B, **ended})
    a = adm({"stop": "2019-12-31"}, {"bsn": B})  # B is still open at the gemeente
    result = run(h, only_za(), a)
    assert [(p.bsn, p.groep) for p in result.personen] == [(B, Groep.ALLEEN_GEMEENTE)]
    assert "Niet bij het CAK bekend" in result.personen[0].actie
    assert result.cak_telling()["henv.csv"]["niet_lopend"] == 2


@pytest.mark.parametrize(
    ("vanaf", "aantal"),
    [
        (1, "13"),  # counted up to the file's last period: the field case
        (5, "9"),
        (9, "5"),
        (13, "1"),
        (3, "8"),  # fewer periods than elapsed (a pause): still J in the last period
        (3, ""),  # no count at all
        (13, "40"),  # a planned end in 2022: running on the peildatum
    ],
)
@pytest.mark.parametrize("peildatum", [P, dt.date(2020, 7, 1)])
def test_a_client_flagged_in_the_last_period_runs_on_whatever_aantal_perioden_says(
    vanaf: int, aantal: str, peildatum: dt.date
) -> None:
    row = {"PERIODE_VANAF": str(vanaf), "AANTAL_PERIODEN": aantal}
    h = henv({"BSN": A, **row}, {"BSN": B, **row})
    a = adm({"bsn": A, "start": "2019-01-01"})
    result = run(h, only_za(), a, peildatum)
    assert [(p.bsn, p.groep) for p in result.personen] == [(A, Groep.BEIDE), (B, Groep.ALLEEN_CAK)]
    ends = [v.cak for p in result.personen for v in p.verschillen if "einde" in v.cak]
    planned = bool(aantal) and vanaf + int(aantal) - 1 > 13
    assert ends == (["einde 2022-12"] if planned else [])  # no end read into a count up to the file's end
    assert result.cak_telling()["henv.csv"] == {
        "beide": 1,
        "alleen_cak": 1,
        "niet_lopend": 0,
        "opgebruikt": 0,
        "fout": 0,
    }


def test_a_planned_end_before_the_peildatum_stops_a_running_client() -> None:
    h = henv({"PERIODE_VANAF": "13", "AANTAL_PERIODEN": "3"})  # 2019-13 .. 2020-02 (4-week count)
    result = run(h, only_za(), adm({}), dt.date(2020, 6, 1))
    assert [p.groep for p in result.personen] == [Groep.ALLEEN_GEMEENTE]
    assert result.cak_telling()["henv.csv"]["niet_lopend"] == 1


def test_a_running_flag_outside_the_files_last_period_is_a_bad_row_not_a_guess() -> None:
    h = henv(
        {"BSN": A},
        {"BSN": B, "ZORGPERIODE": "201911"},
        {"BSN": C, "ZORGPERIODE": "201911", "IND_LAATSTE_ZORGPERIODE": "N"},
    )
    result = run(h, only_za(), adm({"bsn": A}))
    assert [(f.regel, f.reden.split(":")[0]) for f in result.fouten] == [(3, "kolom IND_LAATSTE_ZORGPERIODE")]
    assert "2019-13" in result.fouten[0].reden
    assert result.cak_telling()["henv.csv"] == {
        "beide": 1,
        "alleen_cak": 0,
        "niet_lopend": 1,
        "opgebruikt": 0,
        "fout": 1,
    }


def test_the_field_case_of_three_continuing_clients_counts_them_all() -> None:
    folder = Path(__file__).parent / "data" / "doorlopend"
    result = reconcile(
        read_henv(folder / "henv.csv"),
        read_za(folder / "za.csv"),
        read_administratie(folder / "administratie.csv"),
        P,
    )
    summary = result.summary()
    assert (summary["alleen_cak"], summary["alleen_gemeente"], summary["beide"]) == (0, 0, 3)
    assert summary["fouten"] == []
    assert result.cak_telling() == {
        "henv.csv": {"beide": 3, "alleen_cak": 0, "niet_lopend": 0, "opgebruikt": 0, "fout": 0},
        "za.csv": {"beide": 3, "alleen_cak": 0, "niet_lopend": 0, "opgebruikt": 0, "fout": 0},
    }


def test_only_at_the_cak_through_za_and_the_groups() -> None:
    h = henv({"BSN": A}, {"BSN": B})
    z = za({"BSN": C}, {"BSN": C, "PRODUCTCODE": "02A02"})
    a = adm({"bsn": A}, {"bsn": "999900043"})
    result = run(h, z, a)
    groups = {p.bsn: p.groep for p in result.personen}
    assert groups == {
        A: Groep.BEIDE,
        B: Groep.ALLEEN_CAK,
        C: Groep.ALLEEN_CAK,
        "999900043": Groep.ALLEEN_GEMEENTE,
    }
    summary = result.summary()
    assert (summary["alleen_cak"], summary["alleen_gemeente"], summary["beide"]) == (2, 1, 1)
    assert summary["startberichten"] == 2


def test_person_differences_birth_date_initials_period() -> None:
    h = henv({"BSN": A, "VOORLETTERS": "J.P."}, {"BSN": B, "GEBOORTEDATUM": "19500102"}, {"BSN": C})
    a = adm(
        {"bsn": A, "voorletters": "J. P."},  # same initials, other notation
        {"bsn": B},
        {"bsn": C, "start": "2019-01-05", "voorletters": "K."},  # first charged period 2, not 3
    )
    result = run(h, only_za(), a)
    by = {p.bsn: {v.categorie for v in p.verschillen} for p in result.personen}
    assert by == {A: set(), B: {Categorie.GEBOORTEDATUM}, C: {Categorie.PERIODE, Categorie.VOORLETTERS}}
    assert result.summary()["verschillen"] == 2
    assert result.per_categorie()[Categorie.PERIODE] == 1


def test_an_end_only_one_side_knows_is_a_period_difference() -> None:
    h = henv({"AANTAL_PERIODEN": "30"})  # runs into 2021
    a = adm({})
    (person,) = run(h, only_za(), a).personen
    assert [v.categorie for v in person.verschillen] == [Categorie.PERIODE]
    assert person.verschillen[0].gemeente == "geen stop"


def test_a_restbedrag_that_does_not_add_up_in_the_cak_file() -> None:
    row = hm("K1", 2, 600, 12)
    row["RESTBEDRAG"] = "400,00"  # should be 390,00
    a = adm({"soort": "hulpmiddel", "start": "2019-01-20", "kostprijs_cent": "60000", "dossiernummer": "K1"})
    (person,) = run(henv(row), only_za(), a).personen
    texts = [v.gemeente for v in person.verschillen if v.categorie is Categorie.RESTBEDRAG]
    assert "berekend uit het CAK-bestand EUR 390,00" in texts


def test_a_remaining_amount_below_one_month_is_charged_once_then_stopped() -> None:
    h = henv(hm("K1", 2, 220, 12))  # 22000 - 21000 = EUR 10 left
    a = adm({"soort": "hulpmiddel", "start": "2019-01-20", "kostprijs_cent": "22000", "dossiernummer": "K1"})
    result = run(h, only_za(), a)
    (period,) = result.perioden
    assert period.kostprijs_cent is None
    assert period.stop == first_charged_month(P).last_day
    assert "minder dan één maandtarief" in result.personen[0].actie


def test_peildatum_later_counts_the_months_in_between() -> None:
    h = henv(hm("K1", 2, 600, 12))  # EUR 390 left after 2019
    a = adm({"soort": "hulpmiddel", "start": "2019-01-20", "kostprijs_cent": "60000", "dossiernummer": "K1"})
    result = run(h, only_za(), a, dt.date(2020, 4, 1))  # January .. March 2020 counted at EUR 19
    assert result.restbedrag_cent == 39000 - 3 * 1900
    assert result.perioden[0].kostprijs_cent == 39000 - 3 * 1900
    assert result.personen[0].verschillen == ()


def test_peildatum_before_2020_is_refused() -> None:
    with pytest.raises(ReconcileError, match="CS332"):
        run(henv({}), only_za(), adm({}), dt.date(2019, 12, 31))


def test_bad_rows_of_every_file_are_listed_in_order() -> None:
    h = henv({}, {"BSN": "999900007"}, {"HENV_GROEP_CODE": "ZZ", "BSN": B})
    a = adm({}, {"start": "2019-02-30"})
    z = za({}, {})  # duplicated row
    result = run(h, z, a)
    assert [(f["bestand"], f["regel"]) for f in result.summary()["fouten"]] == [
        ("adm.csv", 3),
        ("henv.csv", 3),
        ("henv.csv", 4),
        ("za.csv", 3),
    ]


def test_files_read_without_names_are_still_counted_apart() -> None:
    result = reconcile(
        read_henv(henv({"BSN": A})), read_za(za({"BSN": B})), read_administratie(adm({"bsn": A})), P
    )
    assert result.bestanden == {"<invoer> (HenV)": 1, "<invoer> (ZA)": 1, "<invoer> (administratie)": 1}
    assert result.cak_telling()["<invoer> (HenV)"]["beide"] == 1
    assert result.cak_telling()["<invoer> (ZA)"]["alleen_cak"] == 1
