"""Attack on ``ieb retour --drop-failed`` while another process runs ``ieb retour --retry-failed``
(or ``ieb serve`` replays at start), on SQLite and PostgreSQL. ``Retours.drop_failed`` promised
"deleted only while it is still failed, so a replay under way is not overtaken", but the replay
applied a retour in one transaction and marked its entry in the next: a drop in between found the
entry still ``failed``, deleted it and audited "weggehaald", while its retour had just been applied
to the ledger. The replay then found nothing to mark and printed no line: the clerk was told the
retour was thrown away, the ledger says it was accepted. Now the replay claims the entry (guarded
by its status) in the transaction that applies and marks it; a drop waits for it and finds it
processed."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ieb.exchange.retours import Dropped, Replayed, Retours
from ieb.store.db import open_database
from ieb.store.schema import audit, deliveries, inbox
from tests.attack.test_failed_retour_race import url  # noqa: F401 - the sqlite/postgresql fixture
from tests.attack.test_retour_killed_run import DAY, TEMPLATE, _bsns

N = 3


def _failed_entries(engine: sa.Engine, folder: Path) -> None:
    """N retour files kept as failed (their heenberichten were unknown when they came in) that
    apply now."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(deliveries),
            [
                {
                    "afzender": "9999",
                    "identificatie": f"B{i}",
                    "dagtekening": DAY,
                    "bericht": "WMO401",
                    "bsn": bsn,
                    "eb_start_nummer": i,
                    "status": "1",
                    "datum": dt.date(2026, 5, 1),
                    "outcome": "pending",
                    "created_at": now,
                    "release": "ieb-1.0",
                }
                for i, bsn in enumerate(_bsns(N), start=1)
            ],
        )
    folder.mkdir()
    paths = []
    for i in range(1, N + 1):
        p = folder / f"retour-{i:04d}.xml"
        p.write_bytes(
            TEMPLATE.replace(b"AMS-0001", f"B{i}".encode())
            .replace(b"2026-05-20", DAY.isoformat().encode())
            .replace(b"2026-05-21", DAY.isoformat().encode())
            .replace(b"CAK-77", f"CAK-{i}".encode())
        )
        paths.append(p)
    assert len(Retours.of_engine(engine).process_files(paths)[1]) == N  # none applied, all kept
    with engine.begin() as conn:
        conn.execute(sa.update(deliveries).values(afzender="0363"))


def test_a_drop_while_the_retry_applies_the_entry_never_removes_an_applied_retour(
    url: str,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    retrying, other = open_database(url), open_database(url)  # two processes
    try:
        _failed_entries(retrying, tmp_path / "retouren")
        real, dropped, threads = Retours._apply, [], []

        def drop_meanwhile(self: Retours, row: Any, *args: Any) -> Any:
            outcome = real(self, row, *args)  # the retour is applied (or its savepoint is) ...
            if not threads:  # ... and now, before the entry is marked, the other process drops it

                def drop() -> None:
                    dropped.extend(Retours.of_engine(other).drop_failed([row.referentienummer]))

                threads.append(threading.Thread(target=drop))
                threads[0].start()
                threads[0].join(2)  # a drop that does not wait for the replay is done by now
            return outcome

        monkeypatch.setattr(Retours, "_apply", drop_meanwhile)
        replayed: list[Replayed] = Retours.of_engine(retrying).replay()
        threads[0].join(60)
        monkeypatch.undo()
        ((ref, was_dropped, why),) = dropped
        with retrying.connect() as conn:
            left = dict(conn.execute(sa.select(inbox.c.referentienummer, inbox.c.status)).all())
            audited = list(
                conn.execute(sa.select(audit.c.outcome).where(audit.c.referentienummer == ref)).scalars()
            )
            outcomes = list(conn.execute(sa.select(deliveries.c.outcome)).scalars())
    finally:
        retrying.dispose()
        other.dispose()
    # one story, whatever the timing: applied and marked processed (not dropped), or dropped and
    # not applied; here the retry had applied it already, so the drop must be refused
    result: Dropped = (ref, was_dropped, why)
    assert not was_dropped, (result, left, audited)
    assert left[ref] == "processed" and "dropped" not in audited
    assert "niet mislukt" in why or "andere opdracht" in why
    assert outcomes == ["accepted"] * N and sorted(left.values()) == ["processed"] * N
    assert sorted(r for r, _, _ in replayed) == sorted(left)  # a line for every applied retour


@pytest.mark.parametrize(
    "url", ["postgresql"], indirect=True
)  # SQLite: the write lock at BEGIN serialises them
def test_two_drops_of_one_entry_say_who_took_it(
    url: str,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    """Two clerks drop the same failed entry at once (PostgreSQL: both read it as failed, one
    deletes it first): the other is told it was just taken out by another run, not that another
    run "processed" it (it was never applied)."""
    first, other = open_database(url), open_database(url)
    try:
        _failed_entries(first, tmp_path / "retouren")
        with first.connect() as conn:
            ref = conn.execute(sa.select(inbox.c.referentienummer).order_by(inbox.c.id)).scalars().first()
        assert ref is not None
        seen: list[Dropped] = []

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("DELETE FROM INBOX") and not seen:
                seen.extend(Retours.of_engine(other).drop_failed([ref]))  # the other clerk, first

        sa.event.listen(first, "before_cursor_execute", before)
        try:
            (result,) = Retours.of_engine(first).drop_failed([ref])
        finally:
            sa.event.remove(first, "before_cursor_execute", before)
    finally:
        first.dispose()
        other.dispose()
    assert [(r, d) for r, d, _ in seen] == [(ref, True)]
    assert result == (ref, False, "is net door een andere opdracht weggehaald")
