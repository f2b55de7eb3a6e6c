"""The voorzieningen store: read iWmo files into the database, idempotently, one transaction per file.

Public API::

    store = IwmoStore(engine)                      an engine from ieb.store.open_database (tables by migration 0006_iwmo)
    report = store.read([Path(...), ...])          files and folders -> ReadReport (per file: stored, already read, refused, findings)
    store.rows(gemeente=None, bsn=None, peildatum=None) -> [(id, Product)]   in reading order
    store.state(peildatum=None) -> Voorzieningen   the replayed toewijzingen and leveringen

Reading order: all files of one call are parsed first and then stored by Dagtekening, 301 before 305
before 307 (so a correction follows what it corrects). Files are stored in transactions of up to
:data:`BATCH` files: a crash or database error mid-way stores nothing of the batch in progress
(never half a file); reading the same files again stores what is missing. A product already stored (same ``sleutel``) is counted as
"al gelezen" and changes nothing, so reading the same files twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.iwmo.reader import Finding, ParsedFile, Product, by_reading_order, collect_files, read_file
from ieb.iwmo.state import Voorzieningen, replay
from ieb.store.schema import iwmo_bestanden, iwmo_producten
from ieb.types import mask_bsns

__all__ = ["BATCH", "FileResult", "IwmoStore", "ReadReport"]

_CHUNK = 500
#: PostgreSQL advisory lock held while a batch is checked and stored (SQLite: BEGIN IMMEDIATE).
_PG_LOCK = 0x1E_B1_3A_77
#: Files stored per transaction by :meth:`IwmoStore.read`.
BATCH = 200


@dataclass(slots=True)
class FileResult:
    """What happened to one file: products ``opgeslagen`` (stored), ``al_gelezen`` (stored before,
    unchanged), ``geweigerd`` (refused, each with a finding) and all ``findings``."""

    bron: str
    bericht: str | None
    opgeslagen: int = 0
    al_gelezen: int = 0
    geweigerd: int = 0
    findings: list[Finding] = field(default_factory=list)

    def describe(self) -> str:
        """One Dutch line for the clerk (no BSN, also not in a file name)."""
        bron = mask_bsns(self.bron)
        if self.bericht is None:
            if any(f.ernst == "fout" for f in self.findings):
                return f"{bron}: geweigerd"
            return f"{bron}: niet nodig, niets opgeslagen"
        parts = [f"{self.opgeslagen} opgeslagen"]
        if self.al_gelezen:
            parts.append(f"{self.al_gelezen} al gelezen (niets gewijzigd)")
        if self.geweigerd:
            parts.append(f"{self.geweigerd} geweigerd")
        return f"{bron}: {self.bericht}, " + ", ".join(parts)


@dataclass(slots=True)
class ReadReport:
    """All files of one :meth:`IwmoStore.read`."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every file, in reading order."""
        return [f for r in self.files for f in r.findings]

    @property
    def errors(self) -> list[Finding]:
        """Findings that refused a file or a product."""
        return [f for f in self.findings if f.ernst == "fout"]

    def totals(self) -> dict[str, int]:
        """``{"bestanden", "opgeslagen", "al_gelezen", "geweigerd"}`` summed over the files."""
        return {
            "bestanden": len(self.files),
            "opgeslagen": sum(r.opgeslagen for r in self.files),
            "al_gelezen": sum(r.al_gelezen for r in self.files),
            "geweigerd": sum(r.geweigerd for r in self.files),
        }


def _row(product: Product, bron: str) -> dict[str, Any]:
    return {
        "sleutel": product.sleutel,
        "bron": bron[-500:],
        "regel": product.regel,
        "bericht": product.bericht,
        "identificatie": product.identificatie,
        "dagtekening": product.dagtekening,
        "gemeente": product.gemeente,
        "aanbieder": product.aanbieder,
        "bsn": product.bsn,
        "geboortedatum": product.geboortedatum,
        "geslacht": product.geslacht,
        "toewijzing_nummer": product.toewijzing_nummer,
        "categorie": product.categorie,
        "productcode": product.productcode,
        "status": product.status,
        "begindatum": product.begindatum,
        "einddatum": product.einddatum,
        "reden": product.reden,
        "volume": product.volume,
        "eenheid": product.eenheid,
        "frequentie": product.frequentie,
    }


