"""Whatever sequence of WMO301/305/307 products arrives, the replayed state keeps its invariants:
per toewijzing at most one open levering, leveringen never overlap, every stop lies on or after its
start, and a refused product changes nothing."""

from __future__ import annotations

import copy
import datetime as dt
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ieb.iwmo.reader import Product
from ieb.iwmo.state import Voorzieningen

BASE = dt.date(2025, 1, 1)


@st.composite
def products(draw: st.DrawFn) -> Product:
    bericht = draw(st.sampled_from(["WMO301", "WMO305", "WMO305", "WMO307", "WMO307"]))
    begin = BASE + dt.timedelta(days=draw(st.integers(0, 90)))
    end = begin + dt.timedelta(days=draw(st.integers(-5, 90)))
    return Product(
        bericht=bericht,
        positie=1,
        regel=1,
        sleutel="x",
        identificatie="1",
        dagtekening=begin,
        gemeente="0363",
        aanbieder="12345678",
        bsn=draw(st.sampled_from(["999900006", "999900018"])),
        geboortedatum=None,
        geslacht=None,
        toewijzing_nummer=draw(st.sampled_from([1, 2])),
        categorie=draw(st.sampled_from(["02", None])),
        productcode=None,
        status=None if bericht == "WMO301" else draw(st.sampled_from(["1", "1", "2", "3", "9"])),
        begindatum=begin,
        einddatum=end if (bericht == "WMO307" or draw(st.booleans())) else None,
        reden=draw(st.sampled_from([None, "13"])) if bericht == "WMO301" else "19",
    )


@settings(max_examples=300)
@given(st.lists(products(), max_size=25))
def test_the_replayed_state_keeps_its_invariants(items: list[Product]) -> None:
    state = Voorzieningen()
    for ref, product in enumerate(items):
        before = copy.deepcopy(state)
        refusal = state.apply(product, ref)
        if refusal is not None:
            assert state == before and refusal.code and refusal.tekst
            assert product.bsn not in refusal.tekst
    for leveringen in state.leveringen.values():
        assert sum(1 for x in leveringen if x.einddatum is None) <= 1
        ordered = sorted(leveringen, key=lambda x: x.begindatum)
        for levering in ordered:
            assert levering.einddatum is None or levering.einddatum >= levering.begindatum
        for a, b in itertools.pairwise(ordered):
            assert a.einddatum is not None and a.einddatum < b.begindatum


@settings(max_examples=150)
@given(st.lists(products(), max_size=25), st.sampled_from(["toewijzing", "levering"]))
def test_any_state_derives_periods_that_ieb_plan_can_read(items: list[Product], trigger: str) -> None:
    from ieb.iwmo.desired import GemeenteInstellingen, Instellingen, Trigger, derive
    from ieb.ledger.planner import desired_from_records

    state = Voorzieningen()
    for ref, product in enumerate(items):
        state.apply(product, ref)
    desired = derive(state, Instellingen(GemeenteInstellingen(trigger=Trigger(trigger))))
    records = desired.records()
    planned = desired_from_records(records)  # raises on a bad row
    for periods in planned.values():
        ordered = sorted(periods, key=lambda p: p.start)
        for a, b in itertools.pairwise(ordered):
            assert a.stop is not None and a.stop < b.start
