"""The planner is minimal when a period moves past its own stop (or start): it changes the start and
the stop (status 2) instead of deleting the period and sending it anew. Every planned message goes
through our CAK side, which must accept it, and the CAK's ledger ends in the desired state."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ieb.ledger.planner import Period
from tests.ledger.test_planner_cases import World, _steps
from tests.migrated import migrated_memory_engine

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


def test_left_over_period_paired_with_a_new_one_falls_back_when_it_would_overlap() -> None:
    """Found by the planner property (seed 134497989751118400092652107553108129906): three periods
    12-13, 14-15 and 16-open become 16-17 and 18-open. Pairing the left-over period 12-13 with the
    new 18-open overlaps the running 16-open until its stop is in (OP291); the planner must fall
    back to a plan the CAK accepts instead of refusing to plan."""
    import datetime as _dt

    from ieb.ledger.planner import Period, plan
    from ieb.ledger.retour import process_retours
    from ieb.ledger.store import Ledger
    from ieb.simulator import CakConfig, CakSimulator
    from tests.ledger.conftest import GEMEENTEN, TODAY

    d = _dt.date
    gemeente = Ledger(migrated_memory_engine())
    cak = CakSimulator(migrated_memory_engine(), CakConfig(gemeenten=GEMEENTEN))
    bsn = "999900006"
    try:
        today = TODAY
        for periods in (
            [
                Period(d(2024, 6, 12), d(2024, 6, 13)),
                Period(d(2024, 6, 14), d(2024, 6, 15)),
                Period(d(2024, 6, 16)),
            ],
            [Period(d(2024, 6, 16), d(2024, 6, 17)), Period(d(2024, 6, 18))],
        ):
            today += _dt.timedelta(days=1)
            result = plan(gemeente, "0363", {bsn: periods}, today=today, gemeenten=GEMEENTEN)
            assert result.messages
            for m in result.messages:
                r = cak.process(m.xml, today=today)
                assert r.verdict == "accepted", (m.reason, r.codes)
                process_retours(gemeente, [(m.filename, r.retour)])
        again = plan(gemeente, "0363", {bsn: periods}, today=today, gemeenten=GEMEENTEN, record=False)
        assert again.messages == []
    finally:
        gemeente.close()
        cak.close()
