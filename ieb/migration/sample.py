"""Generated HenV, ZA and administratie files of realistic size, with the counts they must give.

For tests, benchmarks and demonstrations: every person is one of a fixed set of kinds (same in both
administrations, a difference of one category, only at the CAK, only at the gemeente, ended in
period 13 of 2019, kostprijs used up), plus bad rows (BSN failing the 11-proef, unknown
HENV_GROEP_CODE, duplicated rows, a date that does not exist). :func:`generate` returns the file
contents and ``expected``: exactly what ``ieb reconcile --format json`` must print for them on
1 January 2020 (``fouten`` as a count; ``cak_regels`` where every CAK row ends up). Half of the
running verstrekkingen without kostprijs have AANTAL_PERIODEN counting up to ZORGPERIODE (the CAK's
way for a client who continues), and the ZA rows give the last WEEK with care (PERIODE_WEEK 201951,
201952, flagged on the last). Only test BSNs (9999xxxxx, 11-proef valid) are used; the
bad ones are from the same range.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from typing import Any

from ieb.migration.files import ADMINISTRATIE_KOLOMMEN, HENV_KOLOMMEN, ZA_KOLOMMEN
from ieb.migration.values import CakPeriode, periode_of
from ieb.types import bsn_is_valid

__all__ = ["KINDS", "Generated", "generate", "sample_bsns"]

ZORGPERIODE = CakPeriode(2019, 13)
PEILDATUM = dt.date(2020, 1, 1)
TARIEF_2019 = 1750
LAATSTE_WEEK = 52  #: the last ISO week of 2019 (PERIODE_WEEK 201952)

#: kind -> (group on the peildatum or None, difference category or None)
KINDS: dict[str, tuple[str | None, str | None]] = {
    "gelijk": ("beide", None),
    "gelijk_kostprijs": ("beide", None),
    "geboortedatum": ("beide", "geboortedatum"),
    "voorletters": ("beide", "voorletters"),
    "kostprijs": ("beide", "kostprijs"),
    "periode": ("beide", "periode"),
    "alleen_cak": ("alleen_cak", None),
    "alleen_cak_za": ("alleen_cak", None),
    "alleen_gemeente": ("alleen_gemeente", None),
    "beeindigd_p13": (None, None),
    "restbedrag_nul": (None, None),
}
_WEIGHTS = [30, 12, 4, 4, 4, 4, 8, 4, 10, 10, 4]

_ACHTERNAMEN = ["Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters", "Hendriks"]
_ACCENT = ["Çelik", "Müller", "Noël", "Brandsmà", "Ümit"]
_VOORVOEGSELS = ["", "", "", "de", "van", "van der", "ter"]


def sample_bsns(count: int, *, start: int = 0) -> list[str]:
    """``count`` distinct test BSNs 9999xxxxx that pass the 11-proef (at most 9,090 exist)."""
    out: list[str] = []
    for prefix in range(99990000 + start, 100000000):
        digits = [int(c) for c in str(prefix)]
        total = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
        last = total % 11
        if last < 10:
            bsn = f"{prefix}{last}"
            if bsn_is_valid(bsn):
                out.append(bsn)
                if len(out) == count:
                    return out
    raise ValueError(f"er zijn minder dan {count} test-BSN's met 11-proef vanaf {start}")


def bad_bsns(count: int) -> list[str]:
    """Test-range BSNs that fail the 11-proef."""
    out: list[str] = []
    number = 999_999_999
    while len(out) < count:
        text = str(number)
        if not bsn_is_valid(text):
            out.append(text)
        number -= 1
    return out


@dataclass
class Generated:
    """The generated files (bytes as written) and what reconciling them on 1 January 2020 must give."""

    henv: bytes
    za: bytes
    administratie: bytes
    expected: dict[str, int]
    kinds: dict[str, str] = field(default_factory=dict)  #: bsn -> kind
    rows: dict[str, int] = field(default_factory=dict)  #: data rows per file
    #: "henv"/"za" -> :class:`ieb.migration.CakRegel` value -> rows that must end up there
    cak_regels: dict[str, dict[str, int]] = field(default_factory=dict)

    def write(self, folder: Any) -> dict[str, Any]:
        """Write ``henv.csv``, ``za.csv`` and ``administratie.csv`` into ``folder``; returns the paths."""
        from pathlib import Path

        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, data in (("henv", self.henv), ("za", self.za), ("administratie", self.administratie)):
            path = root / f"{name}.csv"
            path.write_bytes(data)
            paths[name] = path
        return paths


def _bedrag(cent: int) -> str:
    euros, cents = divmod(cent, 100)
    whole = f"{euros:,}".replace(",", ".")
    return f"{whole},{cents:02d}"


def _csv(header: tuple[str, ...], rows: list[list[str]], delimiter: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


@dataclass
class _Rows:
    """Builds the rows of one person."""

    rng: random.Random
    bsn: str
    achternaam: str
    voorletters: str
    voorvoegsel: str
    geboren: dt.date
    vanaf: CakPeriode
    dossier: str

    @property
    def person(self) -> list[str]:
        return [self.bsn, self.achternaam, self.voorletters, self.voorvoegsel]

    def henv(
        self,
        code: str,
        naam: str,
        totale: int | None,
        aantal: int | None,
        rest: int | None,
        suffix: str,
        laatste: str = "J",
    ) -> list[str]:
        return [
            *self.person,
            self.geboren.strftime("%Y%m%d"),
            f"{ZORGPERIODE.jaar}{ZORGPERIODE.periode:02d}",
            self.dossier + suffix,
            "Wmo2015",
            self.rng.choice("NNNJ"),
            code,
            naam,
            "" if totale is None else _bedrag(totale),
            str(self.vanaf.jaar),
            str(self.vanaf.periode),
            "" if aantal is None else str(aantal),
            "" if totale is None else _bedrag(TARIEF_2019),
            "" if rest is None else _bedrag(rest),
            laatste,
        ]

    def adm(
        self,
        soort: str,
        begin: dt.date,
        stop: dt.date | None,
        kostprijs: int | None,
        suffix: str,
        *,
        letters: str | None = None,
        dob: dt.date | None = None,
    ) -> list[str]:
        return [
            self.bsn,
            self.achternaam,
            self.voorletters if letters is None else letters,
            self.voorvoegsel,
            (dob or self.geboren).isoformat(),
            soort,
            begin.isoformat(),
            "" if stop is None else stop.isoformat(),
            "" if kostprijs is None else str(kostprijs),
            self.dossier + suffix,
        ]

    def za(self, laatste: str = "J") -> list[list[str]]:
        rows = []
        aanbieder = f"WZA{self.rng.randint(100, 999)}"
        for product in self.rng.sample(["02A01", "02A02", "02A03", "04A01", "04A02"], 3):
            for week in (51, 52):  # one row per product per week; the last one is flagged
                rows.append(
                    [
                        *self.person,
                        self.geboren.strftime("%d-%m-%Y"),
                        f"{ZORGPERIODE.jaar}{week:02d}",
                        aanbieder,
                        "Thuiszorg Voorbeeld",
                        "Wmo2015",
                        product,
                        "Huishoudelijke ondersteuning",
                        str(self.rng.randint(30, 900)),
                        laatste if week == LAATSTE_WEEK else "N",
                    ]
                )
        return rows


def generate(personen: int = 8_000, *, seed: int = 2019) -> Generated:
    """Generate files for ``personen`` persons (about 6 data rows a person over the three files).

    Deterministic for a given ``seed``. ``expected`` has the keys of the JSON summary with
    ``fouten`` as the number of bad rows.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    bsns = sample_bsns(personen)
    henv: list[list[str]] = []
    za: list[list[str]] = []
    adm: list[list[str]] = []
    regels: dict[str, dict[str, int]] = {
        f: dict.fromkeys(("beide", "alleen_cak", "niet_lopend", "opgebruikt", "fout"), 0)
        for f in ("henv", "za")
    }
    expected = {
        "alleen_cak": 0,
        "alleen_gemeente": 0,
        "beide": 0,
        "verschillen": 0,
        "restbedrag_cent": 0,
        "startberichten": 0,
        "fouten": 0,
    }
    kinds: dict[str, str] = {}
    names = list(KINDS)
    for index, bsn in enumerate(bsns):
        kind = rng.choices(names, _WEIGHTS)[0]
        kinds[bsn] = kind
        group, verschil = KINDS[kind]
        if group is not None:
            expected[group] += 1
        if verschil is not None:
            expected["verschillen"] += 1
        if group in ("beide", "alleen_gemeente"):
            expected["startberichten"] += 1
        achternaam = rng.choice(_ACCENT if index % 17 == 0 else _ACHTERNAMEN)
        voorletters = rng.choice(["J.", "A.B.", "M.", "P.J.", "E."])
        voorvoegsel = rng.choice(_VOORVOEGSELS)
        geboren = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 60))
        # a start in periods 1..12 of 2019 (4..12 when the gemeente's start moves 2 periods back)
        p_start = rng.randint(4 if kind == "periode" else 1, 12)
        start = CakPeriode(2019, p_start).eerste_dag + dt.timedelta(days=rng.randrange(0, 28))
        vanaf = periode_of(start).plus(1)  # first period charged
        rows = _Rows(rng, bsn, achternaam, voorletters, voorvoegsel, geboren, vanaf, f"D{index:06d}")
        henv_row, adm_row, za_rows = rows.henv, rows.adm, rows.za

        charged = ZORGPERIODE.index() - vanaf.index() + 1  # periods charged through 2019-13
        kosten = rng.randrange(500, 2500) * 100  # EUR 500 .. 2,500
        aantal_k = -(-kosten // TARIEF_2019)
        rest = kosten - TARIEF_2019 * charged
        if kind in ("gelijk", "geboortedatum", "voorletters", "periode", "alleen_cak", "alleen_gemeente"):
            if kind != "alleen_gemeente":
                # the CAK counts AANTAL_PERIODEN up to ZORGPERIODE for a client who continues, or leaves it empty
                aantal = charged if rng.random() < 0.5 else None
                henv.append(henv_row("HH", "Huishoudelijke hulp", None, aantal, None, "-1"))
                za.extend(za_rows())
                assert group is not None
                regels["henv"][group] += 1
                regels["za"][group] += 3
                regels["za"]["niet_lopend"] += 3
            if kind != "alleen_cak":
                adm_start = start - dt.timedelta(days=56) if kind == "periode" else start
                letters = "K." if kind == "voorletters" else voorletters
                dob = geboren + dt.timedelta(days=1) if kind == "geboortedatum" else geboren
                adm.append(
                    adm_row("huishoudelijke_hulp", adm_start, None, None, "-1", letters=letters, dob=dob)
                )
            if kind == "alleen_gemeente" and rng.random() < 0.5:
                adm.append(adm_row("hulpmiddel", start, None, kosten, "-2"))
        elif kind in ("gelijk_kostprijs", "kostprijs"):
            # half of them also have huishoudelijke hulp (then that governs the stop, no kostprijs is sent)
            if rng.random() < 0.5:
                henv.append(henv_row("HH", "Huishoudelijke hulp", None, None, None, "-1"))
                adm.append(adm_row("huishoudelijke_hulp", start, None, None, "-1"))
                regels["henv"]["beide"] += 1
            henv.append(henv_row("HM", "Hulpmiddelen", kosten, aantal_k, rest, "-2"))
            regels["henv"]["beide"] += 1
            expected["restbedrag_cent"] += rest
            adm_kosten = kosten + 10_000 if kind == "kostprijs" else kosten
            adm.append(adm_row("hulpmiddel", start, None, adm_kosten, "-2"))
        elif kind == "alleen_cak_za":
            za.extend(za_rows())
            regels["za"]["alleen_cak"] += 3
            regels["za"]["niet_lopend"] += 3
        elif kind == "beeindigd_p13":
            # ended with 2019: not flagged as running in the last period (IND_LAATSTE_ZORGPERIODE N)
            henv.append(henv_row("HH", "Huishoudelijke hulp", None, charged, None, "-1", "N"))
            adm.append(adm_row("huishoudelijke_hulp", start, dt.date(2019, 12, 31), None, "-1"))
            za.extend(za_rows("N"))
            regels["henv"]["niet_lopend"] += 1
            regels["za"]["niet_lopend"] += 6
        elif kind == "restbedrag_nul":
            totale = TARIEF_2019 * charged
            henv.append(henv_row("HM", "Hulpmiddelen", totale, charged, 0, "-1"))
            adm.append(adm_row("hulpmiddel", start, None, totale, "-1"))
            regels["henv"]["opgebruikt"] += 1

    # bad rows: each is a fout and changes nothing else
    bad = max(4, personen // 200)
    for number, wrong in enumerate(bad_bsns(bad)):
        row = list(henv[number % len(henv)])
        row[0] = wrong
        henv.insert(rng.randrange(len(henv)), row)
    for number in range(bad):
        row = list(henv[(number * 7) % len(henv)])
        row[HENV_KOLOMMEN.index("HENV_GROEP_CODE")] = "ZZ"
        henv.insert(rng.randrange(len(henv)), row)
    for number in range(bad):
        source = henv[(number * 13 + 1) % len(henv)]
        if source[HENV_KOLOMMEN.index("HENV_GROEP_CODE")] == "ZZ" or not bsn_is_valid(source[0]):
            source = henv[0]
        position = henv.index(source)
        henv.insert(position + 1 + rng.randrange(3), list(source))
    for number in range(bad):
        row = list(adm[(number * 11) % len(adm)])
        row[ADMINISTRATIE_KOLOMMEN.index("start")] = "2019-02-30"
        adm.insert(rng.randrange(len(adm)), row)
    expected["fouten"] = 4 * bad
    regels["henv"]["fout"] = 3 * bad
    henv_text = _csv(HENV_KOLOMMEN, henv, ";").encode("cp1252")
    za_text = _csv(ZA_KOLOMMEN, za, ",").encode("utf-8")
    adm_text = _csv(ADMINISTRATIE_KOLOMMEN, adm, ";").encode("utf-8")
    return Generated(
        henv_text,
        za_text,
        adm_text,
        expected,
        kinds,
        {"henv": len(henv), "za": len(za), "administratie": len(adm)},
        regels,
    )
