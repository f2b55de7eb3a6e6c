"""``ieb report``: one self-contained HTML page for a team lead (no scripts, no network).

The page is in the clerk's words (geaccepteerd, wacht op retour, afgewezen, niet afgeleverd; never
the English keys of the JSON) and names every gemeente by its CBS name. It shows, for one gemeente
or all:

* the counts of :meth:`ieb.exchange.Exchange.status`, with rejections split into *nog open* and
  *opgelost* (a later message for the person was accepted);
* a table per gemeente;
* a chart of messages per month of their Dagtekening, stacked by outcome, with EVERY month from
  the first to the peildatum (empty months too) on a logarithmic scale, so the initial load does not
  flatten the months after it; the count is written above each bar and the legend is HTML (it
  wraps, it is never clipped); the last weeks as a table labelled ``2020-W05`` (year and week);
* the persons still wrong (masked Bsn, gemeente, code, its meaning and what to do per code, from
  the release pack's table), the rejections per retourcode, the open messages by age;
* the late list summarised (per gemeente and kind, the ten newest), judged by Dagtekening;
* incidents (:func:`read_incidents`): sending failed or delayed (the GGk unreachable), messages
  held back or requeued, service starts and stops and restarts after a crash; plus messages not
  delivered and retours not processed;
* a CSV export of each list as a ``data:`` link (``;``-separated, UTF-8 with BOM for spreadsheet
  programs; a cell that starts with ``=+-@`` gets a leading ``'``), so the page stays one file.

Every text is HTML-escaped; BSNs are masked before they reach the page; the Content-Security-Policy
forbids scripts and every network fetch.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.errors import ConfigurationError
from ieb.exchange import Exchange, Status
from ieb.exchange.status import advice as _advice
from ieb.store.schema import audit as a_t
from ieb.store.schema import outbox as o_t
from ieb.types import mask_bsns

__all__ = ["Incident", "advice", "read_incidents", "render_report", "write_report"]

#: (JSON key, the clerk's word, colour) per outcome of a heenbericht
OUTCOMES = (
    ("accepted", "geaccepteerd", "#2e7d32"),
    ("pending", "wacht op retour", "#9e9e9e"),
    ("rejected", "afgewezen", "#c62828"),
    ("technical", "technisch afgekeurd", "#ef6c00"),
    ("not_assessed", "niet beoordeeld", "#6a1b9a"),
)
OUTBOX_WORDS = {
    "pending": "klaar om te versturen",
    "sending": "wordt verstuurd",
    "acknowledged": "afgeleverd bij de GGk",
    "failed": "geweigerd door de ontvanger",
    "dead": "opgegeven na herhaalde fouten",
}
LATE_WORDS = {
    "queued_late": "te laat klaargezet",
    "sent_late": "te laat verstuurd",
    "unsent": "nog niet verstuurd",
}
AGE_BUCKETS = (
    (0, 7, "0-7 dagen"),
    (8, 14, "8-14 dagen"),
    (15, 30, "15-30 dagen"),
    (31, 10**6, "meer dan 30 dagen"),
)
MAANDEN = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
#: how many rows a list shows on the page (the CSV holds all)
SHOW = 50
#: the audit kinds an incident is made of (``ieb.transport.outbox`` and a service that records starts)
_INCIDENT_KINDS = ("delivery", "held", "requeued", "requeued_fault", "service")


def advice(code: str, release: str | None = None) -> str:
    """What to do about a retourcode or Fo01 code (Dutch, for a municipal clerk): the release
    pack's hint (see :func:`ieb.exchange.status.advice`)."""
    return _advice(code, release)


