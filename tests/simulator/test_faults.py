"""Fault settings: any spec string gives a FaultConfig or the project's own error naming the setting."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ieb.errors import IebError
from ieb.simulator.faults import FAULT_KINDS, FaultConfig, FaultConfigError


@pytest.mark.parametrize(
    ("spec", "setting"),
    [
        ("seed=x", "seed"),
        ("latency=nan", "latency"),
        ("drop=", "drop"),
        ("http503=2", "http503"),
        ("fo01_code=ZZZ", "fo01_code"),
        ("latency_max=1e9", "latency_min"),
        ("http503=0.5,drop=0.5", "http503"),
    ],
)
def test_bad_settings_are_named(spec: str, setting: str) -> None:
    with pytest.raises(FaultConfigError) as info:
        FaultConfig.parse(spec)
    assert info.value.location == setting
    assert isinstance(info.value, IebError) and isinstance(info.value, ValueError)
    again = pickle.loads(pickle.dumps(info.value))
    assert isinstance(again, FaultConfigError) and again.message == info.value.message


def test_fo01_code_must_be_a_ggk_code() -> None:
    assert FaultConfig.parse("fo01=1,fo01_code=IB213").fo01_code == "IB213"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [*FAULT_KINDS, "seed", "latency_min", "latency_max", "fo01_code", "demo", "none", "x"]
            ),
            st.text(max_size=8),
        ),
        max_size=4,
    ).map(lambda parts: ",".join(f"{k}={v}" if k not in ("demo", "none") else k for k, v in parts))
)
def test_any_spec_parses_or_raises_our_error(spec: str) -> None:
    try:
        config = FaultConfig.parse(spec)
    except FaultConfigError:
        return
    for kind in FAULT_KINDS:
        assert 0.0 <= getattr(config, kind) <= 1.0
