"""``ieb retour FILES`` in chunks (ieb.ledger.retour.process_retour_paths, issue 22) keeps memory
bounded whatever the files are:

* a chunk holds at most 500 files AND a bounded number of bytes (500 files of 25 MB each were read
  into memory before the chunk was applied: 12 GB);
* a chunk's bytes are freed when it is applied (the errors of bad files held the chunk's frame in
  a reference cycle, so the bytes of every chunk stayed until the garbage collector ran);
* a file larger than an iEb file may be (25 MB, OP179) is refused with the OP179 text without being
  read whole, and is not copied into the inbox (it could never be applied; it stays where it is).
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

from ieb.ledger.retour import process_retour_paths
from ieb.ledger.store import Ledger
from ieb.store.db import open_database
from ieb.xmlsafe import MAX_BYTES
from tests.migrated import migrated_sqlite_url

_MIB = 1 << 20


def _ledger(tmp_path: Path) -> Ledger:
    return Ledger(open_database(migrated_sqlite_url(tmp_path / "l.sqlite")))


def _peak(fn: object) -> tuple[int, object]:
    """The peak of Python allocations while ``fn`` runs, with the garbage collector off: what a
    chunk holds must be freed when it is done, not when the collector happens to run."""
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        result = fn()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()
        gc.enable()


def test_an_oversize_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    big = tmp_path / "groot.xml"
    with big.open("wb") as f:  # sparse: no disk used
        f.truncate(MAX_BYTES + 5 * _MIB)
    stored: list[str] = []
    peak, result = _peak(
        lambda: process_retour_paths(ledger, [big], on_failed=lambda n, d, r: stored.append(n))
    )
    done, failed = result  # type: ignore[misc]
    assert done == []
    assert failed == [
        (
            str(big),
            f"{big}: geen geldige retour: Het bestand is 30.0 MB; een iEb-bestand mag hoogstens 25 MB "
            f"zijn. Splits de aanlevering in kleinere bestanden.",  # (the name once: no "(plek: ...)")
        )
    ]
    assert stored == []  # never applicable: not copied into the inbox
    assert peak < 8 * _MIB


def test_a_chunk_holds_a_bounded_number_of_bytes(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    paths = []
    for i in range(48):  # 48 MiB of files that are no retour
        p = tmp_path / f"r{i:02d}.xml"
        p.write_bytes(b"<x>" + b"a" * (_MIB - 7) + b"</x>")
        paths.append(p)
    peak, result = _peak(lambda: process_retour_paths(ledger, paths))
    done, failed = result  # type: ignore[misc]
    assert done == [] and [name for name, _ in failed] == [str(p) for p in paths]
    assert all("geen iEb-retour" in reason or "geen geldige retour" in reason for _, reason in failed)
    assert peak < 40 * _MIB
