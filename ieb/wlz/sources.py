"""Who has a Wmo voorziening: the one interface the Wlz signals read, whatever the source.

:func:`voorzieningen` yields :class:`Voorziening` rows (person x voorziening, running or ended)
from what ``ieb`` knows, richest source first per person:

1. the iWmo store (issue 23, ``ieb.iwmo.store.IwmoStore``) when it is installed: its current
   toewijzingen (WMO301, not withdrawn) with productcategorie, ingangsdatum and einddatum;
2. a voorzieningen file the caller names (CSV/JSON: ``bsn, begindatum`` and optionally
   ``gemeente, productcategorie, einddatum``), e.g. an export of the case system;
3. a desired-state file (the ``ieb plan`` input: one row per eigen-bijdrage period);
4. the ledger: the current periods the CAK was sent (accepted or pending).

Sources 3 and 4 know no productcategorie (None). A person found in a richer source is taken from
that source only. Dates are :class:`datetime.date`, inclusive; ``einddatum`` None = running.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ieb.tabular import RowIssue, TableError, parse_datum, read_table, restore_zeros
from ieb.types import bsn_is_valid, mask_bsn

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

__all__ = [
    "Bron",
    "Voorziening",
    "iwmo_available",
    "iwmo_voorzieningen",
    "read_voorzieningen_file",
    "voorzieningen",
]

log = logging.getLogger("ieb.wlz")

Bron = Literal["iwmo", "bestand", "gewenst", "grootboek"]
_RANK: dict[str, int] = {"iwmo": 0, "bestand": 1, "gewenst": 2, "grootboek": 3}


@dataclass(frozen=True)
class Voorziening:
    """One Wmo voorziening of one person: ``gemeente`` (4 digits), ``bsn`` (9 digits),
    ``productcategorie`` (WMO020, or None when the source does not know it), ``begindatum``,
    ``einddatum`` (None while running) and ``bron`` (where it came from)."""

    gemeente: str
    bsn: str
    productcategorie: str | None
    begindatum: dt.date
    einddatum: dt.date | None
    bron: Bron

    def __repr__(self) -> str:
        return (
            f"Voorziening({self.gemeente} {mask_bsn(self.bsn)} cat={self.productcategorie} "
            f"{self.begindatum}..{self.einddatum} {self.bron})"
        )

    @property
    def key(self) -> tuple[str, str, dt.date, str]:
        """(gemeente, bsn, begindatum, productcategorie or ""): what an upload remembers."""
        return (self.gemeente, self.bsn, self.begindatum, self.productcategorie or "")


def iwmo_available() -> bool:
    """True when the iWmo store (``ieb.iwmo.store.IwmoStore``, issue 23) is installed."""
    try:
        return importlib.util.find_spec("ieb.iwmo.store") is not None
    except ModuleNotFoundError:  # pragma: no cover - no ieb.iwmo package at all
        return False


def iwmo_voorzieningen(engine: Engine) -> Iterator[Voorziening]:
    """The current toewijzingen (WMO301, not withdrawn) of the iWmo store: the Wmo indicaties
    with their productcategorie, ingangsdatum and einddatum."""
    module = importlib.import_module("ieb.iwmo.store")
    state = module.IwmoStore(engine).state()
    for t in state.toewijzingen.values():
        if getattr(t, "verwijderd", False):
            continue
        yield Voorziening(
            str(t.gemeente),
            str(t.bsn),
            str(t.categorie) if t.categorie else None,
            t.ingangsdatum,
            t.einddatum,
            "iwmo",
        )


def _ledger(engine: Engine, gemeente: str | None) -> Iterator[Voorziening]:
    from ieb.ledger.store import Ledger

    for (afzender, bsn), periods in Ledger(engine).periods(gemeente).items():
        for p in periods:
            yield Voorziening(afzender, bsn, None, p.start.datum, p.end, "grootboek")


def _desired(records: Iterable[Mapping[str, Any]], default_gemeente: str | None) -> Iterator[Voorziening]:
    from ieb.ledger.planner import record_problems

    for rec in records:
        own = restore_zeros(rec.get("gemeente") or "", 4) or default_gemeente
        if not own:
            continue
        bsn, period, problems = record_problems(rec, gemeente=own)
        if problems or bsn is None or period is None:
            continue  # ieb plan reports the bad rows of a desired-state file
        yield Voorziening(own, bsn, None, period.start, period.stop, "gewenst")


def read_voorzieningen_file(
    path: str | Path, *, default_gemeente: str | None, gemeenten: Sequence[str] = ()
) -> list[Voorziening]:
    """A voorzieningen file (CSV/JSON; ``bsn, begindatum`` and optionally ``gemeente,
    productcategorie, einddatum``; dates JJJJ-MM-DD, JJJJMMDD or DD-MM-JJJJ). Raises
    :class:`ieb.tabular.TableError` listing every bad row (nothing is used then)."""
    p = Path(path)
    table = read_table(
        p,
        name=str(p),
        required=("bsn", "begindatum"),
        optional=("gemeente", "productcategorie", "einddatum"),
    )
    out: list[Voorziening] = []
    issues: list[RowIssue] = []
    for row in table.rows:
        g = restore_zeros(row.get("gemeente") or "", 4) or (default_gemeente or "")
        bad = len(issues)
        if not (len(g) == 4 and g.isdigit()) or (gemeenten and g not in gemeenten):
            issues.append(RowIssue(row.line, "gemeente", "gemeente ontbreekt of staat niet in ieb.toml"))
        bsn = restore_zeros(row.get("bsn") or "", 9)
        if not bsn_is_valid(bsn):
            issues.append(RowIssue(row.line, "bsn", "geen geldig burgerservicenummer (11-proef)"))
        cat = restore_zeros(row.get("productcategorie") or "", 2) or None
        if cat is not None and not (len(cat) == 2 and cat.isdigit()):
            issues.append(RowIssue(row.line, "productcategorie", "geen WMO020-code van 2 cijfers"))
        dates: list[dt.date | None] = []
        for column in ("begindatum", "einddatum"):
            text = str(row.get(column) or "").strip()
            try:
                dates.append(parse_datum(text) if text else None)
            except ValueError as exc:
                issues.append(RowIssue(row.line, column, str(exc)))
                dates.append(None)
        if dates[0] is None and len(issues) == bad:
            issues.append(RowIssue(row.line, "begindatum", "begindatum ontbreekt"))
        if len(issues) == bad and dates[0] is not None:
            out.append(Voorziening(g, bsn, cat, dates[0], dates[1], "bestand"))
    if issues:
        raise TableError(str(p), issues)
    return out


def voorzieningen(
    engine: Engine,
    *,
    gemeente: str | None = None,
    desired: Iterable[Mapping[str, Any]] | None = None,
    extra: Iterable[Voorziening] = (),
    default_gemeente: str | None = None,
    use_iwmo: bool | None = None,
) -> Iterator[Voorziening]:
    """Every known voorziening, per person from the richest source (see the module docstring).

    ``desired``: desired-state records (``ieb plan`` input) or None; ``extra``: rows of a
    voorzieningen file; ``default_gemeente``: the gemeente of desired records without one;
    ``use_iwmo``: None = when installed. Only ``gemeente`` when given."""
    sources: list[Iterable[Voorziening]] = []
    if use_iwmo or (use_iwmo is None and iwmo_available()):
        sources.append(iwmo_voorzieningen(engine))
    sources.append(extra)
    if desired is not None:
        sources.append(_desired(desired, default_gemeente))
    sources.append(_ledger(engine, gemeente))
    best: dict[tuple[str, str], int] = {}
    rows: list[Voorziening] = []
    for source in sources:
        for v in source:
            if gemeente is not None and v.gemeente != gemeente:
                continue
            person = (v.gemeente, v.bsn)
            rank = _RANK[v.bron]
            if best.get(person, rank) < rank:
                continue
            best[person] = rank
            rows.append(v)
    seen: set[tuple[str, str, dt.date, str]] = set()
    for v in rows:
        if best[(v.gemeente, v.bsn)] == _RANK[v.bron] and v.key not in seen:
            seen.add(v.key)
            yield v
