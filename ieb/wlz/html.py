"""The Wlz-signalen as an HTML section of ``ieb report`` (no scripts, no network).

:func:`render_section` takes :func:`ieb.wlz.summary`'s dict (BSNs already masked, no names)
and escapes every text.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["render_section", "wlz_status_line"]

_VOORSTEL = {"stop": "stoppen", "doorlopen": "laten doorlopen", "geen": "niets te doen"}


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_section(wlz: dict[str, Any]) -> str:
    """``<section id="wlz">``: counts, the open signals with age and proposal, the last decisions
    and the last upload."""
    rows = (
        "".join(
            f'<tr class="wlz-open"><td>{_e(x["gemeente"])}</td><td>{_e(x["bsn"])}</td><td>{_e(x["ingangsdatum"])}</td>'
            f'<td>{_e(x["ontvangen"])}</td><td class="n">{_e(x["leeftijd_dagen"])}</td>'
            f"<td>{_e(_VOORSTEL.get(x['voorstel'], x['voorstel']))}</td><td>{_e(x['voorstel_datum'] or '')}</td>"
            f"<td>{_e(x['reden'])}</td></tr>"
            for x in wlz["open_list"]
        )
        or '<tr><td colspan="8" class="empty">Geen open signalen.</td></tr>'
    )
    besluiten = (
        "".join(
            f'<tr class="wlz-besluit"><td>{_e(x["gemeente"])}</td><td>{_e(x["bsn"])}</td><td>{_e(x["besluit"])}</td>'
            f"<td>{_e(x['stopdatum'] or '')}</td><td>{_e(x['besloten_op'])}</td></tr>"
            for x in wlz["besluiten_list"]
        )
        or '<tr><td colspan="5" class="empty">Nog geen besluiten.</td></tr>'
    )
    u = wlz.get("laatste_upload")
    upload = (
        f"Laatste upload: gemeente {_e(u['gemeente'])}, peildatum {_e(u['peildatum'])}, {_e(u['regels'])} regels "
        f"({_e(u['beeindigd'])} beëindigd)"
        + (
            f", verwerkingsverslag: {_e(u['verslag_geweigerd'])} geweigerd"
            if u.get("verslag_geweigerd") is not None
            else ", nog geen verwerkingsverslag"
        )
        + "."
        if u
        else "Nog geen upload naar het Inlichtingenbureau."
    )
    oldest = wlz.get("oudste_open_dagen")
    return f"""<section id="wlz"><h2>Wlz-signalen (samenloop Wmo/Wlz)</h2>
<p>Open: <span id="wlz-open">{_e(wlz["open"])}</span>{f" (oudste {_e(oldest)} dagen)" if oldest is not None else ""};
besloten: <span id="wlz-besloten">{_e(wlz["besloten"])}</span> (stop {_e(wlz["besluiten"].get("stop", 0))}, doorlopen {_e(wlz["besluiten"].get("doorlopen", 0))});
zonder actie: <span id="wlz-geen">{_e(wlz["geen_actie"])}</span>. {upload}</p>
<table><tr><th>gemeente</th><th>Bsn</th><th>Wlz-ingangsdatum</th><th>ontvangen</th><th>dagen open</th><th>voorstel</th><th>stopdatum</th><th>toelichting</th></tr>{rows}</table>
<h3>Laatste besluiten</h3>
<table><tr><th>gemeente</th><th>Bsn</th><th>besluit</th><th>stopdatum</th><th>besloten op</th></tr>{besluiten}</table>
<p>Besluit per persoon met <code>ieb wlz besluit BSN --stop DATUM | --doorlopen | --akkoord</code>; een geaccepteerde stop gaat mee in elke <code>ieb plan</code>.</p></section>
"""


def wlz_status_line(wlz: dict[str, Any]) -> str | None:
    """One line for ``ieb status``: open signals, the oldest one's age, decisions; None when the
    gemeente never used Wlz-signalen (no upload, no signal, no decision)."""
    if not (
        wlz["open"]
        or wlz["besloten"]
        or wlz["geen_actie"]
        or wlz["laatste_upload"]
        or any(wlz["besluiten"].values())
    ):
        return None
    oldest = wlz.get("oudste_open_dagen")
    age = f" (oudste {oldest} dagen)" if oldest is not None else ""
    b = wlz["besluiten"]
    return (
        f"Wlz-signalen: {wlz['open']} open{age}, {wlz['besloten']} besloten "
        f"(stop {b.get('stop', 0)}, doorlopen {b.get('doorlopen', 0)}), {wlz['geen_actie']} zonder actie"
    )