@dataclass(frozen=True)
class Incident:
    """Something that went wrong in the exchange itself: ``soort`` (Dutch: ``verzending mislukt``,
    ``verzending vertraagd``, ``tegengehouden``, ``opnieuw in de wachtrij``, ``dienst gestart``,
    ``dienst gestopt``, ``herstart na onderbreking``), ``van``/``tot`` (UTC; ``tot`` None: still going
    or a single moment), ``aantal`` events or messages and ``reden`` (the first detail, BSNs masked)."""

    soort: str
    van: dt.datetime
    tot: dt.datetime | None
    aantal: int
    reden: str


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def read_incidents(engine: Engine, *, gemeente: str | None = None, limit: int = 200_000) -> list[Incident]:
    """The incidents the database knows, oldest first (see :class:`Incident`).

    From the ``audit`` table: a run of refused or given-up deliveries (``delivery`` events other
    than ``acknowledged``) up to the next acknowledged one is one ``verzending mislukt``;
    ``held`` and ``requeued``/``requeued_fault`` events are counted per day; ``service`` events
    (``ieb serve`` records ``gestart``/``gestopt``) give ``dienst gestart`` and ``dienst gestopt``
    (``tot``: the next start, so the time the service was down), and a start after a start without
    a stop in between is a ``herstart na onderbreking`` (the previous run was killed or crashed). From the ``outbox``: messages that needed more than one attempt
    (the GGk was not reachable at first; the sender retried) per day of delivery, as ``verzending
    vertraagd``. ``gemeente`` keeps that Afzender's rows (service events are kept). At most
    ``limit`` audit rows are read (the newest)."""
    q = (
        sa.select(a_t.c.at, a_t.c.kind, a_t.c.outcome, a_t.c.detail, o_t.c.afzender)
        .select_from(a_t.outerjoin(o_t, o_t.c.referentienummer == a_t.c.referentienummer))
        .where(a_t.c.kind.in_(_INCIDENT_KINDS))
        .order_by(a_t.c.id.desc())
        .limit(limit)
    )
    retried = sa.select(o_t.c.acknowledged_at, o_t.c.updated_at, o_t.c.attempts, o_t.c.last_error).where(
        o_t.c.attempts > 1
    )
    if gemeente is not None:
        retried = retried.where(o_t.c.afzender == gemeente)
    with engine.connect() as conn:
        rows = list(reversed(conn.execute(q).all()))
        slow = conn.execute(retried.limit(limit)).all()
    out: list[Incident] = []
    run: list[Any] = []
    daily: dict[tuple[str, dt.date], list[Any]] = defaultdict(list)
    running: dt.datetime | None = None
    stopped: int | None = None  # the index in ``out`` of the last stop without a start after it

    def close(until: dt.datetime | None) -> None:
        if run:
            reason = next((r.detail for r in run if r.detail), "") or ""
            out.append(Incident("verzending mislukt", _utc(run[0].at), until, len(run), mask_bsns(reason)))
            run.clear()

    for r in rows:
        if gemeente is not None and r.afzender not in (None, gemeente):
            continue
        at = _utc(r.at)
        if r.kind == "delivery":
            if r.outcome == "acknowledged":
                close(at)
            else:
                run.append(r)
        elif r.kind == "service":
            if r.outcome == "gestart" and running is not None:
                out.append(
                    Incident(
                        "herstart na onderbreking", running, at, 1, "de vorige run is niet netjes gestopt"
                    )
                )
            if r.outcome == "gestart" and stopped is not None:  # the service was down until now
                out[stopped] = replace(out[stopped], tot=at)
            stopped = len(out) if r.outcome == "gestopt" else None
            out.append(Incident(f"dienst {r.outcome}", at, None, 1, mask_bsns(r.detail or "")))
            running = at if r.outcome == "gestart" else None
        elif r.kind == "held":
            daily[("tegengehouden", at.date())].append(r)
        else:
            daily[("opnieuw in de wachtrij", at.date())].append(r)
    close(None)
    for (soort, _day), events in daily.items():
        reason = next((e.detail for e in events if e.detail), "") or ""
        out.append(Incident(soort, _utc(events[0].at), _utc(events[-1].at), len(events), mask_bsns(reason)))
    by_day: dict[dt.date, list[Any]] = defaultdict(list)
    for o in slow:
        when = o.acknowledged_at or o.updated_at
        if when is not None:
            by_day[_utc(when).date()].append(o)
    for _day, group in sorted(by_day.items()):
        first = min(_utc(o.acknowledged_at or o.updated_at) for o in group)
        last = max(_utc(o.acknowledged_at or o.updated_at) for o in group)
        most = max(o.attempts for o in group)
        reason = next((o.last_error for o in group if o.last_error), None)
        out.append(
            Incident(
                "verzending vertraagd",
                first,
                last,
                len(group),
                mask_bsns(reason) if reason else f"afgeleverd na herhaalde pogingen (tot {most})",
            )
        )
    out.sort(key=lambda i: i.van)
    return out


