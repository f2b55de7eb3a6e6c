"""Property tests: amounts never exceed the tariff, one tariff per household per month, kostprijs cap."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_builders import CLIENT, PARTNER

from ieb.policy import (
    GemeenteParameters,
    Household,
    Member,
    Month,
    ReducedTariff,
    Voorziening,
    VoorzieningKind,
    estimate_household,
    monthly_tariff,
)

FAST = settings(max_examples=60, deadline=None)

dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2026, 12, 31))
birth = st.dates(min_value=dt.date(1935, 1, 1), max_value=dt.date(2015, 12, 31))


@st.composite
def leden(draw: st.DrawFn) -> tuple[Member, ...]:
    count = draw(st.integers(1, 2))
    return tuple(
        Member(bsn=bsn, geboortedatum=draw(birth), wlz_eigen_bijdrage=draw(st.booleans()) and draw(st.booleans()),
            beschermd_wonen=draw(st.booleans()) and draw(st.booleans()))
        for bsn in (CLIENT, PARTNER)[:count]
    )  # fmt: skip


@st.composite
def voorziening(draw: st.DrawFn, bsns: tuple[str, ...]) -> Voorziening:
    soort = draw(st.sampled_from(list(VoorzieningKind)))
    start = draw(dates)
    stop = draw(st.one_of(st.none(), st.dates(min_value=start, max_value=dt.date(2027, 12, 31))))
    kostprijs = None
    if soort.heeft_kostprijs and draw(st.booleans()):
        kostprijs = draw(st.integers(2200, 300_000))
    return Voorziening(
        bsn=draw(st.sampled_from(bsns)), soort=soort, start=start, stop=stop, kostprijs_cent=kostprijs
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[Household, list[Voorziening], GemeenteParameters]:
    members = draw(leden())
    bsns = tuple(m.bsn for m in members)
    items = draw(st.lists(voorziening(bsns), max_size=4))
    verlaagd = ()
    if draw(st.booleans()):
        verlaagd = (ReducedTariff(vanaf=draw(dates).replace(day=1), bedrag_cent=draw(st.integers(0, 1900))),)
    params = GemeenteParameters(gemeentecode="0363", verlaagd_tarief=verlaagd)
    return Household(leden=members, inkomen_cent_per_jaar=None), items, params


@FAST
@given(cases())
def test_monthly_amount_never_exceeds_the_national_or_lowered_tariff(
    case: tuple[Household, list[Voorziening], GemeenteParameters],
) -> None:
    huishouden, items, params = case
    schatting = estimate_household(huishouden, items, params, Month(2020, 1), Month(2027, 12))
    for m in schatting.maanden:
        assert 0 <= m.bedrag_cent <= monthly_tariff(m.maand.first_day).bedrag_cent
        verlaagd = params.verlaagd_tarief_op(m.maand.first_day)
        if verlaagd is not None:
            assert m.bedrag_cent <= verlaagd.bedrag_cent
        assert m.reden.verschuldigd or m.bedrag_cent == 0


@FAST
@given(cases())
def test_a_household_never_pays_twice_in_a_month(
    case: tuple[Household, list[Voorziening], GemeenteParameters],
) -> None:
    huishouden, items, params = case
    schatting = estimate_household(huishouden, items, params, Month(2020, 1), Month(2027, 12))
    months = [m.maand for m in schatting.maanden]
    assert months == list(Month(2020, 1).until(Month(2027, 12)))  # exactly one line per month
    assert schatting.totaal_cent <= sum(monthly_tariff(m.first_day).bedrag_cent for m in months)


@FAST
@given(
    start=dates,
    kostprijs=st.integers(2200, 200_000),
    stop=st.one_of(st.none(), dates),
    verlaagd=st.one_of(st.none(), st.integers(0, 1900)),
    soort=st.sampled_from([VoorzieningKind.HULPMIDDEL, VoorzieningKind.WONINGAANPASSING]),
)
def test_kostprijs_contributions_never_exceed_the_kostprijs(
    start: dt.date, kostprijs: int, stop: dt.date | None, verlaagd: int | None, soort: VoorzieningKind
) -> None:
    if stop is not None and stop < start:
        start, stop = stop, start
    tarief = () if verlaagd is None else (ReducedTariff(vanaf=dt.date(2020, 1, 1), bedrag_cent=verlaagd),)
    params = GemeenteParameters(gemeentecode="0363", verlaagd_tarief=tarief)
    huishouden = Household(leden=(Member(bsn=CLIENT, geboortedatum=dt.date(1950, 1, 1)),))
    item = Voorziening(bsn=CLIENT, soort=soort, start=start, stop=stop, kostprijs_cent=kostprijs)
    schatting = estimate_household(huishouden, [item], params, Month(2020, 1), Month(2040, 12))
    assert schatting.totaal_cent <= kostprijs
    [overzicht] = schatting.kostprijs
    assert 0 <= overzicht.resterend_cent <= kostprijs
    if stop is None:  # an open item always runs out: the CAK counted it all at the national tariff
        assert overzicht.resterend_cent == 0 and overzicht.stop_maand is not None
