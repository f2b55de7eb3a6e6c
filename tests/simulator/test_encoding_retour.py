"""Field kind (2026-12): a heenbericht that breaks OP192 only by its encoding still gets its retour.

A file saved by a Windows tool with a byte order mark, in UTF-16/UTF-32, with a declared ISO-8859-1
or windows-1252, or with bytes that are not UTF-8 is a level-1 fault (OP192), but its Header is
readable. IV028 promises one retour per heenbericht: header + 0001, valid under the PUBLISHED retour
XSD, carrying the heenbericht's own Afzender and BerichtIdentificatie so the gemeente can match it.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from ieb.cli import app
from ieb.codec import to_xml
from ieb.messages import Wmo401, Wmo403
from ieb.simulator import CakSimulator
from tests.migrated import migrated_sqlite_file
from tests.reference import IEB_REFERENCE, MISSING

pytestmark = pytest.mark.skipif(not (IEB_REFERENCE / "WMO402.xsd").is_file(), reason=MISSING)
TODAY = dt.date(2026, 6, 1)


def _start(identificatie: str = "ENC-0001") -> bytes:
    return to_xml(
        Wmo401.build(
            afzender="0363",
            identificatie=identificatie,
            dagtekening=dt.date(2026, 5, 20),
            bsn="999990020",
            eb_start_nummer=7,
            eb_startdatum=dt.date(2026, 5, 1),
        )
    )


def _stop() -> bytes:
    return to_xml(
        Wmo403.build(
            afzender="0518",
            identificatie="ENC-STOP",
            dagtekening=dt.date(2026, 5, 20),
            bsn="999990020",
            eb_start_nummer=7,
            eb_stopdatum=dt.date(2026, 5, 31),
        )
    )


def _declared(data: bytes, encoding: str) -> bytes:
    return data.replace(b'encoding="UTF-8"', f'encoding="{encoding}"'.encode(), 1)


def _body(data: bytes) -> str:
    """The document without its XML declaration (to re-encode in another encoding)."""
    text = data.decode("utf-8")
    return text[text.index("?>") + 2 :].lstrip()


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


CASES = {
    "utf8-bom": lambda d: codecs.BOM_UTF8 + d,
    "utf8-bom-crlf": lambda d: codecs.BOM_UTF8 + _crlf(d),
    "utf16-le-bom": lambda d: codecs.BOM_UTF16_LE + _declared(d, "UTF-16").decode().encode("utf-16-le"),
    "utf16-be-bom": lambda d: codecs.BOM_UTF16_BE + _declared(d, "UTF-16").decode().encode("utf-16-be"),
    "utf16-le-no-bom": lambda d: _declared(d, "UTF-16").decode().encode("utf-16-le"),
    "utf16-no-declaration": lambda d: _body(d).encode("utf-16"),
    "utf32-bom": lambda d: _declared(d, "UTF-32").decode().encode("utf-32"),
    "declared-latin1": lambda d: _crlf(_declared(d, "ISO-8859-1")),
    "declared-windows-1252": lambda d: _declared(d, "windows-1252"),
    "declared-cp1252-lowercase": lambda d: _declared(d, "cp1252"),
    "declared-utf16-but-ascii": lambda d: _declared(d, "UTF-16"),
    "latin1-bytes-undeclared": lambda d: d.replace(
        b"</wmo401:Bericht>", "<!-- M\xfcnster -->".encode("latin-1") + b"</wmo401:Bericht>"
    ).replace(b"</wmo403:Bericht>", "<!-- M\xfcnster -->".encode("latin-1") + b"</wmo403:Bericht>"),
    # a hostile declaration naming a bytes-to-bytes codec is read as UTF-8, never decoded with it
    "declared-base64-codec": lambda d: _declared(d, "base64"),
    "declared-unknown": lambda d: _declared(d, "x-no-such-encoding"),
}


@functools.cache  # compiled once per schema (read-only; ~0.1 s each)
def _published(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(IEB_REFERENCE / f"{name}.xsd")))


def _text(root: etree._Element, local: str) -> str | None:
    found = [e.text for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local]
    return found[0] if found else None


@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize(
    ("heen", "retour", "afzender", "identificatie"),
    [
        (_start, "WMO402", "0363", "ENC-0001"),
        (_stop, "WMO404", "0518", "ENC-STOP"),
    ],
)
def test_op192_by_encoding_gets_a_retour_with_its_own_header(
    tmp_path: Path, kind: str, heen: object, retour: str, afzender: str, identificatie: str
) -> None:
    data = CASES[kind](heen())  # type: ignore[operator]
    sim = CakSimulator(migrated_sqlite_file(tmp_path / "cak.sqlite"), today=TODAY)
    try:
        result = sim.process(data)
    finally:
        sim.close()
    assert result.verdict == "technical", result
    assert result.level == 1 and result.codes == ("0001",)
    assert result.issues and result.issues[0].code == "OP192"
    assert result.retour is not None
    root = etree.fromstring(result.retour)
    assert etree.QName(root).namespace.split("/")[-2].upper() == retour  # type: ignore[union-attr]
    schema = _published(retour)
    assert schema.validate(root), schema.error_log
    assert _text(root, "Afzender") == afzender
    assert _text(root, "Identificatie") == identificatie
    assert _text(root, "Dagtekening") == "2026-05-20"
    assert _text(root, "RetourCode") == "0001"
    assert result.reason is None  # every header value copied, none replaced


def test_undecodable_identificatie_is_replaced_not_dropped(tmp_path: Path) -> None:
    # bytes in the Identificatie that are not UTF-8 and not declared: the retour still comes, with
    # the value as it reads (U+FFFD for the bad byte) - the XSD type allows it
    data = _start("AMS-\xe9T\xe9").replace(b"AMS-\xc3\xa9T\xc3\xa9", b"AMS-\xe9T\xe9")
    sim = CakSimulator(migrated_sqlite_file(tmp_path / "cak.sqlite"), today=TODAY)
    try:
        result = sim.process(data)
    finally:
        sim.close()
    assert result.verdict == "technical" and result.retour is not None
    root = etree.fromstring(result.retour)
    assert _published("WMO402").validate(root)
    assert _text(root, "Afzender") == "0363"
    assert _text(root, "Identificatie") == "AMS-\ufffdT\ufffd"


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + b"not xml at all",
        codecs.BOM_UTF16_LE + "<a><b></a>".encode("utf-16-le"),
        codecs.BOM_UTF8 + b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>',
        codecs.BOM_UTF8 + b"<x xmlns='urn:other'/>",
    ],
    ids=["bom-junk", "utf16-not-well-formed", "bom-dtd", "bom-foreign-root"],
)
def test_unreadable_behind_op192_stays_without_retour(tmp_path: Path, data: bytes) -> None:
    sim = CakSimulator(migrated_sqlite_file(tmp_path / "cak.sqlite"), today=TODAY)
    try:
        result = sim.process(data)
    finally:
        sim.close()
    assert result.verdict == "no_retour" and result.retour is None
    assert result.reason is not None and result.reason.startswith("kop onleesbaar")


def test_functie_from_the_envelope_still_names_the_retour(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + b"garbage"
    sim = CakSimulator(migrated_sqlite_file(tmp_path / "cak.sqlite"), today=TODAY)
    try:
        result = sim.process(data, functie="WMO401")
    finally:
        sim.close()
    assert result.verdict == "technical" and result.retour is not None
    assert _published("WMO402").validate(etree.fromstring(result.retour))


def test_simulate_process_writes_the_retour(tmp_path: Path) -> None:
    heen = tmp_path / "bom_wmo401.xml"
    heen.write_bytes(codecs.BOM_UTF8 + _crlf(_start("AMS-BOM-0001")))
    out = tmp_path / "out"
    run = CliRunner().invoke(
        app,
        [
            "simulate",
            "process",
            "--state",
            str(tmp_path / "cak.sqlite"),
            "--out",
            str(out),
            "--today",
            TODAY.isoformat(),
            str(heen),
        ],
    )
    assert run.exit_code == 0, run.output
    retours = sorted(out.glob("*.xml"))
    assert [p.name for p in retours] == ["bom_wmo401.retour.xml"]
    root = etree.parse(str(retours[0])).getroot()
    assert _published("WMO402").validate(root)
    assert _text(root, "Identificatie") == "AMS-BOM-0001"
    assert not list(out.glob("*.geen-retour.txt"))
