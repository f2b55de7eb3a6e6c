"""Property: random sequences of desired-state edits, planned by the municipality and processed by our
CAK side, are all accepted, and the CAK's ledger then equals the desired state (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ieb.ledger import open_database
from ieb.ledger.planner import Period, plan
from ieb.ledger.retour import process_retours
from ieb.ledger.store import Ledger
from ieb.simulator import CakConfig, CakSimulator
from tests.ledger.conftest import BSNS, GEMEENTEN, TODAY, fresh_pg_database
from tests.migrated import migrated_memory_engine

PEOPLE = BSNS[:3]


@st.composite
def periods(draw: st.DrawFn, today: dt.date) -> list[Period]:
    """0-3 non-overlapping periods with dates in [today - 300 days, today + 20 days]."""
    offsets = sorted(draw(st.sets(st.integers(-300, 20), min_size=0, max_size=6)))
    out: list[Period] = []
    i = 0
    while i < len(offsets) and len(out) < 3:
        start = today + dt.timedelta(days=offsets[i])
        stop = None
        if i + 1 < len(offsets) and draw(st.booleans()):
            stop = today + dt.timedelta(days=offsets[i + 1])
            i += 2
        else:
            i += 1
        kp = draw(st.one_of(st.none(), st.sampled_from([50_000, 75_000, 1_000_000])))
        out.append(Period(start, stop, kp, start if kp else None))
        if stop is None:
            break
    return out


@st.composite
def mutated(draw: st.DrawFn, current: list[Period], today: dt.date) -> list[Period]:
    """A small edit of ``current``: change a stop or kostprijs, reopen, or pause the last period, or
    shift the boundary between two periods (the earlier stop and the later start move together)."""
    if not current:
        return draw(periods(today))
    if len(current) >= 2 and draw(st.booleans()):
        return draw(shifted(current, today))
    last = current[-1]
    kind = draw(st.sampled_from(["stop", "reopen", "kostprijs", "pause", "drop"]))
    low = max(last.start, today - dt.timedelta(days=300))
    if kind == "stop":
        day = draw(st.integers(0, max(0, (today + dt.timedelta(days=20) - low).days)))
        last = dataclasses.replace(last, stop=low + dt.timedelta(days=day))
    elif kind == "reopen":
        last = dataclasses.replace(last, stop=None)
    elif kind == "kostprijs":
        kp = draw(st.sampled_from([None, 60_000, 2_000_000]))
        last = dataclasses.replace(last, kostprijs_bedrag=kp, kostprijs_startdatum=last.start if kp else None)
    elif kind == "pause" and last.stop is None and last.start + dt.timedelta(days=40) <= today:
        stop = last.start + dt.timedelta(days=draw(st.integers(0, 10)))
        restart = stop + dt.timedelta(days=draw(st.integers(1, 25)))
        return [*current[:-1], dataclasses.replace(last, stop=stop), Period(restart)]
    elif kind == "drop":
        return current[:-1]
    return [*current[:-1], last]


@st.composite
def shifted(draw: st.DrawFn, current: list[Period], today: dt.date) -> list[Period]:
    """Move the boundary between period ``i`` and ``i + 1``: a new stop for ``i`` anywhere from its
    start to just before the end of ``i + 1`` (later or earlier than now), the next start 1-3 days on."""
    i = draw(st.integers(0, len(current) - 2))
    a, b = current[i], current[i + 1]
    gap = dt.timedelta(days=draw(st.integers(1, 3)))
    low = max(a.start, today - dt.timedelta(days=300))
    high = min(b.stop or today + dt.timedelta(days=20), today + dt.timedelta(days=20)) - gap
    if high < low:
        return current
    stop = low + dt.timedelta(days=draw(st.integers(0, (high - low).days)))
    start = stop + gap
    a = dataclasses.replace(a, stop=stop)
    b = dataclasses.replace(b, start=start, kostprijs_startdatum=start if b.kostprijs_bedrag else None)
    return [*current[:i], a, b, *current[i + 2 :]]


def _cak_state(cak: CakSimulator) -> dict[str, list[Period]]:
    state: dict[str, list[Period]] = {}
    for (_, bsn), items in cak.periods("0363").items():
        state[bsn] = [
            Period(
                p.start.datum,
                p.stop.datum if p.stop else None,
                p.start.kostprijs_bedrag,
                p.start.kostprijs_startdatum,
            )
            for p in items
        ]
    return state


def run_scenario(gemeente: Ledger, cak: CakSimulator, data: st.DataObject) -> None:
    desired: dict[str, list[Period]] = {}
    today = TODAY
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        today = today + dt.timedelta(days=data.draw(st.integers(1, 3), label="days"))
        bsn = data.draw(st.sampled_from(PEOPLE), label="bsn")
        current = desired.get(bsn, [])
        desired[bsn] = data.draw(
            st.one_of(periods(today), mutated(current, today)), label=f"{bsn[-3:]} {today}"
        )
        result = plan(gemeente, "0363", desired, today=today, gemeenten=GEMEENTEN)
        for m in result.messages:
            r = cak.process(m.xml, today=today)
            assert r.verdict == "accepted", (m.reason, r.codes, [i.message for i in r.issues])
            assert r.retour is not None
            process_retours(gemeente, [(m.filename, r.retour)])
        want = {b: sorted(p, key=lambda x: x.start) for b, p in desired.items() if p}
        assert _cak_state(cak) == want
        assert gemeente_state(gemeente) == want
        again = plan(gemeente, "0363", desired, today=today, gemeenten=GEMEENTEN, record=False)
        assert again.messages == [], [m.reason for m in again.messages]


def gemeente_state(ledger: Ledger) -> dict[str, list[Period]]:
    return {
        bsn: [
            Period(
                p.start.datum,
                p.stop.datum if p.stop else None,
                p.start.kostprijs_bedrag,
                p.start.kostprijs_startdatum,
            )
            for p in items
        ]
        for (_, bsn), items in ledger.periods("0363").items()
    }


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_planned_messages_are_accepted_sqlite(data: st.DataObject) -> None:
    gemeente = Ledger(migrated_memory_engine())
    cak = CakSimulator(migrated_memory_engine(), CakConfig(gemeenten=GEMEENTEN))
    try:
        run_scenario(gemeente, cak, data)
    finally:
        gemeente.close()
        cak.close()


@pytest.fixture(scope="module")
def pg_ledgers(postgres_server_url: str) -> Iterator[tuple[Ledger, CakSimulator]]:
    gemeente = Ledger(open_database(fresh_pg_database(postgres_server_url)))
    cak = CakSimulator(fresh_pg_database(postgres_server_url), CakConfig(gemeenten=GEMEENTEN))
    yield gemeente, cak
    gemeente.close()
    cak.close()


@pytest.mark.postgres
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_planned_messages_are_accepted_postgresql(
    pg_ledgers: tuple[Ledger, CakSimulator], data: st.DataObject
) -> None:
    gemeente, cak = pg_ledgers
    for engine in (gemeente.engine, cak.engine):
        with engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE deliveries, counters, eb_start_nummers"))
    run_scenario(gemeente, cak, data)
