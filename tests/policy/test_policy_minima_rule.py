"""The minima comparison: strictly below the limit by default, a named municipal parameter.

Sources (paraphrased): the seed implementation checklist (1.1.5) speaks of a household "onder de
inkomensgrens"; gemeente Westland (gemeentewestland.nl, eigen bijdrage; rodi.nl on the 2023
decision) exempts when the income is "minder dan" 130% of the bijstandsnorm. Income equal to the
limit therefore pays, unless the gemeente's verordening says otherwise (``op_of_onder``).
"""

from __future__ import annotations

import json

import pytest
from policy_builders import d, lid, vz

from ieb.policy import (
    GemeenteParameters,
    Household,
    IncomeComparison,
    MinimaLimits,
    Month,
    PolicyInputError,
    Reason,
    estimate_household,
    parameters_from_csv,
    parameters_from_json,
    parameters_to_csv,
    parameters_to_json,
)
from ieb.policy.contract import estimate_from_json
from ieb.policy.parameters import Grenzen

GRENS = 3_435_900  # Westland 2024: 130% of the bijstandsnorm, EUR 34,359
GRENZEN = Grenzen(eenpersoons=GRENS, meerpersoons=GRENS, eenpersoons_aow=GRENS, meerpersoons_aow=GRENS)


def minima(vergelijking: IncomeComparison | None = None, **form: object) -> MinimaLimits:
    extra = {} if vergelijking is None else {"vergelijking": vergelijking}
    if not form:
        form = {"grens_cent_per_jaar": GRENZEN}
    return MinimaLimits(vanaf=d("2024-01-01"), **form, **extra)  # type: ignore[arg-type]


def month(inkomen: int, entry: MinimaLimits) -> tuple[int, Reason]:
    params = GemeenteParameters(gemeentecode="0363", minima=(entry,))
    schatting = estimate_household(
        Household(leden=(lid(),), inkomen_cent_per_jaar=inkomen),
        [vz("huishoudelijke_hulp", "2024-01-10")],
        params,
        Month(2024, 3),
        Month(2024, 3),
    )
    [m] = schatting.maanden
    return m.bedrag_cent, m.reden


@pytest.mark.parametrize(
    ("inkomen", "vergelijking", "expected"),
    [
        (GRENS - 1, None, (0, Reason.MINIMA)),
        (GRENS, None, (2060, Reason.LANDELIJK_TARIEF)),  # equal to the limit is not below it
        (GRENS + 1, None, (2060, Reason.LANDELIJK_TARIEF)),
        (GRENS - 1, IncomeComparison.BELOW, (0, Reason.MINIMA)),
        (GRENS, IncomeComparison.BELOW, (2060, Reason.LANDELIJK_TARIEF)),
        (GRENS - 1, IncomeComparison.AT_OR_BELOW, (0, Reason.MINIMA)),
        (GRENS, IncomeComparison.AT_OR_BELOW, (0, Reason.MINIMA)),
        (GRENS + 1, IncomeComparison.AT_OR_BELOW, (2060, Reason.LANDELIJK_TARIEF)),
        (0, None, (0, Reason.MINIMA)),
    ],
)
def test_comparison_at_the_limit(
    inkomen: int, vergelijking: IncomeComparison | None, expected: tuple
) -> None:
    assert month(inkomen, minima(vergelijking)) == expected


def test_percentage_limit_is_rounded_down_then_compared_strictly() -> None:
    norm = Grenzen(eenpersoons=2_643_001, meerpersoons=1, eenpersoons_aow=2_643_001, meerpersoons_aow=1)
    entry = minima(percentage=130, norm_cent_per_jaar=norm)
    limit = 2_643_001 * 130 // 100  # 3_435_901 (rounded down from 3_435_901.3)
    assert month(limit - 1, entry) == (0, Reason.MINIMA)
    assert month(limit, entry)[1] is Reason.LANDELIJK_TARIEF
    strict_or_equal = minima(IncomeComparison.AT_OR_BELOW, percentage=130, norm_cent_per_jaar=norm)
    assert month(limit, strict_or_equal) == (0, Reason.MINIMA)


def test_no_income_known_means_no_minima_exemption() -> None:
    params = GemeenteParameters(gemeentecode="0363", minima=(minima(),))
    schatting = estimate_household(
        Household(leden=(lid(),)),
        [vz("huishoudelijke_hulp", "2024-01-10")],
        params,
        Month(2024, 3),
        Month(2024, 3),
    )
    assert schatting.maanden[0].reden is Reason.LANDELIJK_TARIEF


def test_comparison_survives_json_and_csv() -> None:
    params = GemeenteParameters(gemeentecode="0363", minima=(minima(IncomeComparison.AT_OR_BELOW),))
    assert parameters_from_json(parameters_to_json(params)) == params
    text = parameters_to_csv(params)
    assert "minima_vergelijking;vergelijking;2024-01-01;;op_of_onder;" in text
    assert parameters_from_csv(text) == params
    default = GemeenteParameters(gemeentecode="0363", minima=(minima(),))
    assert "minima_vergelijking;vergelijking;2024-01-01;;onder;" in parameters_to_csv(default)


def test_unknown_comparison_names_the_field() -> None:
    with pytest.raises(PolicyInputError) as info:
        parameters_from_json(
            json.dumps(
                {
                    "gemeentecode": "0363",
                    "minima": [{"vanaf": "2024-01-01", "grens_cent_per_jaar": GRENZEN.model_dump(),
                                "vergelijking": "kleiner_of_gelijk"}],
                }
            )
        )  # fmt: skip
    assert info.value.field == "gemeente.minima[0].vergelijking"
    assert "onder" in info.value.message


def test_json_contract_accepts_the_comparison() -> None:
    request = {
        "gemeente": {
            "code": "0363",
            "verlaagd_tarief": [],
            "minima": {"vanaf": "2024-01-01", "grens_cent_per_jaar": GRENZEN.model_dump(), "vergelijking": "op_of_onder"},
        },
        "huishouden": {
            "leden": [{"bsn": "999900006", "geboortedatum": "1950-06-15", "wlz_eigen_bijdrage": False,
                       "beschermd_wonen": False}],
            "inkomen_cent_per_jaar": GRENS,
        },
        "voorzieningen": [{"bsn": "999900006", "soort": "huishoudelijke_hulp", "start": "2024-01-10"}],
        "van": "2024-02",
        "tot": "2024-02",
    }  # fmt: skip
    out = estimate_from_json(json.dumps(request))
    assert out["maanden"] == [{"maand": "2024-02", "bedrag_cent": 0, "reden": "minima"}]
    del request["gemeente"]["minima"]["vergelijking"]  # type: ignore[index]
    out = estimate_from_json(json.dumps(request))
    assert out["maanden"] == [{"maand": "2024-02", "bedrag_cent": 2060, "reden": "landelijk_tarief"}]
