"""Issue 22 (RECV round 8): the receiver's cheaper per-message steps give what the steps before gave."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from ieb.ggk import format_tijdstip
from ieb.transport.server import _tijdstip_now


@settings(max_examples=300, deadline=None)
@given(
    whole=st.integers(min_value=1_700_000_000, max_value=2_200_000_000),
    frac=st.sampled_from([0.0, 1e-7, 0.5, 0.9999984, 0.999999, 0.9999994, 0.9999995, 0.9999996, 0.99999999]),
    before=st.floats(min_value=-2.0, max_value=2.0, allow_nan=False),
)
def test_the_bv03_tijdstip_at_the_edge_of_a_second_is_the_datetime_one(
    whole: int, frac: float, before: float
) -> None:
    """The cache is keyed on the whole second read from the float; in the last microsecond (where
    ``fromtimestamp`` rounds up) and right after another second was cached, the text is that of
    ``fromtimestamp`` rounded down to the second, as before (checked: fails with the edge test off)."""
    for moment in (whole + before, whole + frac, whole + frac):
        expected = format_tijdstip(dt.datetime.fromtimestamp(moment, dt.UTC).replace(microsecond=0))
        assert _tijdstip_now(lambda m=moment: m) == expected, moment
