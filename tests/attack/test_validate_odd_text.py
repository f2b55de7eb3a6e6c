"""Attack on VAL round 7 (``parse_bytes`` without a regex for the usual declaration and without a
decode for ASCII; header integers compared as text first; a date text already read costs no call):
declarations with odd spacing, quotes, case, leading space or a BOM; UTF-16 with its BOM; Latin-1
declared; digits that are not ASCII (Arabic-Indic, fullwidth, superscript) in numbers and dates;
signs, zeros and whitespace around values; a date read once and then seen elsewhere. Each gives
the same parse outcome and the same report as the frozen pre-round-7 ``parse_bytes`` with the rule
engine alone (the oracle in ``tests/validation/test_round7_differential.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "validation"))  # the oracle's folder

from test_round7_differential import VALID, _same_parse, _same_report

BODY = next(v for v in VALID if b"<wmo401:BerichtCode>470<" in v and b"<wmo401:EbStartdatum>" in v)
REST = BODY.split(b"?>", 1)[1]

DECLARATIONS = [
    b'<?xml version="1.0" encoding="UTF-8" ?>',
    b'<?xml  version="1.0"  encoding="UTF-8"?>',
    b'<?xml version = "1.0" encoding = "UTF-8"?>',
    b"<?xml version=\"1.0\" encoding='UTF-8'?>",
    b'<?xml version="1.0" encoding="Utf-8"?>',
    b'<?xml version="1.0" encoding="UTF-8 "?>',
    b'<?xml version="1.0" encoding=" UTF-8"?>',
    b'<?xml version="1.0" encoding="UTF-8"',
    b'<?xml version="1.0" encoding="UTF-8"?>?>',
    b'<?xml version="1.0" encoding="UTF-8"?><?xml version="1.0" encoding="latin-1"?>',
    b'<?XML version="1.0" encoding="latin-1"?>',
    b'<?xml version="1.0" encoding="latin-1"?>',
    b'<?xml version="1.0" encoding="US-ASCII"?>',
    b'<?xml version="1.1" encoding="UTF-8"?>',
    b'<?xml version="1.0"\n encoding="UTF-8"?>',
    b'<?xml version="1.0" encoding="UTF-8"?>\n\n',
    b' <?xml version="1.0" encoding="UTF-8"?>',
    b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>',
    b'<?xml version="1.0" standalone="no" encoding="UTF-8"?>',
]


@pytest.mark.parametrize("declaration", DECLARATIONS)
def test_odd_declarations_as_before(declaration: bytes) -> None:
    data = declaration + REST
    _same_parse(data)
    _same_report(data)
    for value in ("é".encode(), b"\xe9", "é".encode("latin-1")):
        changed = data.replace(b"AMS-0001", b"AMS-" + value, 1)
        _same_parse(changed)
        _same_report(changed)


def test_utf16_and_utf32_as_before() -> None:
    text = (b'<?xml version="1.0" encoding="UTF-16"?>' + REST).decode()
    for data in (
        text.encode("utf-16"),
        text.encode("utf-16-le"),
        text.encode("utf-16-be"),
        text.encode("utf-32"),
        b"\xef\xbb\xbf" + REST,
    ):
        _same_parse(data)
        _same_report(data)


DIGITS = ["٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "۰۱۲۳۴۵۶۷۸۹", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"]


def _other(text: str, digits: str) -> bytes:
    return "".join(digits[int(c)] if c.isdigit() else c for c in text).encode()


VALUES = [
    # (the element, new texts for it)
    (b"BerichtCode", [b"+470", b"0470", b" 470 ", b"\t470\n", b"470.0", b"4 70", b"47\xc2\xb9"]),
    (b"BerichtVersie", [b"+1", b"01", b" 1", b"1 ", b"\n1\n", b"-0", b"1e0", b"\xc2\xb9"]),
    (b"BerichtSubversie", [b"+0", b"00", b" 0 ", b"-0", b"0.", b""]),
    (b"Afzender", [b" 0363", b"0363 ", b"363", b"00363"]),
    (b"Dagtekening", [b" 2026-05-20", b"2026-05-20 ", b"2026-05-20Z", b"2026-05-20+01:00", b"+2026-05-20"]),
    (b"EbStartdatum", [b" 2026-05-01 ", b"2026-5-01", b"2026-05-01T00:00:00", b"02026-05-01", b"2026-02-30"]),
    (b"EbStartNummer", [b"+1001", b"01001", b" 1001 ", b"1001.0", b"1_001"]),
    (b"StatusAanlevering", [b" 2", b"+2", b"02", b"2 "]),
    (b"Bsn", [b" 999900006", b"999900006 ", b"+999900006", b"0999900006"]),
]


def _replace(data: bytes, element: bytes, text: bytes) -> bytes:
    start = data.index(b":" + element + b">") + len(element) + 2
    end = data.index(b"</", start)
    return data[:start] + text + data[end:]


@pytest.mark.parametrize(("element", "texts"), VALUES, ids=[e.decode() for e, _ in VALUES])
def test_odd_values_report_as_before(element: bytes, texts: list[bytes]) -> None:
    start = BODY.index(b":" + element + b">") + len(element) + 2
    original = BODY[start : BODY.index(b"</", start)].decode()
    others = [_other(original, d) for d in DIGITS] + texts
    for text in others:
        data = _replace(BODY, element, text)
        _same_parse(data)
        _same_report(data)


def test_a_date_read_once_then_seen_in_another_field_as_before() -> None:
    """The compiled checks skip a date text already read (``_DATES``): the same text in another
    date field, a text read as a date once and now where a date is out of range, or odd."""
    same_day = _replace(BODY, b"EbStartdatum", b"2026-05-20")
    _same_report(same_day)
    _same_report(_replace(same_day, b"Dagtekening", b"2026-05-20 "))
    for odd in (b"0999-05-20", b"9999-05-20", b"2026-13-01", b"2026-05-20\n"):
        _same_report(_replace(BODY, b"EbStartdatum", odd))
        _same_report(_replace(BODY, b"Dagtekening", odd))
        _same_report(BODY)  # and the usual file again, after the odd text was seen
