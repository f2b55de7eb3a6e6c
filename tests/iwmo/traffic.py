"""A generator of iWmo 3.2 traffic (WMO301/305/307 files) with its ground truth, and a hand-written
expectation of the desired state and the beleidsinformatie computed from the truth alone.

Nothing here imports ``ieb.iwmo``: the builders write XML with lxml from the standard's element
names, and the expectation uses plain date arithmetic, so the tests compare two independent
computations.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

BASIS = "http://www.istandaarden.nl/iwmo/3_2/basisschema/schema"
CODES = {"WMO301": "414", "WMO305": "418", "WMO307": "420"}
BIJDRAGEPLICHT = {"01", "02", "03", "04", "05", "06", "07", "08", "10", "12", "13", "14"}


def ns(bericht: str) -> str:
    return f"http://www.istandaarden.nl/iwmo/3_2/{bericht.lower()}/schema"


@dataclass
class Client:
    bsn: str
    geboortedatum: dt.date
    geslacht: str = "1"


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def _header(
    root: etree._Element, n: str, bericht: str, afzender: str, ontvanger: str, ident: str, dag: dt.date
) -> None:
    h = _sub(root, f"{{{n}}}Header")
    _sub(h, f"{{{n}}}BerichtCode", CODES[bericht])
    _sub(h, f"{{{n}}}BerichtVersie", "3")
    _sub(h, f"{{{n}}}BerichtSubversie", "2")
    _sub(h, f"{{{n}}}Afzender", afzender)
    _sub(h, f"{{{n}}}Ontvanger", ontvanger)
    bi = _sub(h, f"{{{n}}}BerichtIdentificatie")
    _sub(bi, f"{{{BASIS}}}Identificatie", ident)
    _sub(bi, f"{{{BASIS}}}Dagtekening", dag.isoformat())
    xv = _sub(h, f"{{{n}}}XsdVersie")
    _sub(xv, f"{{{BASIS}}}BasisschemaXsdVersie", "1.0.0")
    _sub(xv, f"{{{BASIS}}}BerichtXsdVersie", "1.0.0")


def _client(root: etree._Element, n: str, c: Client, full_name: bool) -> etree._Element:
    el = _sub(root, f"{{{n}}}Client")
    _sub(el, f"{{{n}}}Bsn", c.bsn)
    gd = _sub(el, f"{{{n}}}Geboortedatum")
    _sub(gd, f"{{{BASIS}}}Datum", c.geboortedatum.isoformat())
    _sub(el, f"{{{n}}}Geslacht", c.geslacht)
    naam = _sub(el, f"{{{n}}}Naam")
    gn = _sub(naam, f"{{{BASIS}}}Geslachtsnaam")
    _sub(gn, f"{{{BASIS}}}Achternaam", "Testpersoon")
    if full_name:
        _sub(naam, f"{{{BASIS}}}NaamGebruik", "1")
    return el


def _product(parent: etree._Element, n: str, categorie: str, code: str = "") -> None:
    p = _sub(parent, f"{{{n}}}Product")
    _sub(p, f"{{{BASIS}}}Categorie", categorie)
    if code:
        _sub(p, f"{{{BASIS}}}Code", code)


def wmo301(
    gemeente: str,
    aanbieder: str,
    ident: str,
    dag: dt.date,
    c: Client,
    nummer: int,
    categorie: str,
    ingang: dt.date,
    eind: dt.date | None,
    reden_wijziging: str | None = None,
    volume: int = 4,
) -> bytes:
    n = ns("WMO301")
    root = etree.Element(f"{{{n}}}Bericht", nsmap={"wmo301": n, "iwmo": BASIS})
    _header(root, n, "WMO301", gemeente, aanbieder, ident, dag)
    cl = _client(root, n, c, True)
    cg = _sub(cl, f"{{{n}}}Contactgegevens")
    contact = _sub(cg, f"{{{n}}}Contact")
    _sub(contact, f"{{{n}}}Soort", "01")
    tps = _sub(cl, f"{{{n}}}ToegewezenProducten")
    tp = _sub(tps, f"{{{n}}}ToegewezenProduct")
    _sub(tp, f"{{{n}}}ToewijzingNummer", str(nummer))
    _product(tp, n, categorie, f"{categorie}A01")
    _sub(tp, f"{{{n}}}Toewijzingsdatum", dag.isoformat())
    _sub(tp, f"{{{n}}}Toewijzingstijd", "10:00:00")
    _sub(tp, f"{{{n}}}Ingangsdatum", ingang.isoformat())
    if eind is not None:
        _sub(tp, f"{{{n}}}Einddatum", eind.isoformat())
    if reden_wijziging is not None:
        _sub(tp, f"{{{n}}}RedenWijziging", reden_wijziging)
    om = _sub(tp, f"{{{n}}}Omvang")
    _sub(om, f"{{{BASIS}}}Volume", str(volume))
    _sub(om, f"{{{BASIS}}}Eenheid", "04")
    _sub(om, f"{{{BASIS}}}Frequentie", "2")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def wmo305_307(
    bericht: str,
    gemeente: str,
    aanbieder: str,
    ident: str,
    dag: dt.date,
    c: Client,
    nummer: int,
    categorie: str,
    begin: dt.date,
    status: str,
    eind: dt.date | None = None,
    reden: str = "19",
) -> bytes:
    n = ns(bericht)
    root = etree.Element(f"{{{n}}}Bericht", nsmap={bericht.lower(): n, "iwmo": BASIS})
    _header(root, n, bericht, aanbieder, gemeente, ident, dag)
    cl = _client(root, n, c, False)
    items = _sub(cl, f"{{{n}}}{'StartProducten' if bericht == 'WMO305' else 'StopProducten'}")
    item = _sub(items, f"{{{n}}}{'StartProduct' if bericht == 'WMO305' else 'StopProduct'}")
    _sub(item, f"{{{n}}}ToewijzingNummer", str(nummer))
    _product(item, n, categorie, f"{categorie}A01")
    _sub(item, f"{{{n}}}Begindatum", begin.isoformat())
    if bericht == "WMO307":
        _sub(item, f"{{{n}}}RedenBeeindiging", reden)
        assert eind is not None
        _sub(item, f"{{{n}}}Einddatum", eind.isoformat())
    _sub(item, f"{{{n}}}StatusAanlevering", status)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ------------------------------------------------------------------------------ the year


@dataclass
class TruthProduct:
    """The final truth of one product after all corrections."""

    gemeente: str
    bsn: str
    nummer: int
    categorie: str
    ingang: dt.date
    eind: dt.date | None
    withdrawn: bool = False
    #: the leveringen as (begin, stop or None, reden or None) after all corrections
    leveringen: list[tuple[dt.date, dt.date | None, str | None]] = field(default_factory=list)
    kostprijs: int | None = None

    def delivered(self) -> list[tuple[dt.date, dt.date | None]]:
        """Delivery intervals, an open one capped at the toewijzing's Einddatum."""
        return [(b, s if s is not None else self.eind) for b, s, _ in self.leveringen]


