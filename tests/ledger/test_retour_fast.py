"""Differential test of retour processing (issue 22, round 4): the fast paths against the old one.

``process_retours`` now reads a retour with a per-model field plan instead of ``from_xml``, and
``ieb retour FILES`` (``process_retour_paths``) applies files in chunks, one transaction each,
instead of one ``process_retours`` call per file. The oracle is the code of main before these
changes (tests/ledger/_retour_oracle.py). Hypothesis draws mixes of accepted, rejected,
technical, not-assessed, duplicate, conflicting, unknown, wrong-Bsn, other-release, heenbericht,
malformed, hostile and unreadable files for iEb 1.0 and 4.0, sometimes with a part applied in an
earlier call; both paths must give the same outcomes, the same errors (type and text), the same
failed files and leave the deliveries table in the same state. SQLite always, PostgreSQL when
``IEB_TEST_POSTGRES_URL`` is set (the ``db_url`` fixture).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ieb.errors import IebError
from ieb.ledger import retour as fast
from ieb.ledger.errors import RetourInputError
from ieb.ledger.planner import Period, plan
from ieb.ledger.store import Ledger
from ieb.releases import get_release
from ieb.releases.pack import RetourRequest
from ieb.store.db import open_database
from ieb.testing.hostile import mutate
from tests.ledger import _retour_oracle as oracle
from tests.ledger.conftest import GEMEENTEN

D = dt.date
DAY_10, DAY_40 = D(2024, 6, 15), D(2025, 11, 3)
TODAY = D(2025, 11, 4)
BSNS_10 = ["999900006", "999900018", "999900031"]
BSNS_40 = ["999990019", "999990020", "999990032"]
_RETOUR_COLUMNS = (
    "id, outcome, retour_codes, retour_identificatie, retour_dagtekening, retour_payload, "
    "retour_source, detail"
)


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in el.iter() if isinstance(c.tag, str) and etree.QName(c).localname == name), None)


def _header(root: etree._Element) -> dict[str, str]:
    out = {}
    for name in ("Afzender", "Identificatie", "Dagtekening", "BasisschemaXsdVersie", "BerichtXsdVersie"):
        el = _child(root, name)
        if el is not None:
            out[name] = (el.text or "").strip()
    return out


def _specific(release: str) -> str:
    table = get_release(release).retourcodes
    return next(c for c in table.rules_of if c not in table.header_codes)


def _retours(release: str, xml: bytes, bericht: str, other: str) -> list[tuple[str, bytes]]:
    """Retours (and things that are not) for one heenbericht ``xml`` of ``release``."""
    pack = get_release(release)
    row = pack.retour_of(bericht)
    root = etree.fromstring(xml)
    head = _header(root)
    client = _child(root, "Client")
    specific = _specific(release)

    def write(ident: str = "R1", day: dt.date = TODAY, **kw: Any) -> bytes:
        assert pack.retour_writer is not None
        return pack.retour_writer(
            RetourRequest(row, kw.pop("head", head), ident, day, xslt_versie="1.0.0", **kw)
        )

    wrong = None
    if client is not None:
        other_client = etree.fromstring(etree.tostring(client))
        bsn = _child(other_client, "Bsn")
        assert bsn is not None
        bsn.text = "999990044" if bsn.text != "999990044" else "999990056"
        wrong = write(client=other_client, client_codes=("0233",), klasse_codes=(specific,))
    items = [
        ("accepted", write()),
        ("accepted-R2", write("R2")),
        ("accepted-next-day", write(day=TODAY + dt.timedelta(days=1))),
        ("technical", write(header_codes=("0001",))),
        ("rejected", write("R3", client=client, client_codes=("0233",), klasse_codes=(specific,))),
        ("not-assessed", write(client=client, client_codes=("0233",), klasse_codes=("0233",))),
        ("unknown", write(head={**head, "Identificatie": "ZZ999"})),
        ("heenbericht", xml),
        ("truncated", write()[:200]),
    ]
    if wrong is not None:
        items.append(("wrong-bsn", wrong))
    other_pack = get_release(other)
    other_row = other_pack.retours()[0]
    assert other_pack.retour_writer is not None
    items.append(("other-release", other_pack.retour_writer(RetourRequest(other_row, head, "R1", TODAY))))
    accepted = write()
    items.append(("year-10000", accepted.replace(TODAY.isoformat().encode(), b"10000-01-01")))
    items.append(
        ("padded-date", accepted.replace(TODAY.isoformat().encode(), b" " + TODAY.isoformat().encode()))
    )
    rnd = random.Random(len(xml))
    items += [(f"hostile-{k}", mutate(accepted, rnd)) for k in range(3)]
    return [(f"{release}-{head.get('Identificatie')}-{label}.xml", data) for label, data in items]


def _setup(url: str, where: Path) -> tuple[Ledger, list[tuple[str, bytes]], list[Path]]:
    ledger = Ledger(open_database(url))
    p10 = plan(
        ledger,
        "0363",
        {b: [Period(D(2024, 3, 1), D(2024, 4, 30))] for b in BSNS_10[:2]},
        today=DAY_10,
        gemeenten=GEMEENTEN,
    )
    p40 = plan(
        ledger,
        "0363",
        {BSNS_40[0]: [Period(D(2025, 6, 1), D(2025, 8, 31))], BSNS_40[1]: [Period(D(2025, 6, 1))]},
        today=DAY_40,
        release="ieb-4.0",
    )
    pool = [("kapot.xml", b"<kapot"), ("leeg.xml", b"")]
    for m in p10.messages:
        pool += _retours("ieb-1.0", m.xml, m.bericht, "ieb-4.0")
    for m in p40.messages:
        pool += _retours("ieb-4.0", m.xml, m.bericht, "ieb-1.0")
    paths = []
    for k, (name, data) in enumerate(pool):
        path = where / f"{k:03d}-{name}"
        path.write_bytes(data)
        paths.append(path)
    paths.append(where / "ontbreekt.xml")  # unreadable: does not exist
    return ledger, pool, paths


def _reset(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE deliveries SET outcome = 'pending', retour_codes = NULL, retour_identificatie = NULL,"
                " retour_dagtekening = NULL, retour_payload = NULL, retour_source = NULL, retour_at = NULL"
            )
        )


def _state(ledger: Ledger) -> list[tuple[Any, ...]]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT {_RETOUR_COLUMNS} FROM deliveries ORDER BY id")).all()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]


def _outcomes(out: list[Any]) -> list[tuple[Any, ...]]:
    return [dataclasses.astuple(o) for o in out]


def _batch(fn: Any, ledger: Ledger, files: list[tuple[str, bytes]]) -> tuple[str, Any]:
    try:
        return "ok", _outcomes(fn(ledger, files, today=TODAY))
    except RetourInputError as exc:
        return type(exc).__name__, str(exc)


def _one_by_one(ledger: Ledger, paths: list[Path]) -> tuple[Any, ...]:
    """What ``ieb retour FILES`` did before: one ``process_retours`` call per file."""
    done: list[Any] = []
    failed: list[tuple[str, str]] = []
    stored: list[tuple[str, bytes, str]] = []
    for p in paths:
        try:
            data = p.read_bytes()
        except OSError as exc:
            failed.append((str(p), f"niet te lezen ({exc.strerror})"))
            continue
        try:
            done.extend(oracle.process_retours(ledger, [(str(p), data)], today=TODAY))
        except IebError as exc:
            stored.append((str(p), data, str(exc)))
            failed.append((str(p), str(exc)))
    return _outcomes(done), failed, stored


def _chunked(ledger: Ledger, paths: list[Path]) -> tuple[Any, ...]:
    stored: list[tuple[str, bytes, str]] = []
    done, failed = fast.process_retour_paths(
        ledger, paths, today=TODAY, on_failed=lambda n, d, r: stored.append((n, d, r))
    )
    return _outcomes(done), failed, stored


def _differential(url: str, where: Path, examples: int) -> None:
    ledger, pool, paths = _setup(url, where)
    files = [*pool, ("leeg-2.xml", b"")]
    indices = st.integers(0, len(pool) - 1)

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        pre=st.lists(indices, max_size=4),
        picks=st.lists(indices, min_size=1, max_size=14),
        chunk=st.sampled_from([1, 2, 3, 500]),
        unreadable=st.booleans(),
    )
    def check(pre: list[int], picks: list[int], chunk: int, unreadable: bool) -> None:
        old_chunk = fast._CHUNK
        fast._CHUNK = chunk
        try:
            chosen = [pool[i] for i in picks]
            # the library: one batch, all or nothing
            results = []
            for fn in (fast.process_retours, oracle.process_retours):
                _reset(ledger)
                _one_by_one(ledger, [paths[i] for i in pre])
                results.append((_batch(fn, ledger, chosen), _state(ledger)))
            assert results[0] == results[1]
            # ieb retour FILES: every file on its own
            chosen_paths = [paths[i] for i in picks] + ([paths[-1]] if unreadable else [])
            results = []
            for run in (_chunked, _one_by_one):
                _reset(ledger)
                _one_by_one(ledger, [paths[i] for i in pre])
                results.append((run(ledger, chosen_paths), _state(ledger)))
            assert results[0] == results[1]
        finally:
            fast._CHUNK = old_chunk

    assert files  # the pool has every kind of file
    try:
        check()
    finally:
        ledger.close()


def test_fast_paths_leave_the_ledger_as_the_old_path(db_url: str, tmp_path: Path) -> None:
    _differential(db_url, tmp_path, 60 if db_url.startswith("sqlite") else 15)


def test_the_pool_covers_every_outcome(tmp_path: Path) -> None:
    """The pool the differential test draws from really holds every kind of retour (each file
    alone on a fresh ledger, then all of them in one run)."""
    ledger, _, paths = _setup("sqlite:///" + str(tmp_path / "p.sqlite"), tmp_path)
    try:
        outcomes: set[tuple[str, str]] = set()
        reasons: list[str] = []
        for path in paths:
            _reset(ledger)
            done, failed = fast.process_retour_paths(ledger, [path], today=TODAY)
            outcomes |= {(o.bericht, o.outcome) for o in done}
            reasons += [r for _, r in failed]
        _reset(ledger)
        stored: list[str] = []
        done, failed = fast.process_retour_paths(
            ledger, paths, today=TODAY, on_failed=lambda n, d, r: stored.append(n)
        )
    finally:
        ledger.close()
    for bericht in ("WMO402", "WMO404", "WMO406"):
        assert {(bericht, o) for o in ("accepted", "rejected", "technical", "not_assessed")} <= outcomes
    assert any(o.duplicate for o in done)
    reasons += [r for _, r in failed]
    text = " ".join(reasons)
    for part in ("onbekend heenbericht", "andere retour", "geen retour", "noemt Bsn", "niet te lezen"):
        assert part in text, part
    # the refusal is about THIS retour (the others in the run go on): "niets verwerkt" read as if the
    # whole run did nothing
    assert "niets verwerkt" not in text
    for reason in reasons:
        if any(p in reason for p in ("onbekend heenbericht", "andere retour", "noemt Bsn")):
            assert "; deze retour is niet toegepast" in reason, reason
    assert len(stored) == len(failed) - 1  # all but the unreadable file are kept for --retry-failed


def test_field_plan_reads_what_the_codec_reads(tmp_path: Path) -> None:
    """``_collect_planned`` gives the dict (or the IEB-DATUM error) of ``ieb.codec._collect`` for every
    retour of the pool and for hostile mutations of them, schema-valid or not."""
    from ieb.codec import _collect
    from ieb.releases import default_registry
    from ieb.releases.models import Message
    from ieb.xmlsafe import XmlProblem, parse_bytes

    ledger, pool, _ = _setup("sqlite:///" + str(tmp_path / "p.sqlite"), tmp_path)
    ledger.close()
    rnd = random.Random(22)
    docs = [d for _, d in pool] + [mutate(d, rnd) for _, d in pool for _ in range(8)]
    for _, data in pool:  # a second element of the same name: the first one counts
        try:
            root = etree.fromstring(data)
        except etree.XMLSyntaxError:
            continue
        for name in ("IdentificatieRetour", "Bsn", "RetourCodes", "Identificatie"):
            el = _child(root, name)
            if el is not None:
                twin = etree.fromstring(etree.tostring(el))
                twin.text = "0363" if twin.text and twin.text.strip() else twin.text
                el.addnext(twin)
        docs.append(etree.tostring(root))
    compared = 0
    for data in docs:
        try:
            root = parse_bytes(data)
            _, row = default_registry.detect(root)
        except (XmlProblem, IebError):
            continue
        cls = row.model
        if not (isinstance(cls, type) and issubclass(cls, Message)):
            continue
        results = []
        ns, basis = cls.namespace(), cls.basis_namespace
        for read in (_collect, lambda r, c, n, b: fast._collect_planned(r, fast._plan(c, n, b))):
            try:
                results.append(("ok", read(root, cls, ns, basis)))
            except IebError as exc:
                results.append((type(exc).__name__, str(exc)))
        assert results[0] == results[1]
        compared += 1
    assert compared > 100