def _product(row: Any) -> Product:
    sleutel = str(row.sleutel)
    return Product(
        bericht=row.bericht,
        positie=int(sleutel.rsplit(":", 1)[-1]),
        regel=row.regel,
        sleutel=sleutel,
        identificatie=row.identificatie,
        dagtekening=row.dagtekening,
        gemeente=row.gemeente,
        aanbieder=row.aanbieder,
        bsn=row.bsn,
        geboortedatum=row.geboortedatum,
        geslacht=row.geslacht,
        toewijzing_nummer=int(row.toewijzing_nummer),
        categorie=row.categorie,
        productcode=row.productcode,
        status=row.status,
        begindatum=row.begindatum,
        einddatum=row.einddatum,
        reden=row.reden,
        volume=row.volume,
        eenheid=row.eenheid,
        frequentie=row.frequentie,
        bron=row.bron,
    )


class IwmoStore:
    """Reads iWmo files into the ``iwmo_*`` tables of ``engine`` (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ------------------------------------------------------------------ reading

    def read(
        self, paths: Iterable[Path], *, progress: Callable[[FileResult], None] | None = None
    ) -> ReadReport:
        """Read files and folders (see :func:`ieb.iwmo.reader.collect_files`), stored in batches of
        :data:`BATCH` files per transaction. Raises ``FileNotFoundError``/``ValueError`` from
        ``collect_files`` before anything is stored."""
        files = collect_files(paths)
        parsed = by_reading_order([read_file(p) for p in files])
        report = ReadReport()
        for i in range(0, len(parsed), BATCH):
            for result in self.store_many(parsed[i : i + BATCH]):
                report.files.append(result)
                if progress is not None:
                    progress(result)
        return report

    def store(self, parsed: ParsedFile) -> FileResult:
        """Store one parsed file in one transaction (see :meth:`store_many`)."""
        return self.store_many([parsed])[0]

    def store_many(self, files: Sequence[ParsedFile]) -> list[FileResult]:
        """Store parsed files, in the given order, in ONE transaction: a crash or database error
        stores none of them (reading them again stores them). Retried once when a concurrent
        reader stored the same products first (unique ``sleutel``)."""
        for attempt in (1, 2):
            try:
                return self._store(files)
            except sa.exc.IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _store(self, files: Sequence[ParsedFile]) -> list[FileResult]:
        results: list[FileResult] = []
        products = [p for f in files for p in f.products]
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # one reader at a time: the checks read what others write
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
            keys = {(p.gemeente, p.toewijzing_nummer) for p in products}
            state = replay(self._rows_for(conn, keys)) if keys else None
            known = self._known(conn, [p.sleutel for p in products])
            rows: list[dict[str, Any]] = []
            bestanden: list[dict[str, Any]] = []
            now = dt.datetime.now(dt.UTC)
            for parsed in files:
                result = FileResult(parsed.bron, parsed.bericht, findings=list(parsed.findings))
                result.geweigerd = sum(1 for f in parsed.findings if f.code == "IW003")
                for product in parsed.products:
                    assert state is not None
                    if product.sleutel in known:
                        result.al_gelezen += 1
                        continue
                    refusal = state.apply(product, -1)
                    if refusal is not None:
                        result.geweigerd += 1
                        result.findings.append(
                            Finding(parsed.bron, product.regel, refusal.code, refusal.tekst)
                        )
                        continue
                    known.add(product.sleutel)
                    rows.append(_row(product, parsed.bron))
                    result.opgeslagen += 1
                    if (
                        product.bericht != "WMO301"
                        and (product.gemeente, product.toewijzing_nummer) not in state.toewijzingen
                    ):
                        result.findings.append(
                            Finding(
                                parsed.bron,
                                product.regel,
                                "TR019",
                                f"{product.wie}: er is (nog) geen toewijzing (WMO301) met dit nummer gelezen; "
                                "opgeslagen met de productcategorie uit dit bericht. Lees ook de WMO301.",
                                "waarschuwing",
                            )
                        )
                bestanden.append(
                    {
                        "bron": parsed.bron[-500:],
                        "bericht": parsed.bericht,
                        "identificatie": parsed.identificatie or None,
                        "dagtekening": parsed.dagtekening,
                        "opgeslagen": result.opgeslagen,
                        "al_gelezen": result.al_gelezen,
                        "geweigerd": result.geweigerd,
                        "gelezen_op": now,
                    }
                )
                results.append(result)
            if rows:
                conn.execute(iwmo_producten.insert(), rows)
            if bestanden:
                conn.execute(iwmo_bestanden.insert(), bestanden)
        return results

    @staticmethod
    def _known(conn: sa.Connection, sleutels: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(sleutels), _CHUNK):
            chunk = list(sleutels[i : i + _CHUNK])
            found.update(
                conn.execute(
                    sa.select(iwmo_producten.c.sleutel).where(iwmo_producten.c.sleutel.in_(chunk))
                ).scalars()
            )
        return found

    @staticmethod
    def _rows_for(conn: sa.Connection, keys: set[tuple[str, int]]) -> list[tuple[int, Product]]:
        out: list[tuple[int, Product]] = []
        by_gemeente: dict[str, list[int]] = {}
        for gemeente, nummer in keys:
            by_gemeente.setdefault(gemeente, []).append(nummer)
        for gemeente, nummers in by_gemeente.items():
            for i in range(0, len(nummers), _CHUNK):
                chunk = nummers[i : i + _CHUNK]
                query = sa.select(iwmo_producten).where(
                    iwmo_producten.c.gemeente == gemeente, iwmo_producten.c.toewijzing_nummer.in_(chunk)
                )
                out.extend((row.id, _product(row)) for row in conn.execute(query))
        out.sort(key=lambda item: item[0])
        return out

    # ------------------------------------------------------------------ queries

    def rows(
        self, *, gemeente: str | None = None, bsn: str | None = None, peildatum: dt.date | None = None
    ) -> list[tuple[int, Product]]:
        """The stored products in reading order, optionally of one gemeente, one client, or known on
        ``peildatum`` (Dagtekening on or before it)."""
        query = sa.select(iwmo_producten).order_by(iwmo_producten.c.id)
        if gemeente is not None:
            query = query.where(iwmo_producten.c.gemeente == gemeente)
        if bsn is not None:
            query = query.where(iwmo_producten.c.bsn == bsn)
        if peildatum is not None:
            query = query.where(iwmo_producten.c.dagtekening <= peildatum)
        with self.engine.connect() as conn:
            return [(row.id, _product(row)) for row in conn.execute(query)]

    def state(self, *, peildatum: dt.date | None = None) -> Voorzieningen:
        """The toewijzingen and leveringen after replaying every stored product (up to ``peildatum``)."""
        return replay(self.rows(peildatum=peildatum))

    def counts(self) -> dict[str, int]:
        """Stored products per bericht (``{"WMO301": n, ...}``) and ``bestanden``."""
        with self.engine.connect() as conn:
            out = {
                str(bericht): int(n)
                for bericht, n in conn.execute(
                    sa.select(iwmo_producten.c.bericht, sa.func.count()).group_by(iwmo_producten.c.bericht)
                )
            }
            out["bestanden"] = int(
                conn.execute(sa.select(sa.func.count()).select_from(iwmo_bestanden)).scalar_one()
            )
        return out
