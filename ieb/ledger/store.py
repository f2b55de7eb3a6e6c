"""The ledger store: deliveries with their outcome, number allocation, and history views.

Every method that changes something takes a :class:`sqlalchemy.Connection` inside a transaction
so callers combine several changes atomically; the high-level functions (planner, retour
processing, the CAK side) each use one :meth:`Ledger.transaction`. A ledger made on a caller's
:class:`~sqlalchemy.Connection` (``Ledger(conn)``) joins that caller's transaction: its
transactions are savepoints, so ``ieb plan --queue`` records the plan and queues its envelopes
in one commit. The tables are the storage floor's (:mod:`ieb.store.schema`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ieb.ledger.history import Delivery, MemoryHistory, PeriodState
from ieb.store.db import driver_statement, open_database
from ieb.store.schema import FIRST_RELEASE, counters, deliveries, eb_start_nummers

__all__ = [
    "COUNTED_CAK",
    "COUNTED_GEMEENTE",
    "DeliveryRow",
    "Ledger",
    "LedgerTransaction",
    "PersonHistories",
    "RetourRow",
]

#: outcomes that make up the history on the municipality's side: accepted and not yet answered
COUNTED_GEMEENTE = ("accepted", "pending")
#: outcomes that make up the history on the CAK side: accepted only
COUNTED_CAK = ("accepted",)

#: Bsns / EbStartNummers per ``IN (...)`` list: well below SQLite's and PostgreSQL's parameter limits
_CHUNK = 500

#: the columns a :class:`Delivery` is made of (history queries never read the payload blobs)
_DELIVERY_COLUMNS = (
    deliveries.c.id,
    deliveries.c.bericht,
    deliveries.c.afzender,
    deliveries.c.identificatie,
    deliveries.c.dagtekening,
    deliveries.c.bsn,
    deliveries.c.eb_start_nummer,
    deliveries.c.status,
    deliveries.c.datum,
    deliveries.c.kostprijs_bedrag,
    deliveries.c.kostprijs_startdatum,
    deliveries.c.stopdatum,
)


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A delivery as stored, with its outcome."""

    id: int
    delivery: Delivery
    outcome: str
    retour_codes: tuple[str, ...]
    source: str | None
    detail: str | None
    created_at: dt.datetime | None
    retour_at: dt.datetime | None
    #: the release pack the delivery was written in (``"ieb-1.0"``)
    release: str = FIRST_RELEASE


# Statements built once: building a SQLAlchemy statement per row (``.values(...)``, ``.where(a == b)``)
# cost more than executing it (profile of B2: 60 % of retour processing).
_B = sa.bindparam
_FIND = sa.select(deliveries).where(
    deliveries.c.afzender == _B("p_afzender"),
    deliveries.c.identificatie == _B("p_identificatie"),
    deliveries.c.dagtekening == _B("p_dagtekening"),
)


class RetourRow(NamedTuple):
    """A heenbericht's row as :meth:`Ledger.find_many` reads it: the columns applying a retour reads
    (ieb.ledger.retour): the key, the heenbericht's Bsn, key element and name, and what a stored
    retour left (no payloads of the heenbericht, no timestamps). Dates as :class:`datetime.date`."""

    id: int
    afzender: str
    identificatie: str
    dagtekening: dt.date
    bericht: str
    bsn: str
    eb_start_nummer: int
    outcome: str
    retour_identificatie: str | None
    retour_dagtekening: dt.date | None
    retour_payload: bytes | None
    detail: str | None


