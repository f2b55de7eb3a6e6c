"""One vocabulary: ieb.policy's public names are English (the standard's terms kept); the Dutch names
of ieb 0.1 still work, with a DeprecationWarning."""

from __future__ import annotations

import pytest

import ieb.policy as policy


@pytest.mark.parametrize("old,new", sorted(policy._DEPRECATED.items()))
def test_deprecated_alias_warns_and_is_the_new_class(old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=new):
        assert getattr(policy, old) is getattr(policy, new)
    assert old not in policy.__all__ and new in policy.__all__


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        policy.Bestaatniet  # noqa: B018


def test_kostprijs_end_old_attribute_names() -> None:
    end = policy.virtual_end(57_000, policy.Month(2021, 2))
    assert end is not None
    assert (end.eerste_maand, end.stop_maand, end.maanden) == (end.first_month, end.stop_month, end.months)
    assert end.virtuele_einddatum == end.virtual_end_date == end.stop_month.last_day
