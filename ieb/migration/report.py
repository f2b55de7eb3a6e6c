"""Reports of a reconciliation: CSV files for further work and one self-contained HTML page.

Files written by :func:`write_reports` into a folder:

* ``afstemming.html`` - for the team lead: summary counts, where every CAK row ended up
  (:class:`ieb.migration.CakRegel`, per file, adding up to the rows read), a chart of the differences per category
  (inline SVG), the lists with masked BSNs and what to do with each (no scripts, no external files;
  autoescaped jinja2 template ``ieb/migration/templates/afstemming.html.j2``);
* ``afstemming-verschillen.csv`` - one row per difference, and one per person only at the CAK or
  only at the gemeente (``;``, UTF-8 with BOM so Excel opens it; full BSN, it is a work file);
* ``afstemming-fouten.csv`` - the bad rows (bestand, regel, reden);
* ``restbedragen.csv`` - per running CAK verstrekking with a kostprijs: RESTBEDRAG as delivered, as
  computed from TOTALE_KOSTEN, what is left on the peildatum, its virtual end date and whether it is
  the person's longest-running kostprijs;
* ``eerste-levering.csv`` - the initial delivery as a desired state for ``ieb plan`` (docs/ledger.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from importlib import resources
from pathlib import Path
from typing import Any

from ieb.migration.reconcile import Afstemming, CakRegel, Categorie, Groep

__all__ = ["REPORT_FILES", "render_html", "write_reports"]

#: the files :func:`write_reports` writes, in order
REPORT_FILES = (
    "afstemming.html",
    "afstemming-verschillen.csv",
    "afstemming-fouten.csv",
    "restbedragen.csv",
    "eerste-levering.csv",
)
#: most rows per list on the HTML page (the CSV files have them all)
MAX_HTML_ROWS = 2_000


def euro(cent: int | None) -> str:
    """``EUR 1.234,56`` (Dutch notation); ``-`` for None."""
    if cent is None:
        return "-"
    whole = f"{cent // 100:,}".replace(",", ".")
    return f"EUR {whole},{cent % 100:02d}"


def _chart(counts: dict[Categorie, int]) -> dict[str, Any]:
    left, span, step = 190, 420, 32
    top = max(counts.values()) or 1
    bars = []
    for n, (categorie, count) in enumerate(counts.items()):
        bars.append(
            {
                "categorie": categorie.value,
                "label": categorie.omschrijving,
                "count": count,
                "y": 8 + n * step,
                "width": max(2 if count else 0, round(span * count / top)),
            }
        )
    return {"bars": bars, "left": left, "width": left + span + 80, "height": 16 + len(bars) * step}


def render_html(result: Afstemming, *, now: dt.datetime | None = None) -> str:
    """The HTML page (a complete document, no external resources)."""
    import jinja2

    template_text = (
        resources.files("ieb.migration").joinpath("templates/afstemming.html.j2").read_text("utf-8")
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = env.from_string(template_text)
    rows = [(p, v) for p in result.met_verschillen for v in p.verschillen]
    alleen_cak = result.groep(Groep.ALLEEN_CAK)
    alleen_gemeente = result.groep(Groep.ALLEEN_GEMEENTE)
    summary = result.summary()
    return template.render(
        peildatum=result.peildatum.isoformat(),
        gemaakt=(now or dt.datetime.now()).strftime("%Y-%m-%d %H:%M"),
        bestanden=sorted(result.bestanden.items()),
        s=summary,
        restbedrag=euro(result.restbedrag_cent),
        waarschuwingen=result.waarschuwingen,
        chart=_chart(result.per_categorie()),
        verschillen=rows[:MAX_HTML_ROWS],
        verschillen_meer=max(0, len(rows) - MAX_HTML_ROWS),
        alleen_cak=alleen_cak[:MAX_HTML_ROWS],
        alleen_cak_meer=max(0, len(alleen_cak) - MAX_HTML_ROWS),
        alleen_gemeente=alleen_gemeente[:MAX_HTML_ROWS],
        alleen_gemeente_meer=max(0, len(alleen_gemeente) - MAX_HTML_ROWS),
        fouten=result.fouten[:MAX_HTML_ROWS],
        fouten_meer=max(0, len(result.fouten) - MAX_HTML_ROWS),
        fouten_totaal=len(result.fouten),
        cak_regels=sorted(result.cak_telling().items()),
        regel_kolommen=[(c.value, c.omschrijving) for c in CakRegel],
        euro=euro,
    )


def _csv_text(header: list[str], rows: list[list[Any]], delimiter: str = ";") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def report_texts(result: Afstemming, *, now: dt.datetime | None = None) -> dict[str, str]:
    """File name -> content of every report (see :data:`REPORT_FILES`)."""
    verschillen: list[list[Any]] = []
    for p in result.personen:
        if p.groep is Groep.BEIDE:
            for v in p.verschillen:
                verschillen.append(
                    [p.bsn, p.naam, p.groep.value, v.categorie.value, v.cak, v.gemeente, v.actie]
                )
        else:
            verschillen.append([p.bsn, p.naam, p.groep.value, "", "", "", p.actie])
    desired = result.desired_records()
    return {
        "afstemming.html": render_html(result, now=now),
        "afstemming-verschillen.csv": _csv_text(
            ["bsn", "naam", "groep", "categorie", "cak", "gemeente", "actie"], verschillen
        ),
        "afstemming-fouten.csv": _csv_text(
            ["bestand", "regel", "reden"], [[f.bestand, f.regel, f.reden] for f in result.fouten]
        ),
        "restbedragen.csv": _csv_text(
            [
                "bsn",
                "dossiernummer",
                "henv_groep_code",
                "regel",
                "totale_kosten_cent",
                "restbedrag_cent",
                "restbedrag_berekend_cent",
                "restbedrag_peildatum_cent",
                "virtuele_einddatum",
                "langstlopend",
            ],
            [
                [
                    r.bsn,
                    r.dossiernummer,
                    r.groep_code,
                    r.regel,
                    r.totale_kosten_cent,
                    r.restbedrag_cent,
                    "" if r.berekend_cent is None else r.berekend_cent,
                    r.op_peildatum_cent,
                    r.virtuele_einddatum.isoformat() if r.virtuele_einddatum else "",
                    "J" if r.langstlopend else "N",
                ]
                for r in result.restbedragen
            ],
        ),
        "eerste-levering.csv": _csv_text(
            ["bsn", "start", "stop", "kostprijs_cent", "kostprijs_start"],
            [[r["bsn"], r["start"], r["stop"], r["kostprijs_cent"], r["kostprijs_start"]] for r in desired],
            ",",
        ),
    }


def write_reports(result: Afstemming, folder: str | Path, *, now: dt.datetime | None = None) -> list[Path]:
    """Write every report into ``folder`` (created when missing); returns the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in report_texts(result, now=now).items():
        path = out / name
        encoding = "utf-8" if name.endswith(".html") or name == "eerste-levering.csv" else "utf-8-sig"
        path.write_text(text, encoding=encoding, newline="")
        paths.append(path)
    return paths
