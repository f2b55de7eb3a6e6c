"""The envelope models and codec: published examples, round trips, determinism, errors, SOAP."""

from __future__ import annotations

import base64
import datetime as dt
import string

import pytest
from ggk_samples import WMO401
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import ieb.ggk as ggk
from ieb.errors import IebError, XmlSecurityError
from tests.reference import MISSING

NOW = dt.datetime(2025, 1, 15, 10, 30, 0)
REF = "9c0f7b90-5c69-41e5-a837-0800200c9a66"


def _di01(**kw: object) -> ggk.Di01:
    args: dict[str, object] = {"referentienummer": REF, "tijdstip": NOW}
    args.update(kw)
    return ggk.new_di01(WMO401, "WMO401", "0363", **args)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ published examples


def test_published_examples_parse(published_examples: dict[str, bytes]) -> None:
    kinds = {}
    for name, data in published_examples.items():
        env = ggk.unwrap_soap(data) if name.startswith("soap-") else ggk.parse(data)
        kinds[name] = type(env).__name__
        assert ggk.parse(ggk.build(env)) == env, name
    assert kinds["Fo01.xml"] == "Fo01"
    assert kinds["envelopHeenbericht-ggk_Di01_v21-xml.xml"] == "Di01"
    assert kinds["envelopRetourbericht-ggk_Du01-v21.xml"] == "Du01"
    assert kinds["soap-envelope-fo01.xml"] == "Fo01"


def test_published_example_fields(published_examples: dict[str, bytes]) -> None:
    tekst = ggk.parse_as(published_examples["envelopHeenbericht-ggk_Di01_v21-tekst.xml"], ggk.Di01)
    assert isinstance(tekst.parameters.bericht, ggk.TekstBestand)
    assert tekst.parameters.bericht.bestandsnaam == "AanleveringQ1.csv"
    assert tekst.payload == base64.b64decode("SGllciBzdGFhdCBlZW4gZHVtbXktdGVrc3RiZXJpY2h0Lg==")
    assert tekst.stuurgegevens.tijdstip == dt.datetime(2016, 4, 21, 13, 25, 14)
    du01 = ggk.parse_as(published_examples["envelopRetourbericht-ggk_Du01-v21.xml"], ggk.Du01)
    assert du01.cross_refnummer == "9c0f7b90-5c69-41e5-a837-0800200c9a66"
    assert du01.functie == "WMO302"
    fo01 = ggk.parse_as(published_examples["Fo01.xml"], ggk.Fo01)
    assert fo01.body.code == "IB210"
    assert fo01.body.details_xml == "<root/>"
    assert fo01.stuurgegevens.ontvanger.gebruiker == "gebruiker1"
    soap_di01 = ggk.unwrap_soap(published_examples["soap-envelope-di01.xml"])
    assert isinstance(soap_di01, ggk.Di01)
    assert soap_di01.payload.startswith(b"<?xml")


def test_parse_as_refuses_another_message(published_examples: dict[str, bytes]) -> None:
    with pytest.raises(ggk.EnvelopeInvalidError, match="verwacht een Du01"):
        ggk.parse_as(published_examples["Fo01.xml"], ggk.Du01)


# ------------------------------------------------------------------------------------ building


def test_new_di01_routing_and_defaults() -> None:
    di01 = ggk.new_di01(WMO401, "WMO401", "0363")
    sg = di01.stuurgegevens
    assert (sg.berichtcode, sg.zender.organisatie, sg.ontvanger.organisatie) == ("Di01", "0363", "CAK")
    assert sg.ontvanger.applicatie == "GGk"
    assert ggk.is_uuid4(sg.referentienummer)
    assert len(sg.tijdstip_bericht) == 14 and sg.tijdstip_bericht.isdigit()
    assert sg.functie == "WMO401" and sg.cross_refnummer is None
    assert di01.payload == WMO401
    assert isinstance(di01.parameters.bericht, ggk.XmlBestand)
    assert b"<GGK:xmlBestand>" + base64.b64encode(WMO401) + b"</GGK:xmlBestand>" in ggk.build(di01)


