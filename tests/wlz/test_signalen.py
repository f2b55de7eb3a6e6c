"""The 'Done means' of issue 24: a generated signal report for 500 persons gives exactly the
expected proposals; accepting them and planning produces stop messages the simulator accepts.

The persons (test BSNs, gemeente 0363, fixed dates; received on TODAY = 2026-06-15):

* 250 with a running eigen bijdrage, Wlz from 2026-05-01        -> stop 2026-04-30
* 50 with a running eigen bijdrage, Wlz from 2025-10-01 (long)  -> stop on receipt, 2026-06-15
* 30 with only woonvoorzieningen (13)                           -> doorlopen
* 15 with begeleiding (02) and a hulpmiddel (14)                -> doorlopen (mixed)
* 15 with begeleiding (02) only                                 -> stop 2026-04-30
* 60 never had an eigen bijdrage, 20 whose ended in February    -> nothing to do
* 25 rows repeat signals of an earlier report, 5 rows repeat a row of this report -> duplicates
* 30 broken rows: 10 failing the 11-proef, 10 without ingangsdatum, 10 with an impossible date
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.exchange import Exchange
from ieb.testing.demo import demo_bsns
from ieb.testing.pki import TestPki
from ieb.wlz import WlzSignalen
from ieb.wlz.sources import read_voorzieningen_file
from tests.wlz.conftest import TODAY, make_config, plan_and_send, send_through_simulator

D = dt.date
P = demo_bsns(500)
STOP_MAY = P[0:250] + P[345:360]
STOP_RECEIPT = P[250:300]
KEEP = P[300:345]
NO_EB = P[360:440]
EARLIER = P[440:465]
EARLIER_DAY = D(2026, 6, 8)


def _row(bsn: str, naam: str, ingang: str, afgifte: str = "20-04-2026") -> str:
    return f"{bsn};{naam};10-03-2026;{afgifte};{ingang};0363"


def _reports(tmp: Path) -> tuple[Path, Path]:
    head = "bsn;naam;aanvraagdatum;afgiftedatum;ingangsdatum;gemeentecode"
    earlier = [_row(b, f"Eerder {i}", "01-05-2026") for i, b in enumerate(EARLIER)]
    lines = [head]
    lines += [_row(b, f"Persoon {i}", "01-05-2026") for i, b in enumerate(P[0:250])]
    lines += [_row(b, f"Lang {i}", "01-10-2025", afgifte="15-09-2025") for i, b in enumerate(P[250:300])]
    lines += [_row(b, f"Wonen {i}", "01-05-2026") for i, b in enumerate(P[300:360])]
    lines += [_row(b, f"Zonder {i}", "01-05-2026") for i, b in enumerate(NO_EB)]
    lines += earlier  # duplicates of the earlier report
    lines += [_row(b, f"Persoon {i}", "01-05-2026") for i, b in enumerate(P[0:5])]  # twice in this report
    bad = [b[:8] + str((int(b[8]) + 1) % 10) for b in P[465:475]]  # the 11-proef fails
    lines += [_row(b, "Fout", "01-05-2026") for b in bad]
    lines += [_row(b, "Zonder ingang", "") for b in P[475:485]]
    lines += [_row(b, "Onmogelijk", "31-02-2026") for b in P[485:495]]
    assert len(lines) - 1 == 500
    first, second = tmp / "signalen-eerder.csv", tmp / "signalen.csv"
    first.write_text("\n".join([head, *earlier]) + "\n", encoding="utf-8")
    second.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return first, second


def _ledger(ex: Exchange) -> list[dict[str, str]]:
    """Running eigen bijdrage since 2026-01-01 for the persons with one, ended in February for 20."""
    running = [{"bsn": b, "start": "2026-01-01"} for b in STOP_MAY + STOP_RECEIPT + KEEP + EARLIER]
    ended = [{"bsn": b, "start": "2025-07-01", "stop": "2026-02-28"} for b in NO_EB[60:]]
    return running + ended


@pytest.mark.slow  # ~6-18 s: the default run stays under 5 minutes on 2 cores
def test_500_signals_give_exactly_the_expected_proposals_and_accepted_stops_reach_the_cak(
    pki: TestPki, tmp_path: Path
) -> None:
    ex = Exchange(make_config(pki, tmp_path / "ieb.sqlite"))
    desired = _ledger(ex)
    ex.queue(ex.plan(desired, today=TODAY))
    assert send_through_simulator(ex, pki, tmp_path / "cak.sqlite", today=TODAY) == len(desired) + 20
    st = ex.status(detail=True)
    assert st.deliveries["accepted"] == len(desired) + 20, (
        st.deliveries,
        st.retourcodes,
        [d for d in st.detail if d["outcome"] != "accepted"],
    )

    wlz = WlzSignalen.for_exchange(ex)
    cats = tmp_path / "voorzieningen.csv"
    cats.write_text(
        "bsn;productcategorie;begindatum\n"
        + "".join(f"{b};13;2026-01-01\n" for b in P[300:330])
        + "".join(f"{b};02;2026-01-01\n{b};14;2026-01-01\n" for b in P[330:345])
        + "".join(f"{b};02;2026-01-01\n" for b in P[345:360])
    )
    extra = read_voorzieningen_file(cats, default_gemeente="0363")
    upload = wlz.upload(tmp_path / "upload.csv", peildatum=EARLIER_DAY, extra=extra)
    assert (upload.personen, upload.beeindigd) == (len(STOP_MAY + STOP_RECEIPT + KEEP + EARLIER), 0)

    first, second = _reports(tmp_path)
    assert wlz.signalen(first, ontvangen=EARLIER_DAY).counts()["stop"] == 25
    result = wlz.signalen(second, ontvangen=TODAY)

    assert result.counts() == {"stop": 315, "doorlopen": 45, "geen": 80, "dubbel": 30, "geweigerd": 30}
    got = {(b, p.voorstel, p.datum) for b, _, _, p in result.nieuw}
    from ieb.types import mask_bsn

    expected = (
        {(mask_bsn(b), "stop", D(2026, 4, 30)) for b in STOP_MAY}
        | {(mask_bsn(b), "stop", D(2026, 6, 15)) for b in STOP_RECEIPT}
        | {(mask_bsn(b), "doorlopen", None) for b in KEEP}
        | {(mask_bsn(b), "geen", None) for b in NO_EB}
    )
    assert got == expected
    assert [(i.line, i.column) for i in result.geweigerd] == (
        [(n, "bsn") for n in range(472, 482)]
        + [(n, "ingangsdatum") for n in range(482, 492)]
        + [(n, "ingangsdatum") for n in range(492, 502)]
    )
    # reading the same report again stores nothing new
    again = wlz.signalen(second, ontvangen=TODAY)
    assert again.counts() == {"stop": 0, "doorlopen": 0, "geen": 0, "dubbel": 470, "geweigerd": 30}
    with ex.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM wlz_signals")).scalar_one() == 465

    # nothing is applied without a decision: planning the same desired state changes nothing
    assert ex.plan(desired, today=TODAY).messages == []

    decisions = tmp_path / "besluiten.csv"
    decisions.write_text(
        "bsn;besluit;stopdatum\n"
        + "".join(f"{b};akkoord;\n" for b in STOP_MAY + STOP_RECEIPT + KEEP)
        + "".join(f"{b};stop;2026-05-31\n" for b in EARLIER)
    )
    done = wlz.besluiten_csv(decisions)
    assert sum(r.besluit == "stop" for r in done) == 340 and sum(r.besluit == "doorlopen" for r in done) == 45
    summary = wlz.summary(today=TODAY)
    assert (summary["open"], summary["besloten"], summary["geen_actie"]) == (0, 385, 80)

    # the accepted stops are part of the desired state the planner uses: the clerk's file still
    # shows everyone running, persons missing from it are added from the ledger
    ex.desired_overlay = wlz.overlay
    partial_file = [r for r in desired if r["bsn"] not in EARLIER]
    preview = ex.plan(partial_file, today=TODAY)
    stops = {(m.delivery.bsn, m.delivery.datum) for m in preview.messages}
    assert all(m.delivery.bericht == "WMO403" and m.delivery.status == "1" for m in preview.messages)
    assert stops == (
        {(b, D(2026, 4, 30)) for b in STOP_MAY}
        | {(b, D(2026, 6, 15)) for b in STOP_RECEIPT}
        | {(b, D(2026, 5, 31)) for b in EARLIER}
    )
    assert len(preview.messages) == 340
    ex.queue(preview)  # ledger + outbox in one transaction, as `ieb plan --queue`
    assert (
        send_through_simulator(ex, pki, tmp_path / "cak.sqlite", today=TODAY) == 340
    )  # in-process transport
    status = ex.status()
    assert status.deliveries["accepted"] == len(desired) + 20 + 340 and status.deliveries["rejected"] == 0
    # planning again (overlay still on) has nothing left to do
    assert ex.plan(partial_file, today=TODAY).messages == []
    ex.close()


def test_accepted_stops_travel_through_the_in_process_transport(pki: TestPki, tmp_path: Path) -> None:
    """Starts and then the accepted Wlz stops: plan -> queue -> in-process transport -> simulator
    (GGk + CAK) -> retour callback -> ledger, with per-person order."""
    ex = Exchange(make_config(pki, tmp_path / "ieb.sqlite"))
    people = P[:3]
    desired = [{"bsn": b, "start": "2026-01-01"} for b in people]
    assert plan_and_send(ex, desired, pki, tmp_path / "cak.sqlite", today=TODAY) == 3
    wlz = WlzSignalen.for_exchange(ex)
    (tmp_path / "s.csv").write_text("bsn;ingangsdatum\n" + "".join(f"{b};01-05-2026\n" for b in people))
    assert wlz.signalen(tmp_path / "s.csv", ontvangen=TODAY).counts()["stop"] == 3
    wlz.besluit(people[0], akkoord=True)
    wlz.besluit(people[1], stop=D(2026, 5, 31))
    wlz.besluit(people[2], doorlopen=True)
    ex.desired_overlay = wlz.overlay
    queued = ex.queue(ex.plan(desired, today=TODAY))
    assert [d for _, _, _, d in queued.messages] == [
        d for _, _, _, d in queued.messages if d.startswith("WMO403 stop")
    ] and len(queued) == 2
    assert send_through_simulator(ex, pki, tmp_path / "cak.sqlite", today=TODAY) == 2
    status = ex.status()
    assert status.deliveries == {
        "pending": 0,
        "accepted": 5,
        "rejected": 0,
        "technical": 0,
        "not_assessed": 0,
    }
    assert ex.plan(desired, today=TODAY).messages == []
    ex.close()
