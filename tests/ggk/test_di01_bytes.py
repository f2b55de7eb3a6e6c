"""``new_di01_bytes`` (issue 22, the envelope of ``ieb plan --queue`` without the models) gives
exactly ``(di01.referentienummer, build(di01))`` of ``di01 = new_di01(...)`` with the same values,
and refuses what that path refuses, with the same exception type."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ieb.ggk import build, new_di01
from ieb.ggk.builders import _di01_frame, new_di01_bytes
from ieb.ggk.models import is_uuid4

#: printable ASCII plus what XML escapes, what it cannot carry (NUL, a lone surrogate) and non-ASCII
TEXT = st.text(alphabet=st.sampled_from("aZ09 -_.&<>\"'\t\n\ré€\x00\ud800"), min_size=0, max_size=12)
REF = st.uuids(version=4).map(str) | st.sampled_from(
    ["", "not-a-uuid", "00000000-0000-4000-8000-000000000000"]
)
MOMENT = st.datetimes(
    min_value=dt.datetime(1990, 1, 1),
    max_value=dt.datetime(2090, 12, 31),
    timezones=st.just(dt.UTC) | st.none(),
)


def _same_ref(given: str | None, ref: str, envelope: bytes) -> tuple[str, bytes]:
    """A fresh referentienummer (none given) is a UUID v4 of its own: the envelopes are compared
    with it written as ``REF`` (an empty one counts as none, in both paths)."""
    if given:
        return ref, envelope
    assert is_uuid4(ref) and envelope.count(ref.encode()) == 1
    return "REF", envelope.replace(ref.encode(), b"REF")


def _model_path(payload: bytes, functie: str, gemeente: str, ref: str | None, moment: dt.datetime) -> object:
    try:
        di01 = new_di01(payload, functie, gemeente, referentienummer=ref, tijdstip=moment)
        return _same_ref(ref, di01.referentienummer, build(di01))
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc)


def _bytes_path(payload: bytes, functie: str, gemeente: str, ref: str | None, moment: dt.datetime) -> object:
    try:
        return _same_ref(
            ref, *new_di01_bytes(payload, functie, gemeente, referentienummer=ref, tijdstip=moment)
        )
    except Exception as exc:  # noqa: BLE001
        return type(exc)


@settings(max_examples=300, deadline=None)
@given(
    payload=st.binary(max_size=400),
    functie=st.sampled_from(["WMO401", "WMO403", "WMO405", "WMO4011234567890123456789012345"]) | TEXT,
    gemeente=st.sampled_from(["0363", "0599", "1680"]) | TEXT,
    ref=st.none() | REF,
    moment=MOMENT,
)
def test_the_same_envelope_as_build_of_new_di01(
    payload: bytes, functie: str, gemeente: str, ref: str | None, moment: dt.datetime
) -> None:
    assert _bytes_path(payload, functie, gemeente, ref, moment) == _model_path(
        payload, functie, gemeente, ref, moment
    )


def test_a_fresh_referentienummer_and_the_current_time_by_default() -> None:
    first, envelope = new_di01_bytes(b"<x/>", "WMO401", "0363")
    second, _ = new_di01_bytes(b"<x/>", "WMO401", "0363")
    assert first != second
    assert f"<StUF:referentienummer>{first}</StUF:referentienummer>".encode() in envelope
    assert envelope.count(b"00000000-0000-4000-8000-000000000000") == 0  # the frame's mark is gone
    assert _di01_frame("WMO401", "0363", "20261207090000") is not None  # plain values: the frame


def test_a_payload_that_is_not_bytes_is_refused_as_by_the_models() -> None:
    moment = dt.datetime(2026, 12, 7, 9, 0)
    with pytest.raises(ValueError):
        new_di01_bytes("<x/>", "WMO401", "0363", tijdstip=moment)  # type: ignore[arg-type]
    assert _bytes_path("<x/>", "WMO401", "0363", None, moment) == _model_path(  # type: ignore[arg-type]
        "<x/>", "WMO401", "0363", None, moment
    )
