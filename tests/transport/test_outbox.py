"""The durable outbox: persist first, lease, retry with the same referentienummer, dead-letter,
share one database between senders, and survive kill -9."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.ggk import Bv03, Fo03, Stuurgegevens, Systeem, build, bv03_for, fo03_for, new_di01, parse
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import DeliveryRejectedError, SendResult, TransientSendError
from ieb.transport.outbox import ClaimedMessage, Outbox, ledger_tables, open_ledger
from ieb.transport.sender import RetryPolicy, Sender
from ieb.transport.server import HttpsServer, Receiver
from ieb.transport.tls import TlsFiles
from tests.migrated import migrated_sqlite_url
from tests.pgdb import create_database

FAST = RetryPolicy(
    max_attempts=5,
    attempts_per_claim=2,
    backoff_initial=0.001,
    backoff_max=0.01,
    requeue_initial=0.01,
    requeue_max=0.05,
)


def _envelope() -> tuple[str, bytes]:
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    return di01.referentienummer, build(di01)


def _fill(outbox: Outbox, n: int) -> list[str]:
    refs = []
    for _ in range(n):
        ref, env = _envelope()
        outbox.enqueue(env, referentienummer=ref, afzender="0363", functie="WMO401", payload=b"<x/>")
        refs.append(ref)
    return refs


def _ok(envelope: bytes) -> SendResult:
    return SendResult(bv03=bv03_for(parse(envelope)), status=200, seconds=0.0)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = open_ledger(migrated_sqlite_url(tmp_path / "outbox.sqlite"))
    yield eng
    eng.dispose()


def test_enqueue_persists_before_sending_and_is_idempotent(engine: sa.Engine) -> None:
    outbox = Outbox(engine)
    ref, env = _envelope()
    a = outbox.enqueue(env, referentienummer=ref, afzender="0363", functie="WMO401")
    b = outbox.enqueue(env, referentienummer=ref, afzender="0363", functie="WMO401")
    assert a == b
    row = outbox.find(ref)
    assert row is not None and row["status"] == "pending" and bytes(row["envelope"]) == env
    assert outbox.counts()["pending"] == 1


def test_retries_send_the_same_envelope_then_acknowledge(engine: sa.Engine) -> None:
    outbox = Outbox(engine)
    [ref] = _fill(outbox, 1)
    seen: list[bytes] = []

    def flaky(envelope: bytes) -> SendResult:
        seen.append(envelope)
        if len(seen) < 4:
            raise TransientSendError("HTTP 503", status=503)
        return _ok(envelope)

    result = Sender(outbox, flaky, policy=FAST).drain(workers=1, timeout=20)
    assert result.acknowledged == 1
    assert len(seen) == 4 and len(set(seen)) == 1  # same bytes, same referentienummer each time
    assert parse(seen[0]).referentienummer == ref
    row = outbox.find(ref)
    assert row is not None and row["status"] == "acknowledged" and row["attempts"] == 4


def test_an_unexpected_error_requeues_and_the_worker_survives(engine: sa.Engine) -> None:
    outbox = Outbox(engine)
    refs = _fill(outbox, 3)
    calls: list[bytes] = []

    def buggy(envelope: bytes) -> SendResult:
        calls.append(envelope)
        if len(calls) == 1:
            raise RuntimeError("a bug, not a network problem")
        return _ok(envelope)

    result = Sender(outbox, buggy, policy=FAST).drain(workers=1, timeout=20)
    assert result.acknowledged == 3  # the single worker kept going
    first = outbox.find(parse(calls[0]).referentienummer)
    assert first is not None and first["status"] == "acknowledged" and first["attempts"] == 2
    assert sorted(parse(c).referentienummer for c in calls[1:]) == sorted(refs)


def test_dead_letter_after_max_attempts_with_the_reason(engine: sa.Engine) -> None:
    outbox = Outbox(engine)
    [ref] = _fill(outbox, 1)
    calls = []

    def down(envelope: bytes) -> SendResult:
        calls.append(1)
        raise TransientSendError("verbinding geweigerd")

    result = Sender(outbox, down, policy=FAST).drain(workers=1, timeout=20)
    assert result.dead == 1
    row = outbox.find(ref)
    assert row is not None and row["status"] == "dead"
    assert row["attempts"] == FAST.max_attempts == len(calls)
    assert "verbinding geweigerd" in row["last_error"]


def test_fo03_is_a_permanent_failure(engine: sa.Engine) -> None:
    outbox = Outbox(engine)
    [ref] = _fill(outbox, 1)

    def refuse(envelope: bytes) -> SendResult:
        fo03: Fo03 = fo03_for(parse(envelope), "IB213", zender=Systeem(organisatie="CAK", applicatie="GGk"))
        raise DeliveryRejectedError(fo03, status=500)

    assert Sender(outbox, refuse, policy=FAST).drain(workers=1, timeout=20).failed == 1
    row = outbox.find(ref)
    assert row is not None and row["status"] == "failed" and "IB213" in row["last_error"]


def test_claims_are_exclusive_between_workers(engine: sa.Engine) -> None:
    a, b = Outbox(engine, worker_id="a"), Outbox(engine, worker_id="b")
    _fill(a, 20)
    claimed: list[list[int]] = [[], []]

    def grab(box: Outbox, into: list[int]) -> None:
        while True:
            got = box.claim(3)
            if not got:
                return
            into.extend(m.id for m in got)

    threads = [
        threading.Thread(target=grab, args=(box, into)) for box, into in zip((a, b), claimed, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed[0] + claimed[1]) == sorted(set(claimed[0] + claimed[1]))
    assert len(claimed[0]) + len(claimed[1]) == 20


def test_expired_lease_is_claimed_again_with_the_same_referentienummer(engine: sa.Engine) -> None:
    # a driven clock: the lease expires because the test says so, not because the machine was slow
    now = [dt.datetime(2026, 5, 20, 9, 0, tzinfo=dt.UTC)]

    def clock() -> dt.datetime:
        return now[0]

    crashed = Outbox(engine, worker_id="crashed", lease_seconds=120, clock=clock)
    [ref] = _fill(crashed, 1)
    [first] = crashed.claim(1)
    now[0] += dt.timedelta(seconds=119)
    assert Outbox(engine, worker_id="other", clock=clock).claim(1) == []  # lease still held
    now[0] += dt.timedelta(seconds=2)
    [again] = Outbox(engine, worker_id="other", clock=clock).claim(1)
    assert again.referentienummer == ref == first.referentienummer and again.attempts == 2
    assert crashed.acknowledge(first) is False  # the old lease holder cannot finish it any more


# ----------------------------------------------------------------------------- PostgreSQL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    given = os.environ.get("IEB_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on PATH")
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="ieb-pg-outbox-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if not runuser:
            pytest.skip("PostgreSQL cannot run as root and runuser is missing")
        prefix = [runuser, "-u", "postgres", "--"]
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()
    data = base / "data"

    def run(*args: str) -> None:
        proc = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            pytest.skip(f"PostgreSQL could not start: {proc.stderr.strip()[:300]}")

    run(initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(pg_ctl, "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, check=False
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.postgres
def test_several_senders_share_one_postgresql_outbox_without_sending_twice(pg_url: str) -> None:
    url = create_database(pg_url, "ieb_outbox_")
    engine = open_ledger(url)
    try:
        _fill(Outbox(engine), 60)
        sent: list[str] = []
        lock = threading.Lock()

        def record(envelope: bytes) -> SendResult:
            with lock:
                sent.append(parse(envelope).referentienummer)
            time.sleep(0.002)
            return _ok(envelope)

        senders = [Sender(Outbox(engine, worker_id=f"w{i}"), record, policy=FAST) for i in range(3)]
        threads = [threading.Thread(target=s.drain, kwargs={"workers": 3, "timeout": 60}) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(sent) == 60 and len(set(sent)) == 60
        assert Outbox(engine).counts()["acknowledged"] == 60
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------- kill -9

SENDER_SCRIPT = textwrap.dedent(
    """
    import sys
    from ieb.transport.client import GgkClient
    from ieb.transport.outbox import Outbox, open_ledger
    from ieb.transport.sender import RetryPolicy, Sender
    from ieb.transport.tls import TlsFiles

    db, url, cert, key, ca = sys.argv[1:6]
    engine = open_ledger(db)
    client = GgkClient(url, tls=TlsFiles(cert, key, ca), connect_timeout=1, operation_timeout=2)
    policy = RetryPolicy(max_attempts=50, attempts_per_claim=2, backoff_initial=0.01, backoff_max=0.1,
                         requeue_initial=0.05, requeue_max=0.5)
    Sender(Outbox(engine, lease_seconds=3.5), client.send, policy=policy).drain(workers=3, timeout=60)
    """
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def test_kill_9_mid_run_then_restart_loses_nothing_and_sends_nothing_twice(
    pki: TestPki, tmp_path: Path
) -> None:
    g, k = pki.party("0363"), pki.party("GGK")
    receiver_engine = open_ledger(migrated_sqlite_url(tmp_path / "cak-side.sqlite"))
    processed: list[str] = []
    lock = threading.Lock()

    def handler(envelope: object, entry: object) -> str:
        with lock:
            processed.append(entry.referentienummer)  # type: ignore[attr-defined]
        time.sleep(0.01)  # slow enough for the kill to land mid-run
        return "ok"

    app = Receiver(receiver_engine, organisatie="CAK", allowed_oins={g.oin}, handler=handler)
    server = HttpsServer(app, TlsFiles(k.chain, k.key, pki.roots), threads=6).start()
    db = f"sqlite:///{tmp_path / 'gemeente.sqlite'}"
    engine = open_ledger(db)
    outbox = Outbox(engine)
    refs = _fill(outbox, 80)
    args = [sys.executable, "-c", SENDER_SCRIPT, db, server.url, str(g.chain), str(g.key), str(pki.roots)]
    try:
        first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while outbox.counts()["acknowledged"] < 15 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        counts = outbox.counts()
        assert 0 < counts["acknowledged"] < 80, counts  # killed mid-run
        second = subprocess.run(args, timeout=120, capture_output=True, check=False)
        assert second.returncode == 0, second.stderr.decode()[-2000:]
        assert outbox.counts()["acknowledged"] == 80
        t = ledger_tables().inbox
        with receiver_engine.connect() as conn:
            stored = [r.referentienummer for r in conn.execute(sa.select(t.c.referentienummer))]
        assert sorted(stored) == sorted(refs)  # lost: 0
        assert sorted(processed) == sorted(refs)  # each processed exactly once: duplicates 0
    finally:
        server.stop()
        receiver_engine.dispose()
        engine.dispose()


def test_bv03_helpers_are_schema_valid() -> None:
    bv = Bv03(
        stuurgegevens=Stuurgegevens(
            berichtcode="Bv03",
            zender=Systeem(organisatie="CAK", applicatie="GGk"),
            ontvanger=Systeem(organisatie="0363", applicatie="ieb"),
            referentienummer=str(uuid.uuid4()),
            tijdstip_bericht="20260101120000",
            cross_refnummer=str(uuid.uuid4()),
        )
    )
    assert b"Bv03Bericht" in build(bv)


# ----------------------------------------------------------------------------- leases and conflicts


class _SlowTransport:
    """A transport whose every send takes ``seconds`` (declared as its ``max_seconds``)."""

    def __init__(self, seconds: float, max_seconds: float | None = None) -> None:
        self.seconds = seconds
        self.max_seconds = max_seconds if max_seconds is not None else seconds
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def send(self, envelope: bytes) -> SendResult:
        with self.lock:
            self.sent.append(parse(envelope).referentienummer)
        time.sleep(self.seconds)
        return _ok(envelope)


def test_a_lease_shorter_than_one_attempt_is_refused(engine: sa.Engine) -> None:
    from ieb.transport.outbox import OutboxError

    with pytest.raises(OutboxError, match="korter dan een volledige poging"):
        Sender(Outbox(engine, lease_seconds=0.5), _SlowTransport(1.2), policy=FAST)


def test_a_slow_send_keeps_its_lease_and_no_row_is_sent_twice(engine: sa.Engine) -> None:
    """A send that lasts three leases: the heartbeat renews the lease, so another worker never takes
    over the row in flight (before the fix: the row was sent twice). The lease clock is driven (as
    in the expired-lease test): the send moves it on by a third of a lease only after a renewal, and
    after each move the other worker tries to claim the row. So the test cannot fail under load: a
    slow heartbeat only makes the send wait for it (a heartbeat that never comes fails the test)."""
    now = [dt.datetime(2026, 5, 20, 9, 0, tzinfo=dt.UTC)]
    renewed = threading.Event()

    def clock() -> dt.datetime:
        return now[0]

    class _Watched(Outbox):
        def renew(self, msg: ClaimedMessage) -> bool:
            ok = super().renew(msg)
            renewed.set()
            return ok

    [ref] = _fill(Outbox(engine, clock=clock), 1)
    worker = _Watched(engine, worker_id="w1", lease_seconds=0.3, clock=clock)
    other = Outbox(engine, worker_id="w2", lease_seconds=0.3, clock=clock)
    taken: list[object] = []

    class _Steps(_SlowTransport):  # declares 0.3 s but lasts three leases of the driven clock
        def send(self, envelope: bytes) -> SendResult:
            self.sent.append(parse(envelope).referentienummer)
            for _ in range(9):
                renewed.clear()
                assert renewed.wait(60), "no lease renewal during the send (no heartbeat)"
                now[0] += dt.timedelta(seconds=0.1)  # a third of the lease after the renewal
                taken.extend(other.claim(1))  # the other worker tries to take the row over
            return _ok(envelope)

    transport = _Steps(0.0, max_seconds=0.3)
    [msg] = worker.claim(1)
    assert Sender(worker, transport, policy=FAST).process(msg) == "acknowledged"
    assert taken == []  # three leases long, and never free for another worker
    assert transport.sent == [ref]
    assert Outbox(engine).counts()["acknowledged"] == 1


def test_an_expired_lease_is_reported_not_acknowledged(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that lost its row to another worker reports ``lease_lost`` and records nothing."""
    _fill(Outbox(engine), 1)
    slow = Outbox(engine, worker_id="slow", lease_seconds=0.3)
    other = Outbox(engine, worker_id="other", lease_seconds=30)
    (msg,) = slow.claim(1)
    outcomes: list[str] = []

    def stolen_then_ok(envelope: bytes) -> SendResult:
        time.sleep(0.4)
        assert other.claim(1)  # the lease expired (no heartbeat here): another worker takes it
        return _ok(envelope)

    import ieb.transport.sender as ob

    monkeypatch.setattr(ob._Heartbeat, "_run", lambda self: None)  # a stalled process: no renewals
    sender = Sender(slow, stolen_then_ok, policy=FAST, on_result=lambda m, o, r: outcomes.append(o))
    assert sender.process(msg) == "lease_lost"
    row = Outbox(engine).find(msg.referentienummer)
    assert row is not None and row["status"] == "sending" and row["locked_by"] == "other"
    assert outcomes == ["lease_lost"]


