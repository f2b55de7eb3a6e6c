"""Builders for hand-made HenV / ZA / administratie files (test BSNs only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ieb.migration import ADMINISTRATIE_KOLOMMEN, HENV_KOLOMMEN, ZA_KOLOMMEN

HENV_DEFAULT: dict[str, str] = {
    "BSN": "999900006",
    "ACHTERNAAM": "Jansen",
    "VOORLETTERS": "J.",
    "VOORVOEGSEL": "",
    "GEBOORTEDATUM": "19500101",
    "ZORGPERIODE": "201913",
    "DOSSIERNUMMER": "D1",
    "REGELING": "Wmo2015",
    "PGB": "N",
    "HENV_GROEP_CODE": "HH",
    "HENV_GROEP_NAAM": "Huishoudelijke hulp",
    "TOTALE_KOSTEN": "",
    "JAAR_VANAF": "2019",
    "PERIODE_VANAF": "3",
    "AANTAL_PERIODEN": "",
    "KOSTEN_PER_PERIODE": "",
    "RESTBEDRAG": "",
    "IND_LAATSTE_ZORGPERIODE": "J",
}
ZA_DEFAULT: dict[str, str] = {
    "BSN": "999900006",
    "ACHTERNAAM": "Jansen",
    "VOORLETTERS": "J.",
    "VOORVOEGSEL": "",
    "GEBOORTEDATUM": "01-01-1950",
    "PERIODE_WEEK": "201913",
    "ZORGAANBIEDER_WZA_CODE": "WZA123",
    "ZORGAANBIEDER_NAAM": "Thuiszorg",
    "REGELING": "Wmo2015",
    "PRODUCTCODE": "02A01",
    "PRODUCT_OMSCHRIJVING": "Huishoudelijke ondersteuning",
    "GELEVERDE_ZORG": "120",
    "IND_LAATSTE_ZORGPERIODE": "J",
}
ADM_DEFAULT: dict[str, str] = {
    "bsn": "999900006",
    "achternaam": "Jansen",
    "voorletters": "J.",
    "voorvoegsel": "",
    "geboortedatum": "1950-01-01",
    "soort": "huishoudelijke_hulp",
    "start": "2019-02-01",
    "stop": "",
    "kostprijs_cent": "",
    "dossiernummer": "D1",
}


def _quote(value: str, sep: str) -> str:
    if sep in value or '"' in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def table(
    columns: Sequence[str],
    defaults: Mapping[str, str],
    rows: Sequence[Mapping[str, Any]],
    *,
    sep: str = ";",
    encoding: str = "utf-8",
) -> bytes:
    lines = [sep.join(columns)]
    for row in rows:
        values = {**defaults, **{k: "" if v is None else str(v) for k, v in row.items()}}
        lines.append(sep.join(_quote(values[c], sep) for c in columns))
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def henv(*rows: Mapping[str, Any], sep: str = ";", encoding: str = "utf-8") -> bytes:
    return table(HENV_KOLOMMEN, HENV_DEFAULT, rows, sep=sep, encoding=encoding)


def za(*rows: Mapping[str, Any], sep: str = ",", encoding: str = "utf-8") -> bytes:
    return table(ZA_KOLOMMEN, ZA_DEFAULT, rows, sep=sep, encoding=encoding)


def adm(*rows: Mapping[str, Any], sep: str = ";", encoding: str = "utf-8") -> bytes:
    return table(ADMINISTRATIE_KOLOMMEN, ADM_DEFAULT, rows, sep=sep, encoding=encoding)