def test_answers_cross_reference_the_message() -> None:
    di01 = _di01()
    du01 = ggk.du01_for(di01, b"<retour/>", tijdstip=NOW)
    assert du01.cross_refnummer == di01.referentienummer
    assert du01.functie == "WMO402"
    assert du01.stuurgegevens.zender.organisatie == "CAK"
    assert du01.stuurgegevens.ontvanger.organisatie == "0363"
    assert du01.stuurgegevens.referentienummer != di01.referentienummer
    fo01 = ggk.fo01_for(di01, ggk.FoutCode.IB240, tijdstip=NOW)
    assert fo01.cross_refnummer == di01.referentienummer
    assert fo01.body.code == "IB240" and fo01.body.omschrijving == ggk.FoutCode.IB240.omschrijving
    assert fo01.body.details == "WMO401-00010000"
    assert fo01.stuurgegevens.ontvanger.organisatie == "0363"
    bv03 = ggk.bv03_for(du01, tijdstip=NOW)
    assert bv03.cross_refnummer == du01.referentienummer
    assert bv03.stuurgegevens.zender.organisatie == "0363"
    fo03 = ggk.fo03_for(None, "RIN001", "x" * 300, cross_refnummer="onbekend", tijdstip=NOW)
    assert len(fo03.body.omschrijving) == 200
    assert ggk.retour_functie("WMO403") == "WMO404"
    assert ggk.retour_functie("JW315") == "JW316"


def test_build_is_deterministic() -> None:
    a, b = _di01(), _di01()
    assert a == b
    assert ggk.build(a) == ggk.build(b)
    assert ggk.build(ggk.parse(ggk.build(a))) == ggk.build(a)
    assert ggk.build(a).startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<GGK:envelopHeenbericht-ggk_Di01 '
    )


def test_models_are_frozen() -> None:
    di01 = _di01()
    with pytest.raises(Exception, match="frozen"):
        di01.stuurgegevens.functie = "WMO403"  # type: ignore[misc]


def test_repr_and_errors_never_show_the_payload() -> None:
    di01 = _di01()
    assert "999900006" not in repr(di01)
    assert "999900006" not in str(di01)
    assert f"<{len(WMO401)} bytes>" in repr(di01)


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"referentienummer": "ABC"}, "referentienummer", "IB009"),
        ({"referentienummer": REF.upper()}, "referentienummer", "IB009"),
        ({"referentienummer": "9c0f7b90-5c69-11e5-a837-0800200c9a66"}, "referentienummer", "IB009"),
        ({"zender_applicatie": "ab"}, "applicatie", "RIN001"),
        ({"functie_versie": "1"}, "functie_versie", "RIN001"),
        ({"bestandsnaam": "a b.csv"}, "bestandsnaam", "RIN001"),
        ({"bestandsnaam": "a.c"}, "bestandsnaam", "RIN001"),
    ],
)
def test_bad_values_raise_an_ieb_error_naming_the_field(
    kwargs: dict[str, object], field: str, code: str
) -> None:
    with pytest.raises(ggk.EnvelopeFieldError) as info:
        _di01(**kwargs)
    assert isinstance(info.value, IebError)
    assert info.value.field is not None and info.value.field.endswith(field)
    assert info.value.code == code


def test_shape_rules_per_berichtcode() -> None:
    sg = _di01().stuurgegevens
    with pytest.raises(ggk.EnvelopeFieldError, match="crossRefnummer") as info:
        ggk.Stuurgegevens(**{**sg.model_dump(), "berichtcode": "Du01"})
    assert info.value.field == "cross_refnummer"
    with pytest.raises(ggk.EnvelopeFieldError, match="functie"):
        ggk.Stuurgegevens(**{**sg.model_dump(), "berichtcode": "Bv03", "cross_refnummer": REF})
    with pytest.raises(ggk.EnvelopeFieldError, match="verwacht Di01"):
        ggk.Di01(stuurgegevens=ggk.du01_for(_di01(), b"x").stuurgegevens, parameters=_di01().parameters)
    with pytest.raises(ggk.EnvelopeFieldError, match="XML"):
        ggk.Systeem(organisatie="03\x0163", applicatie="ieb")


def test_details_xml_round_trip_and_refusal() -> None:
    fo01 = ggk.fo01_for(_di01(), "IB240", tijdstip=NOW)
    with_xml = fo01.model_copy(
        update={"body": fo01.body.model_copy(update={"details_xml": '<a xmlns="urn:x"><b>1</b></a><c/>'})}
    )
    assert ggk.parse(ggk.build(with_xml)) == with_xml
    bad = fo01.model_copy(update={"body": fo01.body.model_copy(update={"details_xml": "tekst"})})
    with pytest.raises(ggk.EnvelopeFieldError, match="details_xml"):
        ggk.build(bad)
    bad = fo01.model_copy(update={"body": fo01.body.model_copy(update={"details_xml": "<a>"})})
    with pytest.raises(ggk.EnvelopeFieldError, match="details_xml"):
        ggk.build(bad)


