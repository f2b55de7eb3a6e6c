"""``ieb report``: one self-contained HTML page for a team lead (no scripts, no network).

The page shows, for one gemeente or all: the counts of :meth:`ieb.exchange.Exchange.status`; a
chart (inline SVG, stacked bars) of messages per ISO week of their Dagtekening by outcome; the
rejections by retourcode with the code's meaning and what to do (Dutch); the open deliveries by
age (days since the Dagtekening); and the overdue list (more than one month after EbStartdatum)
with masked BSNs. Every text is HTML-escaped; BSNs are masked before they reach the page.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ieb.errors import ConfigurationError
from ieb.exchange import Exchange, Status

__all__ = ["advice", "render_report", "write_report"]

OUTCOMES = (
    ("accepted", "geaccepteerd", "#2e7d32"),
    ("pending", "wacht op retour", "#9e9e9e"),
    ("rejected", "afgewezen", "#c62828"),
    ("technical", "technisch afgekeurd", "#ef6c00"),
    ("not_assessed", "niet beoordeeld", "#6a1b9a"),
)
AGE_BUCKETS = (
    (0, 7, "0-7 dagen"),
    (8, 14, "8-14 dagen"),
    (15, 30, "15-30 dagen"),
    (31, 10**6, "meer dan 30 dagen"),
)


def advice(code: str) -> str:
    """What to do about a retourcode or Fo01 code (Dutch, for a municipal clerk)."""
    if code == "0001":
        return "Technisch afgekeurd: herstel het bestand (zie de foutmelding) en plan opnieuw; het telt niet mee."
    if code == "0200":
        return "Geaccepteerd: niets te doen."
    if code == "0233":
        return "Niet beoordeeld omdat een eerder bericht is afgekeurd: los dat eerst op en plan opnieuw."
    if code[:1] in ("8", "9", "S"):
        return "Inhoudelijk afgewezen: pas de gewenste situatie aan volgens de regel en plan opnieuw."
    if code.startswith(("IB", "StUF", "RIN")):
        return (
            "Envelop geweigerd door de GGk (Fo01): herstel de oorzaak en plan opnieuw (ieb plan --queue); "
            "een Fo03 staat bij de dead letters en gaat terug met ieb requeue."
        )
    return "Zie de omschrijving; neem zo nodig contact op met het CAK."


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _chart(weeks: dict[str, Counter[str]]) -> str:
    """Stacked bars per week, inline SVG with a legend and a <title> per segment."""
    labels = sorted(weeks)[-26:]
    if not labels:
        return '<p class="empty">Nog geen berichten.</p>'
    top = max(sum(weeks[w].values()) for w in labels) or 1
    bar, gap, height, left, bottom = 28, 10, 200, 40, 40
    width = left + len(labels) * (bar + gap) + 10
    parts = [
        f'<svg id="chart" role="img" aria-label="Berichten per week naar uitkomst" '
        f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + bottom + 30}" '
        f'viewBox="0 0 {width} {height + bottom + 30}">'
    ]
    parts.append(
        f'<text x="4" y="12" font-size="11">{top}</text><text x="4" y="{height}" font-size="11">0</text>'
    )
    for i, w in enumerate(labels):
        x = left + i * (bar + gap)
        y = float(height)
        for key, name, colour in OUTCOMES:
            n = weeks[w].get(key, 0)
            if not n:
                continue
            h = height * n / top
            y -= h
            parts.append(
                f'<rect class="bar" data-week="{_e(w)}" data-outcome="{key}" data-count="{n}" x="{x}" '
                f'y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="{colour}"><title>{_e(w)}: {n} {name}</title></rect>'
            )
        parts.append(
            f'<text x="{x + bar / 2}" y="{height + 14}" font-size="9" text-anchor="middle">{_e(w[5:])}</text>'
        )
    ly = height + bottom
    for j, (_key, name, colour) in enumerate(OUTCOMES):
        lx = left + j * 130
        parts.append(f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{ly + 9}" font-size="11">{_e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_report(
    status: Status, *, title: str, today: dt.date, generated: dt.datetime, sections: Sequence[str] = ()
) -> str:
    """The report as one HTML string (``status`` with ``detail``); ``sections``: further HTML
    sections from the modules above (escaped by them), e.g. ``ieb.wlz.html.render_section``."""
    weeks: dict[str, Counter[str]] = defaultdict(Counter)
    ages: Counter[str] = Counter()
    for row in status.detail:
        day = dt.date.fromisoformat(row["dagtekening"])
        weeks[_week(day)][row["outcome"]] += 1
        if row["outcome"] == "pending":
            age = (today - day).days
            for lo, hi, label in AGE_BUCKETS:
                if lo <= age <= hi:
                    ages[label] += 1
    d, o = status.deliveries, status.outbox
    counts = "".join(
        f'<tr><th>{_e(name)}</th><td class="n" data-key="{key}">{d.get(key, 0)}</td></tr>'
        for key, name, _ in OUTCOMES
    )
    outbox = "".join(
        f'<tr><th>{_e(k)}</th><td class="n" data-key="outbox-{k}">{v}</td></tr>' for k, v in o.items()
    )
    codes = (
        "".join(
            f'<tr data-code="{_e(c)}"><td>{_e(c)}</td><td class="n">{n}</td><td>{_e(status.retourcode_text.get(c, ""))}</td>'
            f"<td>{_e(advice(c))}</td></tr>"
            for c, n in status.retourcodes.items()
            if c != "0200"
        )
        or '<tr><td colspan="4" class="empty">Geen afwijzingen.</td></tr>'
    )
    age_rows = "".join(
        f'<tr><th>{_e(label)}</th><td class="n">{ages.get(label, 0)}</td></tr>' for _, _, label in AGE_BUCKETS
    )
    kinds = {
        "sent_late": "te laat verstuurd",
        "queued_late": "te laat klaargezet",
        "unsent": "nog niet verstuurd",
    }
    overdue = (
        "".join(
            f"<tr><td>{_e(x['gemeente'])}</td><td>{_e(x['identificatie'])}</td><td>{_e(x['bsn'])}</td>"
            f"<td>{_e(x['eb_startdatum'])}</td><td>{_e(x['deadline'])}</td><td>{_e(kinds.get(x['kind'], x['kind']))}</td></tr>"
            for x in status.overdue_list
        )
        or '<tr><td colspan="6" class="empty">Niets te laat.</td></tr>'
    )
    problems = "".join(
        f"<li>{_e(x['referentienummer'])} ({_e(x.get('status', x.get('berichtcode', '')))}): {_e(x['reason'])}</li>"
        for x in [*status.dead_letters, *status.failed_inbox]
    )
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{_e(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin:0 0 1.5em}}
th,td{{border:1px solid #ccc;padding:4px 8px;text-align:left}} td.n{{text-align:right}} .empty{{color:#777}}
section{{margin-bottom:2em}} h1{{font-size:1.5em}} h2{{font-size:1.2em}}
</style></head><body>
<h1>{_e(title)}</h1>
<p>Gemeenten: <span id="gemeenten">{_e(", ".join(status.gemeenten) or "-")}</span>.
Gemaakt op {_e(generated.strftime("%Y-%m-%d %H:%M"))} UTC, peildatum {_e(today.isoformat())}.</p>
<section id="counts"><h2>Berichten</h2><table>{counts}</table>
<h2>Outbox</h2><table>{outbox}</table>
<p>Mislukte inbox: <span id="inbox-failed">{status.inbox_failed}</span>; te laat: <span id="overdue">{status.overdue}</span>.</p></section>
<section id="weeks"><h2>Berichten per week naar uitkomst</h2>{_chart(weeks)}</section>
<section id="rejections"><h2>Afwijzingen per retourcode</h2>
<table><tr><th>code</th><th>aantal</th><th>betekenis</th><th>wat te doen</th></tr>{codes}</table></section>
<section id="open"><h2>Openstaande berichten naar leeftijd</h2><table>{age_rows}</table></section>
<section id="late"><h2>Te laat (meer dan een maand na EbStartdatum)</h2>
<table><tr><th>gemeente</th><th>identificatie</th><th>Bsn</th><th>EbStartdatum</th><th>uiterlijk</th><th>stand</th></tr>{overdue}</table></section>
<section id="problems"><h2>Dead letters en mislukte inbox</h2><ul>{problems or '<li class="empty">Geen.</li>'}</ul></section>
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
    """Render the report of ``exchange`` into ``out`` (UTF-8) and return the path."""
    day = today or dt.date.today()
    status = exchange.status(gemeente=gemeente, today=day, detail=True)
    title = "iEb-rapportage" + (f" gemeente {gemeente}" if gemeente else "")
    page = render_report(status, title=title, today=day, generated=dt.datetime.now(dt.UTC), sections=sections)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"rapport {out} niet te schrijven: {exc.strerror}", location=str(out)
        ) from exc
    return out


_ = Any
