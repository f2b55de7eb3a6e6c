"""Render an ``ieb report`` page in headless Chromium and measure it.

The page itself forbids scripts (its Content-Security-Policy). To measure, a COPY of the page gets
the policy removed and :data:`PROBE` appended; Chromium runs it while loading (``--dump-dom``) and
the probe writes its findings as JSON into ``<body data-probe=...>``, which this module reads from
the dumped DOM. The probe measures, in a 1280 px wide window:

* ``page_width`` / ``window_width`` / ``page_height``: the document's scroll size (no sideways
  scrolling when the page fits);
* ``clipped``: every block element (table cells, headings, paragraphs, legend items, links) whose
  ``scrollWidth`` exceeds its ``clientWidth`` (its text does not fit), with its text;
* ``svg_outside``: every ``<text>`` of the chart whose box leaves the SVG's viewBox, and
  ``svg_overlap``: month, year and total labels whose boxes overlap a neighbour's;
* ``months``: per ``data-month`` of the chart, the rendered height in CSS px of its bar segments and
  the number written above it;
* ``legend``: the legend items with their box inside the legend list's box or not;
* ``text``: the page's visible text (``innerText``), ``links``: every ``a[download]`` with its
  ``download`` name and ``href``.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

PROBE = r"""
<script>
(function () {
  const out = {clipped: [], svg_outside: [], svg_overlap: [], months: {}, legend: [], links: []};
  const de = document.documentElement;
  out.page_width = de.scrollWidth; out.window_width = window.innerWidth; out.page_height = de.scrollHeight;
  for (const el of document.querySelectorAll('td,th,h1,h2,h3,p,li,a,span.swatch')) {
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      out.clipped.push({tag: el.tagName, text: el.innerText.slice(0, 80), scroll: el.scrollWidth, client: el.clientWidth});
    }
  }
  const svg = document.getElementById('chart');
  if (svg) {
    const vb = svg.viewBox.baseVal;
    const labels = [];
    for (const t of svg.querySelectorAll('text')) {
      const b = t.getBBox();
      if (b.x < -0.5 || b.y < -0.5 || b.x + b.width > vb.width + 0.5 || b.y + b.height > vb.height + 0.5) {
        out.svg_outside.push({text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height});
      }
      if (['month', 'year', 'total'].includes(t.getAttribute('class'))) labels.push({c: t.getAttribute('class'), t: t.textContent, b: b});
    }
    for (const cls of ['month', 'year', 'total']) {
      const row = labels.filter(l => l.c === cls).sort((p, q) => p.b.x - q.b.x);
      for (let i = 1; i < row.length; i++) {
        if (row[i - 1].b.x + row[i - 1].b.width > row[i].b.x) out.svg_overlap.push([row[i - 1].t, row[i].t]);
      }
    }
    for (const r of svg.querySelectorAll('rect.bar')) {
      const m = r.dataset.month;
      out.months[m] = out.months[m] || {height: 0, total: null};
      out.months[m].height += r.getBoundingClientRect().height;
    }
    for (const t of svg.querySelectorAll('text.total')) {
      const m = t.dataset.month;
      out.months[m] = out.months[m] || {height: 0, total: null};
      out.months[m].total = Number(t.textContent);
    }
  }
  const legend = document.getElementById('legend');
  if (legend) {
    const box = legend.getBoundingClientRect();
    for (const li of legend.querySelectorAll('li')) {
      const b = li.getBoundingClientRect();
      out.legend.push({text: li.innerText.trim(), inside: b.left >= box.left - 0.5 && b.right <= box.right + 0.5,
                       fits: li.scrollWidth <= li.clientWidth + 1});
    }
  }
  for (const a of document.querySelectorAll('a[download]')) out.links.push({name: a.getAttribute('download'), href: a.getAttribute('href')});
  out.text = document.body.innerText;
  document.body.setAttribute('data-probe', JSON.stringify(out));
})();
</script>
"""


def chromium() -> str:
    """The Chromium binary, or skip the test loudly (``.ci/run`` installs it)."""
    found = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
    )
    if found is None:
        pytest.skip("LET OP: chromium ontbreekt; het HTML-rapport is niet in een browser gemeten")
    return found


def _run(page: Path, *args: str) -> str:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--window-size=1280,900",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    ).stdout


def dump_dom(page: Path) -> str:
    """The page as Chromium renders it, unchanged (its policy in force: no scripts)."""
    return _run(page, "--dump-dom")


def measure(page: Path) -> dict[str, Any]:
    """The probe's findings for ``page`` (see the module docstring)."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
    probe = page.with_name(page.stem + ".probe.html")
    probe.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _run(probe, "--dump-dom")
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[:2000]
    data: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return data
