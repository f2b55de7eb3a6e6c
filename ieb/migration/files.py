"""Readers for the CAK's migration files (HenV, ZA) and the gemeente's own administration.

Every reader returns a :class:`Gelezen`: the typed records of the good rows plus a :class:`Fout`
(file, line, Dutch reason naming the column) for every bad row; a bad row never stops the rest.
Only a file that cannot be read at all (missing, wrong header, not UTF-8/Windows-1252) gives no
records, with its fouten. The decoding, separator sniffing (``;`` or ``,``), quoting and true line
numbers are :func:`ieb.tabular.read_table`'s; this module adds the tolerance for bad rows and the
typed values (:mod:`ieb.migration.values`).

Fields of the HenV and ZA files: the CAK's migration description (see docs/migration.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from ieb.migration.values import (
    CakPeriode,
    ValueProblem,
    parse_bedrag,
    parse_bsn,
    parse_cent,
    parse_datum,
    parse_int,
    parse_jn,
    parse_zorgperiode,
)
from ieb.policy import VoorzieningKind
from ieb.tabular import MAX_BYTES, Row, TableError, read_table
from ieb.types import mask_bsn, mask_bsns

__all__ = [
    "ADMINISTRATIE_KOLOMMEN",
    "DEFAULT_GROEPEN",
    "HENV_KOLOMMEN",
    "ZA_KOLOMMEN",
    "AdministratieRegel",
    "Fout",
    "Gelezen",
    "HenvRegel",
    "Persoon",
    "ZaRegel",
    "read_administratie",
    "read_henv",
    "read_za",
]

HENV_KOLOMMEN = (
    "BSN",
    "ACHTERNAAM",
    "VOORLETTERS",
    "VOORVOEGSEL",
    "GEBOORTEDATUM",
    "ZORGPERIODE",
    "DOSSIERNUMMER",
    "REGELING",
    "PGB",
    "HENV_GROEP_CODE",
    "HENV_GROEP_NAAM",
    "TOTALE_KOSTEN",
    "JAAR_VANAF",
    "PERIODE_VANAF",
    "AANTAL_PERIODEN",
    "KOSTEN_PER_PERIODE",
    "RESTBEDRAG",
    "IND_LAATSTE_ZORGPERIODE",
)
ZA_KOLOMMEN = (
    "BSN",
    "ACHTERNAAM",
    "VOORLETTERS",
    "VOORVOEGSEL",
    "GEBOORTEDATUM",
    "PERIODE_WEEK",
    "ZORGAANBIEDER_WZA_CODE",
    "ZORGAANBIEDER_NAAM",
    "REGELING",
    "PRODUCTCODE",
    "PRODUCT_OMSCHRIJVING",
    "GELEVERDE_ZORG",
    "IND_LAATSTE_ZORGPERIODE",
)
ADMINISTRATIE_KOLOMMEN = (
    "bsn",
    "achternaam",
    "voorletters",
    "voorvoegsel",
    "geboortedatum",
    "soort",
    "start",
    "stop",
    "kostprijs_cent",
    "dossiernummer",
)

#: [I] HENV_GROEP_CODE -> category. The CAK's code list is not published with the file description;
#: these are the codes this library assumes. Pass your own table (``groepen=``, ``ieb reconcile
#: --groepen FILE``) when your file uses others; an unknown code is a bad row, never a guess.
DEFAULT_GROEPEN: Mapping[str, VoorzieningKind] = {
    "HH": VoorzieningKind.HUISHOUDELIJKE_HULP,
    "BG": VoorzieningKind.BEGELEIDING,
    "DB": VoorzieningKind.DAGBESTEDING,
    "HM": VoorzieningKind.HULPMIDDEL,
    "WV": VoorzieningKind.WONINGAANPASSING,
    "RS": VoorzieningKind.ROLSTOEL,
    "VV": VoorzieningKind.VERVOER,
    "AV": VoorzieningKind.ALGEMENE_VOORZIENING,
}

_REGELING = "WMO2015"
_MAX_PASSES = 3


@dataclass(frozen=True, slots=True)
class Fout:
    """One bad row (or a whole file, ``regel`` 0): ``reden`` is Dutch and names the column."""

    bestand: str
    regel: int
    reden: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``bestand`` (file name), ``regel`` (1-based line number) and ``reden`` (Dutch)."""
        return {"bestand": self.bestand, "regel": self.regel, "reden": self.reden}

    def __str__(self) -> str:
        return f"{self.bestand}:{self.regel}: {self.reden}"


