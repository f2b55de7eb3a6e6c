"""Issue 22 (RECV): :meth:`EnvelopeChecks.check` reads the stuurgegevens and the payload from the
parsed tree instead of building the envelope model. These tests hold it to the model: on valid and
mutated envelopes, under several settings, the findings (codes, texts, locations) are exactly those
the model-based checks give, and the :class:`EnvelopeHead` agrees with the model."""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence

from ggk_samples import WMO401, WMO403
from hypothesis import given, settings
from hypothesis import strategies as st

import ieb.ggk as ggk
from ieb.ggk.codes import CheckResult, EnvelopeChecks, Finding, FoutCode, payload_berichtcode
from ieb.releases import default_registry
from ieb.testing.hostile import mutate

REF = "9c0f7b90-5c69-41e5-a837-0800200c9a66"


def _strict_validator(payload: bytes) -> Sequence[object]:
    return [] if b"wmo401" in payload else ["Header/BerichtCode hoort bij een ander bericht"]


SETTINGS = [
    EnvelopeChecks(known_ontvangers=None, functie_berichtcode=None),
    EnvelopeChecks(functie_berichtcode=default_registry.functie_berichtcodes()),
    EnvelopeChecks(
        known_zenders={"0363", "CAK"},
        known_ontvangers={"CAK", "0363"},
        functie_berichtcode=lambda functie, payload: functie.encode().lower() in payload,
        payload_validator=_strict_validator,
        allowed_functies={"WMO401"},
    ),
    EnvelopeChecks(payload_validator=lambda payload: payload.startswith(b"<?xml")),
]


def _model_findings(checks: EnvelopeChecks, result: CheckResult) -> tuple[Finding, ...]:
    """The checks after the schema, computed from the envelope MODEL (how they were computed before)."""
    envelope = result.envelope
    assert envelope is not None
    found: list[Finding] = []
    sg = envelope.stuurgegevens
    zender = sg.zender.organisatie
    if not checks._zender_known(zender):
        found.append(Finding(FoutCode.IB213, f"zender {zender!r} is onbekend", "stuurgegevens/zender"))
    ontvangers = checks.known_ontvangers
    if ontvangers is None and isinstance(envelope, ggk.Di01):
        ontvangers = {"CAK"}
    if ontvangers is not None and sg.ontvanger.organisatie not in ontvangers:
        text = f"ontvangende organisatie {sg.ontvanger.organisatie!r} is onbekend"
        found.append(Finding(FoutCode.IB210, text, "stuurgegevens/ontvanger"))
    if isinstance(envelope, ggk.Di01 | ggk.Du01):
        is_xml = isinstance(envelope.parameters.bericht, ggk.XmlBestand)
        found.extend(checks._payload_findings(envelope.functie, envelope.payload, is_xml))
    return tuple(found)


def _assert_same_as_model(checks: EnvelopeChecks, data: bytes) -> CheckResult:
    result = checks.check(data)
    if result.head is None:  # stopped before the model stage (IB007, RIN001, IB009): no model either
        assert not result.ok
        assert result.envelope is None
        return result
    envelope = result.envelope
    assert envelope is not None
    head = result.head
    assert head.kind is type(envelope)
    assert head.berichtcode == envelope.berichtcode
    assert head.referentienummer == envelope.referentienummer
    assert head.cross_refnummer == envelope.cross_refnummer
    assert head.zender_organisatie == envelope.stuurgegevens.zender.organisatie
    assert head.ontvanger_organisatie == envelope.stuurgegevens.ontvanger.organisatie
    assert head.zender() == envelope.stuurgegevens.zender
    if isinstance(envelope, ggk.Di01 | ggk.Du01):
        assert head.functie == envelope.functie
    assert result.findings == _model_findings(checks, result)
    return result


