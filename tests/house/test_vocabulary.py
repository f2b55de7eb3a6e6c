"""One vocabulary: ieb.policy's public names are English (the standard's terms kept); the Dutch
aliases of ieb 0.1 are gone (removed before anything is tagged, issue 19 item 8)."""

from __future__ import annotations

import pytest

import ieb.policy as policy

#: the Dutch names of ieb 0.1 and the English names that replaced them
OLD_NAMES = {
    "AowLeeftijd": "AowAge",
    "Gebeurtenis": "Event",
    "HuishoudType": "HouseholdType",
    "Huishouden": "Household",
    "KostprijsStand": "KostprijsState",
    "MinimaGrenzen": "MinimaLimits",
    "TariefError": "TariffError",
    "Vrijstelling": "Exemption",
}


@pytest.mark.parametrize("old,new", sorted(OLD_NAMES.items()))
def test_old_dutch_name_is_gone_and_the_new_one_is_public(old: str, new: str) -> None:
    with pytest.raises(AttributeError):
        getattr(policy, old)
    assert old not in policy.__all__ and new in policy.__all__


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        policy.Bestaatniet  # noqa: B018


def test_kostprijs_end_has_only_the_english_attribute_names() -> None:
    end = policy.virtual_end(57_000, policy.Month(2021, 2))
    assert end is not None
    assert end.virtual_end_date == end.stop_month.last_day and end.months > 0
    for old in ("eerste_maand", "stop_maand", "maanden", "restant_stopmaand_cent", "virtuele_einddatum"):
        assert not hasattr(end, old)