# ------------------------------------------------------------------------------------- parsing


def test_schema_invalid_envelope_lists_every_error() -> None:
    data = ggk.build(_di01()).replace(b"<StUF:functie>WMO401</StUF:functie>", b"").replace(b"0001", b"1")
    with pytest.raises(ggk.EnvelopeInvalidError) as info:
        ggk.parse(data)
    assert info.value.code == "RIN001"
    issues = info.value.issues
    assert len(issues) >= 2 and all(i.code == "RIN001" and i.message for i in issues)
    assert not hasattr(info.value, "errors")  # the 0.1 name is gone; .issues is the one list


def test_unknown_root_and_not_xml() -> None:
    with pytest.raises(ggk.EnvelopeInvalidError, match="onbekend berichttype"):
        ggk.parse(b"<a/>")
    with pytest.raises(ggk.HostileXmlError, match="goedgevormde"):
        ggk.parse(b"<a>")
    with pytest.raises(TypeError):
        ggk.parse("<a/>")  # type: ignore[arg-type]


def test_size_limit_is_checked_before_parsing() -> None:
    data = ggk.build(_di01())
    with pytest.raises(ggk.EnvelopeTooLargeError) as info:
        ggk.parse(data, max_bytes=len(data) - 1)
    assert info.value.code == "IB007"
    assert isinstance(info.value, XmlSecurityError)
    assert ggk.parse(data, max_bytes=len(data)) == _di01()
    # the default limit is 25 MB: 25 MB + 1 byte of garbage is refused without being parsed
    with pytest.raises(ggk.EnvelopeTooLargeError):
        ggk.parse(b"<" * (25 * 1024 * 1024 + 1))
    assert ggk.MAX_ENVELOPE_BYTES == 25 * 1024 * 1024


# ----------------------------------------------------------------------------------------- SOAP


def test_soap_wrap_unwrap_and_actions() -> None:
    di01 = _di01()
    data = ggk.wrap_soap(di01)
    root = etree.fromstring(data)
    assert root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
    assert ggk.unwrap_soap(data) == di01
    assert ggk.operation_for(di01) == "ggk_Di01"
    assert ggk.soap_action_for(di01) == "http://www.stufstandaarden.nl/koppelvlak/ggk0210/ggk_Di01"
    du01 = ggk.du01_for(di01, b"<r/>")
    assert ggk.soap_action_for(du01).endswith("/ggk_Du01")
    assert ggk.soap_action_for(ggk.fo01_for(di01, "IB009")) == "http://www.egem.nl/StUF/StUF0301/Fo01"
    with pytest.raises(ggk.SoapError):
        ggk.operation_for(ggk.bv03_for(di01))
    bv03 = ggk.bv03_for(di01, tijdstip=NOW)
    assert ggk.unwrap_soap(ggk.wrap_soap(bv03)) == bv03
    tree = ggk.soap_envelope(di01, headers=[etree.Element("{urn:h}To")])
    assert tree[0][0].tag == "{urn:h}To"


def test_soap_fault_carries_fo03() -> None:
    fo03 = ggk.fo03_for(_di01(), ggk.FoutCode.IB009, tijdstip=NOW)
    data = ggk.soap_fault(fo03)
    assert b"<faultcode>soapenv:Client</faultcode>" in data
    assert ggk.unwrap_soap(data) == fo03
    server = fo03.model_copy(update={"body": fo03.body.model_copy(update={"plek": "server"})})
    assert b"soapenv:Server" in ggk.soap_fault(server)
    plain = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
        b"<faultcode>s:Server</faultcode><faultstring>kapot</faultstring></s:Fault></s:Body></s:Envelope>"
    )
    with pytest.raises(ggk.SoapFaultError) as info:
        ggk.unwrap_soap(plain)
    assert info.value.faultstring == "kapot"


@pytest.mark.parametrize(
    "data",
    [
        b"<a/>",
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>',
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>',
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a/><b/></s:Body></s:Envelope>',
    ],
)
def test_bad_soap_is_refused(data: bytes) -> None:
    with pytest.raises(ggk.SoapError):
        ggk.unwrap_soap(data)


