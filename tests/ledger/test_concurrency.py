"""EbStartNummers stay unique per gemeente with concurrent writers (threads and processes)."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from ieb.ledger import open_database
from ieb.ledger.store import Ledger

PER_WORKER = 25
WORKERS = 6


def _allocate(url: str, afzender: str, n: int) -> list[int]:
    ledger = Ledger(open_database(url))
    out = []
    try:
        for i in range(n):
            with ledger.engine.begin() as conn:
                out.append(ledger.allocate_eb_start_nummer(conn, afzender, "999900006"))
                if i % 5 == 0:
                    time.sleep(0.001)  # widen the window between allocation and commit
    finally:
        ledger.close()
    return out


def _check(results: list[list[int]]) -> None:
    numbers = [n for r in results for n in r]
    assert len(numbers) == WORKERS * PER_WORKER
    assert len(set(numbers)) == len(numbers), "duplicate EbStartNummer"
    assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_threads_allocate_unique_numbers(ledger_db_url: str) -> None:
    open_database(ledger_db_url).dispose()
    results: list[list[int]] = [[] for _ in range(WORKERS)]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = _allocate(ledger_db_url, "0363", PER_WORKER)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    _check(results)


def test_processes_allocate_unique_numbers(db_url: str) -> None:
    # the schema is created concurrently too: every process opens (and migrates) the fresh database
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WORKERS) as pool:
        results = pool.starmap(_allocate, [(db_url, "0599", PER_WORKER)] * WORKERS)
    _check(results)


def test_numbers_are_per_gemeente(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/g.sqlite"
    assert _allocate(url, "0363", 2) == [1, 2]
    assert _allocate(url, "0599", 1) == [1]


@pytest.mark.parametrize("n", [1])
def test_rollback_returns_nothing(n: int, tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/g.sqlite"
    ledger = Ledger(open_database(url))
    with pytest.raises(RuntimeError), ledger.engine.begin() as conn:
        ledger.allocate_eb_start_nummer(conn, "0363", "999900006")
        raise RuntimeError("abort")
    assert _allocate(url, "0363", n) == [1]
    ledger.close()