# ---------------------------------------------------------------- helpers


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _month(day: dt.date) -> tuple[int, int]:
    return (day.year, day.month)


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@"):
        text = "'" + text
    if any(ch in text for ch in ';"\n\r'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def _csv_link(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A download link with the CSV inline (a ``data:`` URL): the page stays one file."""
    lines = [";".join(_csv_cell(h) for h in header)]
    lines += [";".join(_csv_cell(v) for v in row) for row in rows]
    data = "\ufeff" + "\r\n".join(lines) + "\r\n"
    href = "data:text/csv;charset=utf-8," + urllib.parse.quote(data, safe="")
    return f'<a class="csv" download="{_e(name)}" href="{href}">CSV ({_e(name)})</a>'


def _table(
    ident: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    empty: str,
    numeric: Sequence[int] = (),
    key: int | None = None,
    key_attr: str = "data-key",
) -> str:
    """An HTML table; ``key``: the column whose value goes in each row's ``key_attr`` attribute."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    if not rows:
        return f'<table id="{ident}"><tr>{head}</tr><tr><td colspan="{len(header)}" class="empty">{_e(empty)}</td></tr></table>'
    body = "".join(
        ("<tr>" if key is None else f'<tr {key_attr}="{_e(r[key])}">')
        + "".join(f"<td{' class=n' if i in numeric else ''}>{_e(v)}</td>" for i, v in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f'<table id="{ident}"><tr>{head}</tr>{body}</table>'


def _gemeente(code: str, names: dict[str, str]) -> str:
    return f"{names[code]} ({code})" if names.get(code) else code


# ---------------------------------------------------------------- chart


def _months(first: dt.date, last: dt.date) -> list[tuple[int, int]]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _chart(months: list[tuple[int, int]], per_month: dict[tuple[int, int], Counter[str]]) -> str:
    """Stacked bars per month on a log scale (inline SVG): bar height by log10(1 + total), the
    segments split the bar by their share; the total above the bar, ``jan``/``2020`` below it."""
    if not months:
        return '<p class="empty">Nog geen berichten.</p>'
    top = max((sum(per_month[m].values()) for m in months), default=0) or 1
    decades = max(1, math.ceil(math.log10(top + 1)))
    dense = len(months) > 24  # more than two years: narrower bars, the year under January only
    slot, bar, height, left, head, foot = (26, 18, 200, 44, 20, 36) if dense else (46, 30, 200, 44, 20, 36)
    width = left + len(months) * slot + 8
    font = 9 if dense else 10

    def y_of(n: float) -> float:
        return head + height - height * math.log10(1 + n) / decades

    parts = [
        f'<svg id="chart" role="img" aria-label="Berichten per maand naar uitkomst (logaritmische schaal)" '
        f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{head + height + foot}" '
        f'viewBox="0 0 {width} {head + height + foot}">'
    ]
    for k in range(decades + 1):
        value = 10**k - 1 if k else 0
        tick = 10**k if k else 0
        y = y_of(value if k else 0)
        parts.append(
            f'<line x1="{left - 4}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick}</text>'
        )
    for i, m in enumerate(months):
        x = left + i * slot + (slot - bar) / 2
        counts = per_month[m]
        total = sum(counts.values())
        label = f"{MAANDEN[m[1] - 1]} {m[0]}"
        if total:
            full = head + height - y_of(total)
            y = float(head + height)
            for key, name, colour in OUTCOMES:
                n = counts.get(key, 0)
                if not n:
                    continue
                h = full * n / total
                y -= h
                parts.append(
                    f'<rect class="bar" data-month="{m[0]}-{m[1]:02d}" data-outcome="{key}" data-count="{n}" '
                    f'x="{x}" y="{y:.1f}" width="{bar}" height="{max(h, 0.5):.1f}" fill="{colour}">'
                    f"<title>{_e(label)}: {n} {_e(name)}</title></rect>"
                )
        if not dense or len(str(total)) <= 4:  # wider numbers: in the tooltip and the table
            parts.append(
                f'<text class="total" data-month="{m[0]}-{m[1]:02d}" x="{x + bar / 2}" y="{y_of(total) - 4:.1f}" '
                f'font-size="{font}" text-anchor="middle">{total}</text>'
            )
        parts.append(
            f'<text class="month" x="{x + bar / 2}" y="{head + height + 14}" font-size="{font}" '
            f'text-anchor="middle">{MAANDEN[m[1] - 1]}</text>'
        )
        if not dense or m[1] == 1 or i == 0:
            parts.append(
                f'<text class="year" x="{x + bar / 2}" y="{head + height + 27}" font-size="{font}" '
                f'text-anchor="middle">{m[0]}</text>'
            )
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{_e(name)}</li>'
        for _key, name, colour in OUTCOMES
    )
    return '<div class="chart">' + "".join(parts) + f'</div><ul class="legend" id="legend">{legend}</ul>'


# ---------------------------------------------------------------- page


def render_report(
    status: Status,
    *,
    title: str,
    today: dt.date,
    generated: dt.datetime,
    sections: Sequence[str] = (),
    incidents: Sequence[Incident] = (),
) -> str:
    """The report as one HTML string (``status`` with ``detail``); ``sections``: further HTML
    sections from the modules above (escaped by them), e.g. ``ieb.wlz.html.render_section``;
    ``incidents``: see :func:`read_incidents`."""
    names = dict(status.gemeente_namen)
    per_month: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    per_week: dict[str, Counter[str]] = defaultdict(Counter)
    ages: Counter[str] = Counter()
    first: dt.date | None = None
    last: dt.date | None = None
    for row in status.detail:
        day = dt.date.fromisoformat(row["dagtekening"])
        first = day if first is None or day < first else first
        last = day if last is None or day > last else last
        per_month[_month(day)][row["outcome"]] += 1
        per_week[_week(day)][row["outcome"]] += 1
        if row["outcome"] == "pending":
            age = (today - day).days
            for lo, hi, label in AGE_BUCKETS:
                if lo <= age <= hi:
                    ages[label] += 1
    months: list[tuple[int, int]] = []
    if first is not None and last is not None:
        # up to the peildatum (empty months too), unless that is far beyond the data (a rehearsal)
        end = today if last <= today <= last + dt.timedelta(days=400) else last
        months = _months(first, end)
    d, o = status.deliveries, status.outbox
    rej = status.rejections

    # -- summary
    counts = "".join(
        f'<tr><th>{_e(name)}</th><td class="n" data-key="{key}">{d.get(key, 0)}</td></tr>'
        for key, name, _ in OUTCOMES
    )
    counts += (
        f'<tr><th>afwijzingen nog open</th><td class="n" data-key="rejections-open">{rej.get("open", 0)}</td></tr>'
        f'<tr><th>afwijzingen opgelost</th><td class="n" data-key="rejections-resolved">{rej.get("resolved", 0)}</td></tr>'
        f'<tr><th>te laat (naar Dagtekening)</th><td class="n" data-key="overdue">{status.overdue}</td></tr>'
    )
    outbox = "".join(
        f'<tr><th>{_e(OUTBOX_WORDS.get(k, k))}</th><td class="n" data-key="outbox-{_e(k)}">{v}</td></tr>'
        for k, v in o.items()
    )

    # -- per gemeente
    g_header = (
        "gemeente",
        "geaccepteerd",
        "wacht op retour",
        "afwijzingen nog open",
        "afwijzingen opgelost",
        "technisch afgekeurd",
        "niet beoordeeld",
        "te laat",
        "laatste Dagtekening",
    )
    g_rows = [
        (
            _gemeente(code, names),
            c.get("accepted", 0),
            c.get("pending", 0),
            c.get("rejections_open", 0),
            c.get("rejections_resolved", 0),
            c.get("technical", 0),
            c.get("not_assessed", 0),
            c.get("overdue", 0),
            c.get("last_dagtekening") or "-",
        )
        for code, c in status.per_gemeente.items()
        if code in status.gemeenten
    ]

    # -- months and weeks
    m_header = ("maand", *(name for _k, name, _c in OUTCOMES), "totaal")
    m_rows = [
        (
            f"{y}-{m:02d}",
            *(per_month[(y, m)].get(k, 0) for k, _n, _c in OUTCOMES),
            sum(per_month[(y, m)].values()),
        )
        for y, m in months
    ]
    weeks = sorted(per_week)[-8:]
    w_header = ("week (jaar-week)", *(n for _k, n, _c in OUTCOMES))
    w_rows = [(w, *(per_week[w].get(k, 0) for k, _n, _c in OUTCOMES)) for w in weeks]

    # -- persons still wrong
    wrong = status.still_wrong
    s_header = (
        "gemeente",
        "Bsn",
        "bericht",
        "Dagtekening",
        "code",
        "betekenis",
        "wat te doen",
        "herstel onderweg",
    )
    s_rows = [
        (
            _gemeente(w["gemeente"], names),
            w["bsn"],
            w["bericht"],
            w["dagtekening"],
            w["code"],
            w["meaning"],
            w["advice"],
            "ja" if w["fix_pending"] else "nee",
        )
        for w in wrong
    ]
    open_per_code = Counter(w["code"] for w in wrong)
    codes = sorted(
        {c for c in status.retourcodes if c != "0200"} | set(open_per_code),
        key=lambda c: (-open_per_code.get(c, 0), c),
    )
    c_header = ("code", "in retouren", "personen nog fout", "betekenis", "wat te doen")
    c_rows = [
        (
            c,
            status.retourcodes.get(c, 0),
            open_per_code.get(c, 0),
            status.retourcode_text.get(c, "") or next((w["meaning"] for w in wrong if w["code"] == c), ""),
            next((w["advice"] for w in wrong if w["code"] == c), None) or advice(c),
        )
        for c in codes
    ]
    age_rows = [(label, ages.get(label, 0)) for _lo, _hi, label in AGE_BUCKETS]

    # -- late, summarised
    late = status.overdue_list
    late_by: dict[str, Counter[str]] = defaultdict(Counter)
    for x in late:
        late_by[x["gemeente"]][x["kind"]] += 1
    l_header = ("gemeente", *LATE_WORDS.values(), "totaal")
    l_rows = [
        (_gemeente(g, names), *(c.get(k, 0) for k in LATE_WORDS), sum(c.values()))
        for g, c in sorted(late_by.items())
    ]
    newest = sorted(late, key=lambda x: (x["eb_startdatum"], x["identificatie"]), reverse=True)[:10]
    ln_header = ("gemeente", "identificatie", "Bsn", "EbStartdatum", "uiterlijk", "stand")
    ln_rows = [
        (
            _gemeente(x["gemeente"], names),
            x["identificatie"],
            x["bsn"],
            x["eb_startdatum"],
            x["deadline"],
            LATE_WORDS.get(x["kind"], x["kind"]),
        )
        for x in newest
    ]
    late_all = [
        (
            x["gemeente"],
            names.get(x["gemeente"], ""),
            x["identificatie"],
            x["bsn"],
            x["eb_startdatum"],
            x["deadline"],
            LATE_WORDS.get(x["kind"], x["kind"]),
            x.get("when") or "",
        )
        for x in late
    ]

    # -- incidents and what did not arrive
    i_header = ("soort", "van (UTC)", "tot (UTC)", "aantal", "reden")

    def _t(value: dt.datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value is not None else "nog gaande"

    i_rows = [
        (
            i.soort,
            _t(i.van),
            _t(i.tot) if i.soort == "verzending mislukt" or i.tot else "-",
            i.aantal,
            i.reden,
        )
        for i in incidents
    ]
    p_header = ("referentienummer", "gemeente", "stand", "reden")
    p_rows = [
        (
            x["referentienummer"],
            _gemeente(x.get("gemeente") or "", names) or "-",
            OUTBOX_WORDS.get(x.get("status", ""), x.get("status", "")),
            x["reason"] or "",
        )
        for x in status.dead_letters
    ] + [
        (
            x["referentienummer"],
            "-",
            f"retour niet verwerkt ({x.get('berichtcode') or '-'})",
            x["reason"] or "",
        )
        for x in status.failed_inbox
    ]

    def more(n: int, shown: int) -> str:
        return f'<p class="more">{shown} van {n} getoond; alle regels in de CSV.</p>' if n > shown else ""

    gemeenten_text = ", ".join(_gemeente(c, names) for c in status.gemeenten) or "-"
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:72em}}
table{{border-collapse:collapse;margin:0 0 .5em;max-width:100%}}
th,td{{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top;overflow-wrap:break-word}}
td.n{{text-align:right;white-space:nowrap}} .empty,.more{{color:#666}} a.csv{{font-size:.9em}}
section{{margin-bottom:1.6em}} h1{{font-size:1.5em}} h2{{font-size:1.2em}} h3{{font-size:1em}}
ul.legend{{list-style:none;padding:0;margin:.3em 0;display:flex;flex-wrap:wrap;gap:.4em 1.2em}}
ul.legend li{{white-space:nowrap}} .swatch{{display:inline-block;width:.8em;height:.8em;margin-right:.35em}}
.grid{{display:flex;flex-wrap:wrap;gap:0 2em}} div.chart{{overflow-x:auto;max-width:100%}}
</style></head><body>
<h1>{_e(title)}</h1>
<p>Gemeenten: <span id="gemeenten">{_e(gemeenten_text)}</span>. Release: {_e(status.release)}.
Gemaakt op {_e(generated.strftime("%Y-%m-%d %H:%M"))} UTC, peildatum {_e(today.isoformat())}.</p>
<section id="counts"><h2>Samenvatting</h2><div class="grid">
<div><h3>Berichten naar uitkomst</h3><table>{counts}</table></div>
<div><h3>Wachtrij (verzending)</h3><table>{outbox}</table></div></div>
<p>Een afwijzing is opgelost zodra een later bericht voor dezelfde persoon is geaccepteerd.</p></section>
<section id="per-gemeente"><h2>Per gemeente</h2>
{_table("gemeenten-tabel", g_header, g_rows, empty="Geen gemeenten.", numeric=range(1, 8))}
{_csv_link("per-gemeente.csv", g_header, g_rows)}</section>
<section id="months"><h2>Berichten per maand (Dagtekening) naar uitkomst</h2>
{_chart(months, per_month)}
<p class="more">Logaritmische schaal: elke lijn is tien keer zoveel; het getal boven een balk is het
aantal berichten in die maand. Zo blijft elke maand zichtbaar naast de eerste aanlevering.</p>
{_csv_link("per-maand.csv", m_header, m_rows)}
<h3>Laatste weken</h3>
{_table("weken", w_header, w_rows, empty="Nog geen berichten.", numeric=range(1, 6))}
{_csv_link("weken.csv", w_header, w_rows)}</section>
<section id="still-wrong"><h2>Nog fout: {len(wrong)} persoon/personen</h2>
<p>Deze personen hebben een afgewezen bericht waarna nog niets is geaccepteerd. Doe wat er staat,
maak de gewenste situatie opnieuw en plan opnieuw.</p>
{_table("nog-fout", s_header, s_rows[:SHOW], empty="Niemand: alle afwijzingen zijn opgelost.")}
{more(len(s_rows), SHOW)}{_csv_link("nog-fout.csv", s_header, s_rows)}</section>
<section id="rejections"><h2>Afwijzingen per retourcode</h2>
{_table("codes", c_header, c_rows, empty="Geen afwijzingen.", numeric=(1, 2), key=0, key_attr="data-code")}
{_csv_link("retourcodes.csv", c_header, c_rows)}</section>
<section id="open"><h2>Wacht op retour, naar leeftijd (dagen sinds de Dagtekening)</h2>
{_table("leeftijd", ("leeftijd", "aantal"), age_rows, empty="-", numeric=(1,))}
{_csv_link("wacht-op-retour.csv", ("leeftijd", "aantal"), age_rows)}</section>
<section id="late"><h2>Te laat: <span id="overdue">{status.overdue}</span> start(en) meer dan een maand na EbStartdatum</h2>
<p>Beoordeeld naar de Dagtekening van het bericht. Een te late start levert de cliënt een stapelfactuur op.</p>
{_table("te-laat", l_header, l_rows, empty="Niets te laat.", numeric=range(1, 5))}
{"<h3>De tien nieuwste</h3>" + _table("te-laat-nieuwste", ln_header, ln_rows, empty="-") if ln_rows else ""}
{_csv_link("te-laat.csv", ("gemeente", "naam", "identificatie", "Bsn", "EbStartdatum", "uiterlijk", "stand", "datum"), late_all)}</section>
<section id="incidents"><h2>Storingen</h2>
{_table("storingen", i_header, i_rows[-SHOW:], empty="Geen storingen vastgelegd.", numeric=(3,))}
{more(len(i_rows), SHOW)}{_csv_link("storingen.csv", i_header, i_rows)}
<h3>Niet afgeleverd en retouren niet verwerkt (<span id="inbox-failed">{status.inbox_failed}</span> retouren)</h3>
{_table("niet-afgeleverd", p_header, p_rows[:SHOW], empty="Geen.")}
{more(len(p_rows), SHOW)}{_csv_link("niet-afgeleverd.csv", p_header, p_rows)}</section>
{"".join(sections)}</body></html>
"""


def write_report(
    exchange: Exchange,
    out: Path,
    *,
    gemeente: str | None = None,
    today: dt.date | None = None,
    sections: Sequence[str] = (),
) -> Path:
    """Render the report of ``exchange`` into ``out`` (UTF-8) and return the path. Raises
    :class:`~ieb.errors.ConfigurationError` when ``out`` cannot be written."""
    day = today or dt.date.today()
    status = exchange.status(gemeente=gemeente, today=day, detail=True)
    incidents = read_incidents(exchange.engine, gemeente=gemeente)
    naam = status.gemeente_namen.get(gemeente or "", "")
    title = "iEb-rapportage" + (f" gemeente {naam or gemeente}" if gemeente else "")
    page = render_report(
        status,
        title=title,
        today=day,
        generated=dt.datetime.now(dt.UTC),
        sections=sections,
        incidents=incidents,
    )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"rapport {out} niet te schrijven: {exc.strerror}", location=str(out)
        ) from exc
    return out
