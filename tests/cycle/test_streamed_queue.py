"""Issue 22 E2E: ``ieb plan --queue`` streams its file in chunks, one transaction per chunk, and a
run killed mid-way resumes without duplicates."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from ieb.config import IebConfig
from ieb.exchange import Exchange
from ieb.ledger.planner import Plan
from ieb.tabular import TableError, iter_table, read_table
from tests.cycle.test_monthly_cycle import test_bsns

TODAY = __import__("datetime").date(2026, 6, 15)
B = test_bsns(40)


def _exchange(tmp_path: Path, name: str) -> Exchange:
    return Exchange(IebConfig(database=f"sqlite:///{tmp_path / name}", gemeenten=["0363", "0599"]))


def _file(tmp_path: Path) -> Path:
    """40 persons over two gemeenten, rows of one person far apart (a pause: two periods)."""
    rows = ["gemeente,bsn,start,stop"]
    for i, b in enumerate(B):
        g = "0363" if i % 2 else "0599"
        rows.append(f"{g},{b},2026-0{1 + i % 5}-01,{'2026-05-31' if i % 7 == 0 else ''}")
    for b in B[0:40:7]:  # the second period of the paused persons, at the end of the file
        rows.append(f"{'0363' if B.index(b) % 2 else '0599'},{b},2026-06-10,")
    f = tmp_path / "gewenst.csv"
    f.write_text("\n".join(rows) + "\n")
    return f


def _state(tmp_path: Path, name: str) -> tuple[list[tuple[object, ...]], int]:
    with sqlite3.connect(tmp_path / name) as db:
        deliveries = db.execute(
            "SELECT afzender, bsn, bericht, status, datum FROM deliveries ORDER BY afzender, bsn, bericht, datum"
        ).fetchall()
        outbox = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    return deliveries, int(outbox)


class Crash(Exception):
    """A stand-in for the process being killed after a chunk committed."""


def test_a_run_killed_after_some_chunks_resumes_without_duplicates(tmp_path: Path) -> None:
    f = _file(tmp_path)
    with _exchange(tmp_path, "once.sqlite") as ex:
        once = ex.plan_and_queue_file(f, today=TODAY, chunk_persons=1_000)
    assert once.chunks == 2 and once.persons == 40  # one chunk per gemeente
    seen: list[int] = []

    def crash_after_two(g: str, plan: Plan, refs: Sequence[str]) -> None:
        seen.append(len(refs))
        assert len(refs) == len(plan.messages) and all(refs)
        if len(seen) == 2:
            raise Crash

    with _exchange(tmp_path, "chunked.sqlite") as ex:
        with pytest.raises(Crash):
            ex.plan_and_queue_file(f, today=TODAY, chunk_persons=6, on_chunk=crash_after_two)
        _, partly_outbox = _state(tmp_path, "chunked.sqlite")
        assert 0 < partly_outbox == sum(seen) < once.messages  # two chunks committed, no more
        again = ex.plan_and_queue_file(f, today=TODAY, chunk_persons=6)
    assert again.messages == once.messages - partly_outbox
    assert _state(tmp_path, "chunked.sqlite") == _state(tmp_path, "once.sqlite")
    with _exchange(tmp_path, "chunked.sqlite") as ex:  # and once more: nothing left to do
        assert ex.plan_and_queue_file(f, today=TODAY, chunk_persons=6).messages == 0


def test_every_problem_is_found_before_the_first_chunk(tmp_path: Path) -> None:
    f = _file(tmp_path)
    f.write_text(f.read_text() + f"0363,{B[3]},2026-02-01,2026-01-01\n0344,{B[4]},2026-01-01,\n")
    with _exchange(tmp_path, "x.sqlite") as ex:
        with pytest.raises(TableError) as info:
            ex.plan_and_queue_file(f, today=TODAY, chunk_persons=5)
        assert {i.code for i in info.value.issues} >= {"TR328", "CONFIG"}
        assert ex.engine is not None and _state(tmp_path, "x.sqlite") == ([], 0)  # nothing planned
        partial = ex.plan_and_queue_file(f, today=TODAY, chunk_persons=5, partial=True)
    # B[3] has two rows now (line 5 and the bad line 48): left out whole; the row of gemeente 0344 too
    assert partial.persons == 39 and partial.refused_rows == 3
    assert sorted(i.line for i in partial.refused if i.line) == [48, 49]
    assert any(i.line == 48 and i.code == "TR328" and i.column == "stop" for i in partial.refused)


def test_iter_table_streams_csv_and_reads_other_inputs_whole(tmp_path: Path) -> None:
    f = _file(tmp_path)
    cols = {"required": ("bsn", "start"), "optional": ("stop", "gemeente")}
    assert [dict(r) | {"line": r.line} for r in iter_table(f, **cols)] == [
        dict(r) | {"line": r.line} for r in read_table(f, **cols)
    ]
    j = tmp_path / "g.jsonl"
    j.write_text(json.dumps({"bsn": B[0], "start": "2026-01-01"}) + "\n")
    assert [r.line for r in iter_table(j, **cols)] == [1]
    cp = tmp_path / "w.csv"  # Windows-1252 (Excel): read whole, converted like read_table does
    cp.write_bytes(f"bsn;start;stop\r\n{B[0]};2026-01-01;café\r\n".encode("cp1252"))
    assert [dict(r) for r in iter_table(cp, **cols)] == [{"bsn": B[0], "start": "2026-01-01", "stop": "café"}]
    bad = tmp_path / "b.csv"
    bad.write_text(f"bsn,start\n{B[0]},2026-01-01\n{B[1]},2026-01-01,x\n")
    got = []
    with pytest.raises(TableError) as info:
        for r in iter_table(bad, **cols):
            got.append(r.line)
    assert got == [2] and [i.line for i in info.value.issues] == [3]


@pytest.mark.parametrize(
    "row",
    [
        {"bsn": B[0], "start": "2026-01-01", "stop": ""},
        {"bsn": B[0], "start": "2026-01-01", "stop": "2026-03-31", "gemeente": "0363"},
        {"bsn": B[0], "start": "2026-02-30"},
        {"bsn": B[0], "start": "2026-01-01", "stop": "2025-12-31"},
        {"bsn": "999900019", "start": "2026-01-01"},
        {"bsn": B[0], "start": "2226-01-01"},
        {"bsn": B[0], "start": "2026-01-01", "gemeente": "0599"},
        {"bsn": B[0], "start": "2026-01-01", "gemeente": "363"},
        {"bsn": B[0], "start": "2026-01-01", "kostprijs_cent": "90000"},
        {"bsn": B[0], "start": "01-02-2026"},
        {"bsn": "000000000", "start": "2026-01-01"},  # passes the arithmetic 11-proef
        {"bsn": "99990000", "start": "2026-01-01"},
        {"bsn": "99990000\u0666", "start": "2026-01-01"},  # a digit, not an ASCII one
        {"bsn": "9999 0006", "start": "2026-01-01"},
    ],
)
def test_the_quick_reading_of_a_common_row_equals_the_full_one(row: dict[str, str]) -> None:
    from ieb.ledger import planner

    quick = planner.record_problems(row, line=2, gemeente="0363")
    full = planner.record_problems(_NotAMapping(row), line=2, gemeente="0363")  # the full path only
    assert quick == full


class _NotAMapping:
    """The same record as an object: :func:`record_problems` reads it without the quick path."""

    def __init__(self, values: dict[str, str]) -> None:
        self.__dict__.update(values)


def test_a_ledger_refusal_while_streaming_keeps_the_chunks_before_it_and_says_so(tmp_path: Path) -> None:
    old, new = B[10:12], B[0:4]  # sorted by Bsn: the new persons' chunks come first
    first = tmp_path / "juli.csv"
    first.write_text("gemeente,bsn,start\n" + "".join(f"0363,{b},2020-07-01\n" for b in old))
    later = tmp_path / "later.csv"
    later.write_text(
        "gemeente,bsn,start\n"
        + "".join(f"0363,{b},2023-08-01\n" for b in new)
        + f"0363,{old[0]},2020-07-02\n0363,{old[1]},2020-07-01\n"  # line 6: TR114
    )
    from ieb.ledger.errors import PlanningError

    with _exchange(tmp_path, "r.sqlite") as ex:
        ex.plan_and_queue_file(first, today=__import__("datetime").date(2020, 8, 1))
        with pytest.raises(PlanningError) as info:
            ex.plan_and_queue_file(later, today=__import__("datetime").date(2023, 8, 15), chunk_persons=2)
    assert info.value.committed == 4 and "2 blok(ken) met 4 bericht(en)" in info.value.message
    assert info.value.issues[0].line == 6 and info.value.issues[0].code.startswith("TR114")


@pytest.mark.slow  # a real process planning 5,000 persons, killed with SIGKILL after its first chunk
def test_ieb_plan_queue_killed_with_sigkill_resumes_without_duplicates(tmp_path: Path) -> None:
    """``kill -9`` of ``ieb plan FILE --queue`` once its first chunk (2,000 persons) is committed;
    the same command again queues exactly the rest. When the machine is so fast that the run ends
    before the kill, the second run must queue nothing: both ways, no message twice."""
    import os
    import signal
    import subprocess
    import sys
    import time

    persons = test_bsns(5_000)  # the 9999xxxxx test range holds about 9,090
    desired = tmp_path / "gewenst.csv"
    desired.write_text("bsn,start\n" + "".join(f"{b},2026-05-01\n" for b in persons))
    cfg = tmp_path / "ieb.toml"
    cfg.write_text(f'database = "sqlite:///{tmp_path / "ieb.sqlite"}"\ngemeenten = ["0363"]\n')
    args = [sys.executable, "-m", "ieb", "plan", str(desired), "--queue", "--config", str(cfg)]
    args += ["--today", "2026-06-01"]
    run = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = False
    try:
        while run.poll() is None:
            time.sleep(0.2)
            if (tmp_path / "ieb.sqlite").exists():
                try:
                    with sqlite3.connect(tmp_path / "ieb.sqlite", timeout=1) as db:
                        done = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
                except sqlite3.OperationalError:
                    continue  # the schema is still being made
                if done:
                    os.kill(run.pid, signal.SIGKILL)
                    killed = True
                    break
    finally:
        run.wait(timeout=600)
    first = _state(tmp_path, "ieb.sqlite")[1]
    assert 0 < first <= 5_000 and (not killed or first % 2_000 == 0 or first == 5_000)
    again = subprocess.run(args, capture_output=True, text=True, timeout=1200, check=False)
    assert again.returncode == 0, again.stderr
    deliveries, outbox = _state(tmp_path, "ieb.sqlite")
    assert outbox == 5_000 and len(deliveries) == 5_000
    assert len({(d[0], d[1]) for d in deliveries}) == 5_000  # one start per person
    assert f"{5_000 - first} bericht(en) gepland" in again.stdout
