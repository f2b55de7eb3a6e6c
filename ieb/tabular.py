"""The one reader for tabular input (CSV, JSON array, JSON lines) used by every ``ieb`` command.

``read_table(source, name=...)`` turns a file as it comes out of Excel or a case-management export
into rows that each know their true line number:

* encoding: UTF-8 with or without BOM; otherwise Windows-1252 (what Excel writes in the Netherlands),
  converted with a warning. UTF-16, a mixture of UTF-8 and Windows-1252, NUL bytes and Excel
  workbooks (``.xlsx``) are refused with advice (see docs/dependencies.md for why this is decided
  deterministically instead of by statistical detection);
* format: a first non-blank character ``[`` means a JSON array of objects, ``{`` JSON lines (one
  object a line), anything else CSV. The CSV separator (``,`` or ``;``) is sniffed with
  :class:`csv.Sniffer` restricted to those two and checked against the expected columns; Excel's
  ``sep=;`` first line is honoured;
* line numbers: 1-based physical lines of the file, the header included; a row whose quoted field
  contains line breaks is reported at the line where it starts;
* every problem is collected, each with line, column and what to do; when there is at least one,
  :class:`TableError` (an :class:`ieb.errors.InputRowError`) is raised carrying all of them in
  ``.issues``. An input without rows is an error.
* bounded: file size (``max_bytes``), field length, number of rows and columns, integer length and
  nesting in JSON. Values are never echoed in messages (they may hold a BSN).

Header names and JSON keys are compared case-insensitively and without surrounding spaces; CSV
values are stripped of surrounding spaces. JSON values keep their JSON type (str, int, float, bool,
None); nested arrays/objects are refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ieb.errors import InputRowError
from ieb.types import mask_bsns

__all__ = [
    "MAX_BYTES",
    "JsonTextError",
    "Row",
    "RowIssue",
    "Table",
    "TableError",
    "ValueProblem",
    "iter_table",
    "loads_json",
    "parse_datum",
    "read_table",
    "restore_zeros",
]

#: largest input accepted (bytes)
MAX_BYTES = 64 * 1024 * 1024
#: longest single value (characters)
MAX_FIELD_CHARS = 10_000
#: most data rows
MAX_ROWS = 2_000_000
#: most columns
MAX_COLUMNS = 200
#: longest integer literal in JSON (digits)
MAX_INT_DIGITS = 30
#: problems collected before the reader stops looking
MAX_ISSUES = 1_000
#: characters the separator sniffer looks at
_SNIFF_CHARS = 4096

Format = Literal["csv", "json", "jsonl"]

_SAVE_AS_CSV = "sla het bestand in Excel op via 'Opslaan als' > 'CSV UTF-8 (door komma's gescheiden)'"
# A UTF-8 encoded accented letter (U+00C0..U+017F: "é" is C3 A9). Found in a file that is not UTF-8, it
# means UTF-8 and another encoding are mixed; in genuine Windows-1252 text the same bytes would be
# "Ã©", which no one writes. (A looser pattern would also hit "É’", an accented capital and a quote.)
_UTF8_LETTER = re.compile(rb"[\xc3-\xc5][\x80-\xbf]")
_SEP_LINE = re.compile(r"^sep=([,;])[ \t]*(?:\r\n|\r|\n|$)", re.I)


@dataclass(frozen=True, slots=True)
class RowIssue:
    """One problem in a tabular input or in planning it: the ONE issue type of the desired-state
    file (the reader, the planner's refusals, ``ieb plan``).

    ``line`` (1-based physical line, None for the file as a whole), ``column`` (the field: the
    header name, None for the whole row), ``message`` (the text: Dutch, what is wrong, the Bsn
    masked), ``hint`` (Dutch, what to do) and ``code`` (the rule code, e.g. ``TR328`` or ``OP291``,
    with the retourcode when the CAK has one: ``TR114, retourcode 9114``; empty when no rule of the
    standard applies). ``str()`` is the readable line without the file name."""

    line: int | None
    column: str | None
    message: str
    hint: str = ""
    code: str = ""

    @property
    def field(self) -> str | None:
        """The field (column) the problem is about; an alias of :attr:`column`."""
        return self.column

    @property
    def text(self) -> str:
        """The Dutch text of the problem; an alias of :attr:`message`."""
        return self.message

    def describe(self, name: str) -> str:
        """``name:line: [kolom x:] message -> hint (CODE)`` in one line."""
        where = f"{name}:{self.line}" if self.line is not None else name
        return f"{where}:{self._body()}"

    def _body(self) -> str:
        column = f" kolom {self.column}:" if self.column else ""
        hint = f" -> {self.hint}" if self.hint else ""
        code = f" ({self.code})" if self.code else ""
        return f"{column} {self.message}{hint}{code}"

    def __str__(self) -> str:
        where = f"regel {self.line}:" if self.line is not None else ""
        return f"{where}{self._body()}".strip()

    def to_dict(self) -> dict[str, Any]:
        """The issue as a JSON-ready dict: ``line``, ``column``, ``message``, ``hint`` and ``code``."""
        return {
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
            "code": self.code,
        }


class TableError(InputRowError):
    """The input has one or more problems; ``issues`` lists every one (:class:`RowIssue`), in file
    order, ``name`` is the input's display name. ``location`` is ``name:line`` of the first.
    ``warnings`` holds the reader's warnings (e.g. the Windows-1252 conversion) when a later check
    failed."""

    warnings: tuple[str, ...] = ()

    def __init__(self, name: str, issues: Sequence[RowIssue]) -> None:
        self.name = name
        self.issues: tuple[RowIssue, ...] = tuple(issues)
        count = len(self.issues)
        first = self.issues[0] if self.issues else None
        summary = f"{name}: {count} {'probleem' if count == 1 else 'problemen'}"
        location = f"{name}:{first.line}" if first is not None and first.line is not None else name
        super().__init__(summary, location=location)

    def __str__(self) -> str:
        name = getattr(self, "name", None) or self.location or ""
        lines = [self.message]
        lines.extend(
            f"  {issue.describe(name) if isinstance(issue, RowIssue) else issue}" for issue in self.issues
        )
        return "\n".join(lines)


class Row(Mapping[str, Any]):
    """One record: a read-only mapping column -> value, plus ``line`` (the physical line where it
    starts, 1-based, header included)."""

    __slots__ = ("_values", "line")

    def __init__(self, values: Mapping[str, Any], line: int) -> None:
        self._values = dict(values)
        self.line = line

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Row(line={self.line}, columns={list(self._values)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._values, self.line))


@dataclass(frozen=True)
class Table:
    """The rows of one input and how it was read.

    ``name``: the input's display name; ``rows``: the data rows in file order; ``columns``: the
    header (CSV) or every key seen (JSON), in order; ``format``: ``csv``, ``json`` or ``jsonl``;
    ``warnings``: Dutch notes for the clerk (e.g. a Windows-1252 input converted).
    """

    name: str
    rows: tuple[Row, ...]
    columns: tuple[str, ...]
    format: Format
    encoding: str  #: "utf-8" or "windows-1252"
    delimiter: str | None = None  #: "," or ";" for CSV
    warnings: tuple[str, ...] = field(default=())

    @property
    def dialect(self) -> str:
        """A short Dutch description, e.g. ``CSV (scheidingsteken ';', Windows-1252)``."""
        enc = "Windows-1252" if self.encoding == "windows-1252" else "UTF-8"
        if self.format == "csv":
            return f"CSV (scheidingsteken '{self.delimiter}', {enc})"
        return f"{'JSON-lijst' if self.format == 'json' else 'JSON-regels'} ({enc})"

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


class _Collector:
    def __init__(self, name: str) -> None:
        self.name = name
        self.issues: list[RowIssue] = []

    def add(self, line: int | None, column: str | None, message: str, hint: str = "") -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(RowIssue(line, column, message, hint))
        elif len(self.issues) == MAX_ISSUES:
            self.issues.append(
                RowIssue(None, None, f"meer dan {MAX_ISSUES} problemen; de rest is niet meer bekeken")
            )

    @property
    def full(self) -> bool:
        return len(self.issues) > MAX_ISSUES

    def fail(self, line: int | None, column: str | None, message: str, hint: str = "") -> TableError:
        self.add(line, column, message, hint)
        return TableError(self.name, self.issues)

    def raise_if_any(self) -> None:
        if self.issues:
            raise TableError(self.name, self.issues)


def _norm(key: str) -> str:
    return key.strip().strip("\ufeff").strip().lower()


def _line_of(data: bytes | str, offset: int) -> int:
    if isinstance(data, bytes):
        return data.count(b"\n", 0, offset) + 1
    return data.count("\n", 0, offset) + 1


def _load(source: Path | bytes, issues: _Collector, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > max_bytes:
            raise issues.fail(None, None, f"groter dan {_mb(max_bytes)}", "splits het bestand op")
        return data
    path = Path(source)
    try:
        if path.is_dir():
            raise issues.fail(None, None, "is een map, geen bestand", "geef het pad van een bestand")
        size = path.stat().st_size
        if size > max_bytes:
            raise issues.fail(
                None, None, f"groter dan {_mb(max_bytes)} ({_mb(size)})", "splits het bestand op"
            )
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise issues.fail(None, None, "bestand niet gevonden", "controleer het pad") from None
    except OSError as exc:
        raise issues.fail(
            None, None, f"niet te lezen ({exc.strerror or exc})", "controleer het pad"
        ) from None
    if len(data) > max_bytes:
        raise issues.fail(None, None, f"groter dan {_mb(max_bytes)}", "splits het bestand op")
    return data


def _mb(size: int) -> str:
    """A size in MB with a Dutch decimal comma: never a digit run that BSN masking would eat
    ("groter dan ******** bytes" hid the limit; issue 21)."""
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def _decode(data: bytes, issues: _Collector, warnings: list[str]) -> tuple[str, str]:
    if data.startswith(b"PK\x03\x04"):
        raise issues.fail(
            None, None, "dit is een Excel-werkmap of zip-bestand, geen CSV of JSON", _SAVE_AS_CSV
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise issues.fail(
            None, None, "het bestand is UTF-16 ('Unicode-tekst'), dat wordt niet gelezen", _SAVE_AS_CSV
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise issues.fail(
            _line_of(data, nul),
            None,
            "het bestand bevat NUL-tekens (is het UTF-16 of een binair bestand?)",
            _SAVE_AS_CSV,
        )
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        bad_line = _line_of(body, exc.start)
    if _UTF8_LETTER.search(body):
        raise issues.fail(
            bad_line,
            None,
            "het bestand mengt UTF-8 en een andere tekenset (vanaf deze regel is het geen UTF-8)",
            "maak het bestand opnieuw aan in één tekenset; " + _SAVE_AS_CSV,
        )
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError:
        raise issues.fail(
            bad_line, None, "tekenset niet herkend: geen UTF-8 en geen Windows-1252", _SAVE_AS_CSV
        ) from None
    warnings.append(
        f"{issues.name} is geen UTF-8 maar Windows-1252 (Excel 'CSV (gescheiden door lijstscheidingsteken)'); "
        f"omgezet naar UTF-8 (eerste afwijkende teken op regel {bad_line}). Controleer namen met "
        f"accenten, of {_SAVE_AS_CSV}"
    )
    return text, "windows-1252"


def _check_value(
    value: Any, line: int, column: str, issues: _Collector, *, json_value: bool
) -> tuple[bool, Any]:
    if isinstance(value, str):
        value = value.strip()
        if len(value) > MAX_FIELD_CHARS:
            issues.add(line, column, f"waarde langer dan {MAX_FIELD_CHARS} tekens", "controleer deze waarde")
            return False, None
        return True, value
    if json_value and (value is None or isinstance(value, bool | int | float)):
        return True, value
    issues.add(
        line, column, "geneste waarde (lijst of object) is hier niet toegestaan", "geef een tekst of getal"
    )
    return False, None


class _Columns:
    """The expected columns and the checks against them."""

    def __init__(self, required: Sequence[str], optional: Sequence[str]) -> None:
        self.required = [_norm(c) for c in required]
        self.known = set(self.required) | {_norm(c) for c in optional}
        self.strict = bool(self.known)

    def describe(self) -> str:
        opt = sorted(self.known - set(self.required))
        out = ", ".join(self.required)
        if opt:
            out += f" (verplicht); optioneel: {', '.join(opt)}"
        return out

    def unknown(self, names: Sequence[str]) -> list[str]:
        return [n for n in names if self.strict and n and n not in self.known]

    def missing(self, names: Sequence[str]) -> list[str]:
        return [c for c in self.required if c not in names]


def _pick_delimiter(text: str, columns: _Columns) -> str:
    match = _SEP_LINE.match(text)
    if match:
        return match.group(1)
    # csv.Sniffer is quadratic on quote-heavy input: a small sample keeps it bounded
    sample = "\n".join(text[:_SNIFF_CHARS].splitlines()[:50])
    head = text.lstrip("\r\n")[: 64 * 1024].splitlines()
    first = head[0] if head else ""
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=",;").delimiter
    except csv.Error:
        sniffed = ";" if first.count(";") > first.count(",") else ","
    if columns.required:
        # the header decides when the sniffer's choice does not give the expected columns
        def hits(sep: str) -> int:
            names = [_norm(n) for n in next(csv.reader([first], delimiter=sep), [])]
            return sum(1 for c in columns.required if c in names)

        other = ";" if sniffed == "," else ","
        if hits(other) > hits(sniffed):
            return other
    return sniffed


def _read_csv(
    text: str, issues: _Collector, columns: _Columns, max_rows: int
) -> tuple[list[Row], tuple[str, ...], str]:
    delimiter = _pick_delimiter(text, columns)
    stream = io.StringIO(text, newline="")
    first_line = 1
    if _SEP_LINE.match(text):
        stream.readline()
        first_line = 2
    reader = csv.reader(stream, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
    header: list[str] | None = None
    rows: list[Row] = []
    end = first_line - 1
    start = first_line
    try:
        while not issues.full:
            start = end + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            end = reader.line_num + first_line - 1
            if not any(v.strip() for v in values):
                continue
            if header is None:
                header = _csv_header(values, start, issues, columns, delimiter)
                if header is None:
                    return [], (), delimiter
                continue  # rows are still checked when the header has problems: all in one run
            if len(rows) >= max_rows:
                issues.add(start, None, f"meer dan {max_rows} regels", "splits het bestand op")
                break
            row = _csv_row(values, header, start, issues)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        text_of = str(exc)
        if "field larger than field limit" in text_of:
            message, hint = "een waarde is veel te lang", 'controleer of er een aanhalingsteken (") mist'
        else:
            message = "de aanhalingstekens kloppen niet (het bestand is vanaf hier niet te lezen)"
            hint = 'zet een waarde met een scheidingsteken of " helemaal tussen "..." en verdubbel " erin'
        issues.add(start, None, message, hint)
    if header is None and not issues.issues:
        issues.add(None, None, "het bestand is leeg", "geef een kopregel en ten minste één regel")
    return rows, tuple(header or ()), delimiter


def _csv_header(
    values: list[str], line: int, issues: _Collector, columns: _Columns, delimiter: str
) -> list[str] | None:
    names = [_norm(v) for v in values]
    if len(names) > MAX_COLUMNS:
        issues.add(line, None, f"meer dan {MAX_COLUMNS} kolommen", "laat overbodige kolommen weg")
        return None
    seen: set[str] = set()
    for n in names:
        if n and n in seen:
            issues.add(
                line, mask_bsns(n), "kolom komt twee keer voor in de kopregel", "laat één van beide weg"
            )
        seen.add(n)
    missing = columns.missing(names)
    if missing:
        other = ";" if delimiter == "," else ","
        hint = f"verwachte kolommen: {columns.describe()}"
        if len(names) == 1 and other in values[0]:
            hint += f"; is het scheidingsteken '{other}'?"
        issues.add(line, None, f"kopregel mist kolom(men): {', '.join(missing)}", hint)
    unknown = columns.unknown(names)
    for n in unknown:
        issues.add(line, mask_bsns(n), "onbekende kolom", f"toegestaan: {columns.describe()}")
    if (missing or unknown) and any(
        any(ch.isdigit() for ch in n) and not any(ch.isalpha() for ch in n) for n in names
    ):
        issues.add(
            line,
            None,
            "de eerste regel lijkt gegevens in plaats van kolomnamen",
            "zet de kolomnamen op regel 1",
        )
    return names


def _csv_row(values: list[str], header: list[str], line: int, issues: _Collector) -> Row | None:
    width = len(header)
    extra = values[width:]
    if len(values) < width or any(v.strip() for v in extra):
        issues.add(
            line,
            None,
            f"regel heeft {len(values)} waarden, de kopregel {width} kolommen",
            "staat er een scheidingsteken in een waarde? Zet die waarde tussen aanhalingstekens, "
            "of vul ontbrekende waarden aan",
        )
        return None
    record: dict[str, Any] = {}
    ok = True
    for name, raw in zip(header, values, strict=False):
        if not name:
            if raw.strip():
                issues.add(
                    line,
                    None,
                    "waarde in een kolom zonder naam",
                    "geef de kolom een naam of maak de cel leeg",
                )
                ok = False
            continue
        good, value = _check_value(raw, line, name, issues, json_value=False)
        ok = ok and good
        record[name] = value
    return Row(record, line) if ok else None


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _TooLong
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_INT_DIGITS + 10:
        raise _TooLong
    return float(text)


def _no_constant(text: str) -> Any:
    raise _BadConstant(text)


class _TooLong(ValueError):
    pass


class _BadConstant(ValueError):
    pass


_DECODER = json.JSONDecoder(parse_int=_bounded_int, parse_float=_bounded_float, parse_constant=_no_constant)


def _json_problem(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, _TooLong):
        return f"getal langer dan {MAX_INT_DIGITS} cijfers", "controleer dit getal"
    if isinstance(exc, _BadConstant):
        return "NaN/Infinity is geen geldige JSON-waarde", "geef een getal of null"
    if isinstance(exc, RecursionError):
        return "JSON te diep genest", "geef per regel een plat object"
    if isinstance(exc, json.JSONDecodeError):
        return f"geen geldige JSON ({exc.msg})", "controleer komma's, haakjes en aanhalingstekens"
    return "geen geldige JSON", "controleer deze regel"


def restore_zeros(value: Any, width: int) -> str:
    """A code as text with the leading zeros Excel drops restored (``363`` -> ``0363`` for a
    gemeentecode, width 4; an 8-digit BSN gets its ``0`` back, width 9). A value of only zeros
    stays as it is: ``0`` is an empty cell, not code ``0000`` or Bsn ``000000000``."""
    text = str(value).strip()
    if text.isascii() and text.isdigit() and 0 < len(text) < width and text.strip("0"):
        return text.zfill(width)
    return text


class JsonTextError(ValueError):
    """Raised by :func:`loads_json`; ``str(exc)`` is the Dutch problem (with line and column when
    the text is not JSON)."""


def loads_json(text: str) -> Any:
    """``json.loads`` for hostile input: integers longer than :data:`MAX_INT_DIGITS` digits,
    NaN/Infinity and nesting deeper than the interpreter's recursion limit raise
    :class:`JsonTextError` (a ``ValueError``) with a Dutch message instead of ``ValueError``
    about int conversion or ``RecursionError``."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonTextError(f"geen geldige JSON (regel {exc.lineno}, kolom {exc.colno}): {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise JsonTextError(_json_problem(exc)[0]) from None


def _json_record(obj: Any, line: int, issues: _Collector, columns: _Columns) -> Row | None:
    if not isinstance(obj, dict):
        issues.add(
            line, None, "verwacht een JSON-object {...}", 'geef per regel één object, bv. {"bsn": "..."}'
        )
        return None
    if len(obj) > MAX_COLUMNS:
        issues.add(line, None, f"meer dan {MAX_COLUMNS} velden", "laat overbodige velden weg")
        return None
    record: dict[str, Any] = {}
    ok = True
    for key, raw in obj.items():
        name = _norm(key)
        if name in record:
            issues.add(line, name, "veld komt twee keer voor", "laat één van beide weg")
            ok = False
            continue
        if name in columns.unknown([name]):
            issues.add(line, mask_bsns(name), "onbekend veld", f"toegestaan: {columns.describe()}")
            ok = False
            continue
        good, value = _check_value(raw, line, name, issues, json_value=True)
        ok = ok and good
        record[name] = value
    missing = columns.missing(list(record))
    if missing:
        issues.add(line, None, f"veld(en) ontbreken: {', '.join(missing)}", f"verwacht: {columns.describe()}")
        ok = False
    return Row(record, line) if ok else None


def _read_json_array(text: str, issues: _Collector, columns: _Columns, max_rows: int) -> list[Row]:
    rows: list[Row] = []
    ws = re.compile(r"[ \t\r\n]*")
    pos = ws.match(text, 0).end()  # type: ignore[union-attr]
    line = _line_of(text, pos)
    counted = pos
    pos += 1  # "["
    expect_value = True
    first = True
    while not issues.full:
        pos = ws.match(text, pos).end()  # type: ignore[union-attr]
        line += text.count("\n", counted, pos)
        counted = pos
        if pos >= len(text):
            issues.add(
                line, None, "de JSON-lijst is niet afgesloten met ]", "controleer het einde van het bestand"
            )
            break
        ch = text[pos]
        if ch == "]" and (first or not expect_value):
            rest = text[pos + 1 :].strip()
            if rest:
                issues.add(line, None, "tekst na het einde van de JSON-lijst", "verwijder wat na ] staat")
            break
        if not expect_value:
            if ch != ",":
                issues.add(line, None, "verwacht , of ] tussen de objecten", "controleer de komma's")
                break
            pos += 1
            expect_value = True
            continue
        try:
            obj, end = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            where = exc.lineno if isinstance(exc, json.JSONDecodeError) else line
            message, hint = _json_problem(exc)
            issues.add(where, None, message, hint)
            break
        if len(rows) >= max_rows:
            issues.add(line, None, f"meer dan {max_rows} objecten", "splits het bestand op")
            break
        row = _json_record(obj, line, issues, columns)
        if row is not None:
            rows.append(row)
        pos = end
        expect_value = False
        first = False
    return rows


def _read_json_lines(text: str, issues: _Collector, columns: _Columns, max_rows: int) -> list[Row]:
    rows: list[Row] = []
    for number, raw in enumerate(io.StringIO(text, newline=None), start=1):
        if issues.full:
            break
        if not raw.strip():
            continue
        try:
            obj = _DECODER.decode(raw)
        except (ValueError, RecursionError) as exc:
            message, hint = _json_problem(exc)
            issues.add(number, None, message, hint)
            continue
        if len(rows) >= max_rows:
            issues.add(number, None, f"meer dan {max_rows} regels", "splits het bestand op")
            break
        row = _json_record(obj, number, issues, columns)
        if row is not None:
            rows.append(row)
    return rows


def read_table(
    source: Path | str | bytes,
    *,
    name: str | None = None,
    required: Sequence[str] = (),
    optional: Sequence[str] = (),
    allow_empty: bool = False,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> Table:
    """Read a CSV / JSON array / JSON-lines file (a path) or its bytes into a :class:`Table`.

    ``name`` is how the input is named in messages (default: the path). When ``required`` or
    ``optional`` is given, the columns (CSV header, JSON keys) must be among them and every
    ``required`` one must be present. Raises :class:`TableError` listing every problem (true line,
    column, what to do); an input without data rows is an error unless ``allow_empty``. Bounds on
    hostile input: at most ``max_bytes`` bytes (:data:`MAX_BYTES`) and ``max_rows`` data rows
    (:data:`MAX_ROWS`); larger input is refused with a :class:`TableError`, not read further.
    """
    if isinstance(source, str):
        source = Path(source)
    display = name if name is not None else (str(source) if isinstance(source, Path) else "<invoer>")
    issues = _Collector(display)
    columns = _Columns(required, optional)
    warnings: list[str] = []
    data = _load(source, issues, max_bytes)
    text, encoding = _decode(data, issues, warnings)
    start = text.lstrip(" \t\r\n")
    header: tuple[str, ...]
    delimiter: str | None = None
    fmt: Format
    if start.startswith("["):
        fmt = "json"
        rows = _read_json_array(text, issues, columns, max_rows)
    elif start.startswith("{"):
        fmt = "jsonl"
        rows = _read_json_lines(text, issues, columns, max_rows)
    elif not start:
        raise issues.fail(None, None, "het bestand is leeg", "geef een kopregel en ten minste één regel")
    else:
        fmt = "csv"
        rows, header, delimiter = _read_csv(text, issues, columns, max_rows)
    if fmt != "csv":
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        header = tuple(seen)
    if not rows and not issues.issues and not allow_empty:
        issues.add(None, None, "het bestand bevat geen regels met gegevens", "vul ten minste één regel in")
    issues.raise_if_any()
    return Table(display, tuple(rows), header, fmt, encoding, delimiter, tuple(warnings))


def _streamable(path: Path) -> bool:
    """True when ``path`` is a CSV file in UTF-8 (BOM allowed) without NUL bytes and without
    Excel's ``sep=`` line: the kind :func:`iter_table` reads row by row. Reads the file once in
    blocks of 1 MB (constant memory)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    first = True
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            if first:
                first = False
                body = block.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
                if body[:1] in (b"[", b"{") or body.startswith((b"PK\x03\x04", b"sep=", b"SEP=")):
                    return False
                if block.startswith((b"\xff\xfe", b"\xfe\xff")):
                    return False
            if b"\x00" in block:
                return False
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return not first


def iter_table(
    source: Path,
    *,
    name: str | None = None,
    required: Sequence[str] = (),
    optional: Sequence[str] = (),
    max_rows: int = MAX_ROWS,
) -> Iterator[Row]:
    """The rows of a file one at a time, for inputs too large to hold (``ieb plan --queue`` of a
    million clients): a CSV file in UTF-8 is read row by row in constant memory, without the
    :data:`MAX_BYTES` bound (rows are bounded by ``max_rows``, values by :data:`MAX_FIELD_CHARS`);
    any other input (JSON, Windows-1252, ``sep=``) is read whole by :func:`read_table`.

    The rows are checked as :func:`read_table` checks them; a bad row is not yielded and, after the
    last row, :class:`TableError` lists every problem (line, column, what to do). A consumer that
    stores what it gets must therefore be ready to discard it when the error comes.
    """
    display = name if name is not None else str(source)
    issues = _Collector(display)
    try:
        if source.is_dir():
            raise issues.fail(None, None, "is een map, geen bestand", "geef het pad van een bestand")
        streamable = _streamable(source)
    except FileNotFoundError:
        raise issues.fail(None, None, "bestand niet gevonden", "controleer het pad") from None
    except OSError as exc:
        raise issues.fail(
            None, None, f"niet te lezen ({exc.strerror or exc})", "controleer het pad"
        ) from None
    if not streamable:
        yield from read_table(source, name=display, required=required, optional=optional, max_rows=max_rows)
        return
    columns = _Columns(required, optional)
    changed = (
        "het bestand is tijdens het lezen veranderd: het is geen UTF-8 meer",
        "sla het bestand op als 'CSV UTF-8' en start de opdracht opnieuw",
    )
    with source.open(encoding="utf-8-sig", newline="") as fh:
        try:
            delimiter = _pick_delimiter(fh.read(_SNIFF_CHARS * 16), columns)
        except UnicodeDecodeError:  # checked as UTF-8 a moment ago: changed since
            raise issues.fail(None, None, *changed) from None
        fh.seek(0)
        reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
        header: list[str] | None = None
        count = 0
        end = 0
        start = 1
        try:
            while not issues.full:
                start = end + 1
                try:
                    values = next(reader)
                except StopIteration:
                    break
                end = reader.line_num
                if not any(v.strip() for v in values):
                    continue
                if header is None:
                    header = _csv_header(values, start, issues, columns, delimiter)
                    if header is None:
                        break
                    continue
                if count >= max_rows:
                    issues.add(start, None, f"meer dan {max_rows} regels", "splits het bestand op")
                    break
                row = _csv_row(values, header, start, issues)
                if row is not None:
                    count += 1
                    yield row
        except UnicodeDecodeError:  # checked as UTF-8 a moment ago: changed since
            issues.add(start, None, *changed)
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                message, hint = "een waarde is veel te lang", 'controleer of er een aanhalingsteken (") mist'
            else:
                message = "de aanhalingstekens kloppen niet (het bestand is vanaf hier niet te lezen)"
                hint = 'zet een waarde met een scheidingsteken of " helemaal tussen "..." en verdubbel " erin'
            issues.add(start, None, message, hint)
    if header is None and not issues.issues:
        issues.add(None, None, "het bestand is leeg", "geef een kopregel en ten minste één regel")
    elif not count and not issues.issues:
        issues.add(None, None, "het bestand bevat geen regels met gegevens", "vul ten minste één regel in")
    issues.raise_if_any()


# ------------------------------------------------------------------------------------ cell readers


class ValueProblem(ValueError):
    """A cell that cannot be read; ``str()`` is the Dutch reason (the caller adds file, line, column)."""


_DATE_FORMATS = (
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), (1, 2, 3)),  # JJJJMMDD (CAK files)
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), (1, 2, 3)),  # JJJJ-MM-DD
    (re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$"), (3, 2, 1)),  # DD-MM-JJJJ
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), (3, 2, 1)),  # DD/MM/JJJJ
)
_FIRST_YEAR, _LAST_YEAR = 1900, 2100
_DATE_HINT = "verwacht JJJJMMDD, JJJJ-MM-DD of DD-MM-JJJJ"


def parse_datum(text: str) -> dt.date:
    """A date as the CAK or a spreadsheet writes it: ``JJJJMMDD``, ``JJJJ-MM-DD``, ``DD-MM-JJJJ`` or
    ``DD/MM/JJJJ``; a time part (`` 00:00:00``) is ignored."""
    value = text.strip().split(" ", 1)[0].split("T", 1)[0]
    for pattern, (y, m, d) in _DATE_FORMATS:
        match = pattern.match(value)
        if match:
            try:
                day = dt.date(int(match.group(y)), int(match.group(m)), int(match.group(d)))
            except ValueError:
                raise ValueProblem(f"'{value}' is geen bestaande datum") from None
            if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
                raise ValueProblem(
                    f"'{value}': jaar {day.year} is niet aannemelijk ({_FIRST_YEAR}-{_LAST_YEAR})"
                )
            return day
    raise ValueProblem(f"'{value[:20]}' is geen datum ({_DATE_HINT})")