def test_the_same_referentienummer_with_another_envelope_is_an_error(engine: sa.Engine) -> None:
    from ieb.transport.outbox import OutboxConflictError

    outbox = Outbox(engine)
    ref, env = _envelope()
    first = outbox.enqueue(env, referentienummer=ref, afzender="0363", functie="WMO401")
    assert outbox.enqueue(env, referentienummer=ref, afzender="0363", functie="WMO401") == first
    with pytest.raises(OutboxConflictError):
        outbox.enqueue(env + b" ", referentienummer=ref, afzender="0363", functie="WMO401")
    # inside the caller's transaction a duplicate does not abort it: later statements still run
    other_ref, other_env = _envelope()
    with engine.begin() as conn:
        assert (
            outbox.enqueue(env, referentienummer=ref, afzender="0363", functie="WMO401", conn=conn) == first
        )
        outbox.enqueue(other_env, referentienummer=other_ref, afzender="0363", functie="WMO401", conn=conn)
    assert outbox.find(other_ref) is not None
    assert outbox.counts()["pending"] == 2


def test_release_gives_leases_back_and_requeue_revives_dead_rows(engine: sa.Engine) -> None:
    refs = _fill(Outbox(engine), 2)
    worker = Outbox(engine, worker_id="w", lease_seconds=300)
    claimed = worker.claim(2)
    assert len(claimed) == 2 and worker.release() == 2
    assert Outbox(engine).counts()["pending"] == 2
    (msg,) = worker.claim(1)
    worker.dead_letter(msg, "test")
    assert worker.requeue(dead=True) == [msg.referentienummer]
    assert worker.find(msg.referentienummer)["attempts"] == 0  # type: ignore[index]
    from ieb.transport.outbox import OutboxError

    with pytest.raises(OutboxError):
        worker.requeue([refs[0] if refs[0] != msg.referentienummer else refs[1]])  # pending, not dead


