"""Issue 22 (RECV): without a retour handler the receiver stores an arriving envelope on SQLite in
one transaction on the engine's own sqlite3 connection (``store_processed_sqlite``) and answers the
Bv03 from a template (``_Bv03Templates.answer``). Both must give exactly what the SQLAlchemy Core
path and the Bv03 model give: the same inbox and audit rows, value for value and type for type in
SQLite, the same answer bytes; a locked database is still the retryable 503 with nothing lost."""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ieb.ggk import (
    Fo03,
    Systeem,
    build,
    du01_for,
    fo01_for,
    new_di01,
    parse,
    unwrap_soap,
)
from ieb.ggk._xml import parse_xml
from ieb.ggk.codec import envelope_head
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import GgkClient
from ieb.transport.outbox import open_ledger
from ieb.transport.server import _BV03_TEMPLATES, Receiver, _bv03_of, _soap_bv03
from ieb.transport.tls import TlsFiles

SOAP_OPEN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body>'
)
SOAP_CLOSE = b"</soap-env:Body></soap-env:Envelope>"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def _der(pki: TestPki) -> bytes:
    import ssl

    return ssl.PEM_cert_to_DER_cert(pki.party("GGK").cert.read_text())


class CoreReceiver(Receiver):
    """The receiver with the SQLite fast path switched off: the SQLAlchemy Core path (the oracle)."""

    def _store_processed(self, head: Any, raw: bytes, peer: Any) -> bool:
        return False


def _soap(envelope: bytes) -> bytes:
    return SOAP_OPEN + envelope.split(b"?>", 1)[1].strip() + SOAP_CLOSE


def _post(app: Receiver, der: bytes, envelope: bytes, *, raw: bool = False) -> tuple[str, bytes]:
    body = envelope if raw else _soap(envelope)
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "ieb.peer_cert": der,
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "1",
    }
    status: list[str] = []
    answer = b"".join(app(environ, lambda s, _h: status.append(s)))
    return status[0], answer