# ----------------------------------------------------------------------------------- properties

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff"), max_size=30
).filter(lambda s: not any(ord(c) < 32 and c not in "\t\n\r" for c in s))
_appl = _text.filter(lambda s: 3 <= len(s) <= 50)
_versie = st.text(alphabet=string.digits, min_size=4, max_size=4)
_uuid4 = st.uuids(version=4).map(str)
_systeem = st.builds(
    ggk.Systeem,
    organisatie=st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=10),
    applicatie=_appl,
    administratie=st.none() | _text,
    gebruiker=st.none() | _text,
)
_tijdstip = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 1, 1)).map(
    ggk.format_tijdstip
)
_bericht = st.one_of(
    st.builds(ggk.XmlBestand, inhoud=st.binary(max_size=200)),
    st.builds(
        ggk.TekstBestand,
        inhoud=st.binary(max_size=200),
        bestandsnaam=st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=4, max_size=40),
    ),
)
_parameters = st.builds(
    ggk.Parameters,
    applicatie_versie=_versie,
    applicatie_subversie=_versie,
    functie_versie=_versie,
    functie_subversie=_versie,
    bericht=_bericht,
)


@st.composite
def _envelopes(draw: st.DrawFn) -> ggk.Envelope:
    kind = draw(st.sampled_from(["Di01", "Du01", "Fo01", "Fo03", "Bv03"]))
    ggk_kind = kind in ("Di01", "Du01")
    sg = ggk.Stuurgegevens(
        berichtcode=kind,  # type: ignore[arg-type]
        zender=draw(_systeem),
        ontvanger=draw(_systeem),
        referentienummer=draw(_uuid4),
        tijdstip_bericht=draw(_tijdstip),
        cross_refnummer=None if kind == "Di01" else draw(_uuid4),
        functie=draw(st.sampled_from(["WMO401", "WMO402", "WMO403", "WMO404"])) if ggk_kind else None,
    )
    if kind == "Di01":
        return ggk.Di01(stuurgegevens=sg, parameters=draw(_parameters))
    if kind == "Du01":
        return ggk.Du01(stuurgegevens=sg, parameters=draw(_parameters))
    if kind == "Bv03":
        return ggk.Bv03(stuurgegevens=sg)
    body = ggk.Foutbericht(
        code=draw(st.sampled_from(list(ggk.FoutCode))).value,
        plek=draw(st.sampled_from(["client", "server"])),
        omschrijving=draw(_text),
        details=draw(st.none() | _text),
        details_xml=draw(st.sampled_from([None, "", "<root/>", '<x:a xmlns:x="urn:x">1</x:a>'])),
    )
    return ggk.Fo01(stuurgegevens=sg, body=body) if kind == "Fo01" else ggk.Fo03(stuurgegevens=sg, body=body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_envelopes())
def test_round_trip_build_parse_is_identity(envelope: ggk.Envelope) -> None:
    data = ggk.build(envelope)
    assert ggk.parse(data) == envelope
    assert ggk.build(ggk.parse(data)) == data
    if not isinstance(envelope, ggk.Bv03 | ggk.Fo03):
        assert ggk.unwrap_soap(ggk.wrap_soap(envelope)) == envelope


@settings(max_examples=60, deadline=None)
@given(_envelopes())
def test_generated_envelopes_are_valid_under_the_published_schema(
    envelope: ggk.Envelope,
) -> None:
    from ggk_samples import GGK_REFERENCE

    schema = _published(str(GGK_REFERENCE / "ggk0210" / "ggkberichten" / "ggk0210_msg_ggkberichten.xsd"))
    assert schema.validate(etree.fromstring(ggk.build(envelope)))


_SCHEMAS: dict[str, etree.XMLSchema] = {}


def _published(path: str) -> etree.XMLSchema:
    if path not in _SCHEMAS:
        try:
            _SCHEMAS[path] = etree.XMLSchema(etree.parse(path))
        except OSError:
            pytest.skip(MISSING)
    return _SCHEMAS[path]


def test_an_envelope_just_under_25_mb_parses() -> None:
    """The whole file is one base64 text node, beyond libxml2's 10 MB default for a text node."""
    payload = b"<a>" + b"x" * (18 * 1024 * 1024) + b"</a>"
    di01 = _di01(referentienummer=REF).model_copy(
        update={
            "parameters": _di01().parameters.model_copy(update={"bericht": ggk.XmlBestand(inhoud=payload)})
        }
    )
    data = ggk.build(di01)
    assert 24 * 1024 * 1024 < len(data) <= ggk.MAX_ENVELOPE_BYTES
    assert ggk.parse(data).payload == payload
    with pytest.raises(ggk.EnvelopeTooLargeError):
        ggk.parse(data + b" " * (ggk.MAX_ENVELOPE_BYTES - len(data) + 1))
