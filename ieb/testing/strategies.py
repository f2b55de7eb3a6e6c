"""Hypothesis strategies that generate valid iEb 1.0 messages.

Every generated message is valid under the schemas and passes every in-message rule when validated
with ``today`` equal to its Dagtekening (or later). BSNs come from the test range 9999xxxxx only.

    from hypothesis import given
    from ieb.testing.strategies import wmo401s

    @given(wmo401s())
    def test_my_importer(message): ...
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from ieb.messages import Message, Wmo401, Wmo402, Wmo403, Wmo404
from ieb.policy.tariffs import NATIONAL_TARIFFS
from ieb.types import RetourCode, StatusAanlevering, bsn_is_valid
from ieb.validation.rules import add_months

__all__ = [
    "dagtekeningen",
    "gemeentecodes",
    "heenberichten",
    "messages",
    "retourberichten",
    "test_bsns",
    "wmo401s",
    "wmo402s",
    "wmo403s",
    "wmo404s",
]

#: Gemeentecodes valid throughout 2020-2026 (a sample; the strategy stays valid whatever list is bundled).
STABLE_GEMEENTEN = ("0014", "0034", "0344", "0363", "0518", "0599", "0772", "1916")


def _test_bsn_pool() -> tuple[str, ...]:
    return tuple(b for b in (f"9999{n:05d}" for n in range(100_000)) if bsn_is_valid(b))


#: Test BSNs: the 9999xxxxx range, 11-proef valid (about 9 000 of them).
test_bsns = st.sampled_from(_test_bsn_pool())
gemeentecodes = st.sampled_from(STABLE_GEMEENTEN)
dagtekeningen = st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2026, 11, 1))
identificaties = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=12)
statussen = st.sampled_from(
    [StatusAanlevering.EERSTE, StatusAanlevering.GEWIJZIGD, StatusAanlevering.VERWIJDEREN]
)


@st.composite
def _datum_in_window(draw: st.DrawFn, dagtekening: dt.date) -> dt.date:
    """A start/stop date the in-message rules accept: within [Dagtekening - 12 months, + 1 month], >= 2020."""
    low = max(add_months(dagtekening, -12), dt.date(2020, 1, 1))
    high = add_months(dagtekening, 1)
    return draw(st.dates(min_value=low, max_value=high))


@st.composite
def wmo401s(draw: st.DrawFn, *, dagtekening: dt.date | None = None) -> Wmo401:
    """Valid WMO401 (start eigen bijdrage) messages."""
    day = dagtekening or draw(dagtekeningen)
    start = draw(_datum_in_window(day))
    kostprijs: dict[str, Any] = {}
    if draw(st.booleans()):
        kstart = draw(st.dates(min_value=start, max_value=start + dt.timedelta(days=400)))
        tariff = NATIONAL_TARIFFS.on(kstart).bedrag_cent
        kostprijs = {
            "kostprijs_bedrag": draw(st.integers(min_value=tariff + 1, max_value=99_999_999)),  # CS333
            "kostprijs_startdatum": kstart,
        }
    return Wmo401.build(
        afzender=draw(gemeentecodes),
        identificatie=draw(identificaties),
        dagtekening=day,
        bsn=draw(test_bsns),
        eb_start_nummer=draw(st.integers(min_value=0, max_value=999_999_999)),
        eb_startdatum=start,
        status=draw(statussen),
        **kostprijs,
    )


@st.composite
def wmo403s(draw: st.DrawFn, *, dagtekening: dt.date | None = None) -> Wmo403:
    """Valid WMO403 (stop eigen bijdrage) messages."""
    day = dagtekening or draw(dagtekeningen)
    return Wmo403.build(
        afzender=draw(gemeentecodes),
        identificatie=draw(identificaties),
        dagtekening=day,
        bsn=draw(test_bsns),
        eb_start_nummer=draw(st.integers(min_value=0, max_value=999_999_999)),
        eb_stopdatum=draw(_datum_in_window(day)),
        status=draw(statussen),
    )


def _retour_codes(draw: st.DrawFn, client_level: bool) -> tuple[RetourCode, ...]:
    pool = (
        [c for c in RetourCode if c is not RetourCode.TECHNISCH_AFGEKEURD]
        if client_level
        else [RetourCode.TECHNISCH_AFGEKEURD]
    )
    return tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3)))


@st.composite
def _retour(draw: st.DrawFn, heen: Message, cls: type[Wmo402] | type[Wmo404]) -> Message:
    h = heen.header
    kind = draw(st.sampled_from(["accepted", "level2", "level3"]))
    header: dict[str, Any] = {
        "bericht_code": cls.bericht_code,
        "afzender": h.afzender,
        "bericht_identificatie": h.bericht_identificatie,
        "xsd_versie": h.xsd_versie,
        "identificatie_retour": draw(identificaties),
        "dagtekening_retour": h.bericht_identificatie.dagtekening
        + dt.timedelta(days=draw(st.integers(0, 30))),
        "xslt_versie": draw(st.none() | st.just("1.0.0")),
    }
    data: dict[str, Any] = {"header": header}
    if kind == "level2":
        header["retour_codes"] = (RetourCode.TECHNISCH_AFGEKEURD,)
    elif kind == "level3":
        client = heen.client  # type: ignore[attr-defined]
        klasse_name = "start_eigen_bijdrage" if cls is Wmo402 else "stop_eigen_bijdrage"
        klasse = getattr(client, klasse_name).model_dump()
        klasse["retour_codes"] = _retour_codes(draw, True)
        data["client"] = {"bsn": client.bsn, klasse_name: klasse, "retour_codes": _retour_codes(draw, True)}
    return cls.model_validate(data)


@st.composite
def wmo402s(draw: st.DrawFn) -> Message:
    """Valid WMO402 retours (accepted, level 2 with 0001, or level 3 with a coded Client)."""
    return draw(_retour(draw(wmo401s()), Wmo402))


@st.composite
def wmo404s(draw: st.DrawFn) -> Message:
    """Valid WMO404 retours."""
    return draw(_retour(draw(wmo403s()), Wmo404))


heenberichten = st.one_of(wmo401s(), wmo403s())
retourberichten = st.one_of(wmo402s(), wmo404s())
messages = st.one_of(wmo401s(), wmo403s(), wmo402s(), wmo404s())
