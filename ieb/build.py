"""Build heenbericht files of a release from a table (CSV, JSON array or JSON lines), all or nothing.

The input is read by :func:`ieb.tabular.read_table` (separator, encoding and line numbers as
described there). Columns (CSV header or JSON keys): ``bericht`` (a heenbericht of the release's
table; optional when the caller gives one), ``afzender``, ``identificatie``, ``dagtekening``,
``bsn``, ``eb_start_nummer``, ``status`` (StatusAanlevering 1, 2 or 3; default 1), and per
heenbericht the elements of its klasse in snake case (:func:`build_columns`; in iEb 1.0 the start
has ``eb_startdatum`` and optionally ``kostprijs_bedrag`` (eurocent) + ``kostprijs_startdatum``,
the stop ``eb_stopdatum``). The klasse's date element is required. Dates are ``JJJJ-MM-DD``.

:func:`check_table` is the first pass: every row becomes a message, is validated like the CAK would
(levels 1 and 2 and the level-3 rules CS300, CS333 and 8848 that need no history) and named; every
problem of every row is collected into one :class:`ieb.tabular.TableError`. :func:`write_files` is
the second pass: it builds each message again and writes it straight into a staging folder
(constant memory), then moves all files into place. Existing files are never overwritten unless
``force``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ieb.codec import to_xml
from ieb.errors import IebError
from ieb.releases import DEFAULT_RELEASE, get_pack
from ieb.releases.models import InvalidModelError, Message
from ieb.releases.pack import MessageDef, ReleasePack, column_name, klasse_columns
from ieb.tabular import RowIssue, Table, TableError, read_table, restore_zeros
from ieb.types import mask_bsns
from ieb.validation import validate_bytes

__all__ = [
    "BUILD_COLUMNS",
    "BuildPlan",
    "PlannedFile",
    "build",
    "build_columns",
    "check_table",
    "write_files",
]

#: The release ``ieb build`` writes unless told otherwise.
_COMMON = ("afzender", "identificatie", "dagtekening", "bsn", "eb_start_nummer")


def _heen(pack: ReleasePack) -> dict[str, MessageDef]:
    return {m.name: m for m in pack.heen()}


def build_columns(pack: ReleasePack) -> tuple[str, ...]:
    """Every column ``ieb build`` knows for ``pack``: bericht, the common ones, status, then the
    klasse columns of each heenbericht in table order."""
    extra = dict.fromkeys(c for row in pack.heen() for c in klasse_columns(row))
    return ("bericht", *_COMMON, "status", *extra)


#: every column ``ieb build`` knows (for the default release)
BUILD_COLUMNS = build_columns(get_pack(DEFAULT_RELEASE))
#: the standard's element name -> our column (to put a rule's finding in the right column)
_ELEMENT_COLUMN = {
    "Afzender": "afzender",
    "Identificatie": "identificatie",
    "Dagtekening": "dagtekening",
    "Bsn": "bsn",
    "StatusAanlevering": "status",
}
#: level-3 rules that need no history: a file failing them would certainly be rejected
_BLOCKING_LEVEL3 = frozenset({"CS300", "CS333", "8848", "TR378", "TR409", "TR135"})  # iEb 1.0 and 4.0 codes


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """One message that will be written: its line in the input (1-based), kind and file name.

    ``bericht`` is a heenbericht name of the release; ``name`` is the file name inside the output folder.
    """

    line: int
    bericht: str
    name: str


@dataclass(frozen=True)
class BuildPlan:
    """The result of the first pass: the table as read and the files it gives, in input order."""

    table: Table
    files: tuple[PlannedFile, ...]
    bericht: str | None
    release: str = DEFAULT_RELEASE


class _RowProblems(Exception):
    def __init__(self, issues: list[RowIssue]) -> None:
        super().__init__("row problems")
        self.issues = issues


def _int(value: Any, column: str, line: int, issues: list[RowIssue]) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) <= 20:
        return int(value)
    issues.append(
        RowIssue(
            line, column, "moet een geheel getal zijn", "bedragen in eurocent zonder punt of komma (57000)"
        )
    )
    return None


def _date(value: Any, column: str, line: int, issues: list[RowIssue]) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        issues.append(RowIssue(line, column, "is geen datum", "schrijf de datum als JJJJ-MM-DD (2026-05-01)"))
        return None


def _zeros(value: Any, width: int) -> str:
    """A code as text with the leading zeros Excel drops restored (``363`` -> ``0363``)."""
    return restore_zeros(value, width)


def _missing(column: str, line: int) -> RowIssue:
    return RowIssue(line, column, "ontbreekt", "vul deze kolom in")


def _release_of(bericht: str) -> str | None:
    """The registered release whose heenberichten include ``bericht`` (the name of a heenbericht), or
    None."""
    from ieb.releases import default_registry

    return next((p.name for p in default_registry if p.delivery is not None and bericht in _heen(p)), None)


def record_to_message(
    row: Mapping[str, Any], line: int, default_bericht: str | None = None, *, release: str = DEFAULT_RELEASE
) -> Message:
    """One row as a heenbericht model of ``release``; raises ``_RowProblems`` listing every problem."""
    pack = get_pack(release)
    heen = _heen(pack)
    issues: list[RowIssue] = []
    bericht = str(row.get("bericht") or default_bericht or "").strip().upper()
    if bericht not in heen:
        choices = " of ".join(f"{m.name} ({m.omschrijving or m.klasse})" for m in heen.values())
        elsewhere = _release_of(bericht) if bericht else None
        issues.append(
            RowIssue(
                line,
                "bericht",
                (f"moet {choices} zijn" if bericht else "ontbreekt")
                + (f" in {release}; {bericht} is een bericht van {elsewhere}" if elsewhere else ""),
                f"geef --release {elsewhere}, of maak berichten van {release}"
                if elsewhere
                else f"vul de kolom bericht in of geef --bericht {'/'.join(heen)}",
            )
        )
        raise _RowProblems(issues)
    spec = heen[bericht]
    own = klasse_columns(spec)
    for other in heen.values():
        if other is spec:
            continue
        for column in sorted(set(klasse_columns(other)) - set(own)):
            if row.get(column) not in (None, ""):
                issues.append(
                    RowIssue(line, column, f"hoort niet bij {bericht}", f"laat leeg of kies {other.name}")
                )
    for column in _COMMON:
        if row.get(column) in (None, ""):
            issues.append(_missing(column, line))
    dagtekening = _date(row.get("dagtekening"), "dagtekening", line, issues)
    nummer = _int(row.get("eb_start_nummer"), "eb_start_nummer", line, issues)
    status = str(row.get("status") or "1").strip()
    if status not in ("1", "2", "3"):
        issues.append(
            RowIssue(
                line,
                "status",
                "moet 1, 2 of 3 zijn",
                "1 = eerste aanlevering, 2 = correctie, 3 = verwijdering",
            )
        )
    fields: dict[str, Any] = {}
    required = column_name(spec.date_element or "")
    for column in own:
        reader = _date if column.endswith("datum") else _int
        fields[column] = reader(row.get(column), column, line, issues)
        if column == required and row.get(column) in (None, ""):
            issues.append(_missing(column, line))
    if issues:
        raise _RowProblems(issues)
    common: dict[str, Any] = {
        "afzender": _zeros(row["afzender"], 4),
        "identificatie": str(row["identificatie"]),
        "dagtekening": dagtekening,
        "bsn": _zeros(row["bsn"], 9),
        "eb_start_nummer": nummer,
        "status": status,
    }
    model: Any = spec.model
    if model is None:
        raise IebError(f"{release} heeft geen getypt model voor {bericht}; bouwen kan niet")
    try:
        message: Message = model.build(**common, **fields)
    except InvalidModelError as exc:  # build() turns pydantic's error into the project's own
        raise _RowProblems(_explain(exc, line)) from None
    return message


def _explain(exc: ValidationError | InvalidModelError, line: int) -> list[RowIssue]:
    out = []
    for err in exc.errors():
        names = [str(p) for p in err["loc"] if isinstance(p, str)]
        column = names[-1] if names else None
        if column in ("eb_kostprijs",):
            column = "kostprijs_bedrag"
        message = mask_bsns(str(err["msg"]).removeprefix("Value error, "))
        out.append(RowIssue(line, column, message, ""))
    return out


def _column_of(element: str) -> str | None:
    return _ELEMENT_COLUMN.get(element) or (column_name(element) if element else None)


def _blocking(data: bytes, today: dt.date | None, line: int, columns: tuple[str, ...]) -> list[RowIssue]:
    report = validate_bytes(data, today=today)
    out = []
    for i in report.issues:
        if i.level < 3 or i.code in _BLOCKING_LEVEL3:
            element = (i.location or "").rsplit("/", 1)[-1].split(":")[-1].split("[")[0]
            column = _column_of(element)
            out.append(
                RowIssue(
                    line,
                    column if column in columns else None,
                    f"{i.code}: {mask_bsns(i.message)}",
                    "het CAK zou dit bericht afkeuren; pas de waarde aan",
                )
            )
    return out


def _file_name(message: Message) -> str:
    h = message.header
    name = f"{message.bericht}_{h.afzender}_{h.bericht_identificatie.identificatie}.xml"
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def check_table(
    table: Table, *, bericht: str | None = None, today: dt.date | None = None, release: str = DEFAULT_RELEASE
) -> BuildPlan:
    """First pass: turn every row into a message of ``release``, validate it and name its file.

    ``bericht`` (a heenbericht name) is used for rows without a ``bericht`` column; ``today`` is
    the receiver's system date for rule 8848 (default: today). A row fails on anything the CAK
    would certainly refuse: the XSD (level 1), an in-message rule (level 2, e.g. CS002 11-proef,
    TR112/TR113 date windows) or a level-3 rule that needs no history (CS300 Afzender in the CBS
    list, CS333 kostprijs above the national tariff, 8848 Dagtekening after ``today``). Raises
    :class:`TableError` listing every problem of every row (true line numbers, the column, the rule
    code); nothing is kept in memory but the names.
    """
    issues: list[RowIssue] = []
    files: list[PlannedFile] = []
    seen: dict[str, int] = {}
    columns = build_columns(get_pack(release))
    for row in table.rows:
        try:
            message = record_to_message(row, row.line, bericht, release=release)
        except _RowProblems as row_problems:
            issues.extend(row_problems.issues)
            continue
        problems = _blocking(to_xml(message), today, row.line, columns)
        if problems:
            issues.extend(problems)
            continue
        name = _file_name(message)
        if name in seen:
            issues.append(
                RowIssue(
                    row.line,
                    "identificatie",
                    f"geeft hetzelfde bestand {name} als regel {seen[name]}",
                    "geef elk bericht een eigen identificatie (BerichtIdentificatie)",
                )
            )
            continue
        seen[name] = row.line
        files.append(PlannedFile(row.line, message.bericht, name))
    if issues:
        raise TableError(table.name, issues)
    return BuildPlan(table, tuple(files), bericht, release)


def _messages(plan: BuildPlan) -> Iterator[tuple[PlannedFile, bytes]]:
    rows = {row.line: row for row in plan.table.rows}
    for planned in plan.files:
        message = record_to_message(rows[planned.line], planned.line, plan.bericht, release=plan.release)
        yield planned, to_xml(message)


def write_files(plan: BuildPlan, out: Path, *, force: bool = False) -> list[Path]:
    """Second pass: write every planned file into ``out``, all or nothing.

    Each file is built and written to a staging folder inside ``out`` one at a time, then all are
    moved into place. Raises :class:`TableError` (nothing written) when a file already exists and
    ``force`` is false; :class:`IebError` when the folder cannot be written.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IebError(f"map {out} kan niet worden aangemaakt: {exc.strerror or exc}") from None
    if not force:
        clashes = [
            RowIssue(
                f.line,
                "identificatie",
                f"{out / f.name} bestaat al",
                "kies een andere map of identificatie, of geef --force",
            )
            for f in plan.files
            if (out / f.name).exists()
        ]
        if clashes:
            raise TableError(plan.table.name, clashes)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".ieb-build-", dir=out))
    except OSError as exc:
        raise IebError(f"map {out} is niet schrijfbaar: {exc.strerror or exc}") from None
    written: list[Path] = []
    try:
        for planned, data in _messages(plan):
            with open(staging / planned.name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        for planned in plan.files:
            os.replace(staging / planned.name, out / planned.name)
            written.append(out / planned.name)
    except OSError as exc:
        for p in written:
            p.unlink(missing_ok=True)
        raise IebError(f"schrijven in {out} mislukt: {exc.strerror or exc}; er is niets geschreven") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def build(
    source: Path | bytes,
    out: Path,
    *,
    name: str | None = None,
    bericht: str | None = None,
    today: dt.date | None = None,
    force: bool = False,
    release: str = DEFAULT_RELEASE,
) -> tuple[BuildPlan, list[Path]]:
    """Read ``source`` (see module doc), check every row, then write the files into ``out``.

    Returns the plan (with the table's warnings) and the written paths. Raises :class:`TableError`
    with every problem of the input or of its rows (:func:`check_table`), or for files that exist
    without ``force`` (nothing written), and :class:`~ieb.errors.IebError` when ``out`` cannot be
    written.
    """
    # ``bericht`` may come from the caller (--bericht): a missing one is reported per row, with that hint
    table = read_table(source, name=name, required=_COMMON, optional=build_columns(get_pack(release)))
    try:
        plan = check_table(table, bericht=bericht, today=today, release=release)
    except TableError as exc:
        exc.warnings = table.warnings
        raise
    return plan, write_files(plan, out, force=force)