R = TypeVar("R")


@dataclass(frozen=True)
class Gelezen(Generic[R]):
    """What a reader made of one file: the good ``records``, the ``fouten`` and the reader's
    ``waarschuwingen`` (e.g. a Windows-1252 file converted), ``regels`` = data rows seen."""

    bestand: str
    records: tuple[R, ...]
    fouten: tuple[Fout, ...] = ()
    waarschuwingen: tuple[str, ...] = ()
    regels: int = 0
    onleesbaar: bool = False  #: the file as a whole could not be read (see ``fouten``)


@dataclass(frozen=True, slots=True, repr=False)
class Persoon:
    """The person fields every file has (``repr`` masks the BSN and leaves the rest out)."""

    bsn: str
    achternaam: str
    voorletters: str
    voorvoegsel: str
    geboortedatum: dt.date

    def __repr__(self) -> str:
        return f"Persoon(bsn='{mask_bsn(self.bsn)}')"


@dataclass(frozen=True, slots=True)
class HenvRegel:
    """One verstrekking of one client in the HenV file (amounts in eurocent)."""

    regel: int
    persoon: Persoon
    zorgperiode: CakPeriode  #: the period the file describes (e.g. 2019-13)
    dossiernummer: str
    regeling: str
    pgb: bool
    groep_code: str
    groep_naam: str
    soort: VoorzieningKind
    totale_kosten_cent: int | None
    vanaf: CakPeriode  #: JAAR_VANAF + PERIODE_VANAF
    aantal_perioden: int | None
    kosten_per_periode_cent: int | None
    restbedrag_cent: int | None  #: kostprijs minus what was charged up to ``zorgperiode``
    laatste_zorgperiode: bool  #: IND_LAATSTE_ZORGPERIODE: still running in ``zorgperiode``

    @property
    def bsn(self) -> str:
        """The person's BSN (9 digits, unmasked: mask with :func:`ieb.types.mask_bsn` before showing it)."""
        return self.persoon.bsn

    @property
    def tot(self) -> CakPeriode | None:
        """The last period of the verstrekking (None: open-ended)."""
        return None if self.aantal_perioden is None else self.vanaf.plus(self.aantal_perioden - 1)


@dataclass(frozen=True, slots=True)
class ZaRegel:
    """One product of one client in the ZA file (zorg in natura; minutes delivered)."""

    regel: int
    persoon: Persoon
    periode_week: CakPeriode
    zorgaanbieder_code: str
    zorgaanbieder_naam: str
    regeling: str
    productcode: str
    product_omschrijving: str
    geleverde_zorg_minuten: int
    laatste_zorgperiode: bool

    @property
    def bsn(self) -> str:
        """The person's BSN (9 digits, unmasked: mask with :func:`ieb.types.mask_bsn` before showing it)."""
        return self.persoon.bsn


@dataclass(frozen=True, slots=True)
class AdministratieRegel:
    """One voorziening in the gemeente's own administration."""

    regel: int
    persoon: Persoon
    soort: VoorzieningKind
    start: dt.date
    stop: dt.date | None
    kostprijs_cent: int | None
    dossiernummer: str

    @property
    def bsn(self) -> str:
        """The person's BSN (9 digits, unmasked: mask with :func:`ieb.types.mask_bsn` before showing it)."""
        return self.persoon.bsn


# ------------------------------------------------------------------------------------------ reading


def _load(path: Path | bytes, name: str) -> tuple[bytes | None, Fout | None]:
    if isinstance(path, bytes):
        return path, None
    try:
        if path.is_dir():
            return None, Fout(name, 0, "is een map, geen bestand")
        too_large = Fout(name, 0, f"bestand is groter dan {MAX_BYTES // (1024 * 1024)} MB; splits het op")
        if path.stat().st_size > MAX_BYTES:
            return None, too_large
        with path.open("rb") as fh:  # a FIFO or device has no size: read at most the limit (issue 21)
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return None, too_large
        return data, None
    except FileNotFoundError:
        return None, Fout(name, 0, "bestand niet gevonden; controleer het pad")
    except OSError as exc:
        return None, Fout(name, 0, f"bestand niet te lezen ({exc.strerror or exc})")


