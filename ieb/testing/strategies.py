"""Hypothesis strategies that generate valid messages of a release pack (iEb 1.0 by default).

Every generated message is valid under the schemas and passes every in-message rule when validated
with ``today`` equal to its Dagtekening (or later). BSNs come from the test range 9999xxxxx only.

    from hypothesis import given
    from ieb.testing.strategies import wmo401s

    @given(wmo401s())
    def test_my_importer(message): ...

The strategies ask the pack's table: :func:`heen_messages` fills a heenbericht's klasse (its date
element within the TR112/TR113 window, an optional kostprijs above the national tariff),
:func:`retour_messages` answers one with the retour the table names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from ieb.dates import add_months
from ieb.policy.tariffs import NATIONAL_TARIFFS
from ieb.releases import get_pack
from ieb.releases.models import Message
from ieb.releases.pack import MessageDef, ReleasePack, klasse_columns
from ieb.types import StatusAanlevering, bsn_is_valid

__all__ = [
    "dagtekeningen",
    "gemeentecodes",
    "heen_messages",
    "heenberichten",
    "messages",
    "retour_messages",
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


#: Test BSNs: the 9999xxxxx range, 11-proef valid (about 9 000 of them). Deferred: the pool (100,000
#: 11-proef checks, ~0.7 s) is made on the first draw, not when a test module imports this one.
test_bsns = st.deferred(lambda: st.sampled_from(_test_bsn_pool()))
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


def _snake(element: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(element))


@st.composite
def heen_messages(draw: st.DrawFn, row: MessageDef, *, dagtekening: dt.date | None = None) -> Message:
    """Valid messages of the heenbericht ``row`` (a row of a pack's table with a model): the klasse's
    date element within the in-message windows, a kostprijs (when the klasse has one) above the
    national tariff on its startdatum (CS333), other optional klasse values left out."""
    day = dagtekening or draw(dagtekeningen)
    columns = klasse_columns(row)
    values: dict[str, Any] = {}
    date_column = _snake(row.date_element or "")
    if date_column in columns:
        values[date_column] = draw(_datum_in_window(day))
    if {"kostprijs_bedrag", "kostprijs_startdatum"} <= set(columns) and draw(st.booleans()):
        start = values.get(date_column, day)
        kstart = draw(st.dates(min_value=start, max_value=start + dt.timedelta(days=400)))
        tariff = NATIONAL_TARIFFS.on(kstart).bedrag_cent
        values["kostprijs_bedrag"] = draw(st.integers(min_value=tariff + 1, max_value=99_999_999))
        values["kostprijs_startdatum"] = kstart
    model: Any = row.model
    message: Message = model.build(
        afzender=draw(gemeentecodes),
        identificatie=draw(identificaties),
        dagtekening=day,
        bsn=draw(test_bsns),
        eb_start_nummer=draw(st.integers(min_value=0, max_value=999_999_999)),
        status=draw(statussen),
        **values,
    )
    return message


def _retour_codes(draw: st.DrawFn, pack: ReleasePack, client_level: bool) -> tuple[str, ...]:
    pool = sorted({"0200", "0233", *pack.retourcodes.rules_of}) if client_level else ["0001"]
    return tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3)))


@st.composite
def retour_messages(draw: st.DrawFn, heen: Message, pack: ReleasePack | None = None) -> Message:
    """Valid retours on ``heen`` (the retour its pack's table names): accepted, level 2 (0001 in
    the Header) or level 3 (the Client and its klasse copied, with retourcodes of the release)."""
    pack = pack or get_pack(heen.release)
    row = pack.retour_of(heen.bericht)
    h = heen.header
    kind = draw(st.sampled_from(["accepted", "level2", "level3"]))
    header: dict[str, Any] = {
        "bericht_code": row.bericht_code,
        "afzender": h.afzender,
        "bericht_identificatie": h.bericht_identificatie,
        "identificatie_retour": draw(identificaties),
        "dagtekening_retour": h.bericht_identificatie.dagtekening
        + dt.timedelta(days=draw(st.integers(0, 30))),
        "xslt_versie": draw(st.none() | st.just("1.0.0")),
    }
    if getattr(h, "xsd_versie", None) is not None:
        header["xsd_versie"] = getattr(h, "xsd_versie")  # noqa: B009
    data: dict[str, Any] = {"header": header}
    if kind == "level2":
        header["retour_codes"] = ("0001",)
    elif kind == "level3":
        client: Any = getattr(heen, "client")  # noqa: B009
        klasse_name = _snake(row.klasse or "")
        klasse = getattr(client, klasse_name).model_dump()
        klasse["retour_codes"] = _retour_codes(draw, pack, True)
        data["client"] = {
            "bsn": client.bsn,
            klasse_name: klasse,
            "retour_codes": _retour_codes(draw, pack, True),
        }
    model: Any = row.model
    message: Message = model.model_validate(data)
    return message


_PACK = get_pack("ieb-1.0")
#: iEb 1.0's heenberichten in table order: the start and the stop eigen bijdrage
_START, _STOP = _PACK.heen()


def wmo401s(*, dagtekening: dt.date | None = None) -> st.SearchStrategy[Message]:
    """Valid start eigen bijdrage messages of iEb 1.0."""
    return heen_messages(_START, dagtekening=dagtekening)


def wmo403s(*, dagtekening: dt.date | None = None) -> st.SearchStrategy[Message]:
    """Valid stop eigen bijdrage messages of iEb 1.0."""
    return heen_messages(_STOP, dagtekening=dagtekening)


@st.composite
def wmo402s(draw: st.DrawFn) -> Message:
    """Valid retours on a start (accepted, level 2 with 0001, or level 3 with a coded Client)."""
    return draw(retour_messages(draw(wmo401s()), _PACK))


@st.composite
def wmo404s(draw: st.DrawFn) -> Message:
    """Valid retours on a stop."""
    return draw(retour_messages(draw(wmo403s()), _PACK))


heenberichten = st.one_of(wmo401s(), wmo403s())
retourberichten = st.one_of(wmo402s(), wmo404s())
messages = st.one_of(wmo401s(), wmo403s(), wmo402s(), wmo404s())
