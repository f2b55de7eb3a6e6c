"""Beleidsinformatie from the stored iWmo messages: counts per month and gemeente, a GMSD-style
export (one row per person x arrangement), and a self-contained HTML page with inline SVG charts.

Public API::

    Beleidsinformatie.compute(state, desired, van, tot, instellingen) -> Beleidsinformatie
    info.write(folder) -> list[Path]     maanden.csv, categorieen.csv, leeftijd.csv, redenen.csv,
                                         gmsd.csv, kolommen.csv, beleidsinformatie.html

Definitions (also in ``kolommen.csv`` and docs/beleidsinformatie.md):

* **ondersteuning** of an arrangement (one ToewijzingNummer): its leveringen (WMO305 Begindatum ..
  WMO307 Einddatum; an open levering runs to the toewijzing's Einddatum) when the aanbieder
  reported any, else the toewijzing itself (WMO301 Ingangsdatum .. Einddatum). Withdrawn
  toewijzingen (RedenWijziging 13) do not count.
* a person **has support** in a month when one of their arrangements' intervals overlaps it; **has a
  running eigen bijdrage** when a derived period (``ieb iwmo gewenst``) overlaps it.
* **nieuw** in a month: the person's first support (in that gemeente) starts in it; **beeindigd**:
  all their support has ended and the last end lies in it.
* **leeftijdsklasse**: age on the last day of the month from Geboortedatum (0-17, 18-64, 65-74,
  75-84, 85+).
* **redenen**: leveringen (not persons) with a WMO307 Einddatum in the month, by RedenBeeindiging.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ieb.iwmo.codes import CATEGORIEEN, REDENEN_BEEINDIGING
from ieb.iwmo.desired import Desired, Instellingen
from ieb.iwmo.state import Voorzieningen
from ieb.policy.months import Month

__all__ = ["COLUMNS", "LEEFTIJDSKLASSEN", "Arrangement", "Beleidsinformatie", "arrangements"]

#: Age bands (lower bound inclusive, upper bound inclusive or None).
LEEFTIJDSKLASSEN: tuple[tuple[str, int, int | None], ...] = (
    ("0-17", 0, 17),
    ("18-64", 18, 64),
    ("65-74", 65, 74),
    ("75-84", 75, 84),
    ("85+", 85, None),
)

#: Every column of every file: (file, column, meaning, source).
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("maanden.csv", "gemeente", "gemeentecode (4 cijfers)", "WMO301 Afzender; WMO305/WMO307 Ontvanger"),
    ("maanden.csv", "maand", "kalendermaand JJJJ-MM", "--van/--tot"),
    (
        "maanden.csv",
        "personen_ondersteuning",
        "personen met ondersteuning in de maand",
        "WMO305/WMO307 leveringen, anders WMO301 Ingangsdatum/Einddatum",
    ),
    (
        "maanden.csv",
        "personen_eigen_bijdrage",
        "personen met een lopende eigen-bijdrageperiode in de maand",
        "ieb iwmo gewenst (trigger, bijdrageplicht, pauzeregel uit iwmo.toml)",
    ),
    (
        "maanden.csv",
        "nieuw",
        "personen van wie de eerste ondersteuning in de maand begint",
        "vroegste begin van de ondersteuning",
    ),
    (
        "maanden.csv",
        "beeindigd",
        "personen van wie alle ondersteuning in de maand eindigt",
        "laatste einde van de ondersteuning (geen open levering)",
    ),
    ("categorieen.csv", "gemeente", "gemeentecode", "zie maanden.csv"),
    ("categorieen.csv", "maand", "kalendermaand JJJJ-MM", "--van/--tot"),
    ("categorieen.csv", "productcategorie", "WMO020-code", "Product/Categorie van WMO301 (of WMO305)"),
    ("categorieen.csv", "omschrijving", "omschrijving van de categorie", "codelijst WMO020"),
    (
        "categorieen.csv",
        "personen",
        "personen met ondersteuning in deze categorie in de maand",
        "zie personen_ondersteuning",
    ),
    ("leeftijd.csv", "gemeente", "gemeentecode", "zie maanden.csv"),
    ("leeftijd.csv", "maand", "kalendermaand JJJJ-MM", "--van/--tot"),
    (
        "leeftijd.csv",
        "leeftijdsklasse",
        "leeftijd op de laatste dag van de maand (0-17, 18-64, 65-74, 75-84, 85+, onbekend)",
        "Client/Geboortedatum (laatst ontvangen)",
    ),
    (
        "leeftijd.csv",
        "personen",
        "personen met ondersteuning in de maand in deze klasse",
        "zie personen_ondersteuning",
    ),
    ("redenen.csv", "gemeente", "gemeentecode", "zie maanden.csv"),
    ("redenen.csv", "maand", "kalendermaand JJJJ-MM van de Einddatum", "WMO307 Einddatum"),
    ("redenen.csv", "reden_beeindiging", "WMO588-code", "WMO307 RedenBeeindiging"),
    ("redenen.csv", "omschrijving", "omschrijving van de reden", "codelijst WMO588"),
    (
        "redenen.csv",
        "leveringen",
        "beeindigde leveringen (niet personen)",
        "WMO307 StopProduct (actueel, na status 2/3)",
    ),
    ("gmsd.csv", "gemeentecode", "gemeentecode", "WMO301 Afzender; WMO305/WMO307 Ontvanger"),
    ("gmsd.csv", "bsn", "burgerservicenummer", "Client/Bsn"),
    ("gmsd.csv", "geboortedatum", "geboortedatum JJJJ-MM-DD", "Client/Geboortedatum/Datum"),
    ("gmsd.csv", "geslacht", "0 onbekend, 1 man, 2 vrouw", "Client/Geslacht"),
    ("gmsd.csv", "toewijzingnummer", "nummer van het maatwerkarrangement", "ToewijzingNummer"),
    ("gmsd.csv", "aanbieder", "AGB-code van de aanbieder", "WMO301 Ontvanger; WMO305/WMO307 Afzender"),
    ("gmsd.csv", "productcategorie", "WMO020-code", "Product/Categorie"),
    ("gmsd.csv", "productcode", "productcode van de gemeente", "Product/Code"),
    (
        "gmsd.csv",
        "begindatum",
        "begin van de ondersteuning",
        "eerste WMO305 Begindatum, anders WMO301 Ingangsdatum",
    ),
    (
        "gmsd.csv",
        "einddatum",
        "einde van de ondersteuning (leeg: loopt)",
        "laatste WMO307 Einddatum, anders WMO301 Einddatum",
    ),
    ("gmsd.csv", "reden_beeindiging", "WMO588-code van de laatste stop", "WMO307 RedenBeeindiging"),
    (
        "gmsd.csv",
        "leveringsvorm",
        "ZIN (zorg in natura)",
        "afgeleid: iWmo-berichten gaan alleen over zorg in natura; pgb loopt niet via iWmo",
    ),
    ("gmsd.csv", "omvang_volume", "toegewezen volume", "WMO301 Omvang/Volume"),
    ("gmsd.csv", "omvang_eenheid", "eenheid (codelijst WMO757)", "WMO301 Omvang/Eenheid"),
    ("gmsd.csv", "omvang_frequentie", "frequentie (codelijst WMO756)", "WMO301 Omvang/Frequentie"),
    (
        "gmsd.csv",
        "eigen_bijdrage",
        "ja als de categorie bijdrageplichtig is voor de gemeente",
        "iwmo.toml bijdrageplicht",
    ),
)


@dataclass(frozen=True, slots=True)
class Arrangement:
    """One maatwerkarrangement (ToewijzingNummer) of a person with its support ``intervals``
    (start, stop or None), oldest first, and what the messages say about it."""

    gemeente: str
    bsn: str
    nummer: int
    categorie: str
    productcode: str | None
    aanbieder: str
    intervals: tuple[tuple[dt.date, dt.date | None], ...]
    reden: str | None
    volume: int | None
    eenheid: str | None
    frequentie: str | None

    @property
    def begindatum(self) -> dt.date:
        """The first day of support (the first interval's start)."""
        return self.intervals[0][0]

    @property
    def einddatum(self) -> dt.date | None:
        """The last day of support, or None while an interval is open."""
        stops = [s for _, s in self.intervals]
        return None if any(s is None for s in stops) else max(s for s in stops if s is not None)


def arrangements(state: Voorzieningen) -> list[Arrangement]:
    """Every arrangement in ``state`` with its support intervals (see the module docstring)."""
    keys = set(state.toewijzingen) | {k for k, v in state.leveringen.items() if v}
    out: list[Arrangement] = []
    for key in sorted(keys):
        t = state.toewijzingen.get(key)
        leveringen = sorted(state.leveringen.get(key, []), key=lambda x: x.begindatum)
        if t is not None and t.verwijderd:
            continue
        cap = None if t is None else t.einddatum
        intervals: list[tuple[dt.date, dt.date | None]] = []
        reden = None
        for levering in leveringen:
            stop = levering.einddatum if levering.einddatum is not None else cap
            if stop is not None and stop < levering.begindatum:
                continue
            intervals.append((levering.begindatum, stop))
            reden = levering.reden
        if not leveringen and t is not None:
            intervals.append((t.ingangsdatum, t.einddatum))
        if not intervals:
            continue
        first = leveringen[0] if leveringen else None
        out.append(
            Arrangement(
                gemeente=key[0],
                bsn=t.bsn if t else leveringen[0].bsn,
                nummer=key[1],
                categorie=(t.categorie if t else None) or (first.categorie if first else None) or "",
                productcode=(t.productcode if t else None) or (first.productcode if first else None),
                aanbieder=t.aanbieder if t else leveringen[0].aanbieder,
                intervals=tuple(intervals),
                reden=reden,
                volume=t.volume if t else None,
                eenheid=t.eenheid if t else None,
                frequentie=t.frequentie if t else None,
            )
        )
    return out


def _overlaps(start: dt.date, stop: dt.date | None, first: dt.date, last: dt.date) -> bool:
    return start <= last and (stop is None or stop >= first)


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _band(born: dt.date | None, on: dt.date) -> str:
    if born is None:
        return "onbekend"
    age = _age(born, on)
    for name, low, high in LEEFTIJDSKLASSEN:
        if age >= low and (high is None or age <= high):
            return name
    return "onbekend"


@dataclass
class Beleidsinformatie:
    """The counts (rows of the CSV files, as dicts of strings and ints) and the GMSD rows."""

    van: dt.date
    tot: dt.date
    maanden: list[dict[str, object]] = field(default_factory=list)
    categorieen: list[dict[str, object]] = field(default_factory=list)
    leeftijd: list[dict[str, object]] = field(default_factory=list)
    redenen: list[dict[str, object]] = field(default_factory=list)
    gmsd: list[dict[str, object]] = field(default_factory=list)

    @classmethod
    def compute(
        cls,
        state: Voorzieningen,
        desired: Desired,
        van: dt.date,
        tot: dt.date,
        instellingen: Instellingen | None = None,
        *,
        gemeenten: Sequence[str] | None = None,
    ) -> Beleidsinformatie:
        """Counts for every month from ``van``'s month to ``tot``'s month (dates inclusive) and every
        gemeente in ``state`` (or ``gemeenten``). Raises ``ValueError`` when ``tot`` < ``van``."""
        if tot < van:
            raise ValueError(f"--tot {tot} ligt voor --van {van}")
        instellingen = instellingen or Instellingen()
        info = cls(van, tot)
        items = arrangements(state)
        chosen = sorted(
            set(gemeenten) if gemeenten else {a.gemeente for a in items} | {g for g, _ in state.personen}
        )
        months = list(Month.of(van).until(Month.of(tot)))
        for g in chosen:
            mine = [a for a in items if a.gemeente == g]
            periods = [p for p in desired.periods if p.gemeente == g]
            first_start: dict[str, dt.date] = {}
            ends: dict[str, list[dt.date | None]] = {}
            for a in mine:
                for start, stop in a.intervals:
                    first_start[a.bsn] = min(first_start.get(a.bsn, start), start)
                    ends.setdefault(a.bsn, []).append(stop)
            last_end = {
                b: None if any(x is None for x in v) else max(x for x in v if x is not None)
                for b, v in ends.items()
            }
            for month in months:
                m0, m1 = month.first_day, month.last_day
                label = f"{month.year:04d}-{month.month:02d}"
                active = {a.bsn for a in mine if any(_overlaps(s, e, m0, m1) for s, e in a.intervals)}
                paying = {p.bsn for p in periods if _overlaps(p.start, p.stop, m0, m1)}
                new = {b for b, s in first_start.items() if m0 <= s <= m1}
                ended = {b for b, e in last_end.items() if e is not None and m0 <= e <= m1}
                info.maanden.append(
                    {
                        "gemeente": g,
                        "maand": label,
                        "personen_ondersteuning": len(active),
                        "personen_eigen_bijdrage": len(paying),
                        "nieuw": len(new),
                        "beeindigd": len(ended),
                    }
                )
                for code in sorted({a.categorie for a in mine}):
                    persons = {
                        a.bsn
                        for a in mine
                        if a.categorie == code and any(_overlaps(s, e, m0, m1) for s, e in a.intervals)
                    }
                    if persons:
                        info.categorieen.append(
                            {
                                "gemeente": g,
                                "maand": label,
                                "productcategorie": code,
                                "omschrijving": CATEGORIEEN.get(code, "onbekend"),
                                "personen": len(persons),
                            }
                        )
                bands: dict[str, int] = {}
                for bsn in active:
                    person = state.personen.get((g, bsn))
                    band = _band(person.geboortedatum if person else None, m1)
                    bands[band] = bands.get(band, 0) + 1
                for name in [n for n, _, _ in LEEFTIJDSKLASSEN] + ["onbekend"]:
                    if bands.get(name):
                        info.leeftijd.append(
                            {"gemeente": g, "maand": label, "leeftijdsklasse": name, "personen": bands[name]}
                        )
                reasons: dict[str, int] = {}
                for key, leveringen in state.leveringen.items():
                    if key[0] != g:
                        continue
                    t = state.toewijzingen.get(key)
                    if t is not None and t.verwijderd:
                        continue
                    for levering in leveringen:
                        if (
                            levering.einddatum is not None
                            and levering.reden
                            and m0 <= levering.einddatum <= m1
                        ):
                            reasons[levering.reden] = reasons.get(levering.reden, 0) + 1
                for code in sorted(reasons):
                    info.redenen.append(
                        {
                            "gemeente": g,
                            "maand": label,
                            "reden_beeindiging": code,
                            "omschrijving": REDENEN_BEEINDIGING.get(code, "onbekend"),
                            "leveringen": reasons[code],
                        }
                    )
            plicht = instellingen.voor(g).bijdrageplicht
            for a in mine:
                if not any(_overlaps(s, e, van, tot) for s, e in a.intervals):
                    continue
                person = state.personen.get((g, a.bsn))
                end = a.einddatum
                info.gmsd.append(
                    {
                        "gemeentecode": g,
                        "bsn": a.bsn,
                        "geboortedatum": person.geboortedatum.isoformat()
                        if person and person.geboortedatum
                        else "",
                        "geslacht": (person.geslacht if person else None) or "",
                        "toewijzingnummer": a.nummer,
                        "aanbieder": a.aanbieder,
                        "productcategorie": a.categorie,
                        "productcode": a.productcode or "",
                        "begindatum": a.begindatum.isoformat(),
                        "einddatum": end.isoformat() if end else "",
                        "reden_beeindiging": (a.reden or "") if end else "",
                        "leveringsvorm": "ZIN",
                        "omvang_volume": "" if a.volume is None else a.volume,
                        "omvang_eenheid": a.eenheid or "",
                        "omvang_frequentie": a.frequentie or "",
                        "eigen_bijdrage": "ja" if a.categorie in plicht else "nee",
                    }
                )
        return info

    # ------------------------------------------------------------------ output

    def write(self, folder: Path) -> list[Path]:
        """Write the CSV files, ``kolommen.csv`` and ``beleidsinformatie.html`` into ``folder``
        (created when missing); returns their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        tables = {
            "maanden.csv": self.maanden,
            "categorieen.csv": self.categorieen,
            "leeftijd.csv": self.leeftijd,
            "redenen.csv": self.redenen,
            "gmsd.csv": self.gmsd,
        }
        paths = []
        for name, rows in tables.items():
            header = [c for f, c, _, _ in COLUMNS if f == name]
            paths.append(_write_csv(folder / name, header, rows))
        paths.append(
            _write_csv(
                folder / "kolommen.csv",
                ["bestand", "kolom", "betekenis", "bron"],
                [dict(zip(("bestand", "kolom", "betekenis", "bron"), c, strict=True)) for c in COLUMNS],
            )
        )
        page = folder / "beleidsinformatie.html"
        page.write_text(self.html(), encoding="utf-8")
        paths.append(page)
        return paths

    def html(self) -> str:
        """One self-contained page (inline CSS and SVG, no scripts, no network, no BSN)."""
        e = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html lang="nl"><head><meta charset="utf-8">',
            f"<title>Beleidsinformatie Wmo {e(self.van.isoformat())} t/m {e(self.tot.isoformat())}</title>",
            "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
            "td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right}th{background:#eee}"
            "td.l,th.l{text-align:left}.bar.ond{fill:#4a7fb5}.bar.eb{fill:#e0a030}svg text{font-size:11px}</style>",
            "</head><body>",
            f"<h1>Beleidsinformatie Wmo, {e(self.van.isoformat())} t/m {e(self.tot.isoformat())}</h1>",
            "<p>Bron: de gelezen iWmo-berichten (WMO301, WMO305, WMO307). Definities: zie kolommen.csv.</p>",
        ]
        for g in sorted({str(r["gemeente"]) for r in self.maanden}):
            rows = [r for r in self.maanden if r["gemeente"] == g]
            parts.append(f'<section id="gemeente-{e(g)}"><h2>Gemeente {e(g)}</h2>')
            parts.append(_month_chart(g, rows))
            parts.append(
                "<table><tr><th class=l>maand</th><th>met ondersteuning</th><th>met eigen bijdrage</th>"
                "<th>nieuw</th><th>beeindigd</th></tr>"
            )
            for r in rows:
                cells = "".join(
                    f'<td data-gemeente="{e(g)}" data-maand="{e(str(r["maand"]))}" data-key="{k}">{int(str(r[k]))}</td>'
                    for k in ("personen_ondersteuning", "personen_eigen_bijdrage", "nieuw", "beeindigd")
                )
                parts.append(f"<tr><td class=l>{e(str(r['maand']))}</td>{cells}</tr>")
            parts.append("</table>")
            last = str(rows[-1]["maand"]) if rows else ""
            cats = [r for r in self.categorieen if r["gemeente"] == g and r["maand"] == last]
            parts.append(f"<h3>Per productcategorie in {e(last)}</h3>")
            parts.append(_category_chart(g, cats))
            parts.append("</section>")
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[dict[str, object]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _month_chart(g: str, rows: Sequence[dict[str, object]]) -> str:
    e = html.escape
    width, height, pad = 40 * max(len(rows), 1) + 60, 220, 30
    top = max([int(str(r["personen_ondersteuning"])) for r in rows] + [1])
    scale = (height - 2 * pad) / top
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Personen per maand, gemeente {e(g)}">'
    ]
    for i, r in enumerate(rows):
        x = 40 + i * 40
        for j, (key, css) in enumerate(
            (("personen_ondersteuning", "ond"), ("personen_eigen_bijdrage", "eb"))
        ):
            value = int(str(r[key]))
            h = value * scale
            out.append(
                f'<rect class="bar {css}" data-maand="{e(str(r["maand"]))}" data-key="{key}" data-value="{value}" '
                f'x="{x + j * 16}" y="{height - pad - h:.1f}" width="14" height="{h:.1f}"><title>{value}</title></rect>'
            )
        out.append(f'<text x="{x}" y="{height - 10}">{e(str(r["maand"])[2:])}</text>')
    out.append(f'<text x="5" y="15">max {top}</text></svg>')
    return "".join(out)


def _category_chart(g: str, rows: Sequence[dict[str, object]]) -> str:
    e = html.escape
    top = max([int(str(r["personen"])) for r in rows] + [1])
    height = 22 * max(len(rows), 1) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{height}" role="img" '
        f'aria-label="Personen per productcategorie, gemeente {e(g)}">'
    ]
    for i, r in enumerate(rows):
        value = int(str(r["personen"]))
        w = 300 * value / top
        y = 5 + i * 22
        label = f"{r['productcategorie']} {r['omschrijving']}"
        out.append(f'<text x="0" y="{y + 14}">{e(label[:40])}</text>')
        out.append(
            f'<rect class="bar cat" data-categorie="{e(str(r["productcategorie"]))}" data-value="{value}" '
            f'x="300" y="{y}" width="{w:.1f}" height="18" fill="#4a7fb5"></rect>'
        )
        out.append(f'<text x="{305 + w:.1f}" y="{y + 14}">{value}</text>')
    out.append("</svg>")
    return "".join(out)