_LINE_END = re.compile(rb"(\r\n|\r|\n)")


def _split_lines(data: bytes) -> list[bytes]:
    """Physical lines as the csv module counts them (``\r\n``, ``\r`` or ``\n``), each followed by
    its line end in the next item: ``[line1, end1, line2, end2, ..., last]``."""
    return _LINE_END.split(data)


def _header_line(data: bytes) -> int:
    for number, line in enumerate(_split_lines(data)[::2], start=1):
        if line.strip(b" \t\r\xef\xbb\xbf") and not line.lower().startswith(b"sep="):
            return number
    return 1


def _reason(column: str | None, message: str, hint: str = "") -> str:
    where = f"kolom {column}: " if column else ""
    return f"{where}{message}" + (f" ({hint})" if hint else "")


def _as_named(column: str | None, names: Sequence[str]) -> str | None:
    """A column as the file's description names it (the reader compares in lower case)."""
    if column is None:
        return None
    return next((n for n in names if n.lower() == column), column)


def _rows(
    source: Path | bytes, name: str, required: Sequence[str]
) -> tuple[list[Row], list[Fout], tuple[str, ...], str]:
    """The rows ``read_table`` accepts, with each row it refuses blanked out and reported.

    ``read_table`` raises on the first file with any bad row (all problems listed); the migration
    must go on with the rest, so a refused physical line is replaced by an empty line (which keeps
    every other line number) and the file read again. Problems of the file as a whole (header,
    encoding) stop the file. Returns (rows, fouten, warnings, encoding).
    """
    data, problem = _load(source, name)
    if data is None:
        return [], [problem] if problem else [], (), ""
    header = _header_line(data)
    fouten: list[Fout] = []
    for _ in range(_MAX_PASSES):
        try:
            table = read_table(data, name=name, required=required, allow_empty=True)
        except TableError as exc:
            whole = [i for i in exc.issues if i.line is None or i.line <= header]
            if whole:
                fouten.extend(
                    Fout(name, i.line or 0, _reason(_as_named(i.column, required), i.message, i.hint))
                    for i in whole
                )
                return [], fouten, tuple(exc.warnings), ""
            parts = _split_lines(data)
            for issue in exc.issues:
                assert issue.line is not None
                column = _as_named(issue.column, required)
                fouten.append(Fout(name, issue.line, _reason(column, issue.message, issue.hint)))
                index = 2 * (issue.line - 1)
                if index >= len(parts):
                    fouten.append(
                        Fout(name, issue.line, "regel niet terug te vinden; het bestand is niet te lezen")
                    )
                    return [], fouten, tuple(exc.warnings), ""
                parts[index] = b""
            data = b"".join(parts)
            continue
        return list(table.rows), fouten, table.warnings, table.encoding
    fouten.append(Fout(name, 0, "bestand bleef onleesbaar na het overslaan van foute regels"))
    return [], fouten, (), ""


_Parser = Callable[[str], Any]


class _RowReader:
    """Reads the typed values of one row, collecting a reason per bad column."""

    def __init__(self, row: Row) -> None:
        self.row = row
        self.problems: list[str] = []

    def get(self, column: str, parse: _Parser, *, required: bool = True) -> Any:
        raw = self.row.get(column.lower())
        text = "" if raw is None else str(raw).strip()
        if not text:
            if required:
                self.problems.append(_reason(column, "is leeg maar verplicht"))
            return None
        try:
            return parse(text)
        except ValueProblem as exc:
            self.problems.append(_reason(column, mask_bsns(str(exc))))
            return None

    def text(self, column: str, *, required: bool = False) -> str:
        raw = self.row.get(column.lower())
        text = "" if raw is None else str(raw).strip()
        if required and not text:
            self.problems.append(_reason(column, "is leeg maar verplicht"))
        return text

    def persoon(self, datum_kolom: str = "GEBOORTEDATUM") -> Persoon | None:
        bsn = self.get("BSN", parse_bsn)
        achternaam = self.text("ACHTERNAAM", required=True)
        geboortedatum = self.get(datum_kolom, parse_datum)
        if bsn is None or geboortedatum is None or not achternaam:
            return None
        return Persoon(bsn, achternaam, self.text("VOORLETTERS"), self.text("VOORVOEGSEL"), geboortedatum)


