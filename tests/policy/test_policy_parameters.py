"""Municipal parameters: validation, warnings, JSON and CSV exchange."""

from __future__ import annotations

import pytest
from policy_builders import CLIENT, d

from ieb.policy import (
    Exemption,
    ExemptionGround,
    GemeenteParameters,
    MinimaLimits,
    PolicyInputError,
    ReducedTariff,
    StartTrigger,
    TariffError,
    VoorzieningKind,
    check_new_verlaagd_tarief,
    parameters_from_csv,
    parameters_from_json,
    parameters_to_csv,
    parameters_to_json,
)
from ieb.policy.parameters import Grenzen, HouseholdType

GRENZEN = Grenzen(eenpersoons=1, meerpersoons=2, eenpersoons_aow=3, meerpersoons_aow=4)


def full() -> GemeenteParameters:
    return GemeenteParameters(
        gemeentecode="0363",
        verlaagd_tarief=(
            ReducedTariff(vanaf=d("2025-01-01"), bedrag_cent=1500, vastgesteld_op=d("2024-11-01")),
        ),
        minima=(
            MinimaLimits(vanaf=d("2024-01-01"), grens_cent_per_jaar=GRENZEN),
            MinimaLimits(vanaf=d("2025-01-01"), percentage=120, norm_cent_per_jaar=GRENZEN),
        ),
        woningaanpassing_minderjarigen=True,
        vrijstellingen=(
            Exemption(
                bsn=CLIENT, grond=ExemptionGround.ZORGMIJDING_PSYCHISCH, vanaf=d("2025-02-01"), tot=None
            ),
        ),
        start_triggers={VoorzieningKind.BEGELEIDING: StartTrigger.LEVERING},
    )


def test_json_round_trip() -> None:
    params = full()
    assert parameters_from_json(parameters_to_json(params)) == params


def test_csv_round_trip_and_readable_euros() -> None:
    params = full()
    text = parameters_to_csv(params)
    assert "verlaagd_tarief;bedrag_cent;2025-01-01;2024-11-01;1500;15,00" in text
    assert parameters_from_csv(text) == params


def test_minima_percentage_of_the_norm() -> None:
    minima = MinimaLimits(vanaf=d("2025-01-01"), percentage=120, norm_cent_per_jaar=Grenzen(
        eenpersoons=1_500_000, meerpersoons=2_100_000, eenpersoons_aow=1_650_000, meerpersoons_aow=2_250_000))  # fmt: skip
    assert minima.grens(HouseholdType.EENPERSOONS) == 1_800_000


def test_lowered_tariff_above_the_national_one_is_refused() -> None:
    with pytest.raises(TariffError, match=r"verlaagd_tarief\[0\]\.bedrag_cent.*hoger"):
        GemeenteParameters(
            gemeentecode="0363", verlaagd_tarief=(ReducedTariff(vanaf=d("2023-01-01"), bedrag_cent=2000),)
        )


def test_lowered_tariff_checked_on_every_national_change_it_spans() -> None:
    # 20.00 from 2023 is fine in 2024 (20.60) but above 19.00 in 2023 -> refused.
    with pytest.raises(TariffError, match="2023-01-01"):
        GemeenteParameters(
            gemeentecode="0363", verlaagd_tarief=(ReducedTariff(vanaf=d("2023-01-01"), bedrag_cent=2000),)
        )
    ok = GemeenteParameters(
        gemeentecode="0363", verlaagd_tarief=(ReducedTariff(vanaf=d("2024-01-01"), bedrag_cent=2000),)
    )
    assert ok.verlaagd_tarief_op(d("2024-05-01")) is not None


def test_lowered_tariff_not_retroactive_and_from_the_first_of_a_month() -> None:
    with pytest.raises(TariffError, match="terugwerkende kracht"):
        ReducedTariff(vanaf=d("2025-01-01"), bedrag_cent=1500, vastgesteld_op=d("2025-02-01"))
    with pytest.raises(TariffError, match="eerste dag"):
        ReducedTariff(vanaf=d("2025-01-15"), bedrag_cent=1500)
    with pytest.raises(TariffError, match="terugwerkende kracht"):
        check_new_verlaagd_tarief(
            full(), ReducedTariff(vanaf=d("2025-03-01"), bedrag_cent=1400), d("2025-04-02")
        )


def test_warnings_for_a_second_change_and_a_late_delivery() -> None:
    params = full()
    warnings = check_new_verlaagd_tarief(
        params, ReducedTariff(vanaf=d("2025-07-01"), bedrag_cent=1400), d("2025-03-01")
    )
    assert any("hooguit één wijziging" in w for w in warnings)
    late = check_new_verlaagd_tarief(
        params, ReducedTariff(vanaf=d("2026-01-01"), bedrag_cent=1400), d("2025-12-10")
    )
    assert any("30-11" in w or "2025-11-30" in w for w in late)


def test_negative_amounts_and_bad_values_name_the_field() -> None:
    with pytest.raises(
        PolicyInputError,
        match=r"gemeente\.verlaagd_tarief\[0\]\.bedrag_cent: waarde -1: geef een geheel getal van minstens 0 "
        r"\(een bedrag in eurocent",
    ):
        parameters_from_json(
            '{"gemeentecode": "0363", "verlaagd_tarief": [{"vanaf": "2025-01-01", "bedrag_cent": -1}]}'
        )
    with pytest.raises(PolicyInputError, match=r"gemeente\.bijdrageplichtige_soorten"):
        parameters_from_json('{"gemeentecode": "0363", "bijdrageplichtige_soorten": ["taxi"]}')
    with pytest.raises(PolicyInputError, match="rolstoel"):
        GemeenteParameters(
            gemeentecode="0363", bijdrageplichtige_soorten=frozenset({VoorzieningKind.ROLSTOEL})
        )
    with pytest.raises(PolicyInputError, match="minima"):
        MinimaLimits(vanaf=d("2025-01-01"))
    with pytest.raises(PolicyInputError, match=r"vrijstellingen\.tot"):
        Exemption(bsn=CLIENT, grond="onvoldoende_draagkracht", vanaf=d("2025-02-01"), tot=d("2025-01-01"))  # type: ignore[arg-type]


def test_bsn_is_never_shown_in_full_in_errors() -> None:
    with pytest.raises(PolicyInputError) as info:
        Exemption(bsn=CLIENT, grond="onvoldoende_draagkracht", vanaf=d("2025-02-01"), tot=d("2025-01-01"))  # type: ignore[arg-type]
    assert CLIENT not in str(info.value)
    with pytest.raises(PolicyInputError) as info2:
        parameters_from_json(
            '{"gemeentecode": "0363", "vrijstellingen": [{"bsn": "999900007", "grond": "x", "vanaf": "2025-01-01"}]}'
        )
    assert "999900007" not in str(info2.value)


def test_csv_with_an_unknown_part_is_refused() -> None:
    text = parameters_to_csv(full()) + "iets;;;;1;;\n"
    with pytest.raises(PolicyInputError, match="csv regel"):
        parameters_from_csv(text)