_DIGITS = re.compile(r"\d")


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every inbox and audit row as SQLite holds it: (typeof, value) per column; a timestamp's
    digits are replaced (the two runs happen at other moments) but its shape is kept."""
    conn = sqlite3.connect(path)
    out: dict[str, list[tuple[Any, ...]]] = {}
    try:
        for table, moments in (("inbox", {"received_at", "processed_at"}), ("audit", {"at"})):
            names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            select = ", ".join(f"typeof({n}), {n}" for n in names)
            rows = []
            for raw in conn.execute(f"SELECT {select} FROM {table} ORDER BY id"):
                row = []
                for i, name in enumerate(names):
                    kind, value = raw[2 * i], raw[2 * i + 1]
                    if name in moments and isinstance(value, str):
                        value = _DIGITS.sub("9", value)
                    row.append((name, kind, value))
                rows.append(tuple(row))
            out[table] = rows
    finally:
        conn.close()
    return out


def _requests() -> list[bytes]:
    """A Di01, a Du01 and a Fo01 (each new, then once more), a second retour for the same Di01."""
    di01 = new_di01(b"<x>999990019</x>", "WMO401", "0363")
    du01 = du01_for(di01, b"<y/>")
    second = du01_for(di01, b"<z/>")
    fo01 = fo01_for(new_di01(b"<x/>", "WMO403", "0363"), "IB213", "zender onbekend")
    first = [build(di01), build(du01), build(fo01)]
    return [*first, *first, build(second), build(second)]


def test_the_sqlite_path_writes_the_rows_the_core_path_writes(pki: TestPki, tmp_path: Path) -> None:
    der = _der(pki)
    requests = _requests()
    dumps, answers = [], []
    for cls in (Receiver, CoreReceiver):
        path = tmp_path / f"{cls.__name__}.sqlite"
        engine = open_ledger(f"sqlite:///{path}")
        statements: list[str] = []

        def trace(dbapi_conn: Any, _record: Any, _proxy: Any, seen: list[str] = statements) -> None:
            dbapi_conn.set_trace_callback(seen.append)

        sa.event.listen(engine, "checkout", trace)
        app = cls(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
        answers.append([_post(app, der, r)[0] for r in requests])
        engine.dispose()
        dumps.append(_dump(path))
        if cls is Receiver:  # the fast path did the new ones: no SAVEPOINT, one BEGIN each
            assert any(s.startswith("INSERT INTO inbox") for s in statements)
            assert not any("SAVEPOINT" in s for s in statements)
    assert answers[0] == answers[1] == ["200 OK"] * len(requests)
    fast, core = dumps
    assert fast == core
    statuses = [dict((c[0], c[2]) for c in row)["status"] for row in fast["inbox"]]
    assert statuses == ["processed", "processed", "processed", "duplicate"]
    outcomes = [dict((c[0], c[2]) for c in row)["outcome"] for row in fast["audit"]]
    assert outcomes.count("redelivery") == 4 and outcomes.count("processed") == 3


def test_the_sqlite_path_answers_like_the_core_path_and_the_model(pki: TestPki, tmp_path: Path) -> None:
    der = _der(pki)
    engine = open_ledger(f"sqlite:///{tmp_path / 'r.sqlite'}")
    fast = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
    core = CoreReceiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
    for request in _requests()[:3]:
        a, b = parse_answer(_post(fast, der, request)[1]), parse_answer(_post(core, der, request)[1])
        assert a.stuurgegevens.model_copy(
            update={"referentienummer": "x", "tijdstip_bericht": "y"}
        ) == b.stuurgegevens.model_copy(update={"referentienummer": "x", "tijdstip_bericht": "y"})
        assert a.cross_refnummer == parse(request).referentienummer
    engine.dispose()


def parse_answer(body: bytes) -> Any:
    answer = unwrap_soap(body)
    assert not isinstance(answer, Fo03), answer
    return answer


_TEXT = st.text(alphabet="aZ09 &<>\"'-_.é", min_size=3, max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    organisatie=st.sampled_from(["0363", "CAK", "0599"]),
    applicatie=_TEXT,
    administratie=st.none() | _TEXT,
    gebruiker=st.none() | _TEXT,
    own=st.sampled_from([("0363", "ieb"), ("CAK", "GGk"), ("0363", "a&b<c>")]),
    second=st.integers(0, 59),
)
def test_the_bv03_template_answer_is_the_models_bytes(
    organisatie: str,
    applicatie: str,
    administratie: str | None,
    gebruiker: str | None,
    own: tuple[str, str],
    second: int,
) -> None:
    di01 = new_di01(b"<x/>", "WMO401", organisatie)
    zender = Systeem(
        organisatie=organisatie, applicatie=applicatie, administratie=administratie, gebruiker=gebruiker
    )
    di01 = di01.model_copy(update={"stuurgegevens": di01.stuurgegevens.model_copy(update={"zender": zender})})
    head = envelope_head(parse_xml(build(di01, validate=False)))
    assert head is not None
    systeem = Systeem(organisatie=own[0], applicatie=own[1])
    for ref in ("0b9e2e8a-5b4c-4d2e-9f00-1a2b3c4d5e6f", "11111111-2222-4333-8444-555555555555"):
        tijdstip = f"202612061730{second:02d}"
        expected = _soap_bv03(_bv03_of(systeem, head, ref, tijdstip))
        assert _BV03_TEMPLATES.answer(systeem, head, ref, tijdstip) == expected


# ------------------------------------------------------------------ the database is unavailable


@pytest.fixture
def locked_receiver(pki: TestPki, tmp_path: Path) -> Iterator[tuple[Receiver, Any, Path]]:
    from ieb.transport.server import HttpsServer

    path = tmp_path / "cak.sqlite"
    engine = open_ledger(f"sqlite:///{path}")
    engine.dispose()

    @sa.event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 100")

    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
    party = pki.party("0363")
    server = HttpsServer(app, TlsFiles(party.chain, party.key, pki.roots), threads=2).start()
    try:
        yield app, server, path
    finally:
        server.stop()
        engine.dispose()


def test_a_locked_database_on_the_sqlite_path_is_a_retryable_fault_and_nothing_is_lost(
    pki: TestPki, locked_receiver: tuple[Receiver, Any, Path]
) -> None:
    from ieb.transport.errors import TransientFaultError, TransientSendError

    _app, server, path = locked_receiver
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    party = pki.party("GGK")
    lock = sqlite3.connect(path, timeout=5, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    with GgkClient(server.url, tls=TlsFiles(party.chain, party.key, pki.roots)) as client:
        try:
            with pytest.raises(TransientSendError) as caught:
                client.send(build(di01))
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert isinstance(caught.value, TransientFaultError)
        assert caught.value.code == "StUF058" and caught.value.status == 503
        result = client.send(build(di01))  # offered again: stored now
    assert result.reference == di01.referentienummer
    rows = _dump(path)
    assert [dict((c[0], c[2]) for c in r)["status"] for r in rows["inbox"]] == ["processed"]
    assert [dict((c[0], c[2]) for c in r)["outcome"] for r in rows["audit"]] == ["received", "processed"]


@settings(max_examples=200, deadline=None)
@given(moment=st.floats(min_value=1.7e9, max_value=2.2e9, allow_nan=False))
def test_the_bv03_tijdstip_formatted_once_per_second_is_format_tijdstip_of_now(moment: float) -> None:
    import datetime as dt

    from ieb.ggk import format_tijdstip
    from ieb.transport.server import _tijdstip_now

    expected = format_tijdstip(dt.datetime.fromtimestamp(moment, dt.UTC))
    assert _tijdstip_now(lambda: moment) == expected
    assert _tijdstip_now(lambda: moment) == expected  # from the one-second cache


def test_on_the_sqlite_path_the_entry_is_committed_before_the_bv03_leaves(
    pki: TestPki, tmp_path: Path
) -> None:
    """What another connection sees the moment the receiver hands its answer to the server."""
    path = tmp_path / "seen.sqlite"
    engine = open_ledger(f"sqlite:///{path}")
    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
    der = _der(pki)
    for request in _requests()[:3]:
        status, _answer = _post(app, der, request)
        assert status == "200 OK"
        other = sqlite3.connect(path)  # a separate connection: only committed rows are visible
        try:
            row = other.execute(
                "SELECT status FROM inbox WHERE referentienummer = ?", (parse(request).referentienummer,)
            ).fetchone()
        finally:
            other.close()
        assert row == ("processed",)
    engine.dispose()


@pytest.fixture(scope="module")
def both(
    pki: TestPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Receiver, Receiver, Path, Path]]:
    where = tmp_path_factory.mktemp("both")
    fast_path, core_path = where / "fast.sqlite", where / "core.sqlite"
    fast_engine, core_engine = open_ledger(f"sqlite:///{fast_path}"), open_ledger(f"sqlite:///{core_path}")
    oins = {pki.party("GGK").oin}
    yield (
        Receiver(fast_engine, organisatie="0363", allowed_oins=oins),
        CoreReceiver(core_engine, organisatie="0363", allowed_oins=oins),
        fast_path,
        core_path,
    )
    fast_engine.dispose()
    core_engine.dispose()


def _verdict(status: str, body: bytes) -> tuple[str, object]:
    answer = unwrap_soap(body)
    if isinstance(answer, Fo03):
        return status, (answer.body.code, answer.body.omschrijving)
    sg = answer.stuurgegevens
    return status, sg.model_copy(update={"referentienummer": "-", "tijdstip_bericht": "-"})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 6), seed=st.integers(0, 2**32 - 1), again=st.booleans(), hostile=st.booleans())
def test_hostile_and_repeated_requests_get_the_same_verdict_and_rows_on_both_paths(
    pki: TestPki,
    both: tuple[Receiver, Receiver, Path, Path],
    which: int,
    seed: int,
    again: bool,
    hostile: bool,
) -> None:
    """A Di01, Du01, Fo01 or second retour, or ``ieb.testing.hostile.mutate`` of one (and the same
    body once more): the SQLite path and the Core path answer alike (status, Fo03 code and text, Bv03 stuurgegevens) and
    leave the same inbox and audit rows."""
    import random

    from ieb.testing.hostile import mutate

    fast, core, fast_path, core_path = both
    der = _der(pki)
    body = _soap(_requests()[which])
    if hostile:  # most mutants are refused; the others are new, repeated or second retours
        body = mutate(body, random.Random(seed))
    for _ in range(2 if again else 1):
        assert _verdict(*_post(fast, der, body, raw=True)) == _verdict(*_post(core, der, body, raw=True))
    assert _dump(fast_path) == _dump(core_path)