def _collect(
    name: str,
    source: Path | bytes,
    columns: Sequence[str],
    build: Callable[[_RowReader], Any],
    key: Callable[[Any], Any],
) -> Gelezen[Any]:
    rows, fouten, warnings, encoding = _rows(source, name, columns)
    structural = len(fouten)
    records: list[Any] = []
    seen: dict[Any, int] = {}
    for row in rows:
        reader = _RowReader(row)
        record = build(reader)
        if reader.problems or record is None:
            fouten.append(Fout(name, row.line, "; ".join(reader.problems) or "regel is niet te lezen"))
            continue
        k = key(record)
        if k in seen:
            fouten.append(
                Fout(
                    name, row.line, f"dubbele regel: gelijk aan regel {seen[k]}; deze telt niet nog eens mee"
                )
            )
            continue
        seen[k] = row.line
        records.append(record)
    fouten.sort(key=lambda f: f.regel)
    return Gelezen(name, tuple(records), tuple(fouten), warnings, len(rows) + structural, not encoding)


def _display(source: Path | str | bytes, name: str | None) -> tuple[Path | bytes, str]:
    if isinstance(source, bytes):
        return source, name or "<invoer>"
    path = Path(source)
    return path, name or path.name


def read_henv(
    source: Path | str | bytes,
    *,
    name: str | None = None,
    groepen: Mapping[str, VoorzieningKind] | None = None,
) -> Gelezen[HenvRegel]:
    """Read a HenV file (one row per verstrekking per client). ``groepen`` maps HENV_GROEP_CODE to a
    category (default :data:`DEFAULT_GROEPEN`); an unknown code makes the row bad."""
    path, display = _display(source, name)
    table = {k.strip().upper(): v for k, v in (groepen or DEFAULT_GROEPEN).items()}

    def build(r: _RowReader) -> HenvRegel | None:
        persoon = r.persoon()
        zorgperiode = r.get("ZORGPERIODE", parse_zorgperiode)
        code = r.text("HENV_GROEP_CODE", required=True).upper()
        soort = table.get(code)
        if code and soort is None:
            r.problems.append(
                _reason(
                    "HENV_GROEP_CODE",
                    f"onbekende code '{code[:10]}'",
                    f"bekend: {', '.join(sorted(table))}; geef een eigen tabel met --groepen",
                )
            )
        regeling = r.text("REGELING", required=True)
        if regeling and regeling.replace(" ", "").upper() != _REGELING:
            r.problems.append(_reason("REGELING", f"'{regeling[:20]}' is niet Wmo2015"))
        pgb = r.get("PGB", parse_jn)
        totale = r.get("TOTALE_KOSTEN", parse_bedrag, required=False)
        jaar = r.get("JAAR_VANAF", lambda t: parse_int(t, 1900, 2100))
        periode = r.get("PERIODE_VANAF", lambda t: parse_int(t, 1, 13))
        aantal = r.get("AANTAL_PERIODEN", lambda t: parse_int(t, 1, 13 * 100), required=False)
        per_periode = r.get("KOSTEN_PER_PERIODE", parse_bedrag, required=False)
        rest = r.get("RESTBEDRAG", parse_bedrag, required=False)
        laatste = r.get("IND_LAATSTE_ZORGPERIODE", parse_jn)
        dossier = r.text("DOSSIERNUMMER", required=True)
        if rest is not None and totale is None:
            r.problems.append(_reason("RESTBEDRAG", "ingevuld zonder TOTALE_KOSTEN"))
        if rest is not None and totale is not None and rest > totale:
            r.problems.append(_reason("RESTBEDRAG", "is hoger dan TOTALE_KOSTEN"))
        if totale is not None and rest is None:
            r.problems.append(_reason("RESTBEDRAG", "is leeg terwijl TOTALE_KOSTEN is ingevuld"))
        if (
            persoon is None
            or zorgperiode is None
            or soort is None
            or pgb is None
            or jaar is None
            or periode is None
            or laatste is None
            or r.problems
        ):
            return None
        vanaf = CakPeriode(jaar, periode)
        if vanaf > zorgperiode:
            r.problems.append(_reason("PERIODE_VANAF", f"periode {vanaf} ligt na ZORGPERIODE {zorgperiode}"))
            return None
        return HenvRegel(
            r.row.line,
            persoon,
            zorgperiode,
            dossier,
            regeling,
            pgb,
            code,
            r.text("HENV_GROEP_NAAM"),
            soort,
            totale,
            vanaf,
            aantal,
            per_periode,
            rest,
            laatste,
        )

    def key(rec: HenvRegel) -> Any:
        return (
            rec.persoon,
            rec.dossiernummer,
            rec.groep_code,
            rec.vanaf,
            rec.totale_kosten_cent,
            rec.zorgperiode,
        )

    return _collect(display, path, HENV_KOLOMMEN, build, key)


