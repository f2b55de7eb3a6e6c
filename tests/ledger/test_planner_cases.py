"""Planner scenarios from the review: boundary shifts, deferred far-ahead dates, a second stop change on
one day, and which rule a blocked plan names. Every planned message goes through our CAK side."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import pytest

from ieb.ledger.errors import PlanningError
from ieb.ledger.planner import Deferred, Period, Plan, plan
from ieb.ledger.retour import process_retours
from ieb.ledger.store import Ledger
from ieb.simulator import CakConfig, CakSimulator
from tests.ledger.conftest import GEMEENTEN
from tests.migrated import migrated_memory_engine

D = dt.date
B = "999900006"


class World:
    """A municipality ledger and our CAK side; every planned message is sent and its retour processed."""

    def __init__(self) -> None:
        self.gemeente = Ledger(migrated_memory_engine())
        self.cak = CakSimulator(migrated_memory_engine(), CakConfig(gemeenten=GEMEENTEN))

    def plan(self, periods: Sequence[Period], today: dt.date) -> Plan:
        result = plan(self.gemeente, "0363", {B: list(periods)}, today=today, gemeenten=GEMEENTEN)
        for m in result.messages:
            answer = self.cak.process(m.xml, today=today)
            assert answer.verdict == "accepted", (m.reason, answer.codes, [i.message for i in answer.issues])
            assert answer.retour is not None
            process_retours(self.gemeente, [(m.filename, answer.retour)])
        again = plan(
            self.gemeente, "0363", {B: list(periods)}, today=today, gemeenten=GEMEENTEN, record=False
        )
        assert again.messages == []
        assert [(d.until, d.rule) for d in again.deferred] == [(d.until, d.rule) for d in result.deferred]
        return result

    def cak_periods(self) -> list[tuple[dt.date, dt.date | None]]:
        return [
            (p.start.datum, p.stop.datum if p.stop else None)
            for p in self.cak.periods("0363").get(("0363", B), [])
        ]

    def close(self) -> None:
        self.gemeente.close()
        self.cak.close()


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    yield w
    w.close()


def _steps(result: Plan) -> list[tuple[str, str, dt.date]]:
    return [(m.delivery.bericht, m.delivery.status, m.delivery.datum) for m in result.messages]


def test_boundary_shift_later_moves_the_later_start_before_extending_the_earlier_stop(world: World) -> None:
    world.plan([Period(D(2024, 1, 1), D(2024, 3, 31)), Period(D(2024, 4, 1))], D(2024, 6, 1))
    result = world.plan([Period(D(2024, 1, 1), D(2024, 4, 30)), Period(D(2024, 5, 1))], D(2024, 6, 15))
    assert _steps(result) == [("WMO401", "2", D(2024, 5, 1)), ("WMO403", "2", D(2024, 4, 30))]
    assert world.cak_periods() == [(D(2024, 1, 1), D(2024, 4, 30)), (D(2024, 5, 1), None)]


def test_boundary_shift_earlier_shortens_the_earlier_stop_before_moving_the_later_start(world: World) -> None:
    world.plan([Period(D(2024, 1, 1), D(2024, 3, 31)), Period(D(2024, 4, 1), D(2024, 5, 31))], D(2024, 6, 1))
    result = world.plan(
        [Period(D(2024, 1, 1), D(2024, 2, 29)), Period(D(2024, 3, 1), D(2024, 5, 31))], D(2024, 6, 15)
    )
    assert _steps(result) == [("WMO403", "2", D(2024, 2, 29)), ("WMO401", "2", D(2024, 3, 1))]
    assert world.cak_periods() == [(D(2024, 1, 1), D(2024, 2, 29)), (D(2024, 3, 1), D(2024, 5, 31))]


def test_removing_an_earlier_period_recreates_the_later_one_instead_of_two_open_periods(world: World) -> None:
    """Deleting a start needs its stop deleted first (TR071), which would leave two open periods
    (OP291): the later period is deleted first and sent again with a new number."""
    world.plan([Period(D(2024, 6, 15), D(2024, 6, 16)), Period(D(2024, 6, 17))], D(2024, 6, 16))
    result = world.plan([Period(D(2024, 6, 17))], D(2024, 6, 17))
    assert _steps(result) == [
        ("WMO401", "3", D(2024, 6, 17)),
        ("WMO403", "3", D(2024, 6, 16)),
        ("WMO401", "3", D(2024, 6, 15)),
        ("WMO401", "1", D(2024, 6, 17)),
    ]
    assert world.cak_periods() == [(D(2024, 6, 17), None)]


def test_stop_more_than_a_month_ahead_is_deferred_and_the_start_sent_now(world: World) -> None:
    desired = [Period(D(2024, 5, 1), D(2024, 12, 31))]
    result = world.plan(desired, D(2024, 6, 15))
    assert _steps(result) == [("WMO401", "1", D(2024, 5, 1))]
    assert result.deferred == [
        Deferred(B, "stop 2024-12-31", D(2024, 12, 1), "TR113", result.deferred[0].message)
    ]
    text = result.deferred[0].describe()
    assert "uitgesteld tot 2024-12-01" in text and B not in text
    assert world.plan(desired, D(2024, 11, 30)).messages == []  # 2024-12-30 is the limit that day
    later = world.plan(desired, D(2024, 12, 1))
    assert _steps(later) == [("WMO403", "1", D(2024, 12, 31))] and later.deferred == []
    assert world.cak_periods() == [(D(2024, 5, 1), D(2024, 12, 31))]


def test_pause_with_a_far_new_start_sends_the_stop_now_and_defers_the_new_start(world: World) -> None:
    world.plan([Period(D(2024, 5, 1))], D(2024, 6, 1))
    desired = [Period(D(2024, 5, 1), D(2024, 6, 30)), Period(D(2024, 9, 1), D(2024, 12, 31))]
    result = world.plan(desired, D(2024, 6, 15))
    assert _steps(result) == [("WMO403", "1", D(2024, 6, 30))]
    assert [(d.reason, d.until, d.rule) for d in result.deferred] == [
        ("nieuwe start 2024-09-01", D(2024, 8, 1), "TR113"),
        ("stop 2024-12-31", D(2024, 12, 1), "TR113"),
    ]
    assert world.plan(desired, D(2024, 7, 31)).messages == []
    aug = world.plan(desired, D(2024, 8, 1))
    assert _steps(aug) == [("WMO401", "1", D(2024, 9, 1))]
    assert [d.reason for d in aug.deferred] == ["stop 2024-12-31"]
    assert world.cak_periods() == [(D(2024, 5, 1), D(2024, 6, 30)), (D(2024, 9, 1), None)]


def test_stop_of_a_new_period_waits_for_its_deferred_start(world: World) -> None:
    result = world.plan([Period(D(2024, 8, 1), D(2024, 8, 31))], D(2024, 6, 15))
    assert result.messages == []
    assert [(d.reason, d.until, d.rule) for d in result.deferred] == [
        ("nieuwe start 2024-08-01", D(2024, 7, 1), "TR113"),
        ("stop 2024-08-31", D(2024, 7, 31), "TR113"),
    ]


def test_second_stop_change_on_one_day_deletes_and_resends_the_stop_of_an_old_start(world: World) -> None:
    world.plan([Period(D(2023, 5, 1))], D(2023, 6, 1))
    world.plan([Period(D(2023, 5, 1), D(2024, 5, 31))], D(2024, 6, 14))
    world.plan([Period(D(2023, 5, 1), D(2024, 4, 30))], D(2024, 6, 15))
    result = world.plan([Period(D(2023, 5, 1), D(2024, 3, 31))], D(2024, 6, 15))  # OP325 for a status 2
    assert _steps(result) == [("WMO403", "3", D(2024, 4, 30)), ("WMO403", "1", D(2024, 3, 31))]
    assert world.cak_periods() == [(D(2023, 5, 1), D(2024, 3, 31))]
    assert {m.delivery.eb_start_nummer for m in result.messages} == {1}  # the period was not re-created


def test_blocked_start_change_names_the_rule_broken_first(world: World) -> None:
    # TR114 allows 36 months back from revision 1.0.3 (in force 2021-07-19)
    world.plan([Period(D(2020, 7, 1))], D(2020, 8, 1))
    with pytest.raises(PlanningError) as exc:
        plan(world.gemeente, "0363", {B: [Period(D(2020, 7, 2))]}, today=D(2023, 8, 15), gemeenten=GEMEENTEN)
    first = exc.value.issues[0]
    assert first.code == "TR114, retourcode 9114" and first.message.startswith("Bsn ******006: ")
    assert "36 maanden" in first.message and str(first).endswith("(TR114, retourcode 9114)")


def test_start_change_13_months_back_is_planned_under_revision_103(world: World) -> None:
    world.plan([Period(D(2023, 7, 1))], D(2023, 8, 1))
    result = world.plan([Period(D(2023, 7, 2))], D(2024, 8, 15))
    assert _steps(result) == [("WMO401", "2", D(2023, 7, 2))]


def test_blocked_second_kostprijs_change_on_one_day_names_op325_first(world: World) -> None:
    old = D(2023, 7, 1)
    world.plan([Period(old)], D(2023, 8, 1))
    world.plan([Period(old, None, 60_000, old)], D(2024, 8, 15))
    with pytest.raises(PlanningError) as exc:  # OP325; re-creating fails too (TR112: start too old)
        plan(
            world.gemeente,
            "0363",
            {B: [Period(old, None, 70_000, old)]},
            today=D(2024, 8, 15),
            gemeenten=GEMEENTEN,
        )
    assert exc.value.issues[0].code == "OP325, retourcode 9103"
    assert any(p.code.startswith("TR112") for p in exc.value.issues[1:])


def test_cak_refuses_the_overlaps_the_review_found() -> None:
    from ieb.codec import to_xml
    from ieb.ledger.history import Delivery

    cak = CakSimulator(migrated_memory_engine(), CakConfig(gemeenten=GEMEENTEN), today=D(2024, 6, 15))
    ids = iter(range(1, 100))

    def send(bericht: str, nr: int, status: str, datum: dt.date, bsn: str = B) -> tuple[str, ...]:
        d = Delivery(bericht, "0363", str(next(ids)), D(2024, 6, 14), bsn, nr, status, datum)  # type: ignore[arg-type]
        result = cak.process(to_xml(d.to_message()))
        return result.codes

    assert send("WMO401", 1, "1", D(2024, 3, 1)) == ()
    assert send("WMO403", 1, "1", D(2024, 3, 31)) == ()
    assert send("WMO401", 2, "1", D(2024, 5, 1)) == ()
    assert send("WMO403", 1, "2", D(2024, 6, 30)) == ("9102",)
    assert send("WMO403", 1, "3", D(2024, 3, 31)) == ("9102",)
    assert send("WMO401", 2, "2", D(2024, 2, 1)) == ("9102",)
    assert send("WMO401", 2, "2", D(2024, 5, 1), bsn="999900018") == ("9103",)
    assert send("WMO401", 2, "3", D(2024, 5, 1), bsn="999900018") == ("9329",)
    assert send("WMO403", 2, "1", D(2024, 6, 30)) == ()  # the original Bsn can still stop it
    assert [(p.start.datum, p.stop.datum if p.stop else None) for p in cak.periods("0363")[("0363", B)]] == [
        (D(2024, 3, 1), D(2024, 3, 31)),
        (D(2024, 5, 1), D(2024, 6, 30)),
    ]
    cak.close()


def test_planned_message_builds_its_model_on_demand_from_the_kept_delivery(world: World) -> None:
    from ieb.codec import to_xml

    result = world.plan([Period(D(2024, 3, 1), D(2024, 4, 30))], D(2024, 3, 5))
    assert result.messages
    for m in result.messages:
        assert not hasattr(m, "__dict__")  # slots: nothing but seq, delivery, xml and reason is kept
        assert m.message.bericht == m.bericht
        assert to_xml(m.message) == m.xml  # the model built on demand is the one that was sent
