"""The dated list of CBS gemeentecodes used by rule CS300.

The bundled list (``ieb/data/gemeenten.csv``; provenance in ``ieb/data/gemeenten.SOURCE.md``) has
the columns ``code,naam,ingangsdatum,einddatum``. A user may supply their own file with the same
columns (``GemeenteLijst.from_csv(path)``, or ``--gemeenten FILE`` on the command line).
The list holds gemeenten only: codes of RvIG Tabel 33 that are not municipalities
(:data:`NIET_GEMEENTEN`, e.g. ``1999`` for the RNI register) are refused with a ConfigurationError.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ieb.errors import ConfigurationError
from ieb.resources import data_path

__all__ = ["NIET_GEMEENTEN", "Gemeente", "GemeenteLijst", "bundled_gemeenten"]

#: Codes of RvIG Tabel 33 that are not municipalities and so never a valid Afzender (CS300):
#: ``0000`` onbekend, ``0997``-``0999`` non-GBA placeholders (ended 1990), ``1999`` Registratie Niet
#: Ingezetenen (RNI, a register). A list that contains one of them is refused.
NIET_GEMEENTEN: dict[str, str] = {
    "0000": "Onbekend",
    "0997": "Niet-GBA-code",
    "0998": "Niet-GBA-code",
    "0999": "Niet-GBA-code",
    "1999": "Registratie Niet Ingezetenen (RNI)",
}


@dataclass(frozen=True, slots=True)
class Gemeente:
    """One row of the list: a 4-digit CBS gemeentecode, its name and its validity period.

    ``ingangsdatum``/``einddatum`` are dates, both inclusive; None means open on that side (a code
    in use before the list starts, or still in use).
    """

    code: str
    naam: str
    ingangsdatum: dt.date | None
    einddatum: dt.date | None

    def valid_on(self, day: dt.date) -> bool:
        """True when the code is a gemeente on the date ``day`` (CS300 asks this for the Dagtekening)."""
        return (self.ingangsdatum is None or self.ingangsdatum <= day) and (
            self.einddatum is None or day <= self.einddatum
        )


class GemeenteLijst:
    """Gemeentecodes with their validity period: the list rule CS300 (retourcode S300) checks against.

    A code may occur more than once (a gemeente that ended and a later one with the same code).
    ``source`` names the file for messages. Raises :class:`~ieb.errors.ConfigurationError` when a
    code of :data:`NIET_GEMEENTEN` is listed.
    """

    def __init__(self, gemeenten: list[Gemeente], *, source: str = "") -> None:
        self._by_code: dict[str, list[Gemeente]] = {}
        for g in gemeenten:
            if g.code in NIET_GEMEENTEN:
                raise ConfigurationError(_niet_gemeente(g.code, source))
            self._by_code.setdefault(g.code, []).append(g)
        self.source = source

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_code.values())

    def lookup(self, code: str, day: dt.date | None = None) -> Gemeente | None:
        """The gemeente with this code valid on ``day`` (any period when ``day`` is None)."""
        for g in self._by_code.get(code, []):
            if day is None or g.valid_on(day):
                return g
        return None

    def is_valid(self, code: str, day: dt.date | None = None) -> bool:
        """True when ``code`` (4 digits) is a gemeente on ``day`` (any period when ``day`` is None): CS300."""
        return self.lookup(code, day) is not None

    def valid_on(self, day: dt.date) -> list[Gemeente]:
        """Every gemeente valid on the date ``day``, ordered by code."""
        return sorted(
            (g for gs in self._by_code.values() for g in gs if g.valid_on(day)), key=lambda g: g.code
        )

    @classmethod
    def from_csv(cls, path: str | Path) -> GemeenteLijst:
        """Read a UTF-8 CSV file (a BOM is allowed) with the columns of :meth:`from_text`.

        Raises :class:`~ieb.errors.ConfigurationError` when the file cannot be read, and as
        :meth:`from_text` does for its content.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ConfigurationError(f"gemeentelijst {path} is niet te lezen: {exc.strerror}") from exc
        return cls.from_text(text, source=str(path))

    @classmethod
    def from_text(cls, text: str, *, source: str = "") -> GemeenteLijst:
        """Read CSV text with the comma-separated columns ``code,naam,ingangsdatum,einddatum``.

        Codes are 4 digits (leading zeros a spreadsheet dropped are restored: ``363`` is ``0363``);
        dates are ``YYYY-MM-DD`` or empty. Raises :class:`~ieb.errors.ConfigurationError` naming
        ``source:line`` for a missing column, a code that is not 4 digits, a code of
        :data:`NIET_GEMEENTEN` or an invalid date.
        """
        reader = csv.DictReader(io.StringIO(text))
        required = {"code", "naam", "ingangsdatum", "einddatum"}
        if not reader.fieldnames or not required <= set(reader.fieldnames):
            raise ConfigurationError(
                f"gemeentelijst {source or ''} moet de kolommen code,naam,ingangsdatum,einddatum hebben"
            )
        rows: list[Gemeente] = []
        for line, row in enumerate(reader, start=2):
            code = (row["code"] or "").strip().zfill(4)
            if not (len(code) == 4 and code.isdigit()):
                raise ConfigurationError(
                    f"gemeentelijst {source}:{line}: code {row['code']!r} is geen 4 cijfers"
                )
            if code in NIET_GEMEENTEN:
                raise ConfigurationError(_niet_gemeente(code, f"{source}:{line}"))
            try:
                begin = dt.date.fromisoformat(row["ingangsdatum"].strip()) if row["ingangsdatum"] else None
                end = dt.date.fromisoformat(row["einddatum"].strip()) if row["einddatum"] else None
            except ValueError as exc:
                raise ConfigurationError(f"gemeentelijst {source}:{line}: ongeldige datum ({exc})") from None
            rows.append(Gemeente(code, (row["naam"] or "").strip(), begin, end))
        return cls(rows, source=source)


def _niet_gemeente(code: str, where: str) -> str:
    return (
        f"gemeentelijst {where}: code {code} ({NIET_GEMEENTEN[code]}) is geen gemeente; CS300 kent alleen "
        "gemeentecodes van het CBS. Haal de regel weg."
    )


@cache
def bundled_gemeenten() -> GemeenteLijst:
    """The list shipped with the library."""
    return GemeenteLijst.from_csv(data_path("gemeenten.csv"))