def read_za(source: Path | str | bytes, *, name: str | None = None) -> Gelezen[ZaRegel]:
    """Read a ZA file (one row per product per client)."""
    path, display = _display(source, name)

    def build(r: _RowReader) -> ZaRegel | None:
        persoon = r.persoon()
        periode = r.get("PERIODE_WEEK", parse_zorgperiode)
        regeling = r.text("REGELING", required=True)
        if regeling and regeling.replace(" ", "").upper() != _REGELING:
            r.problems.append(_reason("REGELING", f"'{regeling[:20]}' is niet Wmo2015"))
        minuten = r.get("GELEVERDE_ZORG", lambda t: parse_int(t, 0, 999_999))
        laatste = r.get("IND_LAATSTE_ZORGPERIODE", parse_jn)
        product = r.text("PRODUCTCODE", required=True)
        aanbieder = r.text("ZORGAANBIEDER_WZA_CODE", required=True)
        if persoon is None or periode is None or minuten is None or laatste is None or r.problems:
            return None
        return ZaRegel(
            r.row.line,
            persoon,
            periode,
            aanbieder,
            r.text("ZORGAANBIEDER_NAAM"),
            regeling,
            product,
            r.text("PRODUCT_OMSCHRIJVING"),
            minuten,
            laatste,
        )

    def key(rec: ZaRegel) -> Any:
        return (rec.persoon, rec.periode_week, rec.zorgaanbieder_code, rec.productcode)

    return _collect(display, path, ZA_KOLOMMEN, build, key)


def _soort(text: str) -> VoorzieningKind:
    try:
        return VoorzieningKind(text.strip().lower())
    except ValueError:
        raise ValueProblem(
            f"'{text[:30]}' is geen soort; kies uit {', '.join(s.value for s in VoorzieningKind)}"
        ) from None


def read_administratie(source: Path | str | bytes, *, name: str | None = None) -> Gelezen[AdministratieRegel]:
    """Read the gemeente's own administration: a CSV with exactly the header
    ``bsn;achternaam;voorletters;voorvoegsel;geboortedatum;soort;start;stop;kostprijs_cent;dossiernummer``
    (``;``-separated UTF-8; Windows-1252 is converted with a warning). ``soort`` is one of
    :class:`ieb.policy.VoorzieningKind`; ``stop`` and ``kostprijs_cent`` may be empty."""
    path, display = _display(source, name)

    def build(r: _RowReader) -> AdministratieRegel | None:
        persoon = r.persoon("geboortedatum")
        soort = r.get("soort", _soort)
        start = r.get("start", parse_datum)
        stop = r.get("stop", parse_datum, required=False)
        kostprijs = r.get("kostprijs_cent", parse_cent, required=False)
        dossier = r.text("dossiernummer")
        if start is not None and stop is not None and stop < start:
            r.problems.append(_reason("stop", "ligt voor start"))
        if soort is not None and kostprijs is not None and not soort.heeft_kostprijs:
            r.problems.append(
                _reason("kostprijs_cent", f"een kostprijs hoort niet bij {soort.value}", "laat de cel leeg")
            )
        if persoon is None or soort is None or start is None or r.problems:
            return None
        return AdministratieRegel(r.row.line, persoon, soort, start, stop, kostprijs, dossier)

    def key(rec: AdministratieRegel) -> Any:
        return (rec.persoon, rec.soort, rec.start, rec.stop, rec.kostprijs_cent, rec.dossiernummer)

    return _collect(display, path, ADMINISTRATIE_KOLOMMEN, build, key)
