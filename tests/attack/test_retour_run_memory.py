"""``ieb retour FILES`` (ieb.ledger.retour.process_retour_paths) keeps what it applied only for
the chunk under way: an applied retour's bytes were kept for the whole run (to spot the same
retour again in a later file), so a run over 100,000 retours held every one of them in memory,
although the ledger rows of the next chunk, read after the commit, say the same.
``tests/ledger/test_retour_fast.py`` (chunks of 1, 2, 3 and 500 against one file per call) proves
the verdicts did not change."""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
from pathlib import Path

import pytest
from lxml import etree

from ieb.ledger import retour as fast
from ieb.ledger.planner import Period, plan
from ieb.ledger.store import Ledger
from ieb.releases import get_release
from ieb.releases.pack import RetourRequest
from ieb.store.db import open_database
from ieb.types import bsn_is_valid
from tests.ledger.conftest import GEMEENTEN
from tests.ledger.test_retour_fast import _header
from tests.migrated import migrated_sqlite_url

DAY = dt.date(2024, 6, 15)
TODAY = dt.date(2025, 11, 4)
#: test BSNs (9999xxxxx, 11-proef)
BSNS = [b for b in (f"9999{n:05d}" for n in range(200)) if bsn_is_valid(b)][:10]
PAD = 200_000  # bytes of comment per retour (a comment does not change what a retour says)


def _retour_files(ledger: Ledger, where: Path) -> list[Path]:
    planned = plan(
        ledger,
        "0363",
        {b: [Period(dt.date(2024, 3, 1), dt.date(2024, 4, 30))] for b in BSNS},
        today=DAY,
        gemeenten=GEMEENTEN,
    )
    pack = get_release("ieb-1.0")
    assert pack.retour_writer is not None
    paths = []
    for k, m in enumerate(planned.messages):
        row = pack.retour_of(m.bericht)
        data = pack.retour_writer(RetourRequest(row, _header(etree.fromstring(m.xml)), "R1", TODAY))
        head, _, rest = data.partition(b"?>")
        path = where / f"{k:03d}.xml"
        path.write_bytes(head + b"?><!--" + b"x" * PAD + b"-->" + rest)
        paths.append(path)
    return paths


def test_a_run_keeps_the_bytes_of_one_chunk_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Ledger(open_database(migrated_sqlite_url(tmp_path / "l.sqlite")))
    paths = _retour_files(ledger, tmp_path)
    assert len(paths) == 2 * len(BSNS) == 20
    monkeypatch.setattr(fast, "_CHUNK", 2)
    gc.collect()
    gc.disable()  # what is no longer needed must be freed at once, not by a later collection
    tracemalloc.start()
    try:
        done, failed = fast.process_retour_paths(ledger, [*paths, *paths[:3]], today=TODAY)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        gc.enable()
        ledger.close()
    assert failed == []
    assert [o.outcome for o in done] == ["accepted"] * 23
    assert [o.duplicate for o in done] == [False] * 20 + [True] * 3  # the same files again: duplicates
    # 20 retours of 200 kB: all of them kept is 4 MB; a chunk (two, and the rows read for it) well under
    assert peak < 2_500_000, peak