_RETOUR_COLUMNS = RetourRow._fields
_FIND_MANY = sa.select(*(deliveries.c[name] for name in _RETOUR_COLUMNS)).where(
    deliveries.c.afzender == _B("p_afzender"),
    deliveries.c.identificatie.in_(_B("p_identificaties", expanding=True)),
)
_SET_RETOUR = (
    sa.update(deliveries)
    .where(deliveries.c.id == _B("p_id"))
    .values(
        outcome=_B("p_outcome"),
        retour_codes=_B("p_codes"),
        retour_identificatie=_B("p_identificatie"),
        retour_dagtekening=_B("p_dagtekening"),
        retour_payload=_B("p_payload"),
        retour_source=_B("p_source"),
        retour_at=_B("p_at"),
        detail=_B("p_detail"),
    )
)
_INSERT_DELIVERY = sa.insert(deliveries).returning(deliveries.c.id)
_BUMP = (
    sa.update(counters)
    .where(counters.c.scope == _B("p_scope"), counters.c.kind == _B("p_kind"))
    .values(last_value=counters.c.last_value + _B("p_count", type_=sa.BigInteger))
    .returning(counters.c.last_value)
)


_ADVISORY_LOCK = sa.text("SELECT pg_advisory_xact_lock(:k)")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.bericht,
        row.afzender,
        row.identificatie,
        row.dagtekening,
        row.bsn,
        row.eb_start_nummer,
        row.status,
        row.datum,
        row.kostprijs_bedrag,
        row.kostprijs_startdatum,
        row.stopdatum,
    )


#: the columns :meth:`Ledger.add_many` writes (the keys of ``Ledger._row_values``)
_WRITTEN_COLUMNS = (
    "afzender",
    "identificatie",
    "dagtekening",
    "bericht",
    "bsn",
    "eb_start_nummer",
    "status",
    "datum",
    "kostprijs_bedrag",
    "kostprijs_startdatum",
    "stopdatum",
    "payload",
    "source",
    "outcome",
    "retour_codes",
    "detail",
    "created_at",
    "release",
)


#: the multi-row INSERT of :meth:`Ledger.add_many` on SQLite (compiled once: ieb.store.db.driver_statement)
_INSERT_ROWS = sa.insert(deliveries)


def _retour_row(raw: Any, results: Sequence[tuple[int, Callable[[Any], Any]]]) -> RetourRow:
    """A driver row of :data:`_FIND_MANY` as a :class:`RetourRow`, each column converted by its
    result processor."""
    values = list(raw)
    for i, proc in results:
        values[i] = proc(values[i])
    return RetourRow(*values)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class PersonHistories:
    """The counted deliveries of a set of persons, read in a few batched queries
    (:meth:`Ledger.histories`): per Bsn (:meth:`of`) and all together (:meth:`combined`)."""

    #: delivery id -> delivery, every row read once
    rows: dict[int, Delivery] = field(default_factory=dict)
    #: Bsn -> the EbStartNummers it has deliveries for
    nummers: dict[str, set[int]] = field(default_factory=dict)
    #: EbStartNummer -> delivery ids, in id order
    by_nummer: dict[int, list[int]] = field(default_factory=dict)

    def of(self, bsn: str) -> MemoryHistory:
        """What :meth:`Ledger.history` returns for ``bsn``: its deliveries and the other deliveries
        (such as stops) with the same EbStartNummers, in the order they were stored."""
        ids = sorted(i for n in self.nummers.get(bsn, ()) for i in self.by_nummer.get(n, ()))
        return MemoryHistory(self.rows[i] for i in ids)

    def combined(self) -> MemoryHistory:
        """All deliveries read, in the order they were stored."""
        return MemoryHistory(self.rows[i] for i in sorted(self.rows))


def _row(row: Any) -> DeliveryRow:
    return DeliveryRow(
        row.id,
        _delivery(row),
        row.outcome,
        tuple(row.retour_codes.split()) if row.retour_codes else (),
        row.source,
        row.detail,
        row.created_at,
        row.retour_at,
        row.release,
    )