def _di01(zender: str, ontvanger: str, functie: str, payload: bytes, tekst: bool) -> bytes:
    di01 = ggk.new_di01(
        payload, functie, "0363", ontvanger, referentienummer=REF, bestandsnaam="a.txt" if tekst else None
    )
    data = ggk.build(di01)
    # the builder only makes gemeente zenders; other organisations are put in by hand
    return data.replace(b"<StUF:organisatie>0363<", b"<StUF:organisatie>" + zender.encode() + b"<", 1)


ORGS = ["0363", "CAK", "SVB", "GGk", "12345", "ABC", "9999"]
PAYLOADS = [WMO401, WMO403, b"geen xml", b"<a><b></a>", WMO401.replace(b">470<", b">999<")]


@settings(max_examples=200, deadline=None)
@given(
    which=st.integers(0, len(SETTINGS) - 1),
    zender=st.sampled_from(ORGS),
    ontvanger=st.sampled_from(ORGS),
    functie=st.sampled_from(["WMO401", "WMO403", "WMO999", "X"]),
    payload=st.sampled_from(PAYLOADS),
    tekst=st.booleans(),
    soap=st.booleans(),
)
def test_findings_equal_the_model_based_checks(
    which: int, zender: str, ontvanger: str, functie: str, payload: bytes, tekst: bool, soap: bool
) -> None:
    data = _di01(zender, ontvanger, functie, payload, tekst)
    if soap:
        data = ggk.wrap_soap(ggk.parse(data))
    _assert_same_as_model(SETTINGS[which], data)


def _samples() -> list[bytes]:
    di01 = ggk.new_di01(WMO401, "WMO401", "0363", referentienummer=REF)
    du01 = ggk.du01_for(di01, WMO401.replace(b"wmo401", b"wmo402"))
    fo01 = ggk.fo01_for(di01, "IB213")
    return [
        ggk.build(di01),
        ggk.wrap_soap(du01),
        ggk.build(fo01),
        ggk.wrap_soap(fo01),
        ggk.build(ggk.bv03_for(di01)),
    ]


SAMPLES = _samples()


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(SAMPLES) - 1), seed=st.integers(0, 2**32 - 1), mutated=st.booleans())
def test_mutated_envelopes_give_the_same_verdict(which: int, seed: int, mutated: bool) -> None:
    data = mutate(SAMPLES[which], random.Random(seed)) if mutated else SAMPLES[which]
    for checks in SETTINGS:
        _assert_same_as_model(checks, data)


def test_the_verdicts_themselves_did_not_move() -> None:
    """Fixed cases with their known codes and texts (what a Fo03 to a sender carries)."""
    routing = SETTINGS[1]
    ok = _assert_same_as_model(routing, _di01("0363", "CAK", "WMO401", WMO401, False))
    assert ok.ok and isinstance(ok.envelope, ggk.Di01) and ok.envelope.payload == WMO401
    bad = _assert_same_as_model(routing, _di01("ABC", "SVB", "WMO403", WMO401, False))
    assert [(f.code.value, f.omschrijving, f.location) for f in bad.findings] == [
        ("IB213", "zender 'ABC' is onbekend", "stuurgegevens/zender"),
        ("IB210", "ontvangende organisatie 'SVB' is onbekend", "stuurgegevens/ontvanger"),
        ("IB240", "functie WMO403 past niet bij BerichtCode 470 (verwacht 472)", "stuurgegevens/functie"),
    ]
    not_xml = _assert_same_as_model(routing, _di01("0363", "CAK", "WMO401", b"geen xml", False))
    assert not_xml.codes == ("StUF055",) and not_xml.first is not None
    assert not_xml.first.location == "xmlBestand"
    assert payload_berichtcode(WMO403) == "472"


def test_a_bad_base64_payload_stops_at_the_schema() -> None:
    data = _di01("0363", "CAK", "WMO401", WMO401, False)
    b64 = base64.b64encode(WMO401)
    result = _assert_same_as_model(SETTINGS[0], data.replace(b64, b"!!" + b64[2:]))
    assert result.codes == ("RIN001",) and result.head is None