# ----------------------------------------------------------------------------- race-free inbox


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = open_ledger(migrated_sqlite_url(tmp_path / "race.sqlite"))
    else:
        pg = request.getfixturevalue("pg_url")
        eng = open_ledger(create_database(pg, "ieb_race_"))
    yield eng
    eng.dispose()


def test_concurrent_retours_for_one_heenbericht_store_exactly_one(any_engine: sa.Engine) -> None:
    """Eight different Du01s for the same heenbericht at once, each twice: one ``received``, seven
    ``duplicate``, eight ``redelivery`` (unique constraints, no SELECT-then-INSERT)."""
    from ieb.transport.inbox import store_envelope
    from ieb.transport.outbox import utcnow

    cross = str(uuid.uuid4())
    refs = [str(uuid.uuid4()) for _ in range(8)] * 2
    results: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(refs))

    def arrive(ref: str) -> None:
        barrier.wait()
        stored = store_envelope(
            any_engine,
            referentienummer=ref,
            cross_ref_nummer=cross,
            berichtcode="Du01",
            functie="WMO402",
            zender="CAK",
            peer_oin="00000099900000002000",
            raw=b"<x/>",
            received_at=utcnow(),
        )
        with lock:
            results.append(stored.status)

    threads = [threading.Thread(target=arrive, args=(r,)) for r in refs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(["received"] + ["duplicate"] * 7 + ["redelivery"] * 8), results
    t = ledger_tables().inbox
    with any_engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.status, t.c.retour_of).where(t.c.cross_ref_nummer == cross)).all()
    assert sorted(r.status for r in rows) == ["duplicate"] * 7 + ["received"]
    assert [r.retour_of for r in rows if r.status == "received"] == [cross]


def test_a_duplicate_enqueue_never_aborts_the_callers_postgresql_transaction(any_engine: sa.Engine) -> None:
    outbox = Outbox(any_engine)
    ref, env = _envelope()
    outbox.enqueue(env, referentienummer=ref, afzender="0363", functie="WMO401")
    other_ref, other_env = _envelope()
    with any_engine.begin() as conn:
        outbox.enqueue(env, referentienummer=ref, afzender="0363", functie="WMO401", conn=conn)
        outbox.enqueue(other_env, referentienummer=other_ref, afzender="0363", functie="WMO401", conn=conn)
    assert outbox.counts()["pending"] == 2
