"""The desired state of ``ieb plan``: every problem of a file at once, with its line, and the
streamed ``plan --queue`` of a large file in chunks.

:func:`collect_desired` reads records (already in memory) into periods per gemeente and per Bsn and
collects EVERY problem of EVERY row as an :class:`ieb.tabular.RowIssue` with its line: unreadable
cells, bad Bsn, a gemeente that is not in ieb.toml (it does not hide the other problems of the row or
of the file), and, per person, what needs no ledger (:func:`ieb.ledger.planner.person_problems`:
stop before start TR328, the same period twice or overlapping periods OP291, CS332, CS334, the
kostprijs rule). Without ``partial`` any problem raises :class:`ieb.tabular.TableError` (nothing is
planned); with ``partial`` the persons with a problem are left out (all their rows: planning only
some of a person's rows would withdraw the others) and the problems are returned as ``refused``.

:func:`plan_and_queue_stream` is ``ieb plan FILE --queue`` for files of any size with flat memory:

1. the file is read row by row (:func:`ieb.tabular.iter_table`; a JSON or Windows-1252 file is read
   whole, bounded by :data:`ieb.tabular.MAX_BYTES`), each row checked as above and written to a
   temporary SQLite file (sorted there by gemeente, Bsn, line: a person's rows may be anywhere in
   the file);
2. the persons are taken in sorted order in chunks of ``chunk_persons``; each chunk is planned
   against the ledger and its messages recorded and put in the outbox in ONE transaction.

A run that is killed after some chunks is resumed by running the same command again: what was
committed is in the ledger, so the planner plans nothing again for those persons (no duplicates).
Without ``partial`` every ledger-free problem of the whole file is found in step 1 (nothing is
planned); a refusal that needs the ledger (e.g. TR114) stops the run at its chunk: the chunks before
it stay committed and the error says so.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ieb.errors import ConfigurationError
from ieb.ledger.planner import Period, Plan, person_problems, record_problems
from ieb.tabular import MAX_ISSUES, RowIssue, TableError, iter_table, restore_zeros
from ieb.transport.outbox import enqueue_fresh

__all__ = ["DesiredState", "StreamResult", "collect_desired", "plan_and_queue_stream", "refused_bsns"]

#: columns of a desired-state file
REQUIRED = ("bsn", "start")
OPTIONAL = ("stop", "kostprijs_cent", "kostprijs_start", "gemeente")
#: persons planned and committed per transaction by :func:`plan_and_queue_stream`
CHUNK_PERSONS = 4_000


@dataclass
class DesiredState:
    """The desired state read from a file: ``periods`` (gemeente -> Bsn -> periods), ``lines``
    (gemeente -> Bsn -> the lines of the person's rows), ``refused`` (every problem, with line, of
    the rows and persons left out; bounded by :data:`ieb.tabular.MAX_ISSUES`), ``refused_rows``
    (how many rows were left out) and ``source`` (the file name)."""

    periods: dict[str, dict[str, list[Period]]]
    lines: dict[str, dict[str, list[int]]]
    refused: list[RowIssue] = field(default_factory=list)
    refused_rows: int = 0
    source: str = "<records>"


class _Rows:
    """Checks one row at a time: its gemeente against ieb.toml and ``--gemeente``, its cells."""

    def __init__(self, configured: Sequence[str], gemeente: str | None) -> None:
        self.configured = list(configured)
        self.gemeente = gemeente
        if gemeente is not None and self.configured and gemeente not in self.configured:
            raise ConfigurationError(
                f"gemeente {gemeente} staat niet in ieb.toml ({self.configured})", code="CONFIG"
            )
        self.default = gemeente or (self.configured[0] if len(self.configured) == 1 else None)

    def check(self, rec: Any, line: int) -> tuple[str | None, str | None, Period | None, list[RowIssue]]:
        """``(gemeente, bsn, period, issues)`` of one record; gemeente None: not for this run."""
        issues: list[RowIssue] = []
        own = _gemeente_of(rec)
        g: str | None = own or self.default
        if not own and self.default is None:
            issues.append(
                RowIssue(
                    line,
                    "gemeente",
                    "gemeente is leeg; ieb.toml noemt "
                    + (f"{len(self.configured)} gemeenten" if self.configured else "geen gemeente"),
                    "vul de kolom gemeente in (4 cijfers) of geef --gemeente",
                    "CONFIG",
                )
            )
        elif own and self.configured and own not in self.configured and own.isdigit() and len(own) == 4:
            issues.append(
                RowIssue(
                    line,
                    "gemeente",
                    f"gemeente {own} staat niet in ieb.toml (gemeenten = {', '.join(self.configured)})",
                    "voeg de gemeente toe aan ieb.toml of haal de regel weg",
                    "CONFIG",
                )
            )
        if own and self.gemeente is not None and own != self.gemeente:
            return None, None, None, []
        bsn, period, more = record_problems(rec, line=line, gemeente=own or None)
        issues += more
        return g, bsn, period, issues


def _gemeente_of(rec: Any) -> str:
    value = rec.get("gemeente") if isinstance(rec, Mapping) else getattr(rec, "gemeente", None)
    return restore_zeros(value or "", 4)  # Excel's 363 is gemeente 0363


def _keep(refused: list[RowIssue], issues: Iterable[RowIssue]) -> None:
    for issue in issues:
        if len(refused) < MAX_ISSUES:
            refused.append(issue)
        elif len(refused) == MAX_ISSUES:
            refused.append(RowIssue(None, None, f"meer dan {MAX_ISSUES} problemen; de rest is niet getoond"))


def collect_desired(
    records: Iterable[Any],
    *,
    source: str,
    configured: Sequence[str],
    gemeente: str | None = None,
    partial: bool = False,
    release: str = "ieb-1.0",
) -> DesiredState:
    """The desired state of ``records`` (mappings or objects with a ``line``; see the module
    docstring). Raises :class:`TableError` listing every problem (line, field, text, code) unless
    ``partial``; :class:`ConfigurationError` when ``gemeente`` is not in ``configured``."""
    rows = _Rows(configured, gemeente)
    periods: dict[str, dict[str, list[Period]]] = {}
    lines: dict[str, dict[str, list[int]]] = {}
    if rows.default is not None:
        periods[rows.default], lines[rows.default] = {}, {}
    refused: list[RowIssue] = []
    bad: set[tuple[str | None, str]] = set()
    refused_rows = 0
    for n, rec in enumerate(records, start=1):
        line = int(getattr(rec, "line", n))
        g, bsn, period, issues = rows.check(rec, line)
        if issues:
            refused_rows += 1
            _keep(refused, issues)
            if bsn is not None:
                bad.add((g, bsn))
            if not partial and len(refused) > MAX_ISSUES:
                break
            continue
        if g is None or bsn is None:
            continue
        periods.setdefault(g, {}).setdefault(bsn, []).extend([period] if period is not None else [])
        lines.setdefault(g, {}).setdefault(bsn, []).append(line)
    for g, people in periods.items():
        for bsn, ps in people.items():
            if (g, bsn) in bad:
                continue
            found = person_problems(bsn, ps, lines=lines[g][bsn], release=release)
            if found:
                bad.add((g, bsn))
                _keep(refused, found)
    for g, bsn in bad:
        if g is not None and bsn in periods.get(g, {}):
            refused_rows += len(lines[g][bsn])
            del periods[g][bsn]
            del lines[g][bsn]
    refused.sort(key=lambda i: (i.line is None, i.line or 0))
    if refused and not partial:
        raise TableError(source, refused)
    ordered = {g: periods[g] for g in sorted(periods)}  # gemeenten in code order, as planned
    return DesiredState(ordered, lines, refused, refused_rows, source)


# ------------------------------------------------------------------------------ streamed


@dataclass
class StreamResult:
    """What :func:`plan_and_queue_stream` did: ``persons`` planned, ``messages`` queued,
    ``chunks`` committed, ``deferred`` (describe lines, bounded), ``refused`` (every problem with
    its line, bounded) and ``refused_rows``; ``gemeenten`` the gemeenten planned."""

    persons: int = 0
    messages: int = 0
    chunks: int = 0
    deferred: list[str] = field(default_factory=list)
    deferred_count: int = 0
    refused: list[RowIssue] = field(default_factory=list)
    refused_rows: int = 0
    gemeenten: list[str] = field(default_factory=list)
    #: planned starts more than a month late (describe lines, bounded) and how many there are
    retroactive: list[str] = field(default_factory=list)
    retroactive_count: int = 0


#: (gemeente, the chunk's plan, the referentienummers of its outbox rows) after each commit
ChunkCallback = Callable[[str, Plan, Sequence[str]], None]


def plan_and_queue_stream(
    exchange: Any,
    path: str | os.PathLike[str],
    *,
    gemeente: str | None = None,
    today: dt.date,
    partial: bool = False,
    chunk_persons: int = CHUNK_PERSONS,
    on_chunk: ChunkCallback | None = None,
) -> StreamResult:
    """Plan ``path`` and queue the messages chunk by chunk (see the module docstring) on
    ``exchange`` (an :class:`ieb.exchange.Exchange`). ``on_chunk`` is called after each commit.
    Raises :class:`TableError` (every problem of the file, nothing planned) unless ``partial``;
    :class:`ieb.ledger.errors.PlanningError` when a chunk is refused without ``partial`` (its
    message says how many chunks and messages were committed before it; ``committed`` counts the
    messages)."""
    from ieb.ledger.errors import PlanningError
    from ieb.ledger.store import Ledger

    source = str(path)
    release = exchange.config.release
    rows = _Rows(exchange.config.gemeenten, gemeente)
    result = StreamResult()
    with tempfile.TemporaryDirectory(prefix="ieb-plan-") as tmp:
        db = sqlite3.connect(Path(tmp) / "rows.sqlite")
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(
                "CREATE TABLE r (g TEXT, bsn TEXT, line INTEGER, start INTEGER, stop INTEGER, bedrag INTEGER, ks INTEGER)"
            )
            db.execute("CREATE TABLE bad (g TEXT, bsn TEXT, PRIMARY KEY (g, bsn))")
            batch: list[tuple[Any, ...]] = []
            for row in iter_table(Path(path), name=source, required=REQUIRED, optional=OPTIONAL):
                g, bsn, period, issues = rows.check(row, row.line)
                if period is not None and not issues and bsn is not None:
                    # each row alone now (stop before start, ...); between rows below
                    issues = person_problems(bsn, [period], lines=[row.line], release=release, pairs=False)
                if issues:
                    result.refused_rows += 1
                    _keep(result.refused, issues)
                    if bsn is not None:
                        db.execute("INSERT OR IGNORE INTO bad VALUES (?, ?)", (g, bsn))
                    continue
                if g is None or bsn is None:
                    continue
                p = period
                batch.append(
                    (
                        g,
                        bsn,
                        row.line,
                        p.start.toordinal() if p else None,
                        p.stop.toordinal() if p and p.stop else None,
                        p.kostprijs_bedrag if p else None,
                        p.kostprijs_startdatum.toordinal() if p and p.kostprijs_startdatum else None,
                    )
                )
                if len(batch) >= 10_000:
                    db.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                    batch.clear()
            db.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
            batch.clear()
            db.execute("CREATE INDEX r_person ON r (g, bsn, line)")
            # between the rows of one person (OP291), for the persons with more than one row
            db.execute("CREATE TABLE multi AS SELECT g, bsn FROM r GROUP BY g, bsn HAVING count(*) > 1")
            for g, bsn, ps, ls in _persons(db, _MULTI):
                found = person_problems(bsn, ps, lines=ls, release=release, single=False)
                if found:
                    _keep(result.refused, found)
                    db.execute("INSERT OR IGNORE INTO bad VALUES (?, ?)", (g, bsn))
            result.refused_rows += db.execute(
                "SELECT count(*) FROM r JOIN bad ON bad.g = r.g AND bad.bsn = r.bsn"
            ).fetchone()[0]
            result.refused.sort(key=lambda i: (i.line is None, i.line or 0))
            if result.refused and not partial:
                raise TableError(source, result.refused)
            gemeenten: list[str] = []
            chunk: dict[str, list[Period]] = {}
            chunk_lines: dict[str, list[int]] = {}
            current: str | None = None

            def flush() -> None:
                if current is None or not chunk:
                    return
                try:
                    _commit_chunk(
                        exchange, Ledger, current, chunk, chunk_lines, today, partial, result, on_chunk
                    )
                except PlanningError as exc:
                    done = f"{result.chunks} blok(ken) met {result.messages} bericht(en) zijn al vastgelegd"
                    error = PlanningError(
                        f"{exc.message}; {done} (opnieuw draaien gaat verder zonder dubbelen)", exc.issues
                    )
                    error.committed = result.messages
                    raise error from None
                chunk.clear()
                chunk_lines.clear()

            for g, bsn, ps, ls in _persons(db, _SKIP_BAD):
                if g != current or len(chunk) >= chunk_persons:
                    flush()
                    current = g
                    if g not in gemeenten:
                        gemeenten.append(g)
                chunk[bsn] = ps
                chunk_lines[bsn] = ls
            flush()
            result.gemeenten = gemeenten
        finally:
            db.close()
    return result


_MULTI = (
    "SELECT r.g, r.bsn, line, start, stop, bedrag, ks FROM r JOIN multi ON multi.g = r.g AND multi.bsn = r.bsn "
    "ORDER BY r.g, r.bsn, line"
)
_SKIP_BAD = (
    "SELECT g, bsn, line, start, stop, bedrag, ks FROM r "
    "WHERE NOT EXISTS (SELECT 1 FROM bad WHERE bad.g = r.g AND bad.bsn = r.bsn) ORDER BY g, bsn, line"
)


def _persons(db: sqlite3.Connection, query: str) -> Iterator[tuple[str, str, list[Period], list[int]]]:
    """The persons of the sorted rows ``query`` selects: ``(gemeente, bsn, periods, lines)``."""
    cursor = db.execute(query)
    key: tuple[str, str] | None = None
    periods: list[Period] = []
    lines: list[int] = []
    day = dt.date.fromordinal
    while True:
        fetched = cursor.fetchmany(5_000)
        if not fetched:
            break
        for g, bsn, line, start, stop, bedrag, ks in fetched:
            if key != (g, bsn):
                if key is not None:
                    yield key[0], key[1], periods, lines
                key, periods, lines = (g, bsn), [], []
            lines.append(line)
            if start is not None:
                periods.append(
                    Period(day(start), day(stop) if stop else None, bedrag, day(ks) if ks else None)
                )
    if key is not None:
        yield key[0], key[1], periods, lines


def _commit_chunk(
    exchange: Any,
    ledger_cls: Any,
    g: str,
    desired: dict[str, list[Period]],
    lines: dict[str, list[int]],
    today: dt.date,
    partial: bool,
    result: StreamResult,
    on_chunk: ChunkCallback | None,
) -> None:
    """Plan one chunk of one gemeente and queue its messages in one transaction."""
    from ieb.exchange.status import deadline_of
    from ieb.ledger.planner import plan

    with exchange.engine.begin() as conn:
        ledger = ledger_cls(conn)
        p = plan(
            ledger,
            g,
            desired,
            today=today,
            record=True,
            partial=partial,
            release=exchange.config.release,
            lines=lines,
        )
        rows = [exchange._row(g, m.bericht, m.xml, m.delivery.identificatie) for m in p.messages]
        # outbox + audit rows multi-row; each row's person from the delivery just recorded, no ids
        # read back (issue 22)
        enqueue_fresh(
            exchange.outbox(), rows, conn=conn, bsns=[m.delivery.bsn for m in p.messages], ids=False
        )
    result.chunks += 1
    result.messages += len(p.messages)
    refused = refused_bsns(p, lines)
    result.persons += len(desired) - len(refused)
    _keep(result.refused, p.problems)
    result.refused_rows += sum(len(lines[b]) for b in refused)
    result.deferred_count += len(p.deferred)
    for d in p.deferred:
        if len(result.deferred) < MAX_ISSUES:
            result.deferred.append(d.describe())
    for m in p.messages:
        sent = m.delivery
        if sent.is_start and sent.status == "1" and sent.dagtekening > deadline_of(sent.datum):
            result.retroactive_count += 1
            if len(result.retroactive) < MAX_ISSUES:
                result.retroactive.append(
                    f"{sent.describe()}: EbStartdatum {sent.datum} ligt meer dan een maand voor "
                    f"{sent.dagtekening}"
                )
    if on_chunk is not None:
        on_chunk(g, p, [str(r["referentienummer"]) for r in rows])


def refused_bsns(p: Plan, lines: Mapping[str, Sequence[int]]) -> set[str]:
    """The Bsns of ``lines`` (Bsn -> the lines of its rows) whose persons the planner refused in
    ``p`` (found by the line their problems are on)."""
    refused_lines = {i.line for i in p.problems if i.line is not None}
    return {b for b, ls in lines.items() if ls and ls[0] in refused_lines}
