"""Attack: ``ieb logboek --gemeente`` matched a part of the comma-separated codes (``LIKE %x%``):
``036`` listed the runs of 0363, ``%`` or ``_`` every run. Only whole codes match now."""

from __future__ import annotations

from pathlib import Path

from ieb.store import open_database
from ieb.store.logboek import read_log, write_log
from tests.migrated import migrated_sqlite_url


def test_only_whole_gemeente_codes_match(tmp_path: Path) -> None:
    engine = open_database(migrated_sqlite_url(tmp_path / "ieb.sqlite"))
    try:
        a = write_log(engine, opdracht="plan", gemeenten=["0363"])
        b = write_log(engine, opdracht="plan", gemeenten=["0599", "0363"])
        c = write_log(engine, opdracht="plan", gemeenten=["1363"])
        ids = lambda g: sorted(e.id for e in read_log(engine, gemeente=g))  # noqa: E731
        assert ids("0363") == sorted([a, b])
        assert ids("0599") == [b] and ids("1363") == [c]
        assert ids("036") == [] and ids("363") == [] and ids("%") == [] and ids("_363") == []
    finally:
        engine.dispose()
