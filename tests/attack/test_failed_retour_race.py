"""Attack: two ``ieb retour`` runs at once (two clerks, or a cron job overlapping a manual run) over
the same folder on PostgreSQL. A file neither can process is kept in the inbox once per content
(``Retours.store_failed_file``); that was a SELECT and then an INSERT, so when both runs got to the
same file together both found no row, both inserted, and the second one's unique key failed:
``IntegrityError`` after its chunk was committed, the run ended with a traceback and the files after
it were not processed. Now the keep is one ``INSERT ... ON CONFLICT DO NOTHING`` and, when the row
was there (or just came), its update. SQLite serialises the two (``BEGIN IMMEDIATE``) and is
checked as well."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.exchange.retours import Retours
from ieb.store.db import open_database
from ieb.store.schema import inbox

PG = os.environ.get("IEB_TEST_POSTGRES_URL")
ROUNDS = 25


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ieb.sqlite'}"
        return
    if not PG:
        pytest.skip("IEB_TEST_POSTGRES_URL is not set")
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    name = "ieb_attack_" + uuid.uuid4().hex[:10]
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_runs_at_once_keep_each_failed_file_once(url: str, tmp_path: Path) -> None:
    folder = tmp_path / "retouren"
    folder.mkdir()
    paths = []
    for k in range(ROUNDS):
        p = folder / f"kapot-{k:02d}.xml"
        p.write_bytes(b"<kapot nummer='%d'" % k)  # not well-formed: never processable
        paths.append(p)
    engines = [open_database(url) for _ in range(2)]
    try:
        runs = [Retours.of_engine(e) for e in engines]
        errors: list[BaseException] = []
        failed: list[list[tuple[str, str]]] = [[], []]
        barrier = threading.Barrier(2)

        def run(i: int) -> None:
            for p in paths:  # file by file, so that both runs reach each file together
                barrier.wait()
                try:
                    failed[i] += runs[i].process_files([p])[1]
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert [n for n, _ in failed[0]] == [n for n, _ in failed[1]] == [str(p) for p in paths]
        with engines[0].connect() as conn:
            rows = conn.execute(sa.select(inbox.c.zender, inbox.c.status).order_by(inbox.c.zender)).all()
        assert [tuple(r) for r in rows] == [(p.name, "failed") for p in paths]
    finally:
        for e in engines:
            e.dispose()
