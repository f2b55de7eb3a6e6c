"""Issue 26 item 3: the monthly cycle as a scriptable routine. Every problem of a desired-state
file at once with its line and rule code; ``--partial`` plans the good rows; exit codes 0 / 3 / 1 /
2; a future Dagtekening refused (8848) unless forced; the logboek of every plan/queue/requeue."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.types import bsn_is_valid

runner = CliRunner()
TODAY = "2026-06-15"


def test_bsns(n: int, start: int = 999_900_000) -> list[str]:
    """``n`` test BSNs (9999xxxxx) that pass the 11-proef."""
    out, x = [], start
    while len(out) < n:
        x += 1
        if bsn_is_valid(str(x)):
            out.append(str(x))
    return out


test_bsns.__test__ = False  # type: ignore[attr-defined]
B = test_bsns(12)


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "ieb.toml"
    cfg.write_text(f'database = "sqlite:///{tmp_path / "ieb.sqlite"}"\ngemeenten = ["0363", "0599"]\n')
    return cfg


def _run(cfg: Path, *args: str) -> object:
    return runner.invoke(app, [*args, "--config", str(cfg)])


def _outbox(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "ieb.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])


def _bad_file(tmp_path: Path) -> Path:
    f = tmp_path / "gewenst.csv"
    f.write_text(
        "gemeente,bsn,start,stop\n"
        f"0363,{B[0]},2026-05-01,\n"  # 2 good
        f"0344,{B[1]},2026-05-01,\n"  # 3 unknown gemeente
        f"0363,{B[2]},2026-05-01,2026-04-01\n"  # 4 stop before start
        f"0363,{B[3]},2026-05-01,\n"  # 5 duplicate ...
        f"0363,{B[3]},2026-05-01,\n"  # 6 ... of line 5
        f"0599,{B[4]},2026-03-01,\n"  # 7 overlap ...
        f"0599,{B[4]},2026-05-01,\n"  # 8 ... with line 7
        "0599,999900019,2026-05-01,\n"  # 9 11-proef
        f"0599,{B[5]},2026-05-01,\n"  # 10 good
    )
    return f


def test_every_problem_of_the_file_at_once_with_its_line_and_rule(tmp_path: Path) -> None:
    cfg, f = _config(tmp_path), _bad_file(tmp_path)
    result = _run(cfg, "plan", str(f), "--queue", "--today", TODAY)
    assert result.exit_code == 1, result.output
    err = result.stderr
    # the unknown gemeente does not hide the other problems
    assert f"{f}:3: kolom gemeente: gemeente 0344 staat niet in ieb.toml" in err
    assert f"{f}:4: kolom stop:" in err and "ligt voor start" in err and "(TR328)" in err
    assert f"{f}:5:" in err and "twee keer" in err and "regels 5, 6" in err
    assert f"{f}:7:" in err and "overlappen" in err and "regels 7, 8" in err and "(OP291)" in err
    assert f"{f}:9: kolom bsn:" in err and "(11-proef) -> controleer het BSN (9 cijfers) (CS002)" in err
    assert f"{f}:2:" not in err and f"{f}:10:" not in err
    assert B[2] not in result.output and "999900019" not in result.output
    assert _outbox(tmp_path) == 0  # nothing planned


@pytest.mark.parametrize("queue", [True, False], ids=["queue", "preview"])
def test_partial_plans_the_good_rows_and_exits_3(tmp_path: Path, queue: bool) -> None:
    cfg, f = _config(tmp_path), _bad_file(tmp_path)
    args = ["plan", str(f), "--partial", "--today", TODAY, *(["--queue"] if queue else [])]
    result = _run(cfg, *args)
    assert result.exit_code == 3, result.output
    assert "niet gepland:" in result.stderr and f"{f}:4:" in result.stderr and "(TR328)" in result.stderr
    assert "2 bericht(en) gepland" in result.stdout
    assert _outbox(tmp_path) == (2 if queue else 0)
    if queue:  # planning the same file again: the good rows are done, the bad ones still refused
        again = _run(cfg, *args)
        assert again.exit_code == 3 and "0 bericht(en) gepland" in again.stdout
        assert _outbox(tmp_path) == 2


def test_exit_codes_0_1_and_2(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    good = tmp_path / "goed.csv"
    good.write_text(f"gemeente,bsn,start\n0363,{B[0]},2026-05-01\n")
    ok = _run(cfg, "plan", str(good), "--queue", "--today", TODAY)
    assert ok.exit_code == 0 and "1 bericht(en) gepland" in ok.stdout
    assert _run(cfg, "plan", str(tmp_path / "nergens.csv")).exit_code == 2
    bad = tmp_path / "fout.csv"
    bad.write_text(f"gemeente,bsn,start\n0363,{B[1]},2026-13-01\n")
    assert _run(cfg, "plan", str(bad), "--queue", "--today", TODAY).exit_code == 1


def test_a_history_refusal_names_the_line_of_the_person(tmp_path: Path) -> None:
    """A refusal only the ledger can find (TR114: a start moved more than 36 months back) carries
    the line of the person's row, in the clerk's words with the rule code after it."""
    cfg = _config(tmp_path)
    first = tmp_path / "juli.csv"
    first.write_text(f"gemeente,bsn,start\n0363,{B[0]},2020-07-01\n0363,{B[1]},2020-07-01\n")
    assert _run(cfg, "plan", str(first), "--queue", "--today", "2020-08-01").exit_code == 0
    moved = tmp_path / "later.csv"
    moved.write_text(f"gemeente,bsn,start\n0363,{B[1]},2020-07-01\n0363,{B[0]},2020-07-02\n")
    result = _run(cfg, "plan", str(moved), "--queue", "--partial", "--today", "2023-08-15")
    assert result.exit_code == 3, result.output
    assert f"{moved}:3:" in result.stderr and "(TR114, retourcode 9114)" in result.stderr
    refused = _run(cfg, "plan", str(moved), "--queue", "--today", "2023-08-15")
    assert refused.exit_code == 1 and f"{moved}:3:" in refused.stderr


def test_a_future_dagtekening_is_refused_unless_forced(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    good = tmp_path / "goed.csv"
    good.write_text(f"gemeente,bsn,start\n0363,{B[0]},2098-12-20\n")
    refused = _run(cfg, "plan", str(good), "--queue", "--today", "2099-01-01")
    assert refused.exit_code == 2 and "8848" in refused.output and "--force-today" in refused.output
    assert not (tmp_path / "ieb.sqlite").exists() or _outbox(tmp_path) == 0
    forced = _run(cfg, "plan", str(good), "--today", "2099-01-01", "--force-today")
    assert forced.exit_code == 0, forced.output
    assert _run(cfg, "queue", str(good), "--today", "2099-01-01").exit_code == 2


def test_the_logboek_records_every_plan_queue_and_requeue(tmp_path: Path) -> None:
    cfg, f = _config(tmp_path), _bad_file(tmp_path)
    _run(cfg, "plan", str(f), "--today", TODAY)  # fails: logged as mislukt
    _run(cfg, "plan", str(f), "--queue", "--partial", "--today", TODAY)
    _run(cfg, "requeue", "--dead")
    shown = _run(cfg, "logboek", "--format", "json")
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.stdout)
    assert [r["opdracht"] for r in rows] == ["requeue --dead", "plan --queue", "plan"]
    requeue, queued, failed = rows
    digest = hashlib.sha256(f.read_bytes()).hexdigest()
    assert queued["sha256"] == digest and queued["bestand"] == str(f)
    assert queued["berichten"] == 2 and queued["geweigerd"] == 7 and queued["uitkomst"] == "deels"
    assert queued["vastgelegd"] is True and queued["gemeenten"] == "0363,0599" and queued["gebruiker"]
    assert failed["uitkomst"] == "mislukt" and failed["vastgelegd"] is False and failed["berichten"] == 0
    assert requeue["uitkomst"] == "ok" and requeue["bestand"] == ""
    text = _run(cfg, "logboek", "-n", "2")
    assert text.exit_code == 0 and text.stdout.count("\n") == 2 and "plan --queue" in text.stdout
    assert B[0] not in shown.stdout + text.stdout


def test_json_output_lists_the_refused_rows_with_their_lines_and_exits_3(tmp_path: Path) -> None:
    cfg, f = _config(tmp_path), _bad_file(tmp_path)
    result = _run(cfg, "plan", str(f), "--queue", "--partial", "--format", "json", "--today", TODAY)
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    assert len(data["berichten"]) == 2 and _outbox(tmp_path) == 2
    lines = [p.split(":")[1] for p in data["niet_gepland"]]
    assert lines == ["3", "4", "5", "7", "9"]  # in line order; 6 and 8 are named in 5's and 7's text


def test_desired_from_records_names_every_bad_record_not_only_the_first() -> None:
    from ieb.ledger.planner import desired_from_records
    from ieb.tabular import TableError

    records = [
        {"bsn": B[0], "start": "2026-01-01"},
        {"bsn": "999900019", "start": "2026-01-01"},
        {"bsn": B[1], "start": "2026-13-01"},
    ]
    with pytest.raises(TableError) as info:
        desired_from_records(records, source="beleid")
    assert [(i.line, i.column) for i in info.value.issues] == [(2, "bsn"), (3, "start")]
    assert info.value.location == "beleid:2"


def test_geweigerd_counts_rows_in_every_output_format(tmp_path: Path) -> None:
    """The same file gives the same 'geweigerd' (7 rows left out) for a preview, a streamed
    ``--queue`` and a ``--queue --format json`` (the trial found 6 problems next to 7 rows)."""
    cfg, f = _config(tmp_path), _bad_file(tmp_path)
    preview = _run(cfg, "plan", str(f), "--partial", "--today", TODAY)
    assert preview.exit_code == 3 and "7 regel(s) niet gepland (exitcode 3)" in preview.stdout
    as_json = _run(cfg, "plan", str(f), "--queue", "--partial", "--format", "json", "--today", TODAY)
    assert as_json.exit_code == 3, as_json.output
    rows = json.loads(_run(cfg, "logboek", "--format", "json").stdout)
    assert [(r["opdracht"], r["geweigerd"]) for r in rows] == [("plan --queue", 7), ("plan", 7)]
