"""Municipal parameters and the contribution rules of the Wmo abonnementstarief (pure functions, no I/O).

See ``docs/policy.md`` for each rule with its source.
"""

from __future__ import annotations

from ieb.policy.aow import AowAge, aow_age, aow_date, has_aow_age_in_month
from ieb.policy.errors import KostprijsError, PolicyError, PolicyInputError, TariffError
from ieb.policy.household import (
    MAX_LEDEN,
    Estimate,
    Household,
    KostprijsOverview,
    Member,
    MonthAmount,
    Reason,
    Role,
    estimate_household,
    household_type,
    kostprijs_overzicht,
    member_roles,
)
from ieb.policy.kostprijs import (
    KostprijsEnd,
    check_kostprijs,
    counted_cent,
    kostprijs_schedule,
    needs_kostprijs_change,
    remaining_kostprijs,
    virtual_end,
)
from ieb.policy.months import (
    Interval,
    Month,
    PauseRule,
    add_calendar_months,
    charged_months,
    first_charged_month,
    last_charged_month,
    merge_intervals,
    pause_end,
    pause_has_effect,
)
from ieb.policy.parameters import (
    Exemption,
    ExemptionGround,
    GemeenteParameters,
    HouseholdType,
    IncomeComparison,
    MinimaLimits,
    ReducedTariff,
    StartTrigger,
    VoorzieningKind,
    check_new_verlaagd_tarief,
    parameters_from_csv,
    parameters_from_json,
    parameters_to_csv,
    parameters_to_json,
)
from ieb.policy.periods import (
    Event,
    EventKind,
    KostprijsState,
    Period,
    StopReason,
    Voorziening,
    derive_periods,
)
from ieb.policy.tariffs import (
    NATIONAL_TARIFFS,
    Tariff,
    TariffPeriod,
    TariffTable,
    monthly_tariff,
    national_tariff,
    table_from_environ,
    tariffs_from_json,
)

__all__ = [
    "MAX_LEDEN",
    "NATIONAL_TARIFFS",
    "AowAge",
    "Estimate",
    "Event",
    "EventKind",
    "Exemption",
    "ExemptionGround",
    "GemeenteParameters",
    "Household",
    "HouseholdType",
    "IncomeComparison",
    "Interval",
    "KostprijsEnd",
    "KostprijsError",
    "KostprijsOverview",
    "KostprijsState",
    "Member",
    "MinimaLimits",
    "Month",
    "MonthAmount",
    "PauseRule",
    "Period",
    "PolicyError",
    "PolicyInputError",
    "Reason",
    "ReducedTariff",
    "Role",
    "StartTrigger",
    "StopReason",
    "Tariff",
    "TariffError",
    "TariffPeriod",
    "TariffTable",
    "Voorziening",
    "VoorzieningKind",
    "add_calendar_months",
    "aow_age",
    "aow_date",
    "charged_months",
    "check_kostprijs",
    "check_new_verlaagd_tarief",
    "counted_cent",
    "derive_periods",
    "estimate_household",
    "first_charged_month",
    "has_aow_age_in_month",
    "household_type",
    "kostprijs_overzicht",
    "kostprijs_schedule",
    "last_charged_month",
    "member_roles",
    "merge_intervals",
    "monthly_tariff",
    "national_tariff",
    "needs_kostprijs_change",
    "parameters_from_csv",
    "parameters_from_json",
    "parameters_to_csv",
    "parameters_to_json",
    "pause_end",
    "pause_has_effect",
    "remaining_kostprijs",
    "table_from_environ",
    "tariffs_from_json",
    "virtual_end",
]


#: Dutch names of ieb 0.1, kept as deprecated aliases (the code speaks English; the standard's own
#: terms such as gemeente, voorziening and kostprijs stay as they are; see docs/errors.md and DESIGN).
_DEPRECATED = {
    "AowLeeftijd": "AowAge",
    "Gebeurtenis": "Event",
    "GebeurtenisSoort": "EventKind",
    "HuishoudType": "HouseholdType",
    "Huishouden": "Household",
    "KostprijsEinde": "KostprijsEnd",
    "KostprijsOverzicht": "KostprijsOverview",
    "KostprijsStand": "KostprijsState",
    "Lid": "Member",
    "MaandBedrag": "MonthAmount",
    "MinimaGrenzen": "MinimaLimits",
    "Periode": "TariffPeriod",
    "Reden": "Reason",
    "Schatting": "Estimate",
    "Soort": "VoorzieningKind",
    "StopReden": "StopReason",
    "TariefError": "TariffError",
    "VerlaagdTarief": "ReducedTariff",
    "Vrijstelling": "Exemption",
    "VrijstellingsGrond": "ExemptionGround",
}


def __getattr__(name: str) -> object:
    new = _DEPRECATED.get(name)
    if new is None:
        raise AttributeError(f"module 'ieb.policy' has no attribute {name!r}")
    import warnings

    warnings.warn(f"ieb.policy.{name} is deprecated; use ieb.policy.{new}", DeprecationWarning, stacklevel=2)
    return globals()[new]
