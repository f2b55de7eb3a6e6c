"""Issue 10, kinds 1, 2 and 4: values read as the XSD reads them, total dates, encodings and sizes.

Each field case of 2026-11 is a test here, with more cases of the same kind beside it."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from ieb.codec import from_xml, to_xml
from ieb.errors import IebError, MessageInvalidError
from ieb.messages import Wmo401
from ieb.messages.base import InvalidModelError
from ieb.validation import validate_bytes

SAMPLES = Path(__file__).parent / "samples"
FIELD = Path(__file__).parent / "field-2026-11"
VALID = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()
STOP = (SAMPLES / "valid" / "wmo403-stop.xml").read_bytes()
KOSTPRIJS = (SAMPLES / "valid" / "wmo401-kostprijs.xml").read_bytes()
TODAY = dt.date(2026, 6, 1)
ROOT = Path(__file__).resolve().parents[2]


@cache
def _published(reference: Path, name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(reference / "ieb-1.0" / f"{name}.xsd")))


def _swap(data: bytes, element: str, value: bytes) -> bytes:
    """Replace the content of the first ``<...:element>`` in ``data``."""
    start = data.index(b":" + element.encode() + b">") + len(element) + 2
    end = data.index(b"</", start)
    return data[:start] + value + data[end:]


def _value(data: bytes, element: str) -> bytes:
    start = data.index(b":" + element.encode() + b">") + len(element) + 2
    return data[start : data.index(b"</", start)]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ieb", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


# ---------------------------------------------------------------- kind 1: the value reader


def test_field_comment_split_bsn_is_cs002() -> None:
    data = (FIELD / "comment_split_bsn.xml").read_bytes()
    report = validate_bytes(data, today=TODAY)
    assert report.codes == ["CS002"]
    with pytest.raises(MessageInvalidError) as info:
        from_xml(data, today=TODAY)
    assert [i.code for i in info.value.issues] == ["CS002"]
    assert "999900007" not in str(info.value) + repr(report.issues)


def test_field_comment_before_status_is_valid() -> None:
    data = (FIELD / "comment_before_status.xml").read_bytes()
    assert validate_bytes(data, today=TODAY).valid
    message = from_xml(data, today=TODAY)
    assert isinstance(message, Wmo401)
    assert message.client.start_eigen_bijdrage.status_aanlevering.value == "1"


def test_field_whitespace_dagtekening_reads_and_shows() -> None:
    path = FIELD / "wmo401_ws_dagtekening_show.xml"
    assert validate_bytes(path.read_bytes(), today=TODAY).valid
    message = from_xml(path.read_bytes(), today=TODAY)
    assert message.header.bericht_identificatie.dagtekening == dt.date(2026, 5, 20)
    shown = _cli("show", str(path))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "2026-05-20" in shown.stdout and "Traceback" not in shown.stderr


# (element, value, what the model holds) for values the XSD accepts in other spellings
EQUIVALENT = [
    ("Bsn", b"9999<!--x-->00006", ("bsn", "999900006")),
    ("Bsn", b"9999<?pi x?>00006", ("bsn", "999900006")),
    ("Bsn", b"<![CDATA[999900006]]>", ("bsn", "999900006")),
    ("Bsn", b"<![CDATA[9999]]>00006", ("bsn", "999900006")),
    ("EbStartNummer", b"+1", ("nummer", 1)),
    ("EbStartNummer", b"0001", ("nummer", 1)),
    ("EbStartNummer", b" \n\t+0001  ", ("nummer", 1)),
    ("EbStartNummer", b"1<!--a--><?b c?>", ("nummer", 1)),
    ("EbStartNummer", b"-0", ("nummer", 0)),
    ("Dagtekening", b"\n  2026-05-20\t", ("dagtekening", dt.date(2026, 5, 20))),
    ("Dagtekening", b"2026-<!--x-->05-20", ("dagtekening", dt.date(2026, 5, 20))),
    ("Dagtekening", b"2026-05-20&#32;", ("dagtekening", dt.date(2026, 5, 20))),
    ("EbStartdatum", b"<?x?> 2026-05-01 ", ("startdatum", dt.date(2026, 5, 1))),
    ("StatusAanlevering", b"<!--x-->1<!--y-->", ("status", "1")),
    ("StatusAanlevering", b"<![CDATA[1]]>", ("status", "1")),
    ("BerichtSubversie", b" 0\n", ("subversie", 0)),
    ("BerichtVersie", b"\t1<!--x--> ", ("versie", 1)),
    ("Afzender", b"03<!--x-->63", ("afzender", "0363")),
    ("Identificatie", b"T-<!--x-->1", ("identificatie", "T-1")),
    ("Identificatie", " \u00a0 ".encode(), ("identificatie", " \u00a0 ")),  # NBSP is no XSD whitespace
]


def _field(message: Wmo401, what: str) -> object:
    h, k = message.header, message.client.start_eigen_bijdrage
    return {
        "bsn": str(message.client.bsn),
        "nummer": k.eb_start_nummer,
        "dagtekening": h.bericht_identificatie.dagtekening,
        "startdatum": k.eb_startdatum,
        "status": k.status_aanlevering.value,
        "subversie": h.bericht_subversie,
        "versie": h.bericht_versie,
        "afzender": str(h.afzender),
        "identificatie": str(h.bericht_identificatie.identificatie),
    }[what]


@pytest.mark.parametrize(
    ("element", "value", "expected"), EQUIVALENT, ids=[repr(v) for _, v, _ in EQUIVALENT]
)
def test_equivalent_spellings_are_one_value(
    element: str, value: bytes, expected: tuple[str, object], reference_dir: Path
) -> None:
    data = _swap(VALID, element, value)
    assert _published(reference_dir, "WMO401").validate(etree.fromstring(data)), "case must be XSD-valid"
    report = validate_bytes(data, today=TODAY)
    assert report.valid, report.issues
    message = from_xml(data, today=TODAY)
    assert isinstance(message, Wmo401)
    what, want = expected
    assert _field(message, what) == want


def test_kostprijs_bedrag_with_sign_and_zeros() -> None:
    bedrag = int(_value(KOSTPRIJS, "KostprijsBedrag"))
    data = _swap(KOSTPRIJS, "KostprijsBedrag", b" +000" + str(bedrag).encode() + b" ")
    assert validate_bytes(data, today=TODAY).valid
    message = from_xml(data, today=TODAY)
    assert isinstance(message, Wmo401)
    assert message.client.start_eigen_bijdrage.eb_kostprijs is not None
    assert message.client.start_eigen_bijdrage.eb_kostprijs.kostprijs_bedrag == bedrag


# values the XSD refuses: the validator says level 1 and from_xml refuses; nothing crashes
REFUSED = [
    ("Bsn", b" 999900006"),
    ("Bsn", b"999900006\n"),
    ("StatusAanlevering", b" 1"),
    ("EbStartNummer", b"1 2"),
    ("EbStartNummer", b"1_0"),
    ("EbStartNummer", "\u0661".encode()),
    ("EbStartNummer", b"+"),
    ("EbStartNummer", b"9" * 5000),
    ("Dagtekening", "\u00a02026-05-20".encode()),
    ("Dagtekening", b"2026-05-20Z"),
    ("Dagtekening", b"2026-05-20+01:00"),
    ("Dagtekening", b"0000-01-01"),
    ("Dagtekening", b"02026-05-20"),
    ("Dagtekening", b"+2026-05-20"),
    ("Dagtekening", b"2026-02-29"),
    ("Dagtekening", b"99999999999999999999-01-01"),
    ("Afzender", b"+0363"),
    ("Identificatie", b" \t\r\n "),
    ("BerichtSubversie", b"00"),  # the message XSD's pattern "0" reads the lexical form
    ("BerichtVersie", b"+1"),
]


@pytest.mark.parametrize(("element", "value"), REFUSED, ids=[repr(v[:20]) for _, v in REFUSED])
def test_refused_spellings(element: str, value: bytes, reference_dir: Path) -> None:
    data = _swap(VALID, element, value)
    assert not _published(reference_dir, "WMO401").validate(etree.fromstring(data))
    report = validate_bytes(data, today=TODAY)
    assert report.level == 1
    with pytest.raises(MessageInvalidError):
        from_xml(data, today=TODAY)
    for mode in ("lax", "skip"):
        try:
            from_xml(data, today=TODAY, validation=mode)  # type: ignore[arg-type]
        except IebError:
            pass


# ---------------------------------------------------------------- kind 2: total dates


def test_field_dagtekening_0001_is_tr113_as_json() -> None:
    path = FIELD / "dagtekening_0001.xml"
    # CS300 (level 3) may add that 0363 is no gemeente in year 1: the bundled list is h10b's
    assert set(validate_bytes(path.read_bytes(), today=TODAY).codes) - {"CS300"} == {"TR113"}
    run = _cli("validate", "--format", "json", "--today", "2026-06-01", str(path))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    out = json.loads(run.stdout)
    assert {i["code"] for i in out["files"][0]["issues"]} - {"CS300"} == {"TR113"}


def test_field_year5_startdatum_is_tr113() -> None:
    data = (FIELD / "year5_startdatum.xml").read_bytes()
    assert "TR113" in validate_bytes(data, today=TODAY).codes
    with pytest.raises(MessageInvalidError):
        from_xml(data, today=TODAY)


def _dated(dagtekening: bytes, startdatum: bytes, status: bytes = b"1", base: bytes = VALID) -> bytes:
    data = _swap(base, "Dagtekening", dagtekening)
    data = _swap(data, "EbStartdatum" if b"EbStartdatum" in base else "EbStopdatum", startdatum)
    return _swap(data, "StatusAanlevering", status)


@pytest.mark.parametrize(
    ("dagtekening", "datum", "status", "codes"),
    [
        (b"0001-01-01", b"2026-05-01", b"1", {"TR113"}),
        (b"0001-01-31", b"0001-01-01", b"1", {"CS332"}),
        (b"9999-12-31", b"9999-12-31", b"1", {"8848"}),
        (b"2026-05-20", b"12026-05-01", b"1", {"TR113"}),
        (b"2026-05-20", b"-2026-05-01", b"1", {"CS332", "TR112"}),
        (b"2026-05-20", b"-0004-02-29", b"2", {"CS332"}),
        (b"2026-05-20", b"10000-02-29", b"2", {"IEB-DATUM"}),
        (b"12026-05-20", b"2026-05-01", b"2", {"8848", "IEB-DATUM"}),
        (b"12026-05-20", b"12026-05-01", b"1", {"8848", "IEB-DATUM"}),
        (b"-12026-05-20", b"2026-05-01", b"1", {"TR113"}),
        (b"999999999999999999-12-31", b"2026-05-01", b"1", {"8848", "TR112"}),
    ],
)
def test_dates_outside_python_are_decided(
    dagtekening: bytes, datum: bytes, status: bytes, codes: set[str]
) -> None:
    data = _dated(dagtekening, datum, status)
    report = validate_bytes(data, today=TODAY)
    assert set(report.codes) - {"CS300"} == codes, report.issues
    blocking = [i for i in report.issues if i.level <= 2]
    if blocking:
        with pytest.raises(MessageInvalidError):
            from_xml(data, today=TODAY)
    else:
        from_xml(data, today=TODAY)


def test_stop_dates_outside_python_are_decided() -> None:
    data = _dated(b"2026-05-20", b"12026-05-01", b"2", base=STOP)
    assert "TR117" in validate_bytes(data, today=TODAY).codes
    data = _dated(b"0001-01-01", b"0001-01-01", b"2", base=STOP)
    assert set(validate_bytes(data, today=TODAY).codes) - {"CS300"} == {"CS332"}


def test_kostprijs_startdatum_far_future() -> None:
    data = _swap(KOSTPRIJS, "KostprijsStartdatum", b"12026-01-01")
    report = validate_bytes(data, today=TODAY)
    assert report.codes == ["IEB-DATUM"]
    with pytest.raises(MessageInvalidError) as info:
        from_xml(data, today=TODAY)
    assert info.value.issues[0].code == "IEB-DATUM"


def test_cli_never_prints_a_traceback_for_strange_dates(tmp_path: Path) -> None:
    for i, day in enumerate([b"0001-01-01", b"9999-12-31", b"-0001-12-31", b"12026-05-01", b"0000-01-01"]):
        (tmp_path / f"d{i}.xml").write_bytes(_dated(day, day, b"1"))
    run = _cli("validate", "--format", "json", "--today", "2026-06-01", str(tmp_path))
    assert "Traceback" not in run.stderr
    assert json.loads(run.stdout)["summary"]["files"] == 5
    for path in sorted(tmp_path.iterdir()):
        shown = _cli("show", str(path))
        assert "Traceback" not in shown.stderr + shown.stdout, path


# ---------------------------------------------------------------- kind 4: encodings and sizes


def test_field_utf16le_without_bom_is_op192() -> None:
    report = validate_bytes((FIELD / "utf16le_nobom.xml").read_bytes(), today=TODAY)
    assert report.codes == ["OP192"] and report.level == 1


def _reencode(encoding: str, declared: str | None, bom: bool) -> bytes:
    text = VALID.decode("utf-8")
    body = text.split("?>", 1)[1]
    decl = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    data = (decl + body).encode(encoding)
    if bom:
        data = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00"}.get(
            encoding, b"\xef\xbb\xbf"
        ) + data
    return data


@pytest.mark.parametrize(
    ("encoding", "declared", "bom"),
    [
        ("utf-16-le", "UTF-16", False),
        ("utf-16-le", "UTF-16", True),
        ("utf-16-be", "UTF-16", False),
        ("utf-16-be", "UTF-16", True),
        ("utf-16-le", None, False),
        ("utf-16-be", None, True),
        ("utf-32-le", "UTF-32", False),
        ("utf-32-le", None, True),
        ("utf-8", "ISO-8859-1", False),
        ("latin-1", "ISO-8859-1", False),
        ("utf-8", "US-ASCII", False),
        ("utf-8", "windows-1252", False),
        ("utf-8", "UTF-8", True),
    ],
)
def test_anything_but_utf8_is_op192(encoding: str, declared: str | None, bom: bool) -> None:
    data = _reencode(encoding, declared, bom)
    report = validate_bytes(data, today=TODAY)
    assert report.codes == ["OP192"], report.issues
    with pytest.raises(IebError):
        from_xml(data, today=TODAY)


def test_utf8_declarations_are_fine() -> None:
    for declared in ("UTF-8", "utf-8", "UTF8"):
        assert validate_bytes(_reencode("utf-8", declared, False), today=TODAY).valid
    assert validate_bytes(_reencode("utf-8", None, False), today=TODAY).valid


def test_field_big_trailing_whitespace_is_valid(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(FIELD / "make_big_whitespace.py"), str(tmp_path)], check=True, timeout=60
    )
    path = next(tmp_path.glob("*.xml"))
    assert 10 * 1024 * 1024 < path.stat().st_size < 25 * 1024 * 1024
    run = _cli("validate", "--format", "json", "--today", "2026-06-01", str(path))
    assert json.loads(run.stdout)["files"][0]["valid"] is True


@pytest.mark.parametrize(
    "extra",
    [
        b"<!--" + b"x" * (12 * 1024 * 1024) + b"-->",
        b" " * (12 * 1024 * 1024),
        b"<?pi " + b"y" * (11 * 1024 * 1024) + b"?>",
    ],
    ids=["comment", "whitespace", "pi"],
)
def test_big_wellformed_nodes_up_to_op179(extra: bytes) -> None:
    data = VALID.replace(b"</wmo401:Client>", b"</wmo401:Client>" + extra)
    assert validate_bytes(data, today=TODAY).valid
    assert isinstance(from_xml(data, today=TODAY), Wmo401)
    over = VALID.replace(b"</wmo401:Client>", b"</wmo401:Client>" + extra * 3)
    assert validate_bytes(over, today=TODAY).codes == ["OP179"]


def test_big_text_node_is_judged_by_the_xsd_not_by_libxml2() -> None:
    data = _swap(VALID, "Identificatie", b"x" * (12 * 1024 * 1024))
    report = validate_bytes(data, today=TODAY)
    assert report.codes and set(report.codes) == {"XSD"}, report.codes


# ---------------------------------------------------------------- no pydantic error escapes


def test_build_raises_the_projects_error_naming_field_and_rule() -> None:
    with pytest.raises(InvalidModelError) as info:
        Wmo401.build(
            afzender="0363",
            identificatie="T-1",
            dagtekening=dt.date(2026, 5, 1),
            bsn="999900007",
            eb_start_nummer=1,
            eb_startdatum=dt.date(2026, 5, 1),
            status="5",
        )
    err = info.value
    assert isinstance(err, IebError) and isinstance(err, ValueError)
    by_path = {i.location: i.code for i in err.issues}
    assert by_path["Client/Bsn"] == "CS002"
    assert "Client/StartEigenBijdrage/StatusAanlevering" in by_path
    assert "999900007" not in str(err) + repr(err.issues)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is InvalidModelError and again.issues == err.issues


def test_from_xml_skip_mode_reports_model_errors_as_project_errors() -> None:
    data = _swap(VALID, "Bsn", b"999900007")
    with pytest.raises(MessageInvalidError) as info:
        from_xml(data, validation="skip")
    assert info.value.issues[0].code == "CS002"
    message = from_xml(VALID, validation="skip")
    assert to_xml(message) == to_xml(from_xml(VALID, today=TODAY))


def test_from_xml_refuses_non_bytes_and_unknown_modes() -> None:
    with pytest.raises(IebError):
        from_xml("text", today=TODAY)  # type: ignore[arg-type]
    with pytest.raises(IebError):
        from_xml(VALID, validation="sloppy")  # type: ignore[arg-type]


def test_to_xml_refuses_what_is_not_a_message() -> None:
    with pytest.raises(IebError):
        to_xml("<Bericht/>")  # type: ignore[arg-type]
