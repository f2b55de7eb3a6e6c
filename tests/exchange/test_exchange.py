"""The Exchange facade in-process: configuration, plan/queue in one transaction, queue_files,
status (the JSON contract), retours that fail without blocking, requeue, deadline watch, and a
full loop against the simulator's app through the in-process transport."""

from __future__ import annotations

import datetime as dt
import json
import pickle
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.codec import to_xml
from ieb.config import load_config
from ieb.errors import ConfigurationError, InputRowError
from ieb.exchange import Exchange, ExchangeError
from ieb.messages import Wmo401
from ieb.testing.demo import demo_bsns
from ieb.testing.pki import TestPki
from tests.migrated import migrated_memory_engine, migrated_sqlite_url

TODAY = dt.date.today()
FIRST = TODAY.replace(day=1)
B = demo_bsns(6)


# ------------------------------------------------------------------ configuration


def test_config_file_env_overrides_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ieb.toml").write_text(
        'database = "data/ieb.sqlite"\ngemeenten = ["0363"]\n[ggk]\nendpoint = "https://ggk.test/x"\n'
        '[organisatie]\nkey = "pki/key.pem"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IEB_GGK__OPERATION_TIMEOUT", "7")
    config = load_config()
    assert config.ggk.operation_timeout == 7.0 and config.gemeenten == ["0363"]
    assert config.database_url == f"sqlite:///{tmp_path / 'data' / 'ieb.sqlite'}"
    assert config.resolve(config.organisatie.key) == tmp_path / "pki" / "key.pem"
    monkeypatch.setenv("IEB_DB", "postgresql+psycopg://u:geheim@host/db")
    config = load_config()
    assert "geheim" not in json.dumps(config.safe_dict())
    monkeypatch.setenv("IEB_GEMEENTEN", '["12"]')
    with pytest.raises(ConfigurationError, match="gemeenten"):
        load_config()


def test_a_named_config_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="bestaat niet"):
        load_config(tmp_path / "nope.toml")


def test_read_only_use_refuses_a_missing_database(pki: TestPki, tmp_path: Path) -> None:
    from tests.exchange.conftest import make_config

    ex = Exchange(make_config(pki, tmp_path / "typo.sqlite"), must_exist=True)
    with pytest.raises(ConfigurationError, match="bestaat niet"):
        ex.status()
    assert not (tmp_path / "typo.sqlite").exists()


# ------------------------------------------------------------------ plan and queue


def _records() -> list[dict[str, str]]:
    return [
        {"gemeente": "0363", "bsn": B[0], "start": FIRST.isoformat()},
        {"gemeente": "0599", "bsn": B[1], "start": FIRST.isoformat()},
    ]


def _counts(ex: Exchange) -> tuple[int, int]:
    with ex.engine.connect() as conn:
        return (
            conn.execute(sa.text("SELECT count(*) FROM deliveries")).scalar_one(),
            conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one(),
        )


def test_plan_is_a_preview_and_queue_writes_ledger_and_outbox_together(exchange: Exchange) -> None:
    preview = exchange.plan(_records(), today=TODAY)
    assert len(preview.messages) == 2 and sorted(preview.plans) == ["0363", "0599"]
    assert _counts(exchange) == (0, 0)
    queued = exchange.queue(preview)
    assert len(queued) == 2 and _counts(exchange) == (2, 2)
    with exchange.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT afzender, bericht_identificatie FROM outbox ORDER BY afzender")
        ).all()
    assert [r[0] for r in rows] == ["0363", "0599"]  # each message's Afzender is its own gemeente
    with pytest.raises(ExchangeError) as err:  # the ledger changed since this preview
        exchange.queue(preview)
    assert err.value.code == "STALE_PLAN" and _counts(exchange) == (2, 2)


