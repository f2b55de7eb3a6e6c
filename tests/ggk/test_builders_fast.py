"""The quick construction in new_di01 (issue 22): the same model state as pydantic's
model_construct, a referentienummer that is a UUID version 4, a tijdstipBericht per second."""

from __future__ import annotations

import datetime as dt
import uuid

from ieb.ggk import builders, new_di01, new_referentienummer
from ieb.ggk.models import Di01, Parameters, Stuurgegevens, Systeem, XmlBestand, format_tijdstip, is_uuid4


def test_quick_models_have_the_state_of_model_construct() -> None:
    assert builders._construct_ok()
    moment = dt.datetime(2026, 6, 1, 12, 0, 5, tzinfo=dt.UTC)
    ref = "0b3c9a52-1f4e-4d7a-8b2c-6e5f4a3b2c1d"
    ours = new_di01(b"<x/>", "WMO401", "0363", referentienummer=ref, tijdstip=moment)
    theirs = Di01.model_construct(
        stuurgegevens=Stuurgegevens.model_construct(
            berichtcode="Di01",
            zender=Systeem(organisatie="0363", applicatie="ieb"),
            ontvanger=Systeem(organisatie="CAK", applicatie="GGk"),
            referentienummer=ref,
            tijdstip_bericht=format_tijdstip(moment),
            functie="WMO401",
        ),
        parameters=Parameters.model_construct(
            applicatie_versie="0001",
            applicatie_subversie="0000",
            functie_versie="0001",
            functie_subversie="0000",
            bericht=XmlBestand.model_construct(inhoud=b"<x/>"),
        ),
    )
    assert ours == theirs
    for a, b in (
        (ours, theirs),
        (ours.stuurgegevens, theirs.stuurgegevens),
        (ours.parameters, theirs.parameters),
        (ours.parameters.bericht, theirs.parameters.bericht),
    ):
        assert type(a) is type(b)
        assert list(vars(a).items()) == list(vars(b).items())
        assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__
        assert a.model_dump(exclude_unset=True) == b.model_dump(exclude_unset=True)
    assert Di01.model_validate(ours.model_dump()) == ours


def test_referentienummer_is_a_random_uuid4() -> None:
    refs = {new_referentienummer() for _ in range(2000)}
    assert len(refs) == 2000
    for ref in refs:
        assert is_uuid4(ref)
        parsed = uuid.UUID(ref)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == ref
    # every random hex digit takes more than one value (not a constant written in)
    for pos in (0, 7, 9, 15, 20, 35):
        assert len({r[pos] for r in refs}) > 8
    assert {r[19] for r in refs} == set("89ab")


def test_tijdstip_of_now_is_the_formatted_current_second() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    after = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert di01.stuurgegevens.tijdstip_bericht in {format_tijdstip(before), format_tijdstip(after)}
    # a given tijdstip is never taken from the cache of the current second
    given = dt.datetime(2020, 1, 1, 0, 0, tzinfo=dt.UTC)
    assert (
        new_di01(b"<x/>", "WMO401", "0363", tijdstip=given).stuurgegevens.tijdstip_bericht == "20200101010000"
    )
