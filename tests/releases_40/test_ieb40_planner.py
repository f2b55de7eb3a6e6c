"""Planning in iEb 4.0: one WMO405 record per period change, minimal and idempotent, with the 4.0
history rules (issue 20, step 3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from ieb.ledger.history import Delivery, MemoryHistory, check_history, history_rule
from ieb.ledger.planner import Period, Plan, plan
from ieb.ledger.store import Ledger
from ieb.releases.ieb_4_0 import from_xml
from ieb.validation.gemeenten import GemeenteLijst
from tests.migrated import migrated_memory_engine

D = dt.date
B1, B2 = "999990019", "999990020"
DAY = D(2025, 6, 1)
GEMEENTEN = GemeenteLijst.from_text("code,naam,ingangsdatum,einddatum\n0363,Amsterdam,1900-01-01,\n")


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    store = Ledger(migrated_memory_engine())
    yield store
    store.close()


def _plan(ledger: Ledger, desired: dict[str, list[Period]], day: dt.date, **kw: object) -> Plan:
    return plan(ledger, "0363", desired, today=day, gemeenten=GEMEENTEN, release="ieb-4.0", **kw)  # type: ignore[arg-type]


def _shape(result: Plan) -> list[tuple[str, str, dt.date, dt.date | None]]:
    return [
        (m.delivery.bericht, m.delivery.status, m.delivery.datum, m.delivery.stopdatum)
        for m in result.messages
    ]


def test_starts_stops_changes_deletions_and_kostprijs_in_wmo405_records(ledger: Ledger) -> None:
    first = {
        B1: [Period(D(2025, 5, 1), D(2025, 8, 31), 57000, D(2025, 5, 1)), Period(D(2025, 10, 1))],
        B2: [Period(D(2025, 6, 1))],
    }
    result = _plan(ledger, first, D(2025, 11, 1))
    assert _shape(result) == [
        ("WMO405", "1", D(2025, 5, 1), D(2025, 8, 31)),  # start and stop in one record
        ("WMO405", "1", D(2025, 10, 1), None),
        ("WMO405", "1", D(2025, 6, 1), None),
    ]
    message = from_xml(result.messages[0].xml)
    assert (message.kostprijs_bedrag, message.eb_stopdatum) == (57000, D(2025, 8, 31))  # type: ignore[attr-defined]
    assert _plan(ledger, first, D(2025, 11, 1), record=False).messages == []  # idempotent

    second = {
        B1: [
            Period(D(2025, 5, 1), D(2025, 9, 30), 60000, D(2025, 5, 1)),
            Period(D(2025, 10, 15), D(2026, 1, 31)),
        ],
        B2: [],
    }
    result = _plan(ledger, second, D(2025, 12, 1))
    assert sorted(_shape(result)) == sorted(
        [
            ("WMO405", "2", D(2025, 5, 1), D(2025, 9, 30)),  # stop and kostprijs changed: one status 2
            ("WMO405", "2", D(2025, 10, 15), D(2026, 1, 31)),  # start changed and a stop added
            ("WMO405", "3", D(2025, 6, 1), None),  # deleted
        ]
    )
    assert all(m.xml.count(b"<wmo405:PeriodeEigenBijdrageAbo>") == 1 for m in result.messages)
    assert _plan(ledger, second, D(2025, 12, 1), record=False).messages == []


def test_the_plan_json_fields_of_the_contract(ledger: Ledger) -> None:
    result = _plan(ledger, {B1: [Period(D(2025, 5, 1), D(2025, 8, 31))]}, D(2025, 11, 1))
    (m,) = result.messages
    d = m.delivery
    assert (d.bericht, d.status, d.eb_start_nummer, d.datum, d.stopdatum) == (
        "WMO405",
        "1",
        1,
        D(2025, 5, 1),
        D(2025, 8, 31),
    )


def test_a_start_moved_beyond_36_months_is_no_status_2_but_delete_and_new(ledger: Ledger) -> None:
    """TR393 refuses a status-2 start more than 36 months back; the planner's pre-flight sees that
    and withdraws the period (status 3) and sends it anew (status 1, a new EbStartNummer)."""
    _plan(ledger, {B1: [Period(D(2025, 5, 1))]}, D(2025, 6, 1))
    result = _plan(ledger, {B1: [Period(D(2021, 1, 1))]}, D(2025, 6, 1))
    assert [(m.delivery.status, m.delivery.eb_start_nummer, m.delivery.datum) for m in result.messages] == [
        ("3", 1, D(2025, 5, 1)),
        ("1", 2, D(2021, 1, 1)),
    ]
    assert _plan(ledger, {B1: [Period(D(2021, 1, 1))]}, D(2025, 6, 1), record=False).messages == []


# ------------------------------------------------------------------ the 4.0 history rules


def _d(
    nr: int,
    status: str,
    start: dt.date,
    stop: dt.date | None = None,
    *,
    ident: str = "1",
    day: dt.date = DAY,
) -> Delivery:
    return Delivery("WMO405", "0363", ident, day, B1, nr, status, start, stopdatum=stop)


def test_tr063_delete_without_earlier_delivery() -> None:
    issue = history_rule("TR063").check(_d(5, "3", D(2025, 1, 1)), MemoryHistory())
    assert issue is not None and (issue.code, issue.retourcode) == ("TR063", "9063")
    assert (
        history_rule("TR063").check(
            _d(5, "3", D(2025, 1, 1)), MemoryHistory([_d(5, "1", D(2025, 1, 1), ident="0")])
        )
        is None
    )
    # before 2025-04-07 the rule does not apply
    assert history_rule("TR063").check(_d(5, "3", D(2025, 1, 1), day=D(2025, 4, 6)), MemoryHistory()) is None


def test_tr056_reused_identificatie_per_berichtsoort() -> None:
    earlier = MemoryHistory([_d(1, "1", D(2025, 1, 1), ident="A1")])
    issue = history_rule("TR056").check(_d(2, "1", D(2025, 2, 1), ident="A1"), earlier)
    assert issue is not None and issue.retourcode == "9056"
    assert history_rule("TR056").check(_d(2, "1", D(2025, 2, 1), ident="A2"), earlier) is None


def test_tr393_start_change_36_months_unless_equal_to_the_current_start() -> None:
    earlier = MemoryHistory([_d(1, "1", D(2022, 1, 1), ident="0", day=D(2022, 2, 1))])
    moved = _d(1, "2", D(2022, 5, 31), ident="1", day=D(2025, 6, 1))  # limit 2022-06-01
    issue = history_rule("TR393").check(moved, earlier)
    assert issue is not None and issue.retourcode == "9393"
    same = _d(1, "2", D(2022, 1, 1), D(2025, 5, 31), ident="1", day=D(2025, 6, 1))  # only a stop added
    assert history_rule("TR393").check(same, earlier) is None
    assert history_rule("TR393").check(_d(1, "2", D(2022, 6, 1), ident="1"), earlier) is None


def test_overlap_uses_the_record_s_own_stop() -> None:
    earlier = MemoryHistory([_d(1, "1", D(2025, 1, 1), D(2025, 3, 31), ident="0")])
    after = _d(2, "1", D(2025, 4, 1), ident="1")
    assert check_history(after, earlier) == []
    overlapping = _d(2, "1", D(2025, 3, 1), ident="1")
    (issue,) = check_history(overlapping, earlier)
    assert issue.code == "OP291" and issue.retourcode == "0001"


# ------------------------------------------------------------------ a 1.0 ledger continues in 4.0


def test_a_1_0_ledger_replans_to_0_messages_in_4_0_and_continues_with_status_2(ledger: Ledger) -> None:
    desired = {
        B1: [Period(D(2024, 1, 1), D(2024, 6, 30), 57000, D(2024, 1, 1)), Period(D(2024, 9, 1))],
        B2: [Period(D(2024, 2, 1), D(2024, 3, 31))],
    }
    old = plan(ledger, "0363", desired, today=D(2024, 10, 1), gemeenten=GEMEENTEN, release="ieb-1.0")
    assert {m.delivery.bericht for m in old.messages} == {"WMO401", "WMO403"}
    # the same desired state under 4.0: each 1.0 start+stop pair is one 4.0 period already
    assert _plan(ledger, desired, D(2025, 6, 1), record=False).messages == []
    # a change continues on the same EbStartNummer with one WMO405 status 2
    numbers = {
        m.delivery.datum: m.delivery.eb_start_nummer for m in old.messages if m.delivery.bericht == "WMO401"
    }
    changed = {**desired, B1: [desired[B1][0], Period(D(2024, 9, 1), D(2025, 5, 31))]}
    result = _plan(ledger, changed, D(2025, 6, 1))
    assert [
        (m.delivery.bericht, m.delivery.status, m.delivery.eb_start_nummer, m.delivery.stopdatum)
        for m in result.messages
    ] == [("WMO405", "2", numbers[D(2024, 9, 1)], D(2025, 5, 31))]
    assert _plan(ledger, changed, D(2025, 6, 1), record=False).messages == []
    # and a converted period can be deleted in 4.0 (TR063 sees the carried-over delivery)
    result = _plan(ledger, {**changed, B2: []}, D(2025, 6, 2))
    assert [(m.delivery.status, m.delivery.datum, m.delivery.stopdatum) for m in result.messages] == [
        ("3", D(2024, 2, 1), D(2024, 3, 31))
    ]


def test_convert_deliveries_one_period_per_start_stop_pair() -> None:
    from ieb.ledger.convert import convert_deliveries
    from ieb.releases import get_pack

    def d(bericht: str, nr: int, status: str, datum: dt.date, ident: str) -> Delivery:
        return Delivery(bericht, "0363", ident, D(2024, 10, 1), B1, nr, status, datum)

    old = [
        d("WMO401", 1, "1", D(2024, 1, 1), "1"),
        d("WMO403", 1, "1", D(2024, 6, 30), "2"),
        d("WMO401", 2, "1", D(2024, 9, 1), "3"),
        d("WMO401", 3, "1", D(2024, 3, 1), "4"),
        d("WMO401", 3, "3", D(2024, 3, 1), "5"),  # deleted: not carried over
    ]
    out = convert_deliveries(old, get_pack("ieb-4.0"))
    assert [(x.bericht, x.eb_start_nummer, x.status, x.datum, x.stopdatum, x.identificatie) for x in out] == [
        ("WMO405", 1, "1", D(2024, 1, 1), D(2024, 6, 30), "1"),
        ("WMO405", 2, "1", D(2024, 9, 1), None, "3"),
    ]


def test_a_kostprijs_at_or_below_the_tariff_names_tr409_in_4_0(ledger: Ledger) -> None:
    from ieb.ledger.errors import PlanningError

    low = {B1: [Period(D(2025, 5, 1), None, 100, D(2025, 5, 1))]}
    with pytest.raises(PlanningError) as info:
        _plan(ledger, low, D(2025, 6, 1), record=False)
    text = " ".join(str(i) for i in info.value.issues)
    assert "(TR409)" in text and "(CS333)" not in text


def test_a_ledger_never_goes_back_to_an_older_release(ledger: Ledger) -> None:
    """Found by a newcomer: `ieb plan --release ieb-1.0` on a 4.0 ledger queued WMO401/WMO403 for
    periods the CAK only knows as WMO405 records (the receiver answered StUF055). Refused now, naming
    both releases, and nothing is planned; the 1.0 -> 4.0 direction keeps working."""
    from ieb.ledger.errors import PlanningError

    _plan(ledger, {B1: [Period(D(2025, 5, 1), D(2025, 8, 31))]}, D(2025, 11, 1))
    with pytest.raises(PlanningError) as caught:
        plan(ledger, "0363", {B2: [Period(D(2025, 6, 1))]}, today=D(2025, 11, 1), gemeenten=GEMEENTEN)
    text = str(caught.value)
    assert "ieb-4.0" in text and "ieb-1.0" in text and "niets gepland" in text
    assert _plan(ledger, {B2: [Period(D(2025, 6, 1))]}, D(2025, 11, 1), record=False).messages


def test_a_1_0_ledger_continues_in_4_0_and_other_gemeenten_are_not_affected(ledger: Ledger) -> None:
    plan(ledger, "0363", {B1: [Period(D(2025, 5, 1))]}, today=D(2025, 6, 1), gemeenten=GEMEENTEN)
    assert _plan(ledger, {B1: [Period(D(2025, 5, 1))]}, D(2025, 11, 1), record=False).messages == []
    other = GemeenteLijst.from_text("code,naam,ingangsdatum,einddatum\n0599,Rotterdam,1900-01-01,\n")
    assert plan(
        ledger, "0599", {B2: [Period(D(2025, 6, 1))]}, today=D(2025, 6, 1), gemeenten=other, record=False
    ).messages