def test_a_failure_while_queueing_leaves_neither_deliveries_nor_envelopes(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ieb.transport.outbox as outbox_module  # (ieb.exchange imports enqueue_fresh where used)

    preview = exchange.plan(_records(), today=TODAY)
    original = outbox_module.enqueue_fresh
    inserted: list[int] = []

    def crash_after_first_batch(*args: object, **kwargs: object) -> list[int]:
        # the first gemeente's envelopes and their audit rows are in; then the process dies
        ids = original(*args, **kwargs)  # type: ignore[arg-type]
        inserted.extend(ids)
        raise RuntimeError("crash between two gemeenten")

    monkeypatch.setattr(outbox_module, "enqueue_fresh", crash_after_first_batch)
    with pytest.raises(RuntimeError, match="crash between"):
        exchange.queue(preview)
    assert inserted  # the crash came after rows were written in the transaction
    assert _counts(exchange) == (0, 0)
    with exchange.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit")).scalar_one() == 0


def test_the_gemeente_column_is_required_with_several_gemeenten(exchange: Exchange) -> None:
    with pytest.raises(InputRowError, match="gemeente"):
        exchange.plan([{"bsn": B[0], "start": FIRST.isoformat()}], today=TODAY)
    with pytest.raises(InputRowError, match=r"staat niet in ieb\.toml"):
        exchange.plan([{"gemeente": "0344", "bsn": B[0], "start": FIRST.isoformat()}], today=TODAY)
    only = exchange.plan([{"bsn": B[0], "start": FIRST.isoformat()}], gemeente="0599", today=TODAY)
    assert list(only.plans) == ["0599"]


def test_retroactive_starts_are_marked_and_late_deliveries_flagged(exchange: Exchange) -> None:
    old = TODAY - dt.timedelta(days=75)
    preview = exchange.plan([{"gemeente": "0363", "bsn": B[2], "start": old.isoformat()}], today=TODAY)
    assert len(preview.retroactive) == 1 and "meer dan een maand" in preview.retroactive[0]
    exchange.queue(preview)
    status = exchange.status()
    assert status.overdue == 1 and status.overdue_list[0]["kind"] == "queued_late"
    assert B[2] not in json.dumps(status.as_dict(detail=True))


# ------------------------------------------------------------------ files


def _file(tmp_path: Path, name: str, **kw: object) -> Path:
    values: dict[str, object] = {
        "afzender": "0363",
        "identificatie": "9001",
        "dagtekening": TODAY,
        "bsn": B[3],
        "eb_start_nummer": 41,
        "eb_startdatum": FIRST,
    }
    values.update(kw)
    path = tmp_path / name
    path.write_bytes(to_xml(Wmo401.build(**values)))  # type: ignore[arg-type]
    return path


def test_queue_files_enters_ledger_and_outbox_after_the_checks(exchange: Exchange, tmp_path: Path) -> None:
    good = _file(tmp_path, "goed.xml")
    queued = exchange.queue_files([good], today=TODAY)
    assert len(queued) == 1 and _counts(exchange) == (1, 1)
    # the planner's sequences stay ahead of the hand-made numbers
    preview = exchange.plan([{"gemeente": "0363", "bsn": B[4], "start": FIRST.isoformat()}], today=TODAY)
    assert preview.messages[0].delivery.eb_start_nummer > 41
    assert int(preview.messages[0].delivery.identificatie) > 9001


def test_queue_files_is_all_or_nothing_and_names_the_rules(exchange: Exchange, tmp_path: Path) -> None:
    good = _file(tmp_path, "goed.xml")
    foreign = _file(tmp_path, "vreemd.xml", afzender="0344", identificatie="9002")
    same_number = _file(tmp_path, "dubbel.xml", identificatie="9003", bsn=B[5])  # EbStartNummer 41 again
    with pytest.raises(ExchangeError) as err:
        exchange.queue_files([good, foreign, same_number], today=TODAY)
    text = "\n".join(err.value.issues)
    assert "vreemd.xml" in text and "0344" in text
    assert "dubbel.xml" in text and ("TR" in text or "OP" in text)
    assert _counts(exchange) == (0, 0)
    assert B[5] not in text
    pickle.loads(pickle.dumps(err.value))


# ------------------------------------------------------------------ retours and requeue


def test_an_unreadable_retour_is_stored_reported_and_retried(exchange: Exchange, tmp_path: Path) -> None:
    from ieb.simulator.cak import CakSimulator

    exchange.queue(exchange.plan(_records(), today=TODAY))
    with exchange.engine.connect() as conn:
        payloads = [
            bytes(p) for p in conn.execute(sa.text("SELECT payload FROM deliveries ORDER BY id")).scalars()
        ]
    cak = CakSimulator(migrated_memory_engine(), today=TODAY)
    retour = cak.process(payloads[0]).retour
    assert retour is not None
    junk, good = tmp_path / "kapot.xml", tmp_path / "goed.xml"
    junk.write_bytes(b"<kapot")
    good.write_bytes(retour)
    done, failed = exchange.process_retour_files([junk, good])
    assert [r.outcome for r in done] == ["accepted"] and [f[0] for f in failed] == [str(junk)]
    status = exchange.status()
    assert status.inbox_failed == 1 and status.deliveries["accepted"] == 1
    again = exchange.retry_failed_retours()
    assert [s for _, s, _ in again] == ["failed"]  # still unreadable, still reported


def test_requeue_puts_dead_letters_back(exchange: Exchange) -> None:
    exchange.queue(exchange.plan(_records(), today=TODAY))
    outbox = exchange.outbox()
    (msg,) = outbox.claim(1)
    outbox.dead_letter(msg, "test: verbinding geweigerd")
    assert exchange.status().outbox["dead"] == 1
    assert exchange.requeue(dead=True) == [msg.referentienummer]
    assert exchange.status().outbox["dead"] == 0
    with pytest.raises(ExchangeError):
        exchange.requeue()


# ------------------------------------------------------------------ full loop in-process


def test_full_loop_through_the_simulator_app_in_process(
    exchange: Exchange, pki: TestPki, tmp_path: Path
) -> None:
    """Plan -> queue -> send (in-process transport) -> CAK -> callback (in-process) -> accepted."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from ieb.ledger import open_database
    from ieb.simulator.server import GgkSimulator
    from ieb.testing.inprocess import InProcessTransport
    from ieb.transport.outbox import Outbox
    from ieb.transport.pki import load_certificates
    from ieb.transport.sender import Sender

    der = {c: load_certificates(pki.party(c).cert)[0].public_bytes(Encoding.DER) for c in ("0363", "GGK")}
    sim_engine = open_database(migrated_sqlite_url(tmp_path / "cak.sqlite"))
    simulator = GgkSimulator(sim_engine, today=TODAY)
    simulator.start()
    try:
        exchange.queue(exchange.plan(_records(), today=TODAY))
        result = Sender(
            exchange.outbox(),
            InProcessTransport(simulator, peer_cert=der["0363"]),
            policy=exchange.retry_policy,
        ).drain(workers=1, timeout=30)
        assert result.acknowledged == 2
        simulator._queue.join()  # the CAK side has answered
        receiver = exchange.receiver()
        callbacks = Sender(
            Outbox(sim_engine),
            InProcessTransport(receiver, peer_cert=der["GGK"]),
            policy=exchange.retry_policy,
        )
        assert callbacks.drain(workers=1, timeout=30).acknowledged == 2
    finally:
        simulator.stop()
        sim_engine.dispose()
    status = exchange.status()
    assert status.deliveries["accepted"] == 2 and status.outbox["acknowledged"] == 2


def test_a_bad_row_in_the_desired_file_is_named_by_its_true_line(exchange: Exchange, tmp_path: Path) -> None:
    from ieb.tabular import TableError

    path = tmp_path / "gewenst.csv"
    path.write_text(f"gemeente;bsn;start\n0363;{B[0]};{FIRST}\n0599;123456789;{FIRST}\n", encoding="utf-8")
    with pytest.raises(TableError) as err:
        exchange.plan(path, today=TODAY)
    text = str(err.value) + " ".join(str(i) for i in err.value.issues)
    assert ":3" in text and "123456789" not in text and "11-proef" in text


def test_rows_without_gemeente_go_to_the_named_gemeente_only(exchange: Exchange) -> None:
    preview = exchange.plan(
        [
            {"bsn": B[0], "start": FIRST.isoformat()},
            {"gemeente": "0599", "bsn": B[1], "start": FIRST.isoformat()},
        ],
        gemeente="0599",
        today=TODAY,
    )
    assert list(preview.plans) == ["0599"]
    assert sorted(m.delivery.bsn for m in preview.messages) == sorted([B[0], B[1]])


def test_an_oin_that_does_not_match_the_certificate_is_a_configuration_error(
    exchange: Exchange, pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exchange.config.organisatie.oin = pki.party("0599").oin  # the certificate is 0363's
    with pytest.raises(ConfigurationError, match="past niet bij het certificaat"):
        exchange.tls_files()
    (tmp_path / "ieb.toml").write_text('[receiver]\nallowed_oins = ["123"]\n')
    with pytest.raises(ConfigurationError, match="20 cijfers"):
        load_config(tmp_path / "ieb.toml")


# ------------------------------------------------------------------ the one inbox replay


def test_the_inbox_replay_finishes_what_a_crash_left_received(exchange: Exchange) -> None:
    """A Du01 and a Fo01 stored but not processed (a crash between storing and processing) are
    processed by the one replay, with an audit row each; a second replay finds nothing."""
    from ieb import ggk
    from ieb.simulator.cak import CakSimulator
    from ieb.transport.inbox import store_envelope

    queued = exchange.queue(exchange.plan(_records(), today=TODAY))
    with exchange.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT referentienummer, envelope FROM outbox ORDER BY id")).all()
    di01s = [ggk.parse_as(bytes(env), ggk.Di01) for _, env in rows]
    cak = CakSimulator(migrated_memory_engine(), today=TODAY)
    retour = cak.process(di01s[0].payload).retour
    assert retour is not None
    du01 = ggk.du01_for(di01s[0], retour)
    fo01 = ggk.fo01_for(di01s[1], "IB213")
    for env in (du01, fo01):
        store_envelope(
            exchange.engine,
            referentienummer=env.referentienummer,
            cross_ref_nummer=env.cross_refnummer,
            berichtcode=env.berichtcode,
            functie=getattr(env, "functie", None),
            zender="CAK",
            peer_oin=None,
            raw=ggk.wrap_soap(env),
            received_at=dt.datetime(2024, 6, 15, 12, 0, tzinfo=dt.UTC),
        )
    assert exchange.status().deliveries["pending"] == len(queued)
    done = exchange.retours.replay(("received",))
    assert [(ref, status) for ref, status, _ in done] == [
        (du01.referentienummer, "processed"),
        (fo01.referentienummer, "processed"),
    ]
    status = exchange.status()
    assert status.deliveries["accepted"] == 1 and status.deliveries["technical"] == 1
    with exchange.engine.connect() as conn:
        audited = conn.execute(
            sa.text(
                "SELECT referentienummer, outcome FROM audit WHERE direction = 'in' AND detail = 'verwerkt'"
            )
        ).all()
    assert {r for r, _ in audited} == {du01.referentienummer, fo01.referentienummer}
    assert exchange.retours.replay(("received",)) == []


def test_a_start_is_what_the_pack_table_says() -> None:
    """The deadline rule asks the pack's table which heenbericht opens a period (date element
    EbStartdatum); an unknown release (its pack not installed) has no starts."""
    from ieb.exchange.status import opens_period
    from ieb.releases import get_pack

    pack = get_pack("ieb-1.0")
    starts = [m.name for m in pack.heen() if opens_period(pack.name, m.name, "1")]
    assert [pack.message(n).date_element for n in starts] == ["EbStartdatum"]
    assert not any(opens_period(pack.name, n, "2") for n in starts)  # a correction is no new start
    assert not opens_period("geen-release", starts[0], "1")


def test_queue_files_names_the_release_that_is_set_wherever_it_came_from(
    exchange: Exchange, tmp_path: Path
) -> None:
    """A file of another release is refused naming the release that is set, without claiming that
    an ieb.toml says so (there may be none: the default, or --release)."""
    from ieb.codec import to_xml
    from ieb.ledger.history import Delivery

    fields: dict[str, object] = {
        "afzender": "0363",
        "identificatie": "B-7",
        "dagtekening": TODAY,
        "bsn": B[1],
        "eb_start_nummer": 17,
        "status": "1",
        "datum": FIRST,
        "kostprijs_bedrag": None,
        "kostprijs_startdatum": None,
        "stopdatum": None,
    }
    path = tmp_path / "wmo405.xml"
    path.write_bytes(to_xml(Delivery("WMO405", **fields).to_message()))  # type: ignore[arg-type]
    with pytest.raises(ExchangeError) as err:
        exchange.queue_files([path], today=TODAY)
    text = "\n".join(err.value.issues)
    assert "WMO405 van release ieb-4.0" in text and "ingestelde release is 'ieb-1.0'" in text
    assert "ieb.toml zegt" not in text
    assert _counts(exchange) == (0, 0)
