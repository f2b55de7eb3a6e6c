"""The proposal for one signal of samenloop: pure, no I/O.

:func:`propose` answers, for one Wlz indicatie and what is known of the person, "stop the eigen
bijdrage on date D", "let it continue" (a voorziening of a kind that may continue next to the
Wlz) or "nothing to do" (no eigen bijdrage runs on or after D). The result is a proposal for a
clerk; nothing is ever applied without a decision (``ieb wlz besluit``).

Source of the rules: the handreiking samenloop Wmo/Wlz of the Inlichtingenbureau (contact the
client first; do not undo long-running samenloop retroactively; woningaanpassingen, hulpmiddelen
and regiotaxi may continue next to the Wlz). The exact dates are the gemeente's policy
(:class:`ieb.wlz.settings.BeleidSettings`, ASSUMED defaults).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ieb.policy.wmo020 import CATEGORIEEN
from ieb.wlz.settings import BeleidSettings

__all__ = ["CATEGORIEEN", "Proposal", "propose"]

Voorstel = Literal["stop", "doorlopen", "geen"]


@dataclass(frozen=True)
class Proposal:
    """``voorstel``: ``stop`` (on ``datum``, the proposed EbStopdatum), ``doorlopen`` or ``geen``
    (nothing to do); ``reden``: why, in Dutch for the clerk (no BSN, no name)."""

    voorstel: Voorstel
    datum: dt.date | None
    reden: str


def _cat(code: str) -> str:
    return f"{code} ({CATEGORIEEN.get(code, 'onbekende categorie')})"


def propose(
    *,
    ingangsdatum: dt.date,
    afgiftedatum: dt.date | None,
    ontvangen: dt.date,
    periods: Sequence[tuple[dt.date, dt.date | None]],
    voorzieningen: Sequence[tuple[str | None, dt.date, dt.date | None]],
    beleid: BeleidSettings,
) -> Proposal:
    """The proposal for one signal.

    ``periods``: the person's current eigen-bijdrage periods in the ledger, (EbStartdatum,
    EbStopdatum or None), dates inclusive. ``voorzieningen``: what is known of the person's Wmo
    voorzieningen, (WMO020 productcategorie or None when unknown, begindatum, einddatum or None).
    ``ontvangen``: the day the signal was received.

    Rules, in order: (1) D from ``beleid.stopdatum`` (the day before the ingangsdatum by default);
    (2) D more than ``beleid.terugwerkend_max_dagen`` before ``ontvangen`` becomes ``ontvangen``;
    (3) no period runs after D: ``geen``; (4) D before the first such period's start becomes that
    start (TR328: a stop is never before its start); (5) a running voorziening (einddatum None or
    after D) of a category in ``beleid.doorlopen``: ``doorlopen``; (6) otherwise ``stop`` on D.
    """
    notes: list[str] = []
    if beleid.stopdatum == "ingangsdatum":
        day = ingangsdatum
        notes.append(f"stop op de ingangsdatum van de Wlz-indicatie ({ingangsdatum})")
    elif beleid.stopdatum == "afgiftedatum":
        day = afgiftedatum or ingangsdatum
        what = "afgiftedatum" if afgiftedatum else "ingangsdatum (geen afgiftedatum)"
        notes.append(f"stop op de {what} van de Wlz-indicatie ({day})")
    else:
        day = ingangsdatum - dt.timedelta(days=1)
        notes.append(f"stop op de dag voor de ingangsdatum van de Wlz-indicatie ({ingangsdatum})")
    limit = ontvangen - dt.timedelta(days=beleid.terugwerkend_max_dagen)
    if day < limit:
        notes.append(
            f"de samenloop loopt al sinds {day}, meer dan {beleid.terugwerkend_max_dagen} dagen voor ontvangst: "
            f"niet met terugwerkende kracht, stop per ontvangstdatum {ontvangen}"
        )
        day = ontvangen
    running = sorted(p for p in periods if p[1] is None or p[1] > day)
    if not running:
        if not periods:
            return Proposal("geen", None, "geen eigen bijdrage bekend voor deze persoon: niets te doen")
        return Proposal("geen", None, f"de eigen bijdrage loopt niet na {day}: niets te doen")
    first_start = running[0][0]
    if day < first_start:
        notes.append(f"de eigen bijdrage begint pas op {first_start}: stop op die dag")
        day = first_start
    active = [v for v in voorzieningen if v[2] is None or v[2] > day]
    known = sorted({c for c, _, _ in active if c})
    stays = [c for c in known if c in beleid.doorlopen]
    if stays:
        reden = "productcategorie " + ", ".join(_cat(c) for c in stays) + " mag naast de Wlz doorlopen"
        others = [c for c in known if c not in beleid.doorlopen]
        if others:
            reden += "; " + ", ".join(_cat(c) for c in others) + " eindigt wel: controleer de eigen bijdrage"
        return Proposal("doorlopen", None, reden + "; neem eerst contact op met de cliënt")
    if not known:
        notes.append("productcategorie onbekend (geen iWmo-gegevens of upload met categorie)")
    else:
        notes.append(
            "productcategorie " + ", ".join(_cat(c) for c in known) + " loopt niet door naast de Wlz"
        )
    return Proposal("stop", day, "; ".join([*notes, "neem eerst contact op met de cliënt"]))
