"""Hostile XML is refused with code XML, and nothing is read from disk or network."""

from pathlib import Path

import pytest

from ieb.codec import from_xml
from ieb.errors import MessageInvalidError
from ieb.validation import validate_bytes
from ieb.xmlsafe import XmlProblem, parse_bytes

VALID = (Path(__file__).parent / "samples" / "valid" / "wmo401-start.xml").read_bytes()


def _with_prolog(prolog: str, bsn: str = "999900006") -> bytes:
    return VALID.replace(b"?>\n", b"?>\n" + prolog.encode() + b"\n", 1).replace(b"999900006", bsn.encode())


def test_xxe_reads_nothing_from_disk(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-CONTENT")
    data = _with_prolog(f'<!DOCTYPE b [<!ENTITY x SYSTEM "file://{secret}">]>', bsn="&x;")
    report = validate_bytes(data)
    assert report.codes == ["XML"]
    assert "TOPSECRET" not in repr(report.issues)


@pytest.mark.parametrize(
    "prolog",
    [
        "<!DOCTYPE b>",
        '<!DOCTYPE b SYSTEM "http://127.0.0.1:9/evil.dtd">',
        '<!DOCTYPE b [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x"> %p;]>',
        '<!DOCTYPE b [<!ENTITY a "' + "x" * 1000 + '"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        "<!-- comment first --><!DOCTYPE b>",
    ],
)
def test_dtds_are_refused(prolog: str) -> None:
    with pytest.raises(XmlProblem) as info:
        parse_bytes(_with_prolog(prolog))
    assert info.value.code == "XML"


def test_billion_laughs_refused() -> None:
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    )
    data = _with_prolog(f"<!DOCTYPE b [{entities}]>", bsn="&l9;")
    assert validate_bytes(data).codes == ["XML"]
    with pytest.raises(MessageInvalidError):
        from_xml(data)


def test_doctype_text_inside_content_is_not_a_dtd() -> None:
    data = VALID.replace(b"</wmo401:Bericht>", b"<!-- <!DOCTYPE not-a-dtd> --></wmo401:Bericht>")
    assert validate_bytes(data).codes != ["XML"]


def test_processing_instruction_and_comment_prolog_is_fine() -> None:
    data = VALID.replace(b"?>\n", b"?>\n<!-- gemaakt door test -->\n<?pi x?>\n", 1)
    root = parse_bytes(data)
    assert root.tag.endswith("Bericht")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "XML"),
        (b"not xml", "XML"),
        (b"\xff\xfe<\x00x\x00/\x00>\x00", "OP192"),
        (b"\xfe\xff\x00<\x00x\x00/\x00>", "OP192"),
        (b'<?xml version="1.0" encoding="UTF-16"?><x/>', "OP192"),
        (b"<x>\xc3\x28</x>", "OP192"),
    ],
)
def test_junk_input(data: bytes, code: str) -> None:
    assert validate_bytes(data).codes == [code]
