"""ieb.tabular: files as they come out of Excel and case-management exports."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ieb.errors import IebError, InputRowError
from ieb.tabular import MAX_FIELD_CHARS, Row, RowIssue, TableError, read_table


def _issues(data: bytes, **kw: object) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(TableError) as info:
        read_table(data, name="in.csv", **kw)  # type: ignore[arg-type]
    return [(i.line, i.column, i.message) for i in info.value.issues]


def test_utf8_comma_csv_rows_carry_true_line_numbers() -> None:
    table = read_table(b"bsn,start\n\n999900006,2024-01-01\r\n\n999900018,2024-02-01\n", name="in.csv")
    assert [(r.line, dict(r)) for r in table.rows] == [
        (3, {"bsn": "999900006", "start": "2024-01-01"}),
        (5, {"bsn": "999900018", "start": "2024-02-01"}),
    ]
    assert (table.format, table.delimiter, table.encoding, table.warnings) == ("csv", ",", "utf-8", ())


def test_utf8_bom_and_header_case_are_tolerated() -> None:
    table = read_table("\ufeff BSN ;Naam\n999900006;José\n".encode(), name="x")
    assert table.columns == ("bsn", "naam")
    assert dict(table.rows[0]) == {"bsn": "999900006", "naam": "José"}
    assert table.warnings == ()


def test_windows_1252_semicolon_from_excel_is_converted_with_a_warning() -> None:
    data = "bsn;naam\r\n999900006;Agnès Hélène\r\n999900018;Chloë\r\n".encode("cp1252")
    table = read_table(data, name="excel.csv", required=["bsn"], optional=["naam"])
    assert [r["naam"] for r in table.rows] == ["Agnès Hélène", "Chloë"]
    assert table.delimiter == ";"
    assert table.encoding == "windows-1252"
    assert "Windows-1252" in table.dialect
    assert len(table.warnings) == 1 and "regel 2" in table.warnings[0]


def test_quoted_field_with_newlines_counts_its_physical_lines() -> None:
    data = b'bsn;opmerking\n999900006;"twee\nregels"\n999900018;x;y\n'
    assert _issues(data) == [(4, None, "regel heeft 3 waarden, de kopregel 2 kolommen")]


def test_every_bad_row_is_reported_in_one_run() -> None:
    data = b"bsn;start\n999900006;a\n1;2;3\n\n4\n5;6\n7;8;9\n"
    assert [line for line, _, _ in _issues(data)] == [3, 5, 7]


def test_shifted_column_values_are_not_echoed() -> None:
    with pytest.raises(TableError) as info:
        read_table(b"naam;start\n999900006;2024-01-01;extra\n", name="x")
    assert "999900006" not in str(info.value)


def test_excel_trailing_separators_and_empty_rows_are_ignored() -> None:
    table = read_table(b"bsn;start;;\n999900006;2024-01-01;;\n;;;\n", name="x")
    assert [dict(r) for r in table.rows] == [{"bsn": "999900006", "start": "2024-01-01"}]


def test_excel_sep_line_is_honoured_and_counted() -> None:
    table = read_table(b"sep=,\nbsn,naam\n999900006,a;b\n", name="x")
    assert table.delimiter == ","
    assert [(r.line, r["naam"]) for r in table.rows] == [(3, "a;b")]


def test_required_columns_decide_the_separator() -> None:
    table = read_table(b"bsn;opmerking\n999900006;a, b, c\n", name="x", required=["bsn", "opmerking"])
    assert table.delimiter == ";"


def test_header_problems_are_named() -> None:
    issues = _issues(b"bsn,bsn,datum\n1,2,3\n", required=["bsn", "start"])
    assert (1, "bsn", "kolom komt twee keer voor in de kopregel") in issues
    assert (1, None, "kopregel mist kolom(men): start") in issues
    assert (1, "datum", "onbekende kolom") in issues


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n\n", b"bsn,start\n", b"[]", b"[\n]\n", b"\n\n\n"],
    ids=["empty", "blank", "header-only", "json-empty", "json-empty-lines", "newlines"],
)
def test_empty_input_is_an_error(data: bytes) -> None:
    assert len(_issues(data)) == 1


def test_empty_input_allowed_when_asked() -> None:
    assert read_table(b"bsn,start\n", name="x", allow_empty=True).rows == ()


def test_json_array_rows_carry_the_line_where_each_object_starts() -> None:
    data = b'[\n  {"bsn": "999900006", "start": "2024-01-01"},\n\n  {\n "bsn": 999900018}\n]\n'
    table = read_table(data, name="x.json")
    assert table.format == "json"
    assert [(r.line, r["bsn"]) for r in table.rows] == [(2, "999900006"), (4, 999900018)]


def test_json_lines_report_every_bad_line() -> None:
    data = b'{"bsn": "1"}\nnot json\n{"bsn": [1]}\n[1]\n{"bsn": 1' + b"0" * 40 + b'}\n{"x": NaN}\n'
    got = _issues(data)
    assert [line for line, _, _ in got] == [2, 3, 4, 5, 6]
    assert got[1][1] == "bsn"


def test_json_array_syntax_error_has_its_true_line() -> None:
    assert _issues(b'[\n{"bsn": "1"},\n{"bsn": }\n]') == [(3, None, "geen geldige JSON (Expecting value)")]


def test_deep_json_is_our_error() -> None:
    got = _issues(b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]")
    assert got[0][2] in ("JSON te diep genest", "verwacht een JSON-object {...}")
    assert _issues(b'{"a":' * 50_000 + b"1" + b"}" * 50_000) == [(1, None, "JSON te diep genest")]


def test_bounds(tmp_path: Path) -> None:
    assert _issues(b"bsn\n" + b"1" * (MAX_FIELD_CHARS + 1) + b"\n")[0][:2] == (2, "bsn")
    assert "groter dan" in _issues(b"bsn\n1\n", max_bytes=4)[0][2]
    assert "te lang" in _issues(b'bsn\n"' + b"x" * 200_000 + b"\n")[0][2]
    assert "meer dan 1 regels" in _issues(b"bsn\n1\n2\n", max_rows=1)[0][2]
    big = tmp_path / "big.csv"
    big.write_bytes(b"bsn\n" + b"1\n" * 10)
    with pytest.raises(TableError, match="groter dan"):
        read_table(big, max_bytes=10)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"PK\x03\x04rest", "Excel-werkmap"),
        ("bsn\n1\n".encode("utf-16"), "UTF-16"),
        (b"bsn\n1\x002\n", "NUL"),
        ("bsn,naam\n1,Jé\n".encode() + b"2,J\xe9\n", "mengt UTF-8"),
        (b"bsn\n\x81\x8d\n", "tekenset niet herkend"),
        (b'bsn;naam\n1;"abc\n', "aanhalingstekens"),
    ],
)
def test_unreadable_files_get_advice(data: bytes, fragment: str) -> None:
    got = _issues(data)
    assert len(got) == 1 and fragment in got[0][2]


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="niet gevonden"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(TableError, match="map"):
        read_table(tmp_path)


def test_error_is_an_ieb_error_and_picklable() -> None:
    with pytest.raises(InputRowError) as info:
        read_table(b"bsn;start\n1;2;3\n", name="x.csv")
    err = info.value
    assert isinstance(err, IebError) and isinstance(err, TableError)
    again = pickle.loads(pickle.dumps(err))
    assert again.issues == err.issues and str(again) == str(err)
    assert err.location == "x.csv:2"
    assert "x.csv:2:" in str(err)
    row = Row({"bsn": "1"}, 7)
    assert pickle.loads(pickle.dumps(row)).line == 7
    assert RowIssue(4, "bsn", "fout", "doe iets").describe("f.csv") == "f.csv:4: kolom bsn: fout -> doe iets"


def test_file_without_header_is_named_and_no_bsn_is_echoed() -> None:
    with pytest.raises(TableError) as info:
        read_table(b"999900006;2026-01-01\n999900018;2026-02-01\n", name="x.csv", required=["bsn", "start"])
    text = str(info.value)
    assert "999900006" not in text and "lijkt gegevens in plaats van kolomnamen" in text


_ALPHABET = st.sampled_from(list('abc019;,"\n\r \t{}[]:\x00éë\ufeff'))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=400), st.text(_ALPHABET, max_size=400).map(lambda t: t.encode("utf-8"))))
def test_any_input_gives_a_table_or_our_error(data: bytes) -> None:
    try:
        table = read_table(data, name="fuzz", required=["bsn"], optional=["start", "a"])
    except TableError as exc:
        assert exc.issues and all(isinstance(i, RowIssue) for i in exc.issues)
        return
    assert all(row.line >= 1 and "bsn" in row for row in table.rows)


@pytest.mark.parametrize(
    "data",
    [b',"' * 32768, b';"a' * 20000, b'a,"b";' * 10000, b"[" * 200_000, b'{"a":' * 100_000],
    ids=["comma-quote", "semi-quote", "mixed", "deep-array", "deep-object"],
)
def test_hostile_shapes_are_refused(data: bytes) -> None:
    # csv.Sniffer on the whole of the first shape took 50 s; the reader sniffs a 4 KB sample only
    with pytest.raises(TableError):
        read_table(data, name="x")


def test_windows_1252_capital_with_curly_quote_is_not_taken_for_utf8() -> None:
    table = read_table("naam\n“CAFÉ” Ü•\n".encode("cp1252"), name="x")
    assert table.rows[0]["naam"] == "“CAFÉ” Ü•" and table.encoding == "windows-1252"
