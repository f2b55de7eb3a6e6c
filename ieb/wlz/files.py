"""Reading the IB's signal report and processing report, writing the upload CSV, by the layouts
of :mod:`ieb.wlz.settings`.

Files go through :func:`ieb.tabular.read_table` (UTF-8 or Windows-1252, ``,`` or ``;``, bounded
size and rows, true line numbers). Columns are recognised by name (case-insensitive); a missing
required column refuses the whole file with a Dutch message naming the column and the setting
that maps it. A broken row is reported with its line and column and never stops the other rows.
No message quotes a value: BSNs and names stay out of every text this module produces.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ieb.tabular import RowIssue, Table, TableError, read_table, restore_zeros
from ieb.types import bsn_is_valid
from ieb.wlz.settings import SignaalLayout, UploadLayout, VerslagLayout

__all__ = [
    "MAX_NAAM",
    "SignalRow",
    "VerslagRow",
    "parse_date",
    "read_signal_report",
    "read_verslag",
    "upload_csv",
]

#: longest name kept from a signal report (characters)
MAX_NAAM = 200
#: longest date cell looked at (characters)
_MAX_DATE = 40
#: largest signal report or processing report read (bytes)
MAX_REPORT_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class SignalRow:
    """One readable row of a signal report: ``line`` (physical line in the file), ``gemeente``
    (4 digits), ``bsn`` (9 digits, 11-proef), ``naam`` (or None), the Wlz indicatie's
    ``aanvraagdatum``, ``afgiftedatum`` (or None) and ``ingangsdatum``."""

    line: int
    gemeente: str
    bsn: str
    naam: str | None
    aanvraagdatum: dt.date | None
    afgiftedatum: dt.date | None
    ingangsdatum: dt.date

    def __repr__(self) -> str:
        from ieb.types import mask_bsn

        return f"SignalRow(line={self.line}, gemeente={self.gemeente}, bsn={mask_bsn(self.bsn)}, ingang={self.ingangsdatum})"


@dataclass(frozen=True)
class VerslagRow:
    """One refused upload row in a processing report: ``line`` in the report, ``regel`` (the
    upload line it refers to, or None), ``bsn`` (or None) and ``melding`` (the IB's text)."""

    line: int
    regel: int | None
    bsn: str | None
    melding: str


def parse_date(text: str, formats: Sequence[str]) -> dt.date:
    """``text`` read with the first of ``formats`` (``strftime`` patterns) that fits; a time part
    after a space is ignored. Raises ``ValueError`` with a Dutch reason (never quoting ``text``)."""
    value = text.strip().split(" ", 1)[0]
    if len(value) > _MAX_DATE:
        raise ValueError("te lang voor een datum")
    for fmt in formats:
        try:
            day = dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if not 1900 <= day.year <= 2100:
            raise ValueError(f"jaar {day.year} is niet aannemelijk")
        return day
    raise ValueError("geen datum in een van de formaten " + ", ".join(formats))


def _columns(
    table: Table, kolommen: Mapping[str, str], required: Sequence[str], setting: str
) -> dict[str, str]:
    """field -> normalised column name present in ``table``; raises for a missing required one."""
    present = set(table.columns)
    found: dict[str, str] = {}
    missing: list[RowIssue] = []
    for field, column in kolommen.items():
        name = column.strip().lower()
        if not name:
            continue
        if name in present:
            found[field] = name
        elif field in required:
            missing.append(
                RowIssue(
                    1,
                    column,
                    f"verplichte kolom '{column}' (veld {field}) ontbreekt in de kopregel",
                    f"pas [{setting}.kolommen] {field} in ieb.toml aan als de kolom anders heet",
                )
            )
    if missing:
        raise TableError(table.name, missing)
    return found


def _cell(row: Mapping[str, Any], column: str | None) -> str:
    if column is None:
        return ""
    value = row.get(column)
    return "" if value is None else str(value).strip()


def read_signal_report(
    source: Path | bytes,
    layout: SignaalLayout,
    *,
    name: str,
    gemeenten: Sequence[str],
    default_gemeente: str | None,
) -> tuple[list[SignalRow], list[RowIssue]]:
    """The rows of a signal report and the problems of the rows that could not be read.

    ``gemeenten``: the configured gemeenten (a row of another one is refused); ``default_gemeente``:
    the gemeente of rows without one (None: the gemeente column is required). Raises
    :class:`ieb.tabular.TableError` when the file as a whole cannot be read (missing required
    column, not CSV/JSON, too large)."""
    table = read_table(source, name=name, max_bytes=MAX_REPORT_BYTES)
    required = ["bsn", "ingangsdatum"] + ([] if default_gemeente else ["gemeente"])
    cols = _columns(table, layout.kolommen, required, "wlz.signalen")
    rows: list[SignalRow] = []
    problems: list[RowIssue] = []
    for row in table.rows:
        issues: list[RowIssue] = []
        line = row.line
        gemeente = restore_zeros(_cell(row, cols.get("gemeente")), 4) or (default_gemeente or "")
        if not (len(gemeente) == 4 and gemeente.isdigit()):
            issues.append(RowIssue(line, layout.kolommen.get("gemeente"), "geen gemeentecode van 4 cijfers"))
        elif gemeenten and gemeente not in gemeenten:
            issues.append(
                RowIssue(
                    line,
                    layout.kolommen.get("gemeente"),
                    f"gemeente {gemeente} staat niet in ieb.toml",
                    f"gemeenten = {list(gemeenten)}",
                )
            )
        bsn = restore_zeros(_cell(row, cols["bsn"]), 9)
        if not bsn_is_valid(bsn):
            issues.append(
                RowIssue(
                    line,
                    layout.kolommen["bsn"],
                    "geen geldig burgerservicenummer (11-proef)",
                    "controleer het BSN",
                )
            )
        dates: dict[str, dt.date | None] = {}
        for field in ("aanvraagdatum", "afgiftedatum", "ingangsdatum"):
            text = _cell(row, cols.get(field))
            if not text:
                dates[field] = None
                if field == "ingangsdatum":
                    issues.append(
                        RowIssue(line, layout.kolommen[field], "ingangsdatum ontbreekt", "vraag het IB")
                    )
                continue
            try:
                dates[field] = parse_date(text, layout.datumformaten)
            except ValueError as exc:
                dates[field] = None
                issues.append(
                    RowIssue(line, layout.kolommen[field], str(exc), "pas [wlz.signalen] datumformaten aan")
                )
        naam = _cell(row, cols.get("naam"))[:MAX_NAAM] or None
        if issues:
            problems.extend(issues)
            continue
        ingang = dates["ingangsdatum"]
        assert ingang is not None
        rows.append(
            SignalRow(line, gemeente, bsn, naam, dates["aanvraagdatum"], dates["afgiftedatum"], ingang)
        )
    return rows, problems


def read_verslag(source: Path | bytes, layout: VerslagLayout, *, name: str) -> list[VerslagRow]:
    """The refused rows of a processing report (an empty report is fine: nothing refused).
    Raises :class:`ieb.tabular.TableError` when a required column is missing."""
    table = read_table(source, name=name, allow_empty=True, max_bytes=MAX_REPORT_BYTES)
    cols = _columns(table, layout.kolommen, ["melding"], "wlz.verwerkingsverslag")
    out: list[VerslagRow] = []
    for row in table.rows:
        regel_text = _cell(row, cols.get("regel"))
        regel = int(regel_text) if regel_text.isdigit() and len(regel_text) < 10 else None
        bsn = restore_zeros(_cell(row, cols.get("bsn")), 9) or None
        out.append(VerslagRow(row.line, regel, bsn, _cell(row, cols["melding"])[:500]))
    return out


def upload_csv(rows: Sequence[Mapping[str, Any]], layout: UploadLayout) -> bytes:
    """The upload CSV (UTF-8, ``layout.scheidingsteken``, header from ``layout.kolommen``) for
    ``rows`` with the fields ``gemeente, bsn, productcategorie, begindatum, einddatum`` (dates as
    :class:`datetime.date` or None)."""
    fields = [
        f
        for f in ("gemeente", "bsn", "productcategorie", "begindatum", "einddatum")
        if layout.kolommen.get(f, "").strip()
    ]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=layout.scheidingsteken, lineterminator="\r\n")
    writer.writerow([layout.kolommen[f] for f in fields])
    for r in rows:
        out = []
        for f in fields:
            v = r.get(f)
            if isinstance(v, dt.date):
                out.append(v.strftime(layout.datumformaat))
            else:
                out.append("" if v is None else str(v))
        writer.writerow(out)
    return buf.getvalue().encode("utf-8")