class LedgerTransaction:
    """One unit of work on the ledger (see :meth:`Ledger.transaction`): ``connection`` to pass to the
    store's methods, :meth:`rollback` to discard the work without raising."""

    __slots__ = ("_tx", "connection")

    def __init__(self, connection: Connection, tx: sa.Transaction) -> None:
        self.connection = connection
        self._tx = tx

    def rollback(self) -> None:
        """Discard everything done in this unit (only this savepoint when the ledger joined a caller's
        transaction); the ``with`` block then ends without committing."""
        if self._tx.is_active:
            self._tx.rollback()


class Ledger:
    """A ledger on one database. ``counted`` are the outcomes that form the history the rules see.

    ``bind``: an :class:`~sqlalchemy.Engine` (each :meth:`transaction` is its own commit) or a
    :class:`~sqlalchemy.Connection` inside a caller's transaction (each :meth:`transaction` is a
    savepoint in it; the caller commits or rolls back the whole).
    """

    def __init__(self, bind: Engine | Connection, *, counted: Sequence[str] = COUNTED_GEMEENTE) -> None:
        self._joined: Connection | None = bind if isinstance(bind, Connection) else None
        self.engine: Engine = bind.engine if isinstance(bind, Connection) else bind
        self.counted = tuple(counted)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[LedgerTransaction]:
        """A unit of work: committed when the block ends, rolled back when it raises (or after
        :meth:`LedgerTransaction.rollback`). On a joined ledger it is a savepoint of the caller's
        transaction, which must be open (``with engine.begin() as conn: Ledger(conn)``)."""
        with contextlib.ExitStack() as stack:
            if self._joined is not None:
                conn = self._joined
                if not conn.in_transaction():
                    raise RuntimeError(
                        "Ledger(conn) needs a connection inside a transaction (engine.begin())"
                    )
                tx: sa.Transaction = conn.begin_nested()
            else:
                conn = stack.enter_context(self.engine.connect())
                tx = conn.begin()
            unit = LedgerTransaction(conn, tx)
            try:
                yield unit
            except BaseException:
                unit.rollback()
                raise
            if tx.is_active:
                tx.commit()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        if self._joined is not None:
            yield self._joined
        else:
            with self.engine.connect() as conn:
                yield conn

    @classmethod
    def open(
        cls, url: str | os.PathLike[str] | None = None, *, counted: Sequence[str] = COUNTED_GEMEENTE
    ) -> Ledger:
        """A ledger on ``url`` (see :func:`ieb.store.db.open_database`: created or migrated to the newest
        schema; ``None`` is ``$IEB_DB`` or ``./ieb.sqlite``)."""
        return cls(open_database(url), counted=counted)

    def close(self) -> None:
        """Close the database connections (the engine's pool); a joined ledger leaves the caller's
        connection and engine alone."""
        if self._joined is None:
            self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ sequences

    @staticmethod
    def next_value(conn: Connection, scope: str, kind: str, floor: int = 0) -> int:
        """The next value of a sequence (``floor`` + 1 for a new one); safe with concurrent writers."""
        return Ledger.next_values(conn, scope, kind, 1, floor)

    @staticmethod
    def next_values(conn: Connection, scope: str, kind: str, count: int, floor: int = 0) -> int:
        """Reserve ``count`` consecutive values of a sequence in one statement; returns the first."""
        if count < 1:
            raise ValueError("count must be at least 1")
        params = {"p_scope": scope, "p_kind": kind, "p_count": count}
        for _ in range(3):
            value = conn.execute(_BUMP, params).scalar()
            if value is not None:
                return int(value) - count + 1
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(counters).values(scope=scope, kind=kind, last_value=floor + count))
                return floor + 1
            except sa.exc.IntegrityError:
                continue  # a concurrent writer created it first: the UPDATE now finds it
        raise RuntimeError(f"counter {scope}/{kind} could not be allocated")  # pragma: no cover

    @staticmethod
    def seed_counter(conn: Connection, scope: str, kind: str, first: int) -> None:
        """Make the next value of counter ``scope``/``kind`` (``"identificatie"``,
        ``"eb_start_nummer"``) ``first``, for a gemeente that switches from another system (TR056:
        an Identificatie is unique per berichtsoort for ever). Raises ValueError when ``first`` < 1
        or the counter already passed ``first - 1`` (a counter never goes back)."""
        if first < 1:
            raise ValueError(f"een teller begint bij 1 of hoger, niet bij {first}")
        current = conn.execute(
            sa.select(counters.c.last_value).where(counters.c.scope == scope, counters.c.kind == kind)
        ).scalar()
        if current is None:
            conn.execute(sa.insert(counters).values(scope=scope, kind=kind, last_value=first - 1))
        elif current > first - 1:
            raise ValueError(
                f"teller {kind} van {scope} staat al op {current}; hij kan niet terug naar {first - 1}"
            )
        else:
            conn.execute(
                sa.update(counters)
                .where(counters.c.scope == scope, counters.c.kind == kind)
                .values(last_value=first - 1)
            )

    def allocate_eb_start_nummers(self, conn: Connection, afzender: str, bsns: Sequence[str]) -> list[int]:
        """New EbStartNummers, one per Bsn in ``bsns`` (in that order), unique within the gemeente
        (OP290): one counter update and one multi-row insert, whatever the number."""
        if not bsns:
            return []
        floor = conn.execute(
            sa.select(sa.func.max(deliveries.c.eb_start_nummer)).where(deliveries.c.afzender == afzender)
        ).scalar()
        first = self.next_values(conn, afzender, "eb_start_nummer", len(bsns), int(floor or 0))
        nummers = list(range(first, first + len(bsns)))
        conn.execute(
            sa.insert(eb_start_nummers),
            [
                {"afzender": afzender, "eb_start_nummer": n, "bsn": b}
                for n, b in zip(nummers, bsns, strict=True)
            ],
        )
        return nummers

    def next_identificaties(self, conn: Connection, afzender: str, count: int) -> list[str]:
        """``count`` new BerichtIdentificatie.Identificatie values for ``afzender``, in one statement."""
        if count < 1:
            return []
        first = self.next_values(conn, afzender, "identificatie", count)
        return [str(v) for v in range(first, first + count)]

    def allocate_eb_start_nummer(self, conn: Connection, afzender: str, bsn: str) -> int:
        """A new EbStartNummer, unique within the gemeente (OP290), registered for ``bsn``."""
        floor = conn.execute(
            sa.select(sa.func.max(deliveries.c.eb_start_nummer)).where(deliveries.c.afzender == afzender)
        ).scalar()
        nummer = self.next_value(conn, afzender, "eb_start_nummer", int(floor or 0))
        conn.execute(sa.insert(eb_start_nummers).values(afzender=afzender, eb_start_nummer=nummer, bsn=bsn))
        return nummer

    def next_identificatie(self, conn: Connection, afzender: str) -> str:
        """A new BerichtIdentificatie.Identificatie for ``afzender`` (a number, at most 12 digits)."""
        return str(self.next_value(conn, afzender, "identificatie"))

    # ------------------------------------------------------------ deliveries

    def add(
        self,
        conn: Connection,
        delivery: Delivery,
        *,
        outcome: str,
        payload: bytes | None = None,
        source: str | None = None,
        retour_codes: Iterable[str] = (),
        detail: str | None = None,
        release: str = FIRST_RELEASE,
    ) -> int:
        """Store one delivery (a heenbericht) with its ``outcome``; returns its row id.
        ``payload`` is the file as sent, ``retour_codes`` the codes of its retour (if any),
        ``release`` the name of the release pack it was written in."""
        row = self._row_values(delivery, outcome, payload, source, retour_codes, detail, _now(), release)
        result = conn.execute(_INSERT_DELIVERY, row)
        return int(result.scalar_one())

    @staticmethod
    def _row_values(
        d: Delivery,
        outcome: str,
        payload: bytes | None,
        source: str | None,
        retour_codes: Iterable[str],
        detail: str | None,
        now: dt.datetime,
        release: str,
    ) -> dict[str, Any]:
        codes = " ".join(retour_codes)
        return {
            "afzender": d.afzender,
            "identificatie": d.identificatie,
            "dagtekening": d.dagtekening,
            "bericht": d.bericht,
            "bsn": d.bsn,
            "eb_start_nummer": d.eb_start_nummer,
            "status": d.status,
            "datum": d.datum,
            "kostprijs_bedrag": d.kostprijs_bedrag,
            "kostprijs_startdatum": d.kostprijs_startdatum,
            "stopdatum": d.stopdatum,
            "payload": payload,
            "source": source,
            "outcome": outcome,
            "retour_codes": codes or None,
            "detail": detail,
            "created_at": now,
            "release": release,
        }

    def add_many(self, conn: Connection, items: Sequence[Mapping[str, Any]]) -> None:
        """Store several deliveries in one multi-row insert. Each item holds ``delivery`` and the
        keyword arguments of :meth:`add` (``outcome``, ``payload``, ``source``, ``retour_codes``,
        ``detail``, ``release``)."""
        if not items:
            return
        now = _now()
        rows = [
            self._row_values(
                item["delivery"],
                item["outcome"],
                item.get("payload"),
                item.get("source"),
                item.get("retour_codes", ()),
                item.get("detail"),
                now,
                item.get("release", FIRST_RELEASE),
            )
            for item in items
        ]
        if conn.dialect.name == "sqlite":
            # one prepared statement and executemany on the driver, each value converted by the
            # column's own bind processor (what SQLAlchemy's insert does per row; issue 22: that
            # per-row work was a tenth of ``ieb plan --queue``)
            insert = driver_statement(_INSERT_ROWS, conn.dialect, _WRITTEN_COLUMNS)
            if sorted(insert.names) != sorted(_WRITTEN_COLUMNS):  # pragma: no cover - defaults
                raise RuntimeError(f"onverwachte parameters van de INSERT in deliveries: {insert.names}")
            conn.exec_driver_sql(insert.sql, insert.rows(rows))
            return
        for chunk in _chunks(rows):
            conn.execute(sa.insert(deliveries), list(chunk))

    @staticmethod
    def lock_afzenders(conn: Connection, afzenders: Iterable[str]) -> None:
        """Serialise the work on these Afzenders' heenberichten until ``conn``'s transaction ends:
        on PostgreSQL one transaction-level advisory lock per Afzender, taken in sorted order (so two
        holders never wait for each other in a circle); the planner takes the same ones. SQLite
        needs none: every write transaction there is ``BEGIN IMMEDIATE``. Applying a retour reads
        the heenbericht's row and then writes it; without the lock two at once (``ieb serve`` and
        ``ieb retour``) both read "no retour yet" and the second overwrote the first
        (tests/attack/test_retour_race.py)."""
        if conn.dialect.name != "postgresql":
            return
        # a text that is no number matches no heenbericht (their Afzender is a gemeentecode)
        numbers = {int(a) for a in afzenders if a.isascii() and a.isdigit() and len(a) <= 9}
        for number in sorted(numbers):
            conn.execute(_ADVISORY_LOCK, {"k": 0x69450000 + number})

    def find(self, conn: Connection, afzender: str, identificatie: str, dagtekening: dt.date) -> Any | None:
        """The stored row of the heenbericht with this BerichtIdentificatie, or None."""
        return conn.execute(
            _FIND, {"p_afzender": afzender, "p_identificatie": identificatie, "p_dagtekening": dagtekening}
        ).first()

    def find_many(
        self, conn: Connection, keys: Iterable[tuple[str, str, dt.date]]
    ) -> dict[tuple[str, str, dt.date], Any]:
        """The stored rows of the heenberichten with these BerichtIdentificaties ``(afzender,
        identificatie, dagtekening)``, keyed the same way; unknown keys are absent. One query per
        Afzender and 500 Identificaties. A row has the columns of :class:`RetourRow` (on SQLite it is
        one; elsewhere SQLAlchemy's row with the same attributes)."""
        wanted = set(keys)
        by_afzender: dict[str, set[str]] = {}
        for afzender, identificatie, _ in wanted:
            by_afzender.setdefault(afzender, set()).add(identificatie)
        found: dict[tuple[str, str, dt.date], Any] = {}
        # SQLite: the SELECT compiled once per process, its rows from the driver with each column
        # converted by its type's result processor (as SQLAlchemy does; issue 22)
        find = driver_statement(_FIND_MANY, conn.dialect) if conn.dialect.name == "sqlite" else None
        for afzender, idents in sorted(by_afzender.items()):
            for chunk in _chunks(sorted(idents)):
                values = {"p_afzender": afzender, "p_identificaties": list(chunk)}
                rows: Iterable[Any]
                if find is None:
                    rows = conn.execute(_FIND_MANY, values)
                else:
                    rows = [
                        _retour_row(r, find.results)
                        for r in conn.exec_driver_sql(*find.expanded(values)).fetchall()
                    ]
                for row in rows:
                    key = (row.afzender, row.identificatie, row.dagtekening)
                    if key in wanted:
                        found[key] = row
        return found

    def set_retours(self, conn: Connection, items: Sequence[Mapping[str, Any]]) -> None:
        """:meth:`set_retour` for many deliveries in one ``executemany``: each item has the keyword
        arguments of :meth:`set_retour` and ``delivery_id``. On SQLite the rows go to the driver's
        ``executemany`` (the UPDATE compiled once per process, each value converted by its column's
        bind processor: the same stored values as SQLAlchemy's; tests/ledger/test_retour_driver.py)."""
        if not items:
            return
        now = _now()
        rows = [
            {
                "p_id": i["delivery_id"],
                "p_outcome": i["outcome"],
                "p_codes": " ".join(i["codes"]) or None,
                "p_identificatie": i["identificatie"],
                "p_dagtekening": i["dagtekening"],
                "p_payload": i["payload"],
                "p_source": i["source"],
                "p_at": now,
                "p_detail": i.get("detail"),
            }
            for i in items
        ]
        if conn.dialect.name == "sqlite":
            update = driver_statement(_SET_RETOUR, conn.dialect)
            conn.exec_driver_sql(update.sql, update.rows(rows))
        else:
            conn.execute(_SET_RETOUR, rows)

    def set_retour(
        self,
        conn: Connection,
        delivery_id: int,
        *,
        outcome: str,
        codes: Iterable[str],
        identificatie: str | None,
        dagtekening: dt.date | None,
        payload: bytes | None,
        source: str | None,
        detail: str | None = None,
    ) -> None:
        """Record the retour of delivery ``delivery_id``: its outcome, retourcodes, the retour's
        IdentificatieRetour / DagtekeningRetour, the retour file and where it came from."""
        conn.execute(
            _SET_RETOUR,
            {
                "p_id": delivery_id,
                "p_outcome": outcome,
                "p_codes": " ".join(codes) or None,
                "p_identificatie": identificatie,
                "p_dagtekening": dagtekening,
                "p_payload": payload,
                "p_source": source,
                "p_at": _now(),
                "p_detail": detail,
            },
        )

    def histories(self, conn: Connection, afzender: str, bsns: Iterable[str]) -> PersonHistories:
        """The counted deliveries of all ``bsns`` at once (see :meth:`history`), in two queries per
        500 persons, without the payload columns."""
        out = PersonHistories()
        people = sorted(set(bsns))
        for chunk in _chunks(people):
            found = conn.execute(
                sa.select(deliveries.c.bsn, deliveries.c.eb_start_nummer).where(
                    deliveries.c.afzender == afzender,
                    deliveries.c.bsn.in_(chunk),
                    deliveries.c.outcome.in_(self.counted),
                )
            ).all()
            for bsn, nummer in found:
                out.nummers.setdefault(bsn, set()).add(nummer)
        self._read_nummers(conn, afzender, sorted({n for ns in out.nummers.values() for n in ns}), out)
        return out

    def _read_nummers(
        self, conn: Connection, afzender: str, nummers: Sequence[int], out: PersonHistories
    ) -> None:
        for chunk in _chunks([n for n in nummers if n not in out.by_nummer]):
            rows = conn.execute(
                sa.select(*_DELIVERY_COLUMNS)
                .where(
                    deliveries.c.afzender == afzender,
                    deliveries.c.eb_start_nummer.in_(chunk),
                    deliveries.c.outcome.in_(self.counted),
                )
                .order_by(deliveries.c.id)
            )
            for r in rows:
                out.rows[r[0]] = Delivery(*r[1:])  # _DELIVERY_COLUMNS are in Delivery's field order
                out.by_nummer.setdefault(r[6], []).append(r[0])

    def history(
        self, conn: Connection, afzender: str, *, bsn: str | None = None, nummers: Iterable[int] = ()
    ) -> MemoryHistory:
        """The counted deliveries relevant to ``bsn`` and/or ``nummers`` (including the stops of the
        Bsn's starts), in the order they were stored."""
        found = self.histories(conn, afzender, [bsn] if bsn is not None else [])
        extra = sorted(set(nummers))
        if extra:
            self._read_nummers(conn, afzender, extra, found)
            found.nummers.setdefault("", set()).update(extra)
        return found.combined()

    def full_history(self, conn: Connection, afzender: str | None = None) -> MemoryHistory:
        """Every counted delivery (of ``afzender``), in the order stored; reads no payload columns.
        Linear in the ledger: the planner does not use it (see :meth:`histories`)."""
        stmt = (
            sa.select(*_DELIVERY_COLUMNS)
            .where(deliveries.c.outcome.in_(self.counted))
            .order_by(deliveries.c.id)
        )
        if afzender is not None:
            stmt = stmt.where(deliveries.c.afzender == afzender)
        return MemoryHistory(Delivery(*r[1:]) for r in conn.execute(stmt))

    def rows(
        self,
        conn: Connection,
        *,
        afzender: str | None = None,
        bsn: str | None = None,
        outcomes: Sequence[str] | None = None,
    ) -> list[DeliveryRow]:
        """The stored deliveries with their outcome, in the order stored; filtered by ``afzender``,
        ``bsn`` and ``outcomes`` when given (reads the whole selection: for reports, not for planning)."""
        stmt = sa.select(deliveries).order_by(deliveries.c.id)
        if afzender is not None:
            stmt = stmt.where(deliveries.c.afzender == afzender)
        if bsn is not None:
            stmt = stmt.where(deliveries.c.bsn == bsn)
        if outcomes is not None:
            stmt = stmt.where(deliveries.c.outcome.in_(outcomes))
        return [_row(r) for r in conn.execute(stmt)]

    def afzenders(self, conn: Connection) -> list[str]:
        """The gemeenten (Afzender codes) that have deliveries in this ledger, sorted."""
        return list(
            conn.execute(
                sa.select(deliveries.c.afzender).distinct().order_by(deliveries.c.afzender)
            ).scalars()
        )

    def periods(self, afzender: str | None = None) -> dict[tuple[str, str], list[PeriodState]]:
        """The current periods per (afzender, bsn) as the counted history has them."""
        out: dict[tuple[str, str], list[PeriodState]] = {}
        with self._reading() as conn:
            for afz in [afzender] if afzender else self.afzenders(conn):
                history = self.full_history(conn, afz)
                for bsn in history.bsns(afz):
                    periods = history.periods_of(afz, bsn)
                    if periods:
                        out[(afz, bsn)] = periods
        return out
