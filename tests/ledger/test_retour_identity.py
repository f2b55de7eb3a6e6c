"""A retour is identified by IdentificatieRetour AND DagtekeningRetour (issue 22, round 7).

Within one ``process_retours`` batch a second retour for the same heenbericht with the same
IdentificatieRetour but another DagtekeningRetour used to count as a duplicate, while two separate
runs refuse it (the rule for a stored retour: identical bytes, or the same IdentificatieRetour and
DagtekeningRetour; the CAK numbers its retours per day and resends a stored retour unchanged,
docs/ledger.md). The batch now follows the same rule as separate runs; the test compares both."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ieb.ledger.errors import DuplicateRetourError, RetourInputError
from ieb.ledger.history import Delivery
from ieb.ledger.retour import process_retour_paths, process_retours
from ieb.ledger.store import Ledger
from ieb.store.db import open_database

SAMPLE = (Path(__file__).parents[1] / "core/samples/valid/wmo402-accepted.xml").read_bytes()
TODAY = dt.date(2026, 6, 1)


def _retour(ident: str = "CAK-77", day: str = "2026-05-21", comment: bytes = b"") -> bytes:
    data = SAMPLE.replace(
        b"<wmo402:IdentificatieRetour>CAK-77<", f"<wmo402:IdentificatieRetour>{ident}<".encode()
    )
    return data.replace(b"2026-05-21", day.encode()).replace(
        b"</wmo402:Bericht>", comment + b"</wmo402:Bericht>"
    )


def _ledger(url: str) -> Ledger:
    ledger = Ledger(open_database(url))
    heen = Delivery(
        "WMO401",
        "0363",
        "AMS-0001",
        dt.date(2026, 5, 20),
        "999900006",
        1,
        "1",
        dt.date(2026, 5, 1),
        None,
        None,
        None,
    )
    with ledger.transaction() as unit:
        ledger.add_many(unit.connection, [{"delivery": heen, "outcome": "pending"}])
    return ledger


def _state(ledger: Ledger) -> list[tuple[Any, ...]]:
    with ledger.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT outcome, retour_identificatie, retour_dagtekening FROM deliveries")
            )
        ]


def _batch(ledger: Ledger, files: list[tuple[str, bytes]]) -> tuple[str, Any]:
    try:
        return "ok", [dataclasses.astuple(o) for o in process_retours(ledger, files, today=TODAY)]
    except RetourInputError as exc:
        return type(exc).__name__, str(exc)


def _separate(ledger: Ledger, files: list[tuple[str, bytes]]) -> list[tuple[str, Any]]:
    return [_batch(ledger, [f]) for f in files]


CASES = {
    # same IdentificatieRetour, another DagtekeningRetour: another retour -> refused
    "other-day": ([("a.xml", _retour()), ("b.xml", _retour(day="2026-05-22"))], DuplicateRetourError),
    # another IdentificatieRetour, same day: another retour -> refused
    "other-ident": ([("a.xml", _retour()), ("b.xml", _retour(ident="CAK-78"))], DuplicateRetourError),
    # same pair, other bytes (a comment): the same retour again -> duplicate
    "same-pair": ([("a.xml", _retour()), ("b.xml", _retour(comment=b"<!-- opnieuw -->"))], None),
    # identical bytes -> duplicate
    "same-bytes": ([("a.xml", _retour()), ("b.xml", _retour())], None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_batch_decides_as_separate_runs(
    ledger_db_url: str, ledger_db_url_factory: Any, case: str
) -> None:
    files, error = CASES[case]
    one, two = _ledger(ledger_db_url), _ledger(ledger_db_url_factory())
    try:
        together = _batch(one, files)
        apart = _separate(two, files)
        if error is None:
            assert together[0] == "ok" and [a[0] for a in apart] == ["ok", "ok"]
            assert together[1] == apart[0][1] + apart[1][1]
            assert together[1][1][7] is True  # the second is a duplicate
            assert _state(one) == _state(two)
        else:
            assert together[0] == apart[1][0] == error.__name__
            assert "heeft al een andere retour (IdentificatieRetour CAK-77)" in together[1]
            assert _state(one) == [("pending", None, None)]  # nothing applied: all or nothing
            assert _state(two)[0][:2] == ("accepted", "CAK-77")
    finally:
        one.close()
        two.close()


def test_ieb_retour_files_agrees(tmp_path: Path) -> None:
    ledger = _ledger("sqlite:///" + str(tmp_path / "l.sqlite"))
    try:
        paths = []
        for name, data in CASES["other-day"][0]:
            (tmp_path / name).write_bytes(data)
            paths.append(tmp_path / name)
        done, failed = process_retour_paths(ledger, paths, today=TODAY)
    finally:
        ledger.close()
    assert [o.source for o in done] == [str(paths[0])]
    assert failed[0][0] == str(paths[1]) and "heeft al een andere retour" in failed[0][1]
    # the trial: the refusal said what was wrong but not what to do
    assert "De eerste retour blijft gelden. Vraag het CAK welke retour klopt" in failed[0][1]
    assert "ieb retour --drop-failed REFERENTIENUMMER" in failed[0][1]
