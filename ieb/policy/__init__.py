"""Municipal parameters and the contribution rules of the Wmo abonnementstarief (pure functions, no I/O).

See ``docs/policy.md`` for each rule with its source.

The names below are loaded on first use (issue 22): ``from ieb.policy.tariffs import ...`` (what the
validator needs) does not import the household rules and their pydantic models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the module that defines it (imported on first use)
_EXPORTS = {
    "AowAge": "ieb.policy.aow",
    "aow_age": "ieb.policy.aow",
    "aow_date": "ieb.policy.aow",
    "has_aow_age_in_month": "ieb.policy.aow",
    "KostprijsError": "ieb.policy.errors",
    "PolicyError": "ieb.policy.errors",
    "PolicyInputError": "ieb.policy.errors",
    "TariffError": "ieb.policy.errors",
    "MAX_LEDEN": "ieb.policy.household",
    "Estimate": "ieb.policy.household",
    "Household": "ieb.policy.household",
    "KostprijsOverview": "ieb.policy.household",
    "Member": "ieb.policy.household",
    "MonthAmount": "ieb.policy.household",
    "Reason": "ieb.policy.household",
    "Role": "ieb.policy.household",
    "estimate_household": "ieb.policy.household",
    "household_type": "ieb.policy.household",
    "kostprijs_overzicht": "ieb.policy.household",
    "member_roles": "ieb.policy.household",
    "KostprijsEnd": "ieb.policy.kostprijs",
    "check_kostprijs": "ieb.policy.kostprijs",
    "counted_cent": "ieb.policy.kostprijs",
    "kostprijs_schedule": "ieb.policy.kostprijs",
    "needs_kostprijs_change": "ieb.policy.kostprijs",
    "remaining_kostprijs": "ieb.policy.kostprijs",
    "virtual_end": "ieb.policy.kostprijs",
    "Interval": "ieb.policy.months",
    "Month": "ieb.policy.months",
    "PauseRule": "ieb.policy.months",
    "add_calendar_months": "ieb.policy.months",
    "charged_months": "ieb.policy.months",
    "first_charged_month": "ieb.policy.months",
    "last_charged_month": "ieb.policy.months",
    "merge_intervals": "ieb.policy.months",
    "pause_end": "ieb.policy.months",
    "pause_has_effect": "ieb.policy.months",
    "Exemption": "ieb.policy.parameters",
    "ExemptionGround": "ieb.policy.parameters",
    "GemeenteParameters": "ieb.policy.parameters",
    "HouseholdType": "ieb.policy.parameters",
    "IncomeComparison": "ieb.policy.parameters",
    "MinimaLimits": "ieb.policy.parameters",
    "ReducedTariff": "ieb.policy.parameters",
    "StartTrigger": "ieb.policy.parameters",
    "VoorzieningKind": "ieb.policy.parameters",
    "check_new_verlaagd_tarief": "ieb.policy.parameters",
    "parameters_from_csv": "ieb.policy.parameters",
    "parameters_from_json": "ieb.policy.parameters",
    "parameters_to_csv": "ieb.policy.parameters",
    "parameters_to_json": "ieb.policy.parameters",
    "Event": "ieb.policy.periods",
    "EventKind": "ieb.policy.periods",
    "KostprijsState": "ieb.policy.periods",
    "Period": "ieb.policy.periods",
    "StopReason": "ieb.policy.periods",
    "Voorziening": "ieb.policy.periods",
    "derive_periods": "ieb.policy.periods",
    "NATIONAL_TARIFFS": "ieb.policy.tariffs",
    "Tariff": "ieb.policy.tariffs",
    "TariffPeriod": "ieb.policy.tariffs",
    "TariffTable": "ieb.policy.tariffs",
    "monthly_tariff": "ieb.policy.tariffs",
    "national_tariff": "ieb.policy.tariffs",
    "table_from_environ": "ieb.policy.tariffs",
    "tariffs_from_json": "ieb.policy.tariffs",
}

if TYPE_CHECKING:  # pragma: no cover
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ieb.policy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
