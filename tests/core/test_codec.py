import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ieb.codec import from_xml, to_xml
from ieb.errors import MessageInvalidError
from ieb.messages import Wmo401, Wmo402, Wmo403, Wmo404
from ieb.releases import get_release
from ieb.testing.strategies import messages
from ieb.xmlsafe import parse_bytes

SAMPLES = Path(__file__).parent / "samples"


def _msg() -> Wmo401:
    return Wmo401.build(
        afzender="0363",
        identificatie="AMS-000001",
        dagtekening=dt.date(2026, 5, 20),
        bsn="999900006",
        eb_start_nummer=42,
        eb_startdatum=dt.date(2026, 5, 1),
        kostprijs_bedrag=57000,
        kostprijs_startdatum=dt.date(2026, 5, 1),
    )


def test_output_is_utf8_without_bom_and_deterministic() -> None:
    data = to_xml(_msg())
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<wmo401:Bericht')
    assert data == to_xml(_msg())
    assert b"<ieb:KostprijsBedrag>57000</ieb:KostprijsBedrag>" in data
    assert b"<wmo401:EbStartNummer>42</wmo401:EbStartNummer>" in data


def test_round_trip_is_identity() -> None:
    m = _msg()
    assert from_xml(to_xml(m), today=dt.date(2026, 6, 1)) == m


@pytest.mark.parametrize(
    "name", ["valid/wmo401-default-namespace.xml", "valid/wmo401-other-prefix.xml", "valid/wmo401-start.xml"]
)
def test_other_prefixes_or_default_namespace_parse_the_same(name: str) -> None:
    m = from_xml((SAMPLES / name).read_bytes(), today=dt.date(2026, 6, 1))
    assert isinstance(m, Wmo401)
    assert m.client.bsn == "999900006"
    assert m.client.start_eigen_bijdrage.eb_start_nummer == 1001


def test_retours_parse_with_codes() -> None:
    m = from_xml((SAMPLES / "valid/wmo402-level3.xml").read_bytes(), today=dt.date(2026, 6, 1))
    assert isinstance(m, Wmo402) and m.client is not None
    assert [c.value for c in m.client.start_eigen_bijdrage.retour_codes] == ["9102"]
    assert [c.value for c in m.client.retour_codes] == ["0200"]
    h = from_xml((SAMPLES / "valid/wmo404-accepted.xml").read_bytes())
    assert isinstance(h, Wmo404) and h.client is None and h.header.retour_codes == ()


def test_invalid_input_raises_with_every_issue() -> None:
    with pytest.raises(MessageInvalidError) as info:
        from_xml((SAMPLES / "invalid/cs002-bsn-11proef.xml").read_bytes(), today=dt.date(2026, 6, 1))
    assert [i.code for i in info.value.issues] == ["CS002"]
    assert "999900007" not in str(info.value)


def test_model_refuses_wrong_berichtcode() -> None:
    data = _msg().model_dump()
    data["header"]["bericht_code"] = "472"
    with pytest.raises(ValueError, match="CS126"):
        Wmo401.model_validate(data)


def test_models_are_frozen() -> None:
    m = _msg()
    with pytest.raises(ValueError):
        m.client = None  # type: ignore[assignment]


def test_wmo403_build() -> None:
    m = Wmo403.build(
        afzender="0363",
        identificatie="S1",
        dagtekening=dt.date(2026, 5, 20),
        bsn="999900018",
        eb_start_nummer=1,
        eb_stopdatum=dt.date(2026, 5, 31),
        status="2",
    )
    assert from_xml(to_xml(m), today=dt.date(2026, 6, 1)) == m


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_generated_messages_are_valid_and_round_trip(message: Wmo401 | Wmo402 | Wmo403 | Wmo404) -> None:
    data = to_xml(message)
    root = parse_bytes(data)
    assert get_release().message(message.bericht).schema.validate(root)
    assert from_xml(data, today=message.header.bericht_identificatie.dagtekening) == message
