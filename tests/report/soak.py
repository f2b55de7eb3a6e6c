"""A year of the monthly cycle for three gemeenten on SQLite, through the real parts.

Every month (2021-01 .. 2021-12): the full desired situation per gemeente goes through
:meth:`Exchange.plan_and_queue`; the outbox is drained by claiming and acknowledging with the
month's clock (the GGk's acknowledgement, no network); the simulated CAK (:class:`CakSimulator`,
its own SQLite ledger) judges every heenbericht and its retour file goes through
:meth:`Exchange.process_retour_files`, as ``ieb retour`` does. So the report reads a ledger the real
planner, outbox, CAK rules and retour processing wrote.

Scripted events: the initial load in January (many starts, a few already late); every month new
starts (one late), some stops; in March the CAK's date is a day behind for Rotterdam (8848 for the
month, fixed in April); in June 's-Gravenhage is missing from the CAK's gemeente list (S300, fixed in
July); in August the GGk is unreachable for the first attempt (an incident); in December the CAK's
date is behind for Amsterdam again (8848, still open at the peildatum).

Run it alone: ``python -m tests.report.soak OUT_DIR`` writes ``OUT_DIR/rapport.html``.
"""

from __future__ import annotations

import copy as copylib
import datetime as dt
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ieb.config import IebConfig
from ieb.exchange import Exchange
from ieb.ledger import open_database
from ieb.simulator.cak import CakConfig, CakSimulator
from ieb.testing.demo import demo_bsns
from ieb.validation.gemeenten import GemeenteLijst, bundled_gemeenten

GEMEENTEN = ("0363", "0518", "0599")
YEAR = 2021
#: the peildatum of the report after the year
PEILDATUM = dt.date(YEAR, 12, 20)
INITIAL = 60  # persons per gemeente in the initial load
NEW = 5  # new persons per gemeente per month (one of them late)


@dataclass
class Soak:
    """The outcome: the gemeente's database (``db``), the CAK's (``cak_db``), the persons per
    gemeente, what was scripted (``expect_resolved_codes``, ``expect_open``: (gemeente, code))."""

    db: Path
    cak_db: Path
    config: IebConfig
    persons: dict[str, dict[str, dict[str, Any]]]
    expect_open: tuple[str, str] = ("0363", "8848")
    expect_resolved_codes: tuple[str, ...] = ("8848", "S300")


def _records(persons: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, str]]:
    rows = []
    for g, people in persons.items():
        for bsn, p in people.items():
            rows.append(
                {
                    "gemeente": g,
                    "bsn": bsn,
                    "start": p["start"].isoformat(),
                    "stop": p["stop"].isoformat() if p.get("stop") else "",
                }
            )
    return rows


def _drain(ex: Exchange, *, outage: bool = False) -> int:
    """Claim and acknowledge every due outbox row; with ``outage`` the first round fails (retry an
    hour later, as the sender does when the GGk cannot be reached). The outbox runs on the machine's
    clock, as ``ieb serve`` does in a rehearsal: its acknowledgement times lie after the rehearsed
    Dagtekening and the peildatum, so the status does not use them (docs/exchange.md)."""
    sent = 0
    now = dt.datetime.now(dt.UTC)
    clock = [now]
    outbox = ex.outbox(clock=lambda: clock[0])
    if outage:
        for msg in outbox.claim(limit=10_000):
            outbox.retry_later(msg, "verbinding met de GGk geweigerd (Connection refused)", 3600)
        clock[0] = now + dt.timedelta(hours=2)
    while True:
        claimed = outbox.claim(limit=10_000)
        if not claimed:
            return sent
        for msg in claimed:
            outbox.acknowledge(msg)
            sent += 1


