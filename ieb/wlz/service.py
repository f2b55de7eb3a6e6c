"""The Wlz-signalen workflow on one database: upload, signals with proposals, decisions, purge,
summary, and the accepted stops as part of the desired state.

``WlzSignalen(engine, settings, gemeenten=...)`` (or :meth:`WlzSignalen.for_exchange`) is what
``ieb wlz`` runs. Every method that writes does so in ONE transaction (a crash leaves all or
nothing; running it again adds nothing twice). Texts are Dutch, BSNs masked, names never shown.
Errors: :class:`WlzError` (an :class:`ieb.errors.IebError`, ``.issues`` per problem) and
:class:`ieb.tabular.TableError` for unreadable files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ieb.errors import IebError
from ieb.store.schema import wlz_besluiten, wlz_signals, wlz_uploaded, wlz_uploads
from ieb.tabular import Row, RowIssue, TableError, read_table, restore_zeros
from ieb.types import bsn_is_valid, mask_bsn
from ieb.wlz.files import SignalRow, VerslagRow, parse_date, read_signal_report, read_verslag, upload_csv
from ieb.wlz.policy import Proposal, propose
from ieb.wlz.settings import WlzSettings, parse_wlz_settings
from ieb.wlz.sources import Voorziening, iwmo_available, iwmo_voorzieningen, voorzieningen

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Connection, Engine

    from ieb.exchange import Exchange

__all__ = [
    "BesluitResult",
    "PurgeResult",
    "SignalenResult",
    "UploadResult",
    "WlzError",
    "WlzSignalen",
    "apply_accepted_stops",
    "summary",
]


class WlzError(IebError):
    """A Wlz command cannot do what was asked; ``issues`` lists every problem (Dutch, masked)."""

    def __init__(self, message: str, issues: Sequence[str] = (), *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.issues = tuple(issues)


@dataclass
class UploadResult:
    """What ``upload`` wrote: ``path``, ``gemeente``, ``peildatum``, ``lopend`` (running or
    requested voorzieningen), ``beeindigd`` (ended since the last upload, with einddatum),
    ``personen`` and the ``upload_id`` remembered."""

    path: Path
    gemeente: str
    peildatum: dt.date
    lopend: int
    beeindigd: int
    personen: int
    upload_id: int


@dataclass
class SignalenResult:
    """What ``signalen`` stored: ``nieuw`` per new signal (masked Bsn, gemeente, ingangsdatum,
    proposal), ``dubbel`` (signals already stored, or twice in the file), ``geweigerd`` (rows
    that could not be read, each with line and column), ``verslag`` (refused upload rows of a
    processing report)."""

    nieuw: list[tuple[str, str, dt.date, Proposal]] = field(default_factory=list)
    dubbel: int = 0
    geweigerd: list[RowIssue] = field(default_factory=list)
    verslag: list[VerslagRow] = field(default_factory=list)
    bestand: str = ""

    def counts(self) -> dict[str, int]:
        """Counts per proposal kind plus ``dubbel`` and ``geweigerd``."""
        out = {"stop": 0, "doorlopen": 0, "geen": 0}
        for _, _, _, p in self.nieuw:
            out[p.voorstel] += 1
        return out | {"dubbel": self.dubbel, "geweigerd": len(self.geweigerd)}


@dataclass
class BesluitResult:
    """One decision stored: ``gemeente``, masked ``bsn``, ``besluit`` (``stop``/``doorlopen``),
    ``stopdatum`` and the number of open signals it closed."""

    gemeente: str
    bsn: str
    besluit: str
    stopdatum: dt.date | None
    signalen: int


@dataclass
class PurgeResult:
    """``signalen`` deleted, ``open_bewaard`` open signals kept (decide first), ``uploads`` deleted."""

    signalen: int
    open_bewaard: int
    uploads: int


@dataclass
class _Preloaded:
    """Open signal rows per Bsn and ledger histories per gemeente (for a CSV of decisions)."""

    open_rows: dict[str, list[Any]] = field(default_factory=dict)
    histories: dict[str, Any] = field(default_factory=dict)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sleutel(gemeente: str, bsn: str, *dates: dt.date | None) -> str:
    text = "|".join([gemeente, bsn, *[d.isoformat() if d else "" for d in dates]])
    return hashlib.sha256(text.encode()).hexdigest()


class WlzSignalen:
    """The Wlz-signalen of the gemeenten in ``gemeenten`` on ``engine`` (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        settings: WlzSettings | Mapping[str, Any] | None = None,
        *,
        gemeenten: Sequence[str] = (),
    ) -> None:
        self.engine = engine
        self.settings = parse_wlz_settings(settings)
        self.gemeenten = list(gemeenten)

    @classmethod
    def for_exchange(cls, exchange: Exchange) -> WlzSignalen:
        """From an :class:`ieb.exchange.Exchange`: its database, gemeenten and ``[wlz]`` settings."""
        raw = getattr(exchange.config, "wlz", None)
        return cls(exchange.engine, parse_wlz_settings(raw), gemeenten=exchange.config.gemeenten)

    # -- helpers -----------------------------------------------------------------------------

    def gemeente(self, gemeente: str | None) -> str:
        """``gemeente`` checked against the configuration, or the one configured gemeente."""
        if gemeente is not None:
            if self.gemeenten and gemeente not in self.gemeenten:
                raise WlzError(
                    f"gemeente {gemeente} staat niet in ieb.toml ({self.gemeenten})", code="GEMEENTE"
                )
            return gemeente
        if len(self.gemeenten) == 1:
            return self.gemeenten[0]
        raise WlzError(
            "geef --gemeente: ieb.toml noemt "
            + (f"{len(self.gemeenten)} gemeenten" if self.gemeenten else "geen gemeente"),
            code="GEMEENTE",
        )

    # -- 1. upload ----------------------------------------------------------------------------

    def upload(
        self,
        out: str | os.PathLike[str],
        *,
        gemeente: str | None = None,
        peildatum: dt.date | None = None,
        desired: Iterable[Mapping[str, Any]] | None = None,
        extra: Iterable[Voorziening] = (),
    ) -> UploadResult:
        """Write the upload CSV of ``gemeente`` to ``out`` and remember what it held.

        Rows: every voorziening running on ``peildatum`` or requested (begindatum later), with its
        einddatum when one is known; plus every voorziening that ended since the last upload
        (einddatum on or after that upload's peildatum, or uploaded then as running). The file
        holds full BSNs (the IB needs them): it is written with mode 0600."""
        g = self.gemeente(gemeente)
        day = peildatum or dt.date.today()
        rows = list(voorzieningen(self.engine, gemeente=g, desired=desired, extra=extra, default_gemeente=g))
        with self.engine.begin() as conn:
            last = conn.execute(
                sa.select(wlz_uploads.c.id, wlz_uploads.c.peildatum)
                .where(wlz_uploads.c.gemeente == g)
                .order_by(wlz_uploads.c.id.desc())
                .limit(1)
            ).first()
            was_running: set[tuple[str, str, dt.date, str]] = set()
            if last is not None:
                for r in conn.execute(
                    sa.select(wlz_uploaded).where(
                        wlz_uploaded.c.upload_id == last.id,
                        sa.or_(
                            wlz_uploaded.c.einddatum.is_(None), wlz_uploaded.c.einddatum >= last.peildatum
                        ),
                    )
                ):
                    was_running.add((r.gemeente, r.bsn, r.begindatum, r.productcategorie or ""))
            chosen: list[Voorziening] = []
            ended = 0
            for v in sorted(rows, key=lambda v: (v.bsn, v.begindatum, v.productcategorie or "")):
                if v.einddatum is None or v.einddatum >= day:
                    chosen.append(v)
                elif last is not None and (v.einddatum >= last.peildatum or v.key in was_running):
                    chosen.append(v)
                    ended += 1
            data = upload_csv(
                [
                    {
                        "gemeente": v.gemeente,
                        "bsn": v.bsn,
                        "productcategorie": v.productcategorie,
                        "begindatum": v.begindatum,
                        "einddatum": v.einddatum,
                    }
                    for v in chosen
                ],
                self.settings.upload,
            )
            upload_id = conn.execute(
                sa.insert(wlz_uploads).values(
                    gemeente=g,
                    peildatum=day,
                    created_at=_now(),
                    bestand=str(out)[:500],
                    regels=len(chosen),
                    beeindigd=ended,
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if chosen:
                conn.execute(
                    sa.insert(wlz_uploaded),
                    [
                        {
                            "upload_id": upload_id,
                            "gemeente": v.gemeente,
                            "bsn": v.bsn,
                            "productcategorie": v.productcategorie,
                            "begindatum": v.begindatum,
                            "einddatum": v.einddatum,
                        }
                        for v in chosen
                    ],
                )
            _write_private(Path(out), data)  # inside the transaction: no file, no memory of it
        return UploadResult(
            Path(out), g, day, len(chosen) - ended, ended, len({v.bsn for v in chosen}), int(upload_id)
        )

    # -- 2. signals ---------------------------------------------------------------------------

    def signalen(
        self,
        path: str | os.PathLike[str] | None,
        *,
        verslag: str | os.PathLike[str] | None = None,
        gemeente: str | None = None,
        ontvangen: dt.date | None = None,
    ) -> SignalenResult:
        """Read a signal report (and/or the processing report of the last upload), store the new
        signals with their proposal, in one transaction. Already stored signals (same gemeente,
        Bsn and Wlz dates) are counted as ``dubbel``; unreadable rows are listed, the rest stored.
        Raises :class:`ieb.tabular.TableError` when a file cannot be read at all."""
        day = ontvangen or dt.date.today()
        result = SignalenResult(bestand=str(path or verslag or ""))
        default = (
            gemeente if gemeente is not None else (self.gemeenten[0] if len(self.gemeenten) == 1 else None)
        )
        if gemeente is not None:
            self.gemeente(gemeente)
        report_rows: list[SignalRow] = []
        if path is not None:
            p = Path(path)
            report_rows, result.geweigerd = read_signal_report(
                p, self.settings.signalen, name=str(p), gemeenten=self.gemeenten, default_gemeente=default
            )
        if verslag is not None:
            v = Path(verslag)
            result.verslag = read_verslag(v, self.settings.verwerkingsverslag, name=str(v))
        periods = _ledger_periods(self.engine, {r.gemeente for r in report_rows})
        iwmo_rows = (
            list(iwmo_voorzieningen(self.engine)) if report_rows and iwmo_available() else []
        )  # read before writing
        with self.engine.begin() as conn:
            if verslag is not None:
                g = self.gemeente(gemeente)
                last = conn.execute(
                    sa.select(wlz_uploads.c.id)
                    .where(wlz_uploads.c.gemeente == g)
                    .order_by(wlz_uploads.c.id.desc())
                    .limit(1)
                ).first()
                if last is None:
                    raise WlzError(
                        f"er is nog geen upload van gemeente {g} om dit verwerkingsverslag aan te koppelen",
                        code="NO_UPLOAD",
                    )
                conn.execute(
                    sa.update(wlz_uploads)
                    .where(wlz_uploads.c.id == last.id)
                    .values(verslag_at=_now(), verslag_geweigerd=len(result.verslag))
                )
            if not report_rows:
                return result
            cats = self._categorieen(conn, {r.gemeente for r in report_rows}, iwmo_rows)
            keys = {
                r: _sleutel(r.gemeente, r.bsn, r.aanvraagdatum, r.afgiftedatum, r.ingangsdatum)
                for r in report_rows
            }
            known: set[str] = set()
            values = list(keys.values())
            for i in range(0, len(values), 500):
                known.update(
                    conn.execute(
                        sa.select(wlz_signals.c.sleutel).where(wlz_signals.c.sleutel.in_(values[i : i + 500]))
                    ).scalars()
                )
            inserts: list[dict[str, Any]] = []
            for r in report_rows:
                key = keys[r]
                if key in known:
                    result.dubbel += 1
                    continue
                known.add(key)
                proposal = propose(
                    ingangsdatum=r.ingangsdatum,
                    afgiftedatum=r.afgiftedatum,
                    ontvangen=day,
                    periods=periods.get((r.gemeente, r.bsn), []),
                    voorzieningen=cats.get((r.gemeente, r.bsn), []),
                    beleid=self.settings.beleid,
                )
                inserts.append(
                    {
                        "sleutel": key,
                        "gemeente": r.gemeente,
                        "bsn": r.bsn,
                        "naam": r.naam,
                        "aanvraagdatum": r.aanvraagdatum,
                        "afgiftedatum": r.afgiftedatum,
                        "ingangsdatum": r.ingangsdatum,
                        "ontvangen": day,
                        "stored_at": _now(),
                        "bestand": str(path)[:500],
                        "regel": r.line,
                        "voorstel": proposal.voorstel,
                        "voorstel_datum": proposal.datum,
                        "voorstel_reden": proposal.reden[:1000],
                        "status": "geen_actie" if proposal.voorstel == "geen" else "open",
                    }
                )
                result.nieuw.append((mask_bsn(r.bsn), r.gemeente, r.ingangsdatum, proposal))
            if inserts:
                conn.execute(sa.insert(wlz_signals), inserts)
        return result

    def _categorieen(
        self, conn: Connection, gemeenten: Iterable[str], iwmo_rows: Sequence[Voorziening]
    ) -> dict[tuple[str, str], list[tuple[str | None, dt.date, dt.date | None]]]:
        """Per person the known voorzieningen with productcategorie: the iWmo store's rows
        (``iwmo_rows``) when it holds the person, else the last upload of the gemeente (which
        remembers the categories it was given)."""
        wanted = set(gemeenten)
        out: dict[tuple[str, str], list[tuple[str | None, dt.date, dt.date | None]]] = {}
        for v in iwmo_rows:
            if v.gemeente in wanted:
                out.setdefault((v.gemeente, v.bsn), []).append(
                    (v.productcategorie, v.begindatum, v.einddatum)
                )
        from_iwmo = set(out)
        for g in gemeenten:
            last = conn.execute(
                sa.select(wlz_uploads.c.id)
                .where(wlz_uploads.c.gemeente == g)
                .order_by(wlz_uploads.c.id.desc())
                .limit(1)
            ).scalar()
            if last is None:
                continue
            for r in conn.execute(sa.select(wlz_uploaded).where(wlz_uploaded.c.upload_id == last)):
                if (r.gemeente, r.bsn) not in from_iwmo:
                    out.setdefault((r.gemeente, r.bsn), []).append(
                        (r.productcategorie, r.begindatum, r.einddatum)
                    )
        return out

    # -- 3. decisions -------------------------------------------------------------------------

    def besluit(
        self,
        bsn: str,
        *,
        stop: dt.date | None = None,
        doorlopen: bool = False,
        akkoord: bool = False,
        gemeente: str | None = None,
        bron: str = "ieb wlz besluit",
    ) -> BesluitResult:
        """Decide the open signal(s) of ``bsn``: stop the eigen bijdrage on ``stop``, let it
        continue (``doorlopen``), or accept the proposal as it is (``akkoord``). Exactly one of
        the three. Raises :class:`WlzError` when there is no open signal for the person."""
        with self.engine.begin() as conn:
            return self._besluit(
                conn, bsn, stop=stop, doorlopen=doorlopen, akkoord=akkoord, gemeente=gemeente, bron=bron
            )

    def _besluit(
        self,
        conn: Connection,
        bsn: str,
        *,
        stop: dt.date | None,
        doorlopen: bool,
        akkoord: bool,
        gemeente: str | None,
        bron: str,
        preloaded: _Preloaded | None = None,
    ) -> BesluitResult:
        if sum((stop is not None, doorlopen, akkoord)) != 1:
            raise WlzError("kies precies één van --stop DATUM, --doorlopen of --akkoord", code="BESLUIT")
        bsn = restore_zeros(bsn.strip(), 9)
        if not bsn_is_valid(bsn):
            raise WlzError(f"Bsn {mask_bsn(bsn)} is geen geldig burgerservicenummer (11-proef)", code="BSN")
        if preloaded is not None:
            rows = [r for r in preloaded.open_rows.pop(bsn, []) if gemeente is None or r.gemeente == gemeente]
        else:
            q = sa.select(wlz_signals).where(wlz_signals.c.bsn == bsn, wlz_signals.c.status == "open")
            if gemeente is not None:
                q = q.where(wlz_signals.c.gemeente == self.gemeente(gemeente))
            rows = list(conn.execute(q.order_by(wlz_signals.c.id)).all())
        if not rows:
            raise WlzError(f"geen open Wlz-signaal voor Bsn {mask_bsn(bsn)}", code="NO_SIGNAL")
        gemeenten = sorted({r.gemeente for r in rows})
        if len(gemeenten) > 1:
            raise WlzError(
                f"Bsn {mask_bsn(bsn)} heeft open signalen in {gemeenten}: geef --gemeente", code="GEMEENTE"
            )
        g = gemeenten[0]
        if akkoord:
            stops = sorted(r.voorstel_datum for r in rows if r.voorstel == "stop" and r.voorstel_datum)
            if stops:
                stop = stops[0]
            else:
                doorlopen = True
        if stop is not None:
            self._check_stop(conn, g, bsn, stop, preloaded)
        kind = "stop" if stop is not None else "doorlopen"
        besluit_id = conn.execute(
            sa.insert(wlz_besluiten).values(
                gemeente=g, bsn=bsn, besluit=kind, stopdatum=stop, besloten_at=_now(), bron=bron[:500]
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(
            sa.update(wlz_signals)
            .where(wlz_signals.c.id.in_([r.id for r in rows]))
            .values(status="besloten", besluit_id=besluit_id)
        )
        return BesluitResult(g, mask_bsn(bsn), kind, stop, len(rows))

    def _check_stop(
        self, conn: Connection, gemeente: str, bsn: str, stop: dt.date, preloaded: _Preloaded | None = None
    ) -> None:
        """A stop before the start of the person's eigen bijdrage would delete that start at the
        CAK (the overlay leaves out periods that start after the stop): refuse it (TR328)."""
        from ieb.ledger.store import Ledger

        if preloaded is not None and gemeente in preloaded.histories:
            known = preloaded.histories[gemeente]
        else:
            known = Ledger(self.engine).histories(conn, gemeente, [bsn])
        periods = known.of(bsn).periods_of(gemeente, bsn)
        running = [p for p in periods if p.end is None or p.end > stop]
        if running and stop < running[0].start.datum:
            raise WlzError(
                f"stopdatum {stop} ligt voor de start van de eigen bijdrage ({running[0].start.datum}) van Bsn "
                f"{mask_bsn(bsn)} (TR328); kies een datum op of na de start",
                code="TR328",
            )

    def besluiten_csv(self, path: str | os.PathLike[str]) -> list[BesluitResult]:
        """Decisions from a CSV/JSON file with the columns ``bsn, besluit`` (``stop``,
        ``doorlopen`` or ``akkoord``) and optionally ``stopdatum`` (for ``stop``) and
        ``gemeente``. All or nothing: every bad row is listed (:class:`ieb.tabular.TableError`
        or :class:`WlzError`) and nothing is stored."""
        p = Path(path)
        table = read_table(p, name=str(p), required=("bsn", "besluit"), optional=("stopdatum", "gemeente"))
        issues: list[RowIssue] = []
        wanted: list[tuple[Row, dict[str, Any]]] = []
        for row in table.rows:
            kind = str(row.get("besluit") or "").strip().lower()
            args: dict[str, Any] = {"stop": None, "doorlopen": False, "akkoord": False}
            if kind == "doorlopen":
                args["doorlopen"] = True
            elif kind == "akkoord":
                args["akkoord"] = True
            elif kind == "stop":
                text = str(row.get("stopdatum") or "").strip()
                if not text:
                    issues.append(RowIssue(row.line, "stopdatum", "bij besluit 'stop' hoort een stopdatum"))
                    continue
                try:
                    args["stop"] = parse_date(text, ["%Y-%m-%d", "%d-%m-%Y", "%Y%m%d"])
                except ValueError as exc:
                    issues.append(RowIssue(row.line, "stopdatum", str(exc)))
                    continue
            else:
                issues.append(RowIssue(row.line, "besluit", "besluit moet stop, doorlopen of akkoord zijn"))
                continue
            g = restore_zeros(row.get("gemeente") or "", 4) or None
            wanted.append((row, args | {"gemeente": g, "bsn": str(row.get("bsn") or "")}))
        if issues:
            raise TableError(str(p), issues)
        out: list[BesluitResult] = []
        problems: list[str] = []
        with self.engine.begin() as conn:
            preloaded = self._preload(conn, [restore_zeros(a["bsn"].strip(), 9) for _, a in wanted])
            for row, args in wanted:
                bsn = args.pop("bsn")
                try:
                    out.append(
                        self._besluit(conn, bsn, bron=f"{p.name}:{row.line}", preloaded=preloaded, **args)
                    )
                except WlzError as exc:
                    problems.append(f"{p}:{row.line}: {exc.message}")
            if problems:
                conn.rollback()
                raise WlzError(
                    f"{len(problems)} besluit(en) niet mogelijk; er is niets vastgelegd",
                    problems,
                    code="BESLUIT",
                )
        return out

    def _preload(self, conn: Connection, bsns: Sequence[str]) -> _Preloaded:
        """The open signals and ledger histories of many persons in a few queries."""
        from ieb.ledger.store import Ledger

        wanted = sorted({b for b in bsns if bsn_is_valid(b)})
        out = _Preloaded()
        for i in range(0, len(wanted), 500):
            q = sa.select(wlz_signals).where(
                wlz_signals.c.bsn.in_(wanted[i : i + 500]), wlz_signals.c.status == "open"
            )
            for r in conn.execute(q.order_by(wlz_signals.c.id)):
                out.open_rows.setdefault(r.bsn, []).append(r)
        per_gemeente: dict[str, set[str]] = {}
        for bsn, rows in out.open_rows.items():
            for r in rows:
                per_gemeente.setdefault(r.gemeente, set()).add(bsn)
        ledger = Ledger(self.engine)
        for g, people in per_gemeente.items():
            out.histories[g] = ledger.histories(conn, g, people)
        return out

    def accepted_stops(self) -> dict[tuple[str, str], dt.date]:
        """(gemeente, bsn) -> the earliest accepted stop date: part of every desired state."""
        with self.engine.connect() as conn:
            return accepted_stops(conn)

    def overlay(self, records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """``records`` (a desired state) with the accepted stops applied (see
        :func:`apply_accepted_stops`); persons with an accepted stop that are not in ``records``
        are added from the ledger so that their stop is planned too."""
        stops = self.accepted_stops()
        if not stops:
            return list(records)
        gemeenten = {g for g, _ in stops}
        periods = _ledger_periods(self.engine, gemeenten, kostprijs=True)
        default = self.gemeenten[0] if len(self.gemeenten) == 1 else None
        return apply_accepted_stops(records, stops, periods, default_gemeente=default)

    # -- 4. privacy ---------------------------------------------------------------------------

    def opschonen(self, ouder_dan: dt.date, *, ook_open: bool = False) -> PurgeResult:
        """Delete signals received before ``ouder_dan`` (names, Wlz dates, proposals), except open
        ones unless ``ook_open``; and uploads (what they held) older than that, except the last
        upload of each gemeente (the memory of the next one). Decisions stay: an accepted stop
        remains part of the desired state."""
        with self.engine.begin() as conn:
            old = wlz_signals.c.ontvangen < ouder_dan
            kept = conn.execute(
                sa.select(sa.func.count()).select_from(wlz_signals).where(old, wlz_signals.c.status == "open")
            ).scalar_one()
            cond = old if ook_open else sa.and_(old, wlz_signals.c.status != "open")
            deleted = conn.execute(sa.delete(wlz_signals).where(cond)).rowcount
            latest = sa.select(sa.func.max(wlz_uploads.c.id)).group_by(wlz_uploads.c.gemeente)
            ids = list(
                conn.execute(
                    sa.select(wlz_uploads.c.id).where(
                        wlz_uploads.c.created_at < dt.datetime.combine(ouder_dan, dt.time(), dt.UTC),
                        wlz_uploads.c.id.not_in(latest),
                    )
                ).scalars()
            )
            if ids:
                conn.execute(sa.delete(wlz_uploaded).where(wlz_uploaded.c.upload_id.in_(ids)))
                conn.execute(sa.delete(wlz_uploads).where(wlz_uploads.c.id.in_(ids)))
        return PurgeResult(int(deleted), 0 if ook_open else int(kept), len(ids))

    # -- status ---------------------------------------------------------------------------------

    def summary(self, *, today: dt.date | None = None, gemeente: str | None = None) -> dict[str, Any]:
        """See :func:`summary`."""
        with self.engine.connect() as conn:
            return summary(conn, today=today, gemeente=gemeente)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def _ledger_periods(
    engine: Engine, gemeenten: Iterable[str], *, kostprijs: bool = False
) -> dict[tuple[str, str], list[Any]]:
    """(gemeente, bsn) -> current ledger periods: (start, stop) pairs, or with ``kostprijs``
    (start, stop, kostprijs_cent, kostprijs_start)."""
    from ieb.ledger.store import Ledger

    ledger = Ledger(engine)
    out: dict[tuple[str, str], list[Any]] = {}
    for g in sorted(set(gemeenten)):
        for key, periods in ledger.periods(g).items():
            for p in periods:
                item: tuple[Any, ...] = (p.start.datum, p.end)
                if kostprijs:
                    item += (p.start.kostprijs_bedrag, p.start.kostprijs_startdatum)
                out.setdefault(key, []).append(item)
    return out


def accepted_stops(conn: Connection) -> dict[tuple[str, str], dt.date]:
    """(gemeente, bsn) -> the earliest stop date the clerk accepted (``wlz_besluiten``)."""
    rows = conn.execute(
        sa.select(wlz_besluiten.c.gemeente, wlz_besluiten.c.bsn, sa.func.min(wlz_besluiten.c.stopdatum))
        .where(wlz_besluiten.c.besluit == "stop")
        .group_by(wlz_besluiten.c.gemeente, wlz_besluiten.c.bsn)
    ).all()
    return {(r[0], r[1]): r[2] for r in rows if r[2] is not None}


def _as_date(value: Any) -> dt.date | None:
    from ieb.tabular import parse_datum

    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return parse_datum(str(value))
    except ValueError:
        return None


def apply_accepted_stops(
    records: Sequence[Mapping[str, Any]],
    stops: Mapping[tuple[str, str], dt.date],
    ledger_periods: Mapping[tuple[str, str], Sequence[tuple[Any, ...]]],
    *,
    default_gemeente: str | None,
) -> list[Mapping[str, Any]]:
    """A desired state with the accepted Wlz stops applied, for the planner.

    For a person (gemeente, bsn) with an accepted stop on D: a period that starts after D is left
    out; a period running past D (no stop, or a later one) gets stop D; other periods and rows
    without ``start`` (delete everything) are kept as they are. A person with a stop who is not
    in ``records`` gets their ledger periods (``ledger_periods``: start, stop, kostprijs_cent,
    kostprijs_start) with the same rule, when one of them runs past D. Rows keep their line
    numbers (``Row.line``); added rows have line 0. Unreadable dates are passed on unchanged (the
    planner reports them)."""
    out: list[Mapping[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for rec in records:
        g = restore_zeros(rec.get("gemeente") or "", 4) or (default_gemeente or "")
        bsn = restore_zeros(rec.get("bsn") or "", 9)
        day = stops.get((g, bsn))
        if day is None:
            out.append(rec)
            continue
        seen.add((g, bsn))
        start, stop = _as_date(rec.get("start")), _as_date(rec.get("stop"))
        if start is None or (rec.get("stop") not in (None, "") and stop is None):
            out.append(rec)
        elif start > day:
            continue
        elif stop is None or stop > day:
            values = dict(rec) | {"stop": day.isoformat()}
            out.append(Row(values, getattr(rec, "line", 0)))
        else:
            out.append(rec)
    for (g, bsn), day in sorted(stops.items()):
        if (g, bsn) in seen:
            continue
        periods = list(ledger_periods.get((g, bsn), ()))
        if not any(p[1] is None or p[1] > day for p in periods):
            continue
        for start, stop, cent, kstart in periods:
            if start > day:
                continue
            added: dict[str, Any] = {
                "gemeente": g,
                "bsn": bsn,
                "start": start.isoformat(),
                "stop": (day if stop is None or stop > day else stop).isoformat(),
            }
            if cent is not None:
                added |= {
                    "kostprijs_cent": str(cent),
                    "kostprijs_start": kstart.isoformat() if kstart else "",
                }
            out.append(Row(added, 0))
    return out


def summary(conn: Connection, *, today: dt.date | None = None, gemeente: str | None = None) -> dict[str, Any]:
    """The Wlz-signalen for ``ieb status`` / ``ieb report`` (BSNs masked, no names):
    ``{"open": n, "oudste_open_dagen": n|None, "geen_actie": n, "besloten": n, "besluiten":
    {"stop": n, "doorlopen": n}, "open_list": [{"gemeente", "bsn", "ingangsdatum", "ontvangen",
    "leeftijd_dagen", "voorstel", "voorstel_datum", "reden"}], "besluiten_list": [...last 50],
    "laatste_upload": {...}|None}``. Age in days since the signal was received."""
    day = today or dt.date.today()
    s = wlz_signals
    q = sa.select(
        s.c.gemeente,
        s.c.bsn,
        s.c.ingangsdatum,
        s.c.ontvangen,
        s.c.voorstel,
        s.c.voorstel_datum,
        s.c.voorstel_reden,
        s.c.status,
    )
    if gemeente is not None:
        q = q.where(s.c.gemeente == gemeente)
    counts = {"open": 0, "geen_actie": 0, "besloten": 0}
    open_list: list[dict[str, Any]] = []
    for r in conn.execute(q.order_by(s.c.ontvangen, s.c.id)):
        counts[r.status] = counts.get(r.status, 0) + 1
        if r.status == "open":
            open_list.append(
                {
                    "gemeente": r.gemeente,
                    "bsn": mask_bsn(r.bsn),
                    "ingangsdatum": r.ingangsdatum.isoformat(),
                    "ontvangen": r.ontvangen.isoformat(),
                    "leeftijd_dagen": (day - r.ontvangen).days,
                    "voorstel": r.voorstel,
                    "voorstel_datum": r.voorstel_datum.isoformat() if r.voorstel_datum else None,
                    "reden": r.voorstel_reden,
                }
            )
    b = wlz_besluiten
    bq = sa.select(b.c.gemeente, b.c.bsn, b.c.besluit, b.c.stopdatum, b.c.besloten_at)
    if gemeente is not None:
        bq = bq.where(b.c.gemeente == gemeente)
    besluiten = {"stop": 0, "doorlopen": 0}
    besluiten_list: list[dict[str, Any]] = []
    for d in conn.execute(bq.order_by(b.c.id.desc())):
        besluiten[d.besluit] = besluiten.get(d.besluit, 0) + 1
        if len(besluiten_list) < 50:
            besluiten_list.append(
                {
                    "gemeente": d.gemeente,
                    "bsn": mask_bsn(d.bsn),
                    "besluit": d.besluit,
                    "stopdatum": d.stopdatum.isoformat() if d.stopdatum else None,
                    "besloten_op": d.besloten_at.date().isoformat(),
                }
            )
    uq = sa.select(wlz_uploads).order_by(wlz_uploads.c.id.desc()).limit(1)
    if gemeente is not None:
        uq = uq.where(wlz_uploads.c.gemeente == gemeente)
    u = conn.execute(uq).first()
    upload = (
        {
            "gemeente": u.gemeente,
            "peildatum": u.peildatum.isoformat(),
            "regels": u.regels,
            "beeindigd": u.beeindigd,
            "verslag_geweigerd": u.verslag_geweigerd,
        }
        if u is not None
        else None
    )
    return {
        "open": counts["open"],
        "oudste_open_dagen": max((x["leeftijd_dagen"] for x in open_list), default=None),
        "geen_actie": counts["geen_actie"],
        "besloten": counts["besloten"],
        "besluiten": besluiten,
        "open_list": open_list,
        "besluiten_list": besluiten_list,
        "laatste_upload": upload,
    }
