"""The ieb-4.0 stand-in schema, the binding and the binding-driven codec (issue 20, step 1)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ieb.errors import ConfigurationError, MessageInvalidError
from ieb.messages.base import InvalidModelError
from ieb.releases.ieb_4_0 import STAND_IN_DIR, Wmo405, Wmo406, Wmo407, Wmo408, build, from_xml, to_xml
from ieb.releases.ieb_4_0.binding import load_binding
from ieb.releases.ieb_4_0.codec import validate_xsd
from ieb.releases.ieb_4_0.models import model_class
from ieb.xmlsafe import schema_parser

BSN = "999990019"  # test BSN (11-proef)
HEADER: dict[str, Any] = {"afzender": "0363", "identificatie": "ID-1", "dagtekening": dt.date(2026, 5, 20)}
RETOUR: dict[str, Any] = {"identificatie_retour": "R-1", "dagtekening_retour": dt.date(2026, 5, 21)}

SAMPLES: list[tuple[type[Any], dict[str, Any]]] = [
    (
        Wmo405,
        {"bsn": BSN, "eb_start_nummer": 7, "eb_startdatum": dt.date(2026, 5, 1), "status_aanlevering": "1"},
    ),
    (
        Wmo405,
        {
            "bsn": BSN,
            "eb_start_nummer": 7,
            "eb_startdatum": dt.date(2026, 5, 1),
            "eb_stopdatum": dt.date(2026, 8, 31),
            "kostprijs_bedrag": 57000,
            "kostprijs_startdatum": dt.date(2026, 5, 1),
            "status_aanlevering": "2",
        },
    ),
    (
        Wmo407,
        {"bsn": BSN, "eb_start_nummer": 3, "bw_startdatum": dt.date(2026, 1, 1), "status_aanlevering": "1"},
    ),
    (Wmo406, {**RETOUR, "retour_codes_header": ("0200",)}),
    (
        Wmo406,
        {
            **RETOUR,
            "bsn": BSN,
            "eb_start_nummer": 7,
            "eb_startdatum": dt.date(2026, 5, 1),
            "status_aanlevering": "1",
            "retour_codes_periode": ("9393", "0001"),
            "retour_codes_client": ("0200",),
        },
    ),
    (
        Wmo408,
        {
            **RETOUR,
            "bsn": BSN,
            "eb_start_nummer": 3,
            "bw_startdatum": dt.date(2026, 1, 1),
            "bw_stopdatum": dt.date(2026, 6, 30),
            "status_aanlevering": "2",
            "retour_codes_periode": ("9395",),
            "retour_codes_client": ("0200",),
        },
    ),
]


@pytest.mark.parametrize("name", ["basisschema", "WMO405", "WMO406", "WMO407", "WMO408"])
def test_every_standin_xsd_compiles_and_says_it_is_a_standin(name: str) -> None:
    path = STAND_IN_DIR / f"{name}.xsd"
    text = path.read_text(encoding="utf-8")
    assert "STAND-IN" in text and "ASSUMED" in text
    etree.XMLSchema(etree.parse(str(path), schema_parser()))


@pytest.mark.parametrize(("cls", "values"), SAMPLES)
def test_models_round_trip_through_the_standin_xsd(cls: type[Any], values: dict[str, Any]) -> None:
    model = build(cls, **HEADER, **values)
    data = to_xml(model)
    assert to_xml(model) == data  # deterministic
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n') and data.endswith(b"\n")
    bericht, _root, issues = validate_xsd(data)
    assert (bericht, issues) == (cls.bericht, [])
    back = from_xml(data)
    assert type(back) is cls
    for key, value in values.items():
        assert getattr(back, key) == value
    # the fill lines come from the XSD: BerichtCode, versions
    assert back.bericht_code is not None and back.bericht_versie == 1 and back.bericht_xsd_versie == "4.0.0"


def test_start_and_stop_travel_in_one_wmo405_record() -> None:
    data = to_xml(build(Wmo405, **HEADER, **SAMPLES[1][1]))
    root = etree.fromstring(data)
    records = root.findall(".//{*}PeriodeEigenBijdrageAbo")
    assert len(records) == 1
    names = [etree.QName(c).localname for c in records[0]]
    assert names == ["EbStartNummer", "EbStartdatum", "EbStopdatum", "EbKostprijs", "StatusAanlevering"]


def test_every_model_field_is_bound_and_every_binding_line_names_a_model_field() -> None:
    bindings = load_binding()
    assert set(bindings) == {"WMO405", "WMO406", "WMO407", "WMO408"}
    for name, binding in bindings.items():
        fields = set(model_class(name).model_fields)
        assert set(binding.fields) == fields, name


def test_half_a_kostprijs_is_refused_in_dutch() -> None:
    values = {**SAMPLES[0][1], "kostprijs_bedrag": 100}
    with pytest.raises(InvalidModelError, match="KostprijsStartdatum"):
        build(Wmo405, **HEADER, **values)


def test_an_invalid_bsn_is_refused_and_masked() -> None:
    values = {**SAMPLES[0][1], "bsn": "999990018"}
    with pytest.raises(InvalidModelError) as info:
        build(Wmo405, **HEADER, **values)
    assert "999990018" not in str(info.value) and "11-proef" in str(info.value)


def test_an_xsd_invalid_payload_gives_level_1_xsd_issues() -> None:
    data = to_xml(build(Wmo405, **HEADER, **SAMPLES[0][1])).replace(
        b"<wmo405:EbStartNummer>7<", b"<wmo405:EbStartNummer>x<"
    )
    bericht, _root, issues = validate_xsd(data)
    assert bericht == "WMO405" and [i.code for i in issues] == ["XSD"] and issues[0].retourcode == "0001"
    with pytest.raises(MessageInvalidError):
        from_xml(data)


def test_a_1_0_file_is_no_4_0_message() -> None:
    from ieb import codec
    from ieb.messages import Wmo401

    wmo401 = Wmo401.build(bsn=BSN, eb_start_nummer=7, eb_startdatum=dt.date(2026, 5, 1), **HEADER)
    data = codec.to_xml(wmo401)
    bericht, _root, issues = validate_xsd(data)
    assert bericht is None and issues and "geen iEb 4.0-bericht" in issues[0].message


def test_the_codec_follows_a_folder_with_another_namespace_and_order(standin_copy: Path) -> None:
    xsd = standin_copy / "WMO405.xsd"
    text = xsd.read_text(encoding="utf-8").replace("4_0/wmo405", "4_0_officieel/wmo405")
    stop = '      <xs:element name="EbStopdatum" type="ieb:LDT_Datum" minOccurs="0"/>\n'
    text = text.replace(stop, "").replace(
        '      <xs:element name="StatusAanlevering"', stop + '      <xs:element name="StatusAanlevering"'
    )
    xsd.write_text(text, encoding="utf-8")
    model = build(Wmo405, **HEADER, **SAMPLES[1][1])
    data = to_xml(model, standin_copy)
    assert b"4_0_officieel/wmo405" in data
    assert validate_xsd(data, standin_copy)[2] == []
    assert validate_xsd(data)[2]  # not valid against the stand-in any more
    assert from_xml(data, standin_copy) == from_xml(to_xml(model))


def test_a_bad_binding_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "binding.toml"
    bad.write_text(
        '[WMO405]\nroot = "Bericht"\nbsn = { path = "Client/Bsn", type = "getal" }\n', encoding="utf-8"
    )
    with pytest.raises(ConfigurationError, match=r"binding.toml:3: type 'getal'"):
        load_binding(bad)
