"""The Di01/Du01 template of ``ieb.ggk.build`` writes exactly the bytes the lxml tree would (issue 22)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from ieb.ggk import build, du01_for, new_di01, parse
from ieb.ggk.codec import _template, envelope_to_element
from ieb.ggk.errors import EnvelopeFieldError
from ieb.ggk.models import Di01, Du01

#: printable ASCII plus what XML escapes or the template hands to the tree (CR, non-ASCII)
TEXT = st.text(alphabet=st.sampled_from("aZ09 -_.&<>\"'\t\n\ré€"), min_size=0, max_size=12)
NAAM = st.text(alphabet=st.sampled_from("aZ09-_."), min_size=4, max_size=20)


def tree_bytes(envelope: Di01 | Du01) -> bytes:
    root = envelope_to_element(envelope)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        root, encoding="UTF-8", xml_declaration=False
    )


@given(
    payload=st.binary(max_size=300),
    functie=st.sampled_from(["WMO401", "WMO403", "WMO405"]),
    organisatie=TEXT,
    applicatie=TEXT.map(lambda t: t + "abc"),
    naam=st.none() | NAAM,
    retour=st.booleans(),
)
def test_template_is_byte_identical_to_the_tree(
    payload: bytes, functie: str, organisatie: str, applicatie: str, naam: str | None, retour: bool
) -> None:
    try:
        envelope: Di01 | Du01 = new_di01(
            payload,
            functie,
            organisatie,
            zender_applicatie=applicatie,
            tijdstip=dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC),
            bestandsnaam=naam,
        )
        if retour:
            envelope = du01_for(
                envelope, payload[::-1], tijdstip=dt.datetime(2026, 6, 2, 8, 0, tzinfo=dt.UTC)
            )
    except EnvelopeFieldError:
        return  # a value the model refuses
    expected = tree_bytes(envelope)
    templated = _template(envelope)
    assert templated is None or templated == expected
    if "\r" not in organisatie + applicatie:  # a CR is normalised away by any XML parser
        assert build(envelope) == expected
        assert parse(build(envelope)) == envelope


def test_plain_di01_uses_the_template_and_stays_valid() -> None:
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    assert _template(di01) is not None
    assert build(di01) == tree_bytes(di01)
    assert parse(build(di01)) == di01


@given(
    payload=st.binary(max_size=50),
    functie=TEXT,
    zender=TEXT,
    ontvanger=TEXT,
    versie=st.sampled_from(["0001", "0000", "9999", "001", "00a1"]),
    referentienummer=st.sampled_from([None, "5f0c6f0e-8d6b-4a3e-9c7a-2b1f0e6d5c4b", "not-a-uuid"]),
)
def test_new_di01_is_the_validated_model(
    payload: bytes, functie: str, zender: str, ontvanger: str, versie: str, referentienummer: str | None
) -> None:
    """The quick path of new_di01 (values checked once, models built without a second check) gives
    the model the validating constructors give, and refuses what they refuse."""
    from ieb.ggk.models import Parameters, Stuurgegevens, Systeem, XmlBestand

    tijdstip = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    ref = referentienummer or "0b3c9a52-1f4e-4d7a-8b2c-6e5f4a3b2c1d"

    def validated() -> Di01:
        return Di01(
            stuurgegevens=Stuurgegevens(
                berichtcode="Di01",
                zender=Systeem(organisatie=zender, applicatie="ieb"),
                ontvanger=Systeem(organisatie=ontvanger, applicatie="GGk"),
                referentienummer=ref,
                tijdstip_bericht="20260601140000",
                functie=functie,
            ),
            parameters=Parameters(
                applicatie_versie=versie,
                applicatie_subversie="0000",
                functie_versie="0001",
                functie_subversie="0000",
                bericht=XmlBestand(inhoud=payload),
            ),
        )

    try:
        expected = validated()
    except EnvelopeFieldError:
        try:
            new_di01(
                payload,
                functie,
                zender,
                ontvanger,
                referentienummer=ref,
                tijdstip=tijdstip,
                applicatie_versie=versie,
            )
        except EnvelopeFieldError:
            return
        raise AssertionError("new_di01 accepted what the models refuse") from None
    got = new_di01(
        payload, functie, zender, ontvanger, referentienummer=ref, tijdstip=tijdstip, applicatie_versie=versie
    )
    assert got == expected
    assert got.model_dump() == expected.model_dump()
    assert build(got) == build(expected)
