"""The planner is minimal when a period moves past its own stop (or start): it changes the start and
the stop (status 2) instead of deleting the period and sending it anew. Every planned message goes
through our CAK side, which must accept it, and the CAK's ledger ends in the desired state."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ieb.ledger.planner import Period
from tests.ledger.test_planner_cases import World, _steps

D = dt.date
TODAY = D(2024, 6, 15)


def test_period_moved_past_its_own_stop_takes_two_changes() -> None:
    world = World()
    try:
        world.plan([Period(D(2024, 2, 1), D(2024, 2, 28))], D(2024, 3, 1))
        result = world.plan([Period(D(2024, 3, 5), D(2024, 3, 31))], D(2024, 4, 2))
        assert _steps(result) == [("WMO403", "2", D(2024, 3, 31)), ("WMO401", "2", D(2024, 3, 5))]
        assert world.cak_periods() == [(D(2024, 3, 5), D(2024, 3, 31))]
    finally:
        world.close()


def test_period_moved_before_its_own_start_takes_two_changes() -> None:
    world = World()
    try:
        world.plan([Period(D(2024, 3, 5), D(2024, 3, 31))], D(2024, 4, 1))
        result = world.plan([Period(D(2024, 2, 1), D(2024, 2, 28))], D(2024, 4, 2))
        assert _steps(result) == [("WMO401", "2", D(2024, 2, 1)), ("WMO403", "2", D(2024, 2, 28))]
        assert world.cak_periods() == [(D(2024, 2, 1), D(2024, 2, 28))]
    finally:
        world.close()


def test_moved_period_with_kostprijs_keeps_one_start_change() -> None:
    world = World()
    try:
        world.plan([Period(D(2024, 2, 1), D(2024, 2, 28), 50_000, D(2024, 2, 1))], D(2024, 3, 1))
        result = world.plan([Period(D(2024, 3, 5), D(2024, 3, 31), 60_000, D(2024, 3, 5))], D(2024, 4, 2))
        assert [(b, s) for b, s, _ in _steps(result)] == [("WMO403", "2"), ("WMO401", "2")]
        assert result.messages[1].delivery.kostprijs_bedrag == 60_000
    finally:
        world.close()


def test_move_across_a_kept_period_moves_both_periods_along() -> None:
    """January + March to March + May: the January period cannot jump past March by changes (OP291,
    TR328) nor be deleted (its open start would overlap March), so the March period moves to May and
    the January period to March: four changes instead of deleting and re-sending both (eight)."""
    world = World()
    try:
        world.plan(
            [Period(D(2024, 1, 1), D(2024, 1, 31)), Period(D(2024, 3, 1), D(2024, 3, 31))], D(2024, 4, 1)
        )
        desired = [Period(D(2024, 3, 1), D(2024, 3, 31)), Period(D(2024, 5, 1), D(2024, 5, 31))]
        result = world.plan(desired, D(2024, 5, 2))
        assert len(result.messages) == 4  # both periods move along by changes
        assert world.cak_periods() == [(D(2024, 3, 1), D(2024, 3, 31)), (D(2024, 5, 1), D(2024, 5, 31))]
    finally:
        world.close()


def _day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    old=st.tuples(st.integers(-300, 10), st.integers(0, 60)),
    new=st.tuples(st.integers(-300, 10), st.integers(0, 60)),
    kostprijs=st.sampled_from([(None, None), (50_000, None), (None, 60_000), (50_000, 60_000)]),
)
def test_a_moved_period_is_never_planned_longer_than_its_changes(
    old: tuple[int, int], new: tuple[int, int], kostprijs: tuple[int | None, int | None]
) -> None:
    """Known minimum for one stopped period becoming another: one message per record that changes
    (the start when its date or kostprijs changes, the stop when its date changes)."""
    s1, e1 = _day(old[0]), _day(old[0] + old[1])
    s2, e2 = _day(new[0]), _day(new[0] + new[1])
    assume(e1 <= _day(20) and e2 <= _day(20))
    k1, k2 = kostprijs
    before = Period(s1, e1, k1, s1 if k1 else None)
    after = Period(s2, e2, k2, s2 if k2 else None)
    world = World()
    try:
        world.plan([before], TODAY - dt.timedelta(days=1))
        result = world.plan([after], TODAY)
        minimal = int((s1, k1) != (s2, k2)) + int(e1 != e2)
        assert len(result.messages) <= minimal, (_steps(result), before, after)
        assert world.cak_periods() == [(s2, e2)]
    finally:
        world.close()