@dataclass
class Message:
    dag: dt.date
    order: int
    name: str
    data: bytes


@dataclass
class Year:
    clients: dict[str, Client]
    products: list[TruthProduct]
    messages: list[Message]
    kinds: dict[str, int]

    def write(self, folder: Path, envelope_every: int = 0) -> list[Path]:
        """Write the messages as files (every ``envelope_every``-th in a StUF-GGk Di01 envelope)."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, m in enumerate(sorted(self.messages, key=lambda m: (m.dag, m.order, m.name))):
            data = m.data
            if envelope_every and i % envelope_every == 0:
                from ieb.ggk import build, new_di01

                data = build(new_di01(m.data, "WMO", "0363", "12345678"))
            path = folder / m.name
            path.write_bytes(data)
            paths.append(path)
        return paths


YEAR_START = dt.date(2025, 1, 15)
YEAR_END = dt.date(2025, 12, 31)


def _clip(day: dt.date) -> dt.date:
    return min(day, YEAR_END)


def generate_year(persons: int = 1000, seed: int = 23) -> Year:
    """A year (2025) of iWmo traffic for ``persons`` clients in 0363 and 0599."""
    from ieb.testing.demo import demo_bsns

    rng = random.Random(seed)
    clients: dict[str, Client] = {}
    products: list[TruthProduct] = []
    messages: list[Message] = []
    kinds: dict[str, int] = {}
    counter = [0]

    def note(kind: str) -> None:
        kinds[kind] = kinds.get(kind, 0) + 1

    cursor = [dt.date.min]

    def emit(bericht: str, dag: dt.date, data_fn: object, *args: object) -> None:
        # the messages of one product follow each other: never before the previous one
        dag = max(dag, cursor[0] + dt.timedelta(days=1)) if cursor[0] != dt.date.min else dag
        cursor[0] = dag
        counter[0] += 1
        ident = f"{counter[0]:08d}"
        k = 2 if data_fn is wmo301 else 3
        data = data_fn(*args[:k], ident, dag, *args[k:])  # type: ignore[operator]
        order = {"WMO301": 0, "WMO305": 1, "WMO307": 2}[bericht]
        messages.append(Message(dag, order, f"{dag.isoformat()}-{order}-{bericht}-{ident}.xml", data))

    nummer = 1000
    categories = ["01"] * 6 + ["02"] * 4 + ["03", "07", "07", "14", "14", "11", "16", "10"]
    for bsn in demo_bsns(persons):
        gemeente = "0599" if rng.random() < 0.2 else "0363"
        aanbieder = rng.choice(["12345678", "87654321", "11223344"])
        client = Client(
            bsn, dt.date(rng.randint(1925, 2008), rng.randint(1, 12), rng.randint(1, 28)), rng.choice("012")
        )
        clients[bsn] = client
        single_kostprijs = rng.random() < 0.04
        count = 1 if single_kostprijs else rng.choice([1, 2, 2, 3])
        for _ in range(count):
            nummer += 1
            categorie = "14" if single_kostprijs else rng.choice(categories)
            ingang = YEAR_START + dt.timedelta(days=rng.randint(0, 300))
            # a hulpmiddel with a kostprijs is lent for a fixed term (an open one would end at its
            # kostprijs, ~19 years on: kostprijsbewaking is tested in tests/policy)
            fixed = single_kostprijs or rng.random() >= 0.5
            eind = _clip(ingang + dt.timedelta(days=rng.randint(60, 320))) if fixed else None
            cursor[0] = dt.date.min
            truth = TruthProduct(gemeente, bsn, nummer, categorie, ingang, eind)
            products.append(truth)
            dag301 = ingang - dt.timedelta(days=rng.randint(1, 10))
            if rng.random() < 0.05:
                dag301 = ingang + dt.timedelta(days=rng.randint(40, 60))  # late: retroactive
                note("toewijzing_late")
            emit("WMO301", dag301, wmo301, gemeente, aanbieder, client, nummer, categorie, ingang, eind)
            roll = rng.random()
            if roll < 0.03:  # withdrawn before any delivery
                truth.withdrawn = True
                emit(
                    "WMO301",
                    dag301 + dt.timedelta(days=3),
                    wmo301,
                    gemeente,
                    aanbieder,
                    client,
                    nummer,
                    categorie,
                    ingang,
                    eind,
                    "13",
                )
                note("withdrawn")
                continue
            if roll < 0.07:
                note("not_started")
                continue
            if roll < 0.10:  # a start that is deleted again, nothing after
                begin = ingang + dt.timedelta(days=2)
                emit(
                    "WMO305",
                    begin + dt.timedelta(days=2),
                    wmo305_307,
                    "WMO305",
                    gemeente,
                    aanbieder,
                    client,
                    nummer,
                    categorie,
                    begin,
                    "1",
                )
                emit(
                    "WMO305",
                    begin + dt.timedelta(days=9),
                    wmo305_307,
                    "WMO305",
                    gemeente,
                    aanbieder,
                    client,
                    nummer,
                    categorie,
                    begin,
                    "3",
                )
                note("start_deleted")
                continue
            begin = ingang + dt.timedelta(days=rng.randint(0, 14))
            limit = eind or dt.date(2025, 12, 20)
            if begin >= limit - dt.timedelta(days=30):
                note("not_started")
                continue
            segments: list[tuple[dt.date, dt.date | None, str | None]] = []
            kind = rng.random()
            if kind < 0.25 and limit - begin > dt.timedelta(days=150):  # a pause
                first_stop = begin + dt.timedelta(days=rng.randint(30, 60))
                short = rng.random() < 0.5
                gap = rng.randint(3, 25) if short else rng.randint(45, 80)
                note("pause_short" if short else "pause_long")
                restart = first_stop + dt.timedelta(days=gap)
                end = None if rng.random() < 0.5 else restart + dt.timedelta(days=rng.randint(10, 40))
                if end is not None and end > limit:
                    end = None
                if eind is None and end is None:
                    end = None
                segments = [(begin, first_stop, "20"), (restart, end, None if end is None else "19")]
            else:
                stop = (
                    None
                    if rng.random() < 0.4
                    else begin + dt.timedelta(days=rng.randint(20, (limit - begin).days - 1))
                )
                segments = [
                    (begin, stop, None if stop is None else rng.choice(["19", "21", "23", "31", "02"]))
                ]
            for s_begin, s_stop, reden in segments:
                report = s_begin + dt.timedelta(days=rng.randint(1, 4))
                if rng.random() < 0.04:
                    report = s_begin + dt.timedelta(days=rng.randint(35, 50))
                    note("start_late")
                correction = rng.random()
                if correction < 0.08:  # a wrong Begindatum corrected with status 2
                    wrong = s_begin + dt.timedelta(days=3)
                    emit(
                        "WMO305",
                        report,
                        wmo305_307,
                        "WMO305",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        wrong,
                        "1",
                    )
                    emit(
                        "WMO305",
                        report + dt.timedelta(days=2),
                        wmo305_307,
                        "WMO305",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        s_begin,
                        "2",
                    )
                    note("start_corrected_status2")
                elif correction < 0.12:  # deleted (status 3) and sent again (status 1)
                    wrong = s_begin + dt.timedelta(days=1)
                    emit(
                        "WMO305",
                        report,
                        wmo305_307,
                        "WMO305",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        wrong,
                        "1",
                    )
                    emit(
                        "WMO305",
                        report + dt.timedelta(days=1),
                        wmo305_307,
                        "WMO305",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        wrong,
                        "3",
                    )
                    emit(
                        "WMO305",
                        report + dt.timedelta(days=2),
                        wmo305_307,
                        "WMO305",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        s_begin,
                        "1",
                    )
                    note("start_deleted_resent")
                else:
                    emit(
                        "WMO305",
                        report,
                        wmo305_307,
                        "WMO305",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        s_begin,
                        "1",
                    )
                if s_stop is None:
                    continue
                sdag = max(s_stop, report + dt.timedelta(days=3)) + dt.timedelta(days=rng.randint(1, 3))
                fix = rng.random()
                if fix < 0.08:  # a wrong Einddatum corrected with status 2
                    emit(
                        "WMO307",
                        sdag,
                        wmo305_307,
                        "WMO307",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        s_begin,
                        "1",
                        s_stop - dt.timedelta(days=1),
                        reden,
                    )
                    emit(
                        "WMO307",
                        sdag + dt.timedelta(days=2),
                        wmo305_307,
                        "WMO307",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        s_begin,
                        "2",
                        s_stop,
                        reden,
                    )
                    note("stop_corrected")
                elif fix < 0.12 and s_begin == segments[-1][0]:  # a stop sent by mistake and withdrawn
                    emit(
                        "WMO307",
                        sdag,
                        wmo305_307,
                        "WMO307",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        s_begin,
                        "1",
                        s_stop,
                        reden,
                    )
                    emit(
                        "WMO307",
                        sdag + dt.timedelta(days=2),
                        wmo305_307,
                        "WMO307",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        s_begin,
                        "3",
                        s_stop,
                        reden,
                    )
                    segments[-1] = (s_begin, None, None)
                    note("stop_deleted")
                    continue
                else:
                    emit(
                        "WMO307",
                        sdag,
                        wmo305_307,
                        "WMO307",
                        gemeente,
                        aanbieder,
                        client,
                        nummer,
                        categorie,
                        s_begin,
                        "1",
                        s_stop,
                        reden,
                    )
            truth.leveringen = segments
            if single_kostprijs and len(segments) == 1 and truth.delivered()[0][1] is not None:
                truth.kostprijs = 500_000
                note("kostprijs")
    return Year(clients, products, messages, kinds)


# ------------------------------------------------------------------------------ the expectation


def _plus_one_month(day: dt.date) -> dt.date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expected_periods(
    year: Year, trigger: str = "levering"
) -> dict[tuple[str, str], list[tuple[str, str, str, str]]]:
    """(gemeente, bsn) -> rows (start, stop, kostprijs_cent, kostprijs_start) as strings, by hand:
    VNG pause rule (a restart within one calendar month after the day after the stop continues)."""
    per_person: dict[tuple[str, str], list[tuple[dt.date, dt.date | None, int | None]]] = {}
    in_scope: set[tuple[str, str]] = set()
    for p in year.products:
        if p.categorie not in BIJDRAGEPLICHT:
            continue
        in_scope.add((p.gemeente, p.bsn))
        if p.withdrawn:
            continue
        spans = [(p.ingang, p.eind)] if trigger == "toewijzing" else p.delivered()
        for start, stop in spans:
            per_person.setdefault((p.gemeente, p.bsn), []).append((start, stop, p.kostprijs))
    out: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {key: [] for key in in_scope}
    for key, spans in per_person.items():
        merged: list[list[object]] = []
        for start, stop, kost in sorted(spans, key=lambda s: s[0]):
            if merged:
                last = merged[-1]
                last_stop = last[1]
                if last_stop is None:
                    continue
                assert isinstance(last_stop, dt.date)
                if start <= _plus_one_month(last_stop + dt.timedelta(days=1)):
                    last[1] = None if stop is None else max(last_stop, stop)
                    continue
            merged.append([start, stop, kost])
        rows = []
        for start, stop, kost in merged:
            assert isinstance(start, dt.date)
            rows.append(
                (
                    start.isoformat(),
                    stop.isoformat() if isinstance(stop, dt.date) else "",
                    str(kost) if kost else "",
                    start.isoformat() if kost else "",
                )
            )
        out[key] = rows
    return out
