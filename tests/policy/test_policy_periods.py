"""From voorzieningen and delivery events to per-person periods (start triggers, merge, soorten)."""

from __future__ import annotations

import pytest
from policy_builders import ANDER, CLIENT, d, vz

from ieb.policy import (
    Event,
    EventKind,
    GemeenteParameters,
    PolicyInputError,
    StartTrigger,
    StopReason,
    VoorzieningKind,
    derive_periods,
)


def ev(vid: str, soort: str, datum: str, einde: str | None = None) -> Event:
    return Event(
        voorziening_id=vid,
        soort=EventKind(soort),
        datum=d(datum),
        einddatum=d(einde) if einde else None,
    )


def test_first_start_to_last_stop_per_person() -> None:
    periods = derive_periods(
        [
            vz("huishoudelijke_hulp", "2024-02-01", "2024-06-30", id="hh"),
            vz("begeleiding", "2024-05-15", "2024-09-30", id="bg"),
            vz("dagbesteding", "2024-03-01", None, bsn=ANDER, id="db"),
        ]
    )
    assert [(p.bsn, p.start, p.stop) for p in periods] == [
        (CLIENT, d("2024-02-01"), d("2024-09-30")),
        (ANDER, d("2024-03-01"), None),
    ]
    assert periods[0].voorziening_ids == ("hh", "bg")
    assert periods[0].stop_reden is StopReason.EINDE_VOORZIENING


def test_gap_of_a_whole_month_gives_two_periods() -> None:
    periods = derive_periods([vz("begeleiding", "2024-01-05", "2024-03-31"), vz("begeleiding", "2024-05-02")])
    assert len(periods) == 2


def test_rolstoel_and_undesignated_algemene_voorziening_give_no_period() -> None:
    assert derive_periods([vz("rolstoel", "2024-01-05"), vz("algemene_voorziening", "2024-01-05")]) == []
    designated = GemeenteParameters(
        gemeentecode="0363", bijdrageplichtige_soorten=frozenset({VoorzieningKind.ALGEMENE_VOORZIENING})
    )
    assert len(derive_periods([vz("algemene_voorziening", "2024-01-05")], parameters=designated)) == 1


def test_start_trigger_actual_delivery_305_307() -> None:
    params = GemeenteParameters(
        gemeentecode="0363", start_triggers={VoorzieningKind.BEGELEIDING: StartTrigger.LEVERING}
    )
    item = vz("begeleiding", "2024-01-01", id="bg")
    assert derive_periods([item], [], params) == []  # nothing delivered yet
    events = [ev("bg", "305", "2024-02-12"), ev("bg", "307", "2024-08-20")]
    [period] = derive_periods([item], events, params)
    assert (period.start, period.stop) == (d("2024-02-12"), d("2024-08-20"))


def test_start_trigger_toewijzing_301() -> None:
    params = GemeenteParameters(
        gemeentecode="0363", start_triggers={VoorzieningKind.BEGELEIDING: StartTrigger.TOEWIJZING}
    )
    [period] = derive_periods(
        [vz("begeleiding", "2024-01-01", id="bg")], [ev("bg", "301", "2024-01-20")], params
    )
    assert (period.start, period.stop) == (d("2024-01-20"), None)


def test_start_trigger_first_and_last_declaration_303() -> None:
    params = GemeenteParameters(
        gemeentecode="0363", start_triggers={VoorzieningKind.BEGELEIDING: StartTrigger.DECLARATIE}
    )
    events = [ev("bg", "303", "2024-02-01", "2024-02-29"), ev("bg", "303", "2024-03-01", "2024-03-31")]
    [ended] = derive_periods([vz("begeleiding", "2024-01-01", "2024-03-31", id="bg")], events, params)
    assert (ended.start, ended.stop) == (d("2024-02-01"), d("2024-03-31"))
    [running] = derive_periods([vz("begeleiding", "2024-01-01", id="bg")], events, params)
    assert running.stop is None


def test_stop_zorg_without_start_is_refused() -> None:
    params = GemeenteParameters(
        gemeentecode="0363", start_triggers={VoorzieningKind.BEGELEIDING: StartTrigger.LEVERING}
    )
    with pytest.raises(PolicyInputError, match=r"voorzieningen\[0\].*307"):
        derive_periods([vz("begeleiding", "2024-01-01", id="bg")], [ev("bg", "307", "2024-03-01")], params)


def test_bad_voorziening_input_names_the_field() -> None:
    with pytest.raises(PolicyInputError, match="stop"):
        vz("begeleiding", "2024-05-01", "2024-04-01")
    with pytest.raises(PolicyInputError, match="kostprijs_cent"):
        vz("begeleiding", "2024-05-01", kostprijs=50000)
    with pytest.raises(PolicyInputError, match="uniek"):
        derive_periods([vz("begeleiding", "2024-05-01", id="x"), vz("dagbesteding", "2024-05-01", id="x")])
