"""``ieb status``: rejections open vs resolved, the persons still wrong with the pack's advice,
lateness by Dagtekening (not the row's creation time), and the one-screen text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.cli.ledger import status_lines
from ieb.config import IebConfig
from ieb.exchange import Exchange
from ieb.testing.demo import demo_bsns
from tests.migrated import migrated_sqlite_url

B = demo_bsns(6)
TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def ex(tmp_path: Path) -> Iterator[Exchange]:
    exchange = Exchange(IebConfig(database=migrated_sqlite_url(tmp_path / "ieb.sqlite"), gemeenten=["0363"]))
    yield exchange
    exchange.close()


def _answer(ex: Exchange, bsn: str, outcome: str, codes: str | None = None) -> None:
    """The retour of the person's newest message (the retour itself is tested in tests/exchange)."""
    with ex.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE deliveries SET outcome = :o, retour_codes = :c WHERE id = "
                "(SELECT max(id) FROM deliveries WHERE bsn = :b)"
            ),
            {"o": outcome, "c": codes, "b": bsn},
        )


def test_a_rejection_is_resolved_by_a_later_accepted_message_for_that_person(ex: Exchange) -> None:
    start = (TODAY - dt.timedelta(days=10)).isoformat()
    ex.plan_and_queue([{"bsn": B[0], "start": start}, {"bsn": B[1], "start": start}], today=TODAY)
    _answer(ex, B[0], "rejected", "9102 0233")
    _answer(ex, B[1], "rejected", "9102 0233")
    status = ex.status(today=TODAY)
    assert status.rejections == {"open": 2, "resolved": 0}
    assert {w["bsn"][-3:] for w in status.still_wrong} == {B[0][-3:], B[1][-3:]}
    wrong = status.still_wrong[0]
    assert wrong["code"] == "9102" and wrong["codes"] == ["9102", "0233"]
    assert "EbStartNummer is al gebruikt" in wrong["advice"]  # the pack's hint, not a generic line
    assert wrong["meaning"] and wrong["gemeente_naam"] == "Amsterdam" and not wrong["fix_pending"]
    # the planner sends the start again (a rejected message does not count as sent)
    ex.plan_and_queue([{"bsn": B[0], "start": start}], today=TODAY + dt.timedelta(days=1))
    assert ex.status(today=TODAY).still_wrong[-1]["fix_pending"] or any(
        w["fix_pending"] for w in ex.status(today=TODAY).still_wrong
    )
    _answer(ex, B[0], "accepted", "0200")
    status = ex.status(today=TODAY, detail=True)
    assert status.rejections == {"open": 1, "resolved": 1}
    assert [w["bsn"][-3:] for w in status.still_wrong] == [B[1][-3:]]
    assert status.per_gemeente["0363"]["rejections_open"] == 1
    assert status.deliveries["rejected"] == 2  # the counts of messages stay what they were
    resolved = {r["bsn"][-3:]: r["resolved"] for r in status.detail if r["outcome"] == "rejected"}
    assert resolved == {B[0][-3:]: True, B[1][-3:]: False}
    keys = {
        "gemeente",
        "bericht",
        "identificatie",
        "dagtekening",
        "bsn",
        "eb_start_nummer",
        "status",
        "datum",
    }
    keys |= {"outcome", "retour_codes", "outbox", "referentienummer", "resolved"}
    assert all(set(r) == keys for r in status.detail), status.detail[0]
    data = status.as_dict()
    for key in ("deliveries", "retourcodes", "outbox", "overdue", "overdue_list", "retrying"):
        assert key in data  # the JSON contract keeps its keys
    assert B[0] not in status.as_json(detail=True)


def test_lateness_is_judged_by_the_dagtekening_not_the_rows_creation_time(ex: Exchange) -> None:
    in_time = TODAY - dt.timedelta(days=20)  # deadline TODAY + 10 days
    late = TODAY - dt.timedelta(days=45)  # deadline passed before TODAY
    ex.plan_and_queue([{"bsn": B[2], "start": in_time.isoformat()}], today=TODAY)
    ex.plan_and_queue([{"bsn": B[3], "start": late.isoformat()}], today=TODAY)
    with ex.engine.begin() as conn:  # a rehearsal: the rows were written long after their Dagtekening
        conn.execute(sa.text("UPDATE deliveries SET created_at = '2031-01-01 00:00:00'"))
    status = ex.status(today=TODAY)
    assert [(x["bsn"][-3:], x["kind"], x["when"]) for x in status.overdue_list] == [
        (B[3][-3:], "queued_late", TODAY.isoformat())
    ]


def test_an_acknowledgement_after_the_deadline_is_late_unless_it_comes_from_another_clock(
    ex: Exchange,
) -> None:
    start = TODAY - dt.timedelta(days=20)  # Dagtekening TODAY: in time; deadline TODAY + 10 days
    ex.plan_and_queue([{"bsn": B[4], "start": start.isoformat()}], today=TODAY)

    def acknowledged(at: str) -> list[str]:
        with ex.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE outbox SET status = 'acknowledged', acknowledged_at = :a"), {"a": at}
            )
        return [x["kind"] for x in ex.status(today=TODAY + dt.timedelta(days=40)).overdue_list]

    assert acknowledged(f"{TODAY + dt.timedelta(days=2)} 10:00:00") == []
    assert acknowledged(f"{TODAY + dt.timedelta(days=20)} 10:00:00") == ["sent_late"]
    # after the peildatum: the machine's clock during a rehearsal, not used
    assert acknowledged(f"{TODAY + dt.timedelta(days=400)} 10:00:00") == []


def test_status_text_fits_one_screen_however_much_is_wrong() -> None:
    wrong = [
        {
            "gemeente": "0363",
            "bsn": f"******{i:03d}",
            "bericht": "WMO401",
            "dagtekening": "2026-06-01",
            "code": f"9{i % 8:03d}",
            "meaning": "betekenis",
            "advice": "doe dit",
            "fix_pending": i % 2 == 0,
        }
        for i in range(300)
    ]
    many = [{"referentienummer": f"ref-{i}", "status": "dead", "reason": "kapot"} for i in range(50)]
    data = {
        "release": "ieb-4.0",
        "gemeenten": ["0363", "0599"],
        "gemeente_namen": {"0363": "Amsterdam", "0599": "Rotterdam"},
        "deliveries": {"accepted": 4000, "pending": 3, "rejected": 300},
        "outbox": {"pending": 1, "sending": 0, "acknowledged": 4000, "failed": 1, "dead": 50},
        "rejections": {"open": 300, "resolved": 44},
        "still_wrong": wrong,
        "retourcodes": {f"9{i:03d}": 3 for i in range(20)},
        "dead_letters": many,
        "failed_inbox": many,
        "retrying": [
            {"referentienummer": f"r{i}", "status": "pending", "attempts": 2, "reason": "weg"}
            for i in range(30)
        ],
        "overdue_list": [{"kind": "queued_late"}] * 3969,
    }
    lines = status_lines(data, detail=False)
    assert len(lines) <= 40, "\n".join(lines)
    text = "\n".join(lines)
    assert "Nog fout (300 persoon/personen; de nieuwste 10)" in text and "... en 290 meer" in text
    assert "Te laat (meer dan een maand na EbStartdatum, naar Dagtekening): 3969" in text
    assert "ieb status --detail" in text and "Amsterdam" in text
    for word in ("pending", "acknowledged", "dead letter"):
        assert word not in text