def _answer(ex: Exchange, cak: CakSimulator, folder: Path, day: dt.date, cak_day: dict[str, dt.date]) -> None:
    """The CAK judges every heenbericht without a retour; the retours go through ``ieb retour``."""
    with ex.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, afzender, payload FROM deliveries WHERE outcome = 'pending' ORDER BY id")
        ).all()
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for row in rows:
        result = cak.process(bytes(row.payload), today=cak_day.get(row.afzender, day))
        assert result.retour is not None, result.reason
        path = folder / f"retour-{row.id}.xml"
        path.write_bytes(result.retour)
        files.append(path)
    done, failed = ex.process_retour_files(files, today=day)
    assert not failed, failed
    assert len(done) == len(rows)


def _config(folder: Path) -> IebConfig:
    return IebConfig(
        database=f"sqlite:///{folder / 'ieb.sqlite'}", gemeenten=list(GEMEENTEN), release="ieb-1.0"
    )


def copy(year: Soak, folder: Path) -> Soak:
    """A copy of a finished year in ``folder`` (which must not exist): its databases (closed, so
    whole files) and retour files, with the configuration pointing at the copy. Tests that change the
    year work on a copy of a year run once per session (tests/report/conftest.py)."""
    shutil.copytree(year.db.parent, folder)
    return Soak(
        folder / year.db.name,
        folder / year.cak_db.name,
        _config(folder),
        copylib.deepcopy(year.persons),
        year.expect_open,
        year.expect_resolved_codes,
    )


def run(folder: Path) -> Soak:
    """Run the year into ``folder`` (databases, retour files) and return what was made."""
    folder.mkdir(parents=True, exist_ok=True)
    config = _config(folder)
    ex = Exchange(config)
    cak_engine = open_database(f"sqlite:///{folder / 'cak.sqlite'}")
    full = bundled_gemeenten()
    without_0518 = GemeenteLijst([g for g in full.valid_on(dt.date(YEAR, 6, 1)) if g.code != "0518"])
    bsns = iter(demo_bsns(len(GEMEENTEN) * (INITIAL + 12 * NEW) + 10))
    persons: dict[str, dict[str, dict[str, Any]]] = {g: {} for g in GEMEENTEN}
    try:
        for month in range(1, 13):
            day = dt.date(YEAR, month, 5)  # the Dagtekening of this month's round
            first = dt.date(YEAR, month, 1)
            for g in GEMEENTEN:
                people = persons[g]
                if month == 1:
                    for i in range(INITIAL):
                        start = dt.date(YEAR - 1, 11, 1) if i < 3 else first  # three already late
                        people[next(bsns)] = {"start": start}
                else:
                    prev = (first - dt.timedelta(days=1)).replace(day=10)  # the 10th of last month: in time
                    for i in range(NEW):
                        start = prev - dt.timedelta(days=40) if i == 0 else prev  # one late
                        people[next(bsns)] = {"start": start}
                    running = [b for b, p in people.items() if not p.get("stop") and p["start"] < prev]
                    for b in running[:2]:
                        people[b]["stop"] = first - dt.timedelta(days=1)
            ex.plan_and_queue(_records(persons), today=day)
            _drain(ex, outage=month == 8)
            behind = day - dt.timedelta(days=1)
            cak_day = {"0599": behind} if month == 3 else {"0363": behind} if month == 12 else {}
            cak_config = CakConfig(release="ieb-1.0", gemeenten=without_0518 if month == 6 else full)
            cak = CakSimulator(cak_engine, cak_config, today=day)
            _answer(ex, cak, folder / "retouren" / f"{YEAR}-{month:02d}", day, cak_day)
    finally:
        ex.close()
        cak_engine.dispose()
    return Soak(folder / "ieb.sqlite", folder / "cak.sqlite", config, persons)


def _main(argv: list[str]) -> int:
    from ieb.report import write_report

    folder = Path(argv[0] if argv else "soak")
    soak = run(folder)
    ex = Exchange(soak.config)
    try:
        out = write_report(ex, folder / "rapport.html", today=PEILDATUM)
        print(ex.status(today=PEILDATUM).as_json()[:2000])
    finally:
        ex.close()
    print(f"rapport: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
