"""All benchmarks of ieb, each against its baselines IN THE SAME RUN.

    python bench/run.py                 # full run (minutes): the figures in docs/performance.md
    python bench/run.py --quick         # within about a minute on 2 cores
    python bench/run.py --quick --json  # the JSON contract below, nothing else on stdout
    python bench/run.py --only B1,B5    # a subset

B1 initial delivery: N WMO401 starts from records (desired state) through the planner (levels 1-2
   and the level-3 pre-flight, numbers allocated, pending deliveries recorded) to Di01 envelopes in
   the outbox, vs the floor: bare lxml build + compiled XMLSchema + raw sqlite3 inserts of the same
   rows. In memory, build + serialise + validate of one WMO401 as the planner does it
   (``ieb.ledger.fastcheck.planned_message``: XSD and every in-message rule) vs xsdata dataclasses
   generated from our XSDs (generated into a temp dir at bench time; XSD only) and vs bare lxml (XSD
   only); the typed-model API (``Wmo401.build`` + ``to_xml`` + ``validate_bytes``) is in the details.
B2 retours: N WMO402 parsed and applied to the ledger vs bare lxml parse + XSD + UPDATE.
B3 transport: M Di01 over mutual TLS on loopback to the receiver (a separate process), acknowledged
   (Bv03), with and without WS-Security signing, vs bare ``requests`` keep-alive posting the same
   bytes and vs a plain zeep loop. The receiver's ceiling: bare requests from 4 threads.
   ``workers4_vs_1``: ``ieb send``'s path with 4 vs 1 workers to a receiver answering 20 ms after
   storing (a modelled GGk; loopback figures and their ceiling in details, bench/bench_transport.py).
   ``details.signed_vs_unsigned_at_latency``: the same path, 1 worker, signed vs unsigned to
   receivers answering after that latency (what signing costs a municipality's send).
B4 memory: peak RSS of a B1 run in a fresh process at several sizes, and ledger bytes per message.
B5 scaling: planning one new person and a batch of 200 with a ledger of 1k/10k/100k starts vs an
   empty ledger; re-planning every unchanged person of the 100k ledger (full run only).

Ratios are ieb's throughput divided by the baseline's (higher is better; 1.0 = as fast). Times are
medians of interleaved rounds. Nothing here is asserted; no unit test times anything.

JSON contract::

    {"B1": {"msgs_per_s", "vs_floor", "vs_xsdata"},
     "B2": {"msgs_per_s", "vs_floor", "cli_msgs_per_s", "cli_vs_floor", "loadavg"},  # bench/bench_retour.py
     "B3": {"msgs_per_s", "vs_requests", "vs_zeep", "signed_msgs_per_s", "signed_vs_unsigned",
            "workers4_vs_1", "workers4_vs_1_postgresql", "loadavg"},
     "RECV": {"cpu_ms_per_msg", "bare_cpu_ms_per_msg", "ratio", "loadavg"},
     "B4": {"peak_rss_mb": {"1000", "100000"}, "bytes_per_message"},
     "B5": {"plan_one_ms": {"1000", "100000"}},
     "E2E": {"clients", "s", "floor_s", "vs_floor", "peak_rss_mb", "loadavg"},
     "E2E_1M": {"clients", "peak_rss_mb", "loadavg"}}        # bench/bench_e2e.py; E2E_1M full run only

plus a ``"details"`` object per benchmark with every row of the table (B3's ``"client_cpu"``: the
client thread's CPU per send, ieb vs bare requests; bench/bench_b3.py); B1, B4 and B5 also carry
``"loadavg"`` (``os.getloadavg()``: 1, 5 and 15 minutes) taken when they finished.

Validation and start-up (issue 22; bench/bench_validate.py, bench/bench_cli.py), each with the load
average when measured: ``"VAL": {"vs_libxml2", "cli_10k_vs_xmllint", "loadavg"}``,
``"CLI": {"help_cpu_s", "python_cpu_s", "validate_one_cpu_s", "plugin_vs_pytest", "loadavg"}``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import gc
import importlib
import importlib.util
import json
import math
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

TODAY = dt.date(2026, 6, 1)
START = dt.date(2026, 5, 1)
W401 = "http://www.istandaarden.nl/ieb/1_0/wmo401/schema"
BASIS = "http://www.istandaarden.nl/ieb/1_0/basisschema/schema"
MAIN_GEMEENTE = "0363"

# ---------------------------------------------------------------------------------- helpers


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def test_bsns() -> list[str]:
    """Every test BSN of the 9999xxxxx range that passes the 11-proef (about 9,090)."""
    out = []
    for n in range(999900000, 1000000000):
        s = str(n)
        total = sum(int(c) * w for c, w in zip(s[:8], range(9, 1, -1), strict=True)) - int(s[8])
        if total % 11 == 0:
            out.append(s)
    return out


BSNS = test_bsns()
#: persons per gemeente: the test range is small, so N > PER_GEMEENTE clients are spread over
#: several gemeenten (each plan() call is one gemeente, as in production)
PER_GEMEENTE = 8000


def gemeenten(count: int) -> list[str]:
    from ieb.validation.gemeenten import bundled_gemeenten

    codes = sorted({g.code for g in bundled_gemeenten().valid_on(TODAY)} - {MAIN_GEMEENTE})
    return [MAIN_GEMEENTE, *codes][:count]


def clients(n: int) -> list[tuple[str, str]]:
    """``n`` (afzender, bsn) pairs: 8,000 per gemeente."""
    codes = gemeenten(math.ceil(n / PER_GEMEENTE))
    return [(codes[i // PER_GEMEENTE], BSNS[i % PER_GEMEENTE]) for i in range(n)]


def by_gemeente(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for afz, bsn in pairs:
        out.setdefault(afz, []).append(bsn)
    return out


def median_rate(rounds: list[float], n: int) -> float:
    return n / statistics.median(rounds)


def interleaved(
    contenders: dict[str, Callable[[Sequence[Any]], object]], items: Sequence[Any], step: int, rounds: int
) -> dict[str, list[float]]:
    """Per round, the seconds each contender spends on all ``items``, taken in chunks of ``step``
    with the contenders alternating (rotating order), so load changes hit all of them alike."""
    out: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for _ in range(rounds):
        spent = dict.fromkeys(names, 0.0)
        for c, k in enumerate(range(0, len(items), step)):
            chunk = items[k : k + step]
            for name in names[c % len(names) :] + names[: c % len(names)]:
                started = time.perf_counter()
                contenders[name](chunk)
                spent[name] += time.perf_counter() - started
        for name, seconds in spent.items():
            out[name].append(seconds)
    return out


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ieb-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def open_db(path: Path) -> Any:
    from ieb.store.db import open_database

    return open_database(f"sqlite:///{path}")


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(sep=" ")


# ---------------------------------------------------------------------------------- B1


def ieb_delivery(db: Path | Any, pairs: Sequence[tuple[str, str]]) -> int:
    """ieb: records -> plan (levels 1-3, recorded) -> Di01 envelopes -> outbox. Returns messages.
    ``db``: a path (opened and closed here) or an open engine."""
    from ieb.ggk import build, new_di01
    from ieb.ledger.planner import Period, plan
    from ieb.transport.outbox import Outbox, enqueue_fresh

    engine = open_db(db) if isinstance(db, Path) else db
    count = 0
    try:
        outbox = Outbox(engine)
        for afz, bsns in by_gemeente(pairs).items():
            planned = plan(engine, afz, {b: [Period(start=START)] for b in bsns}, today=TODAY)
            rows = []
            for m in planned.messages:
                di01 = new_di01(m.xml, m.bericht, afz)
                rows.append(
                    {
                        "envelope": build(di01),
                        "referentienummer": di01.referentienummer,
                        "afzender": afz,
                        "functie": m.bericht,
                        "payload": m.xml,
                        "bericht_identificatie": m.delivery.identificatie,
                    }
                )
            enqueue_fresh(
                outbox, rows
            )  # multi-row outbox and audit inserts (enqueue_many: one audit INSERT each)
            count += len(rows)
    finally:
        if isinstance(db, Path):
            engine.dispose()
    return count


def exchange_delivery(engine: Any, pairs: Sequence[tuple[str, str]]) -> int:
    """What ``ieb plan FILE --queue`` does: ``Exchange.plan_and_queue``, plan and outbox in ONE
    transaction (the plan()+enqueue_many path above uses two)."""
    try:
        from ieb.config import IebConfig
        from ieb.exchange import Exchange
    except ImportError:  # pragma: no cover - before the Exchange existed
        return ieb_delivery(engine, pairs)
    codes = sorted({afz for afz, _ in pairs})
    exchange = Exchange(IebConfig(database=str(engine.url), gemeenten=codes), engine=engine)
    records = [{"gemeente": afz, "bsn": bsn, "start": START.isoformat()} for afz, bsn in pairs]
    return len(exchange.plan_and_queue(records, today=TODAY).messages)


class Floor:
    """The floor of the stack: bare lxml trees, compiled XSDs, raw sqlite3 with executemany."""

    def __init__(self) -> None:
        from ieb.ggk import build, new_di01
        from ieb.ggk._schemas import envelope_schema
        from ieb.releases import get_release

        self.schema = get_release().message("WMO401").schema
        self.env_schema = envelope_schema()
        sample = build(new_di01(b"<x/>", "WMO401", MAIN_GEMEENTE))
        self.envelope = etree.fromstring(sample)
        ns = {
            "StUF": "http://www.egem.nl/StUF/StUF0301",
            "GGK": "http://www.stufstandaarden.nl/koppelvlak/ggk0210",
        }
        self.ref_path = etree.XPath("//StUF:referentienummer", namespaces=ns)
        self.org_path = etree.XPath("//StUF:zender/StUF:organisatie", namespaces=ns)
        self.file_path = etree.XPath("//GGK:xmlBestand", namespaces=ns)

    def wmo401(self, afz: str, ident: str, bsn: str, nummer: int) -> bytes:
        E = etree.SubElement
        root = etree.Element(f"{{{W401}}}Bericht", nsmap={"wmo401": W401, "ieb": BASIS})
        h = E(root, f"{{{W401}}}Header")
        for tag, text in (
            ("BerichtCode", "470"),
            ("BerichtVersie", "1"),
            ("BerichtSubversie", "0"),
            ("Afzender", afz),
        ):
            E(h, f"{{{W401}}}{tag}").text = text
        bi = E(h, f"{{{W401}}}BerichtIdentificatie")
        E(bi, f"{{{BASIS}}}Identificatie").text = ident
        E(bi, f"{{{BASIS}}}Dagtekening").text = TODAY.isoformat()
        xv = E(h, f"{{{W401}}}XsdVersie")
        E(xv, f"{{{BASIS}}}BasisschemaXsdVersie").text = "1.2.0"
        E(xv, f"{{{BASIS}}}BerichtXsdVersie").text = "1.2.0"
        c = E(root, f"{{{W401}}}Client")
        E(c, f"{{{W401}}}Bsn").text = bsn
        s = E(c, f"{{{W401}}}StartEigenBijdrage")
        E(s, f"{{{W401}}}EbStartNummer").text = str(nummer)
        E(s, f"{{{W401}}}EbStartdatum").text = START.isoformat()
        E(s, f"{{{W401}}}StatusAanlevering").text = "1"
        if not self.schema.validate(root):
            raise RuntimeError(str(self.schema.error_log))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def di01(self, afz: str, payload: bytes) -> tuple[str, bytes]:
        env = copy.deepcopy(self.envelope)
        ref = str(uuid.uuid4())
        self.ref_path(env)[0].text = ref
        self.org_path(env)[0].text = afz
        self.file_path(env)[0].text = base64.b64encode(payload).decode("ascii")
        if not self.env_schema.validate(env):
            raise RuntimeError(str(self.env_schema.error_log))
        return ref, etree.tostring(env, xml_declaration=True, encoding="UTF-8")

    def delivery(self, db: Path, pairs: Sequence[tuple[str, str]], first: int = 1) -> int:
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        count = 0
        try:
            for afz, bsns in by_gemeente(pairs).items():
                con.execute("BEGIN IMMEDIATE")
                deliveries, nummers, outbox, audit = [], [], [], []
                now = now_text()
                for i, bsn in enumerate(bsns, start=first):
                    xml = self.wmo401(afz, str(i), bsn, i)
                    ref, env = self.di01(afz, xml)
                    deliveries.append((afz, str(i), TODAY, "WMO401", bsn, i, "1", START, xml, "pending", now))
                    nummers.append((afz, i, bsn, now))
                    outbox.append((ref, afz, "WMO401", str(i), xml, env, "pending", 0, now, now, now))
                    audit.append((now, "out", "enqueued", ref, "WMO401", "pending"))
                con.executemany(
                    "INSERT INTO deliveries (afzender, identificatie, dagtekening, bericht, bsn, eb_start_nummer,"
                    " status, datum, payload, outcome, created_at, release) VALUES (?,?,?,?,?,?,?,?,?,?,?,'ieb-1.0')",
                    [(*r[:2], r[2].isoformat(), *r[3:7], r[7].isoformat(), *r[8:]) for r in deliveries],
                )
                con.executemany(
                    "INSERT INTO eb_start_nummers (afzender, eb_start_nummer, bsn, created_at) VALUES (?,?,?,?)",
                    nummers,
                )
                con.executemany(
                    "INSERT INTO outbox (referentienummer, afzender, functie, bericht_identificatie, payload,"
                    " envelope, status, attempts, next_attempt_at, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    outbox,
                )
                con.executemany(
                    "INSERT INTO audit (at, direction, kind, referentienummer, functie, outcome) VALUES (?,?,?,?,?,?)",
                    audit,
                )
                for kind in ("eb_start_nummer", "identificatie"):
                    con.execute(
                        "INSERT INTO counters (scope, kind, last_value) VALUES (?,?,?) ON CONFLICT (scope, kind)"
                        " DO UPDATE SET last_value = excluded.last_value",
                        (afz, kind, first + len(bsns) - 1),
                    )
                con.execute("COMMIT")
                count += len(bsns)
        finally:
            con.close()
        return count


class Xsdata:
    """Dataclasses generated by xsdata from our WMO401 XSD (into a temp dir, at bench time)."""

    def __init__(self, where: Path) -> None:
        from ieb.releases import get_release

        spec = get_release().message("WMO401")
        # the interpreter running this bench, not PATH: works when the venv is not activated
        if importlib.util.find_spec("xsdata") is None:
            raise RuntimeError("xsdata is not installed: pip install 'xsdata[cli]' (the [bench] extra)")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "xsdata",
                "generate",
                str(spec.schema_path),
                "--package",
                "ieb_xsdata_bench",
            ],
            cwd=where,
            check=True,
            capture_output=True,
            # xsdata formats its output with ``ruff`` from PATH: find it beside this interpreter
            env={
                **os.environ,
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            },
        )
        sys.path.insert(0, str(where))
        self.mod = importlib.import_module("ieb_xsdata_bench.wmo401")
        self.basis = importlib.import_module("ieb_xsdata_bench.basisschema")
        from xsdata.formats.dataclass.serializers import XmlSerializer
        from xsdata.formats.dataclass.serializers.config import SerializerConfig

        self.serializer = XmlSerializer(config=SerializerConfig(xml_declaration=True))
        self.schema = spec.schema
        self.ns_map = {"wmo401": W401, "ieb": BASIS}

    def message(self, afz: str, ident: str, bsn: str, nummer: int) -> bytes:
        m, b = self.mod, self.basis
        obj = m.Bericht(
            header=m.Header(
                bericht_code="470",
                bericht_versie=1,
                bericht_subversie=0,
                afzender=afz,
                bericht_identificatie=b.CdtBerichtIdentificatie(
                    identificatie=ident, dagtekening=TODAY.isoformat()
                ),
                xsd_versie=b.CdtXsdVersie(basisschema_xsd_versie="1.2.0", bericht_xsd_versie="1.2.0"),
            ),
            client=m.Client(
                bsn=bsn,
                start_eigen_bijdrage=m.StartEigenBijdrage(
                    eb_start_nummer=nummer,
                    eb_startdatum=START.isoformat(),
                    status_aanlevering=b.LdtStatusAanlevering.VALUE_1,
                ),
            ),
        )
        data = self.serializer.render(obj, ns_map=self.ns_map).encode("utf-8")
        if not self.schema.validate(etree.fromstring(data)):
            raise RuntimeError(str(self.schema.error_log))
        return data


def ieb_in_memory(afz: str, ident: str, bsn: str, nummer: int) -> bytes:
    """ieb's work per message in the planner: the WMO401 of a delivery written and checked (XSD and
    every in-message rule, level 3 without history included) by ``planned_message``."""
    from ieb.ledger.fastcheck import planned_message
    from ieb.ledger.history import Delivery

    d = Delivery("WMO401", afz, ident, TODAY, bsn, nummer, "1", START)
    xml, issues = planned_message(d, today=TODAY)
    if issues:
        raise RuntimeError(issues[0].message)
    return xml


def ieb_typed(afz: str, ident: str, bsn: str, nummer: int) -> bytes:
    """The typed-model API: ``Wmo401.build`` + ``to_xml`` + the full engine (``validate_bytes``)."""
    from ieb.codec import to_xml
    from ieb.messages import Wmo401
    from ieb.validation import validate_bytes

    message = Wmo401.build(
        afzender=afz,
        identificatie=ident,
        dagtekening=TODAY,
        bsn=bsn,
        eb_start_nummer=nummer,
        eb_startdatum=START,
    )
    xml = to_xml(message)
    report = validate_bytes(xml, today=TODAY)
    if report.issues:
        raise RuntimeError(report.issues[0].message)
    return xml


def bench_b1(n: int, rounds: int, big: int | None) -> dict[str, Any]:
    floor = Floor()
    pairs = clients(n)
    with workdir() as tmp:
        xs = Xsdata(tmp)
        items = [(afz, str(i), bsn, i) for i, (afz, bsn) in enumerate(pairs, start=1)]
        for fn in (ieb_in_memory, ieb_typed, floor.wmo401, xs.message):
            fn(*items[0])  # warm up: schema compile, gemeente list
        contenders: dict[str, Callable[[Sequence[Any]], object]] = {
            "ieb": lambda chunk: [ieb_in_memory(*it) for it in chunk],
            "ieb_typed": lambda chunk: [ieb_typed(*it) for it in chunk],
            "floor": lambda chunk: [floor.wmo401(*it) for it in chunk],
            "xsdata": lambda chunk: [xs.message(*it) for it in chunk],
        }
        mem = interleaved(contenders, items, 100, rounds)
        # delivery: chunks of clients alternating between ieb and the floor, each into its own
        # database (the machine's load changes during a run; alternating spreads it evenly)
        dl: dict[str, list[float]] = {"ieb": [], "floor": [], "exchange": []}
        step = 500
        for r in range(rounds):
            db_i, db_f = open_db(tmp / f"ieb{r}.sqlite"), tmp / f"floor{r}.sqlite"
            db_x = open_db(tmp / f"exchange{r}.sqlite")
            open_db(db_f).dispose()
            spent = {"ieb": 0.0, "floor": 0.0, "exchange": 0.0}
            for c, k in enumerate(range(0, n, step)):
                chunk = pairs[k : k + step]
                runs: list[tuple[str, Callable[[], object]]] = [
                    ("ieb", lambda db_i=db_i, chunk=chunk: ieb_delivery(db_i, chunk)),  # type: ignore[misc]
                    ("floor", lambda db_f=db_f, chunk=chunk, k=k: floor.delivery(db_f, chunk, k + 1)),  # type: ignore[misc]
                    ("exchange", lambda db_x=db_x, chunk=chunk: exchange_delivery(db_x, chunk)),  # type: ignore[misc]
                ]
                for name, fn in runs[c % 3 :] + runs[: c % 3]:
                    spent[name] += timed(fn)
            db_i.dispose()
            db_x.dispose()
            for name, seconds in spent.items():
                dl[name].append(seconds)
        load = list(os.getloadavg())  # the machine's load while B1 ran (1, 5, 15 minutes)
        rates = {f"mem_{k}": median_rate(v, n) for k, v in mem.items()}
        rates.update({f"delivery_{k}": median_rate(v, n) for k, v in dl.items()})
        out: dict[str, Any] = {
            "msgs_per_s": rates["delivery_ieb"],
            "vs_floor": rates["delivery_ieb"] / rates["delivery_floor"],
            "vs_xsdata": rates["mem_ieb"] / rates["mem_xsdata"],
            "loadavg": load,
            "details": {
                "n": n,
                "rounds": rounds,
                "delivery_msgs_per_s": {
                    "ieb": rates["delivery_ieb"],
                    "floor": rates["delivery_floor"],
                    "exchange": rates["delivery_exchange"],
                },
                "exchange_vs_floor": rates["delivery_exchange"] / rates["delivery_floor"],
                "in_memory_msgs_per_s": {
                    "ieb": rates["mem_ieb"],
                    "floor": rates["mem_floor"],
                    "xsdata": rates["mem_xsdata"],
                    "ieb_typed": rates["mem_ieb_typed"],
                },
                "in_memory_vs_floor": rates["mem_ieb"] / rates["mem_floor"],
            },
        }
        if big:
            db = tmp / "big.sqlite"
            open_db(db).dispose()
            seconds = timed(lambda: ieb_delivery(db, clients(big)))
            dbf = tmp / "bigfloor.sqlite"
            open_db(dbf).dispose()
            fseconds = timed(lambda: floor.delivery(dbf, clients(big)))
            out["details"]["initial_delivery"] = {
                "clients": big,
                "gemeenten": len(by_gemeente(clients(big))),
                "ieb_seconds": seconds,
                "floor_seconds": fseconds,
            }
    return out


# ---------------------------------------------------------------------------------- B2

WMO402_TEMPLATE = (ROOT / "tests/core/samples/valid/wmo402-accepted.xml").read_bytes()


def b2_setup(db: Path, n: int) -> list[tuple[str, bytes]]:
    """A ledger with ``n`` pending WMO401 deliveries (raw inserts) and one accepted WMO402 for each."""
    open_db(db).dispose()
    con = sqlite3.connect(db, isolation_level=None)
    now = now_text()
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO deliveries (afzender, identificatie, dagtekening, bericht, bsn, eb_start_nummer, status, datum,"
        " outcome, created_at, release) VALUES (?,?,?,?,?,?,?,?,?,?,'ieb-1.0')",
        [
            (
                MAIN_GEMEENTE,
                f"B{i}",
                TODAY.isoformat(),
                "WMO401",
                BSNS[i % len(BSNS)],
                i,
                "1",
                START.isoformat(),
                "pending",
                now,
            )
            for i in range(1, n + 1)
        ],
    )
    con.execute("COMMIT")
    con.close()
    day = TODAY.isoformat().encode()
    return [
        (
            f"retour-{i}.xml",
            WMO402_TEMPLATE.replace(b"AMS-0001", f"B{i}".encode())
            .replace(b"2026-05-20", day)
            .replace(b"2026-05-21", day)
            .replace(b"CAK-77", f"CAK-{i}".encode()),
        )
        for i in range(1, n + 1)
    ]


def ieb_retours(db: Path, files: list[tuple[str, bytes]]) -> None:
    from ieb.ledger.retour import process_retours
    from ieb.ledger.store import Ledger

    with Ledger.open(db) as ledger:
        out = process_retours(ledger, files, today=TODAY)
    assert all(o.outcome == "accepted" for o in out)


def floor_retours(db: Path, files: list[tuple[str, bytes]]) -> None:
    from ieb.releases import get_release

    schema = get_release().message("WMO402").schema
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    ns = {"w": "http://www.istandaarden.nl/ieb/1_0/wmo402/schema", "ieb": BASIS}
    ident = etree.XPath("/w:Bericht/w:Header/w:BerichtIdentificatie/ieb:Identificatie/text()", namespaces=ns)
    dag = etree.XPath("/w:Bericht/w:Header/w:BerichtIdentificatie/ieb:Dagtekening/text()", namespaces=ns)
    rid = etree.XPath("/w:Bericht/w:Header/w:IdentificatieRetour/text()", namespaces=ns)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    now = now_text()
    rows = []
    for name, data in files:
        root = etree.fromstring(data, parser)
        if not schema.validate(root):
            raise RuntimeError(str(schema.error_log))
        rows.append(("accepted", rid(root)[0], data, name, now, MAIN_GEMEENTE, ident(root)[0], dag(root)[0]))
    con.executemany(
        "UPDATE deliveries SET outcome=?, retour_identificatie=?, retour_payload=?, retour_source=?, retour_at=?"
        " WHERE afzender=? AND identificatie=? AND dagtekening=?",
        rows,
    )
    con.execute("COMMIT")
    con.close()


def bench_b2(n: int, rounds: int) -> dict[str, Any]:
    res: dict[str, list[float]] = {"ieb": [], "floor": []}
    with workdir() as tmp:
        for r in range(rounds):
            db_i, db_f = tmp / f"ieb{r}.sqlite", tmp / f"floor{r}.sqlite"
            files = b2_setup(db_i, n)
            b2_setup(db_f, n)
            contenders: dict[str, Callable[[Sequence[Any]], object]] = {
                "ieb": lambda chunk, db=db_i: ieb_retours(db, list(chunk)),  # type: ignore[misc]
                "floor": lambda chunk, db=db_f: floor_retours(db, list(chunk)),  # type: ignore[misc]
            }
            for name, seconds in interleaved(contenders, files, 500, 1).items():
                res[name].extend(seconds)
    ieb, floor = median_rate(res["ieb"], n), median_rate(res["floor"], n)
    return {"msgs_per_s": ieb, "vs_floor": ieb / floor, "details": {"n": n, "floor_msgs_per_s": floor}}


# ---------------------------------------------------------------------------------- B3


def _pki(where: Path) -> Any:
    from ieb.testing.pki import create_test_pki

    return create_test_pki(where, [MAIN_GEMEENTE, "GGK"])


@contextmanager
def receiver(pki_dir: Path, db: Path, mode: str) -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/_receiver.py"), str(pki_dir), str(db), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        if not url:
            raise RuntimeError("receiver did not start")
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def di01s(m: int) -> list[bytes]:
    from ieb.codec import to_xml
    from ieb.ggk import build, new_di01
    from ieb.messages import Wmo401

    out = []
    for i in range(1, m + 1):
        xml = to_xml(
            Wmo401.build(
                afzender=MAIN_GEMEENTE,
                identificatie=str(i),
                dagtekening=TODAY,
                bsn=BSNS[i % len(BSNS)],
                eb_start_nummer=i,
                eb_startdatum=START,
            )
        )
        out.append(build(new_di01(xml, "WMO401", MAIN_GEMEENTE)))  # from the gemeente
    return out


def _parallel(items: Sequence[Any], workers: int, fn: Callable[[Any], object]) -> float:
    started = time.perf_counter()
    if workers == 1:
        for it in items:
            fn(it)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(fn, items))
    return time.perf_counter() - started


def bench_b3(m: int, rounds: int, m_signed: int) -> dict[str, Any]:
    """Both receivers (plain and WS-Security) run in their own processes; per round the contenders
    take turns in chunks of 20 messages, each message new (the receiver is idempotent)."""
    import zeep
    from zeep.transports import Transport

    from ieb.ggk import parse as parse_envelope
    from ieb.ggk import wsdl_path
    from ieb.ggk.codec import envelope_to_element
    from ieb.transport.client import _ROOT_ELEMENTS, GGK_NS, SOAP_ACTIONS, GgkClient, WusSigning, make_session
    from ieb.transport.tls import TlsFiles

    res: dict[str, list[float]] = {}
    with workdir() as tmp:
        pki = _pki(tmp / "pki")
        k = pki.party("GGK")
        k_tls = TlsFiles(k.chain, k.key, pki.roots)
        roots = pki.roots.read_bytes()
        inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
        signing = WusSigning(k.key.read_bytes(), k.cert.read_bytes(), roots, inter)
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{SOAP_ACTIONS["ggk_Di01"]}"'}
        with (
            receiver(tmp / "pki", tmp / "plain.sqlite", "receiver") as url,
            receiver(tmp / "pki", tmp / "signed.sqlite", "signed") as surl,
            GgkClient(url, tls=k_tls) as client,
            GgkClient(surl, tls=k_tls, signing=signing) as sclient,
        ):
            session = make_session(k_tls)
            zsession = make_session(k_tls)
            zc: Any = zeep.Client(str(wsdl_path()), transport=Transport(session=zsession))
            service = zc.create_service(f"{{{GGK_NS}}}SOAPOntvangAsynchroon", url)
            xsd_el = zc.get_element(_ROOT_ELEMENTS["ggk_Di01"])

            def post(body: bytes) -> None:
                answer = session.post(url, data=body, headers=headers, timeout=30)
                answer.raise_for_status()
                if b"Bv03Bericht" not in answer.content:  # acknowledged, as ieb's send() requires
                    raise RuntimeError(answer.content[:300].decode(errors="replace"))

            def zeep_call(v: Any) -> None:
                service.ggk_Di01(**{name: v[name] for name in v})

            for warm in (client, sclient):
                warm.send(di01s(1)[0])  # TLS session, zeep, schemas
            post(client.soap_request(parse_envelope(di01s(1)[0]))[1])
            for _ in range(rounds):
                # prepared outside the timing: new envelopes, the request bytes ieb would post, zeep values
                envs, senvs = di01s(m), di01s(m_signed)
                bodies = [client.soap_request(parse_envelope(e))[1] for e in di01s(m)]
                values = [
                    xsd_el.parse(envelope_to_element(parse_envelope(e)), zc.wsdl.types) for e in di01s(m)
                ]
                contenders: dict[str, Callable[[Sequence[Any]], object]] = {
                    "ieb": lambda idx, envs=envs: [client.send(envs[i]) for i in idx],  # type: ignore[misc]
                    "requests": lambda idx, bodies=bodies: [post(bodies[i]) for i in idx],  # type: ignore[misc]
                    "zeep": lambda idx, values=values: [zeep_call(values[i]) for i in idx],  # type: ignore[misc]
                }
                for name, seconds in interleaved(contenders, list(range(m)), 20, 1).items():
                    res.setdefault(name, []).extend(seconds)
                # signed vs unsigned, alternating on their own (signing is slow; its receiver too)
                uenvs = di01s(m_signed)
                pair: dict[str, Callable[[Sequence[Any]], object]] = {
                    "ieb_unsigned": lambda idx, uenvs=uenvs: [client.send(uenvs[i]) for i in idx],  # type: ignore[misc]
                    "ieb_signed": lambda idx, senvs=senvs: [sclient.send(senvs[i]) for i in idx],  # type: ignore[misc]
                }
                for name, seconds in interleaved(pair, list(range(m_signed)), 10, 1).items():
                    res.setdefault(name, []).extend(seconds)
                # the receiver's ceiling: bare requests from 4 threads
                many = [client.soap_request(parse_envelope(e))[1] for e in di01s(m)]
                res.setdefault("requests_4_threads", []).append(_parallel(many, 4, post))
            session.close()
            zsession.close()
    rates = {
        name: median_rate(v, m_signed if name in ("ieb_signed", "ieb_unsigned") else m)
        for name, v in res.items()
    }
    return {
        "msgs_per_s": rates["ieb"],
        "vs_requests": rates["ieb"] / rates["requests"],
        "vs_zeep": rates["ieb"] / rates["zeep"],
        "signed_msgs_per_s": rates["ieb_signed"],
        "details": {
            "m": m,
            "msgs_per_s": rates,
            "signed_vs_unsigned": rates["ieb_signed"] / rates["ieb_unsigned"],
        },
    }


# ---------------------------------------------------------------------------------- B4


def b4_child(n: int, db: Path) -> None:
    """Run B1's delivery for ``n`` clients in this (fresh) process; print peak RSS and ledger bytes."""
    open_db(db).dispose()
    count = ieb_delivery(db, clients(n))
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    peak_kb = peak_rss_kb()
    print(json.dumps({"n": count, "peak_rss_mb": peak_kb / 1024, "db_bytes": db.stat().st_size}))


def peak_rss_kb() -> float:
    """This process's peak resident set size: VmHWM from /proc (per address space, so it starts
    afresh at exec); ``getrusage`` where /proc is missing. ``ru_maxrss`` alone is wrong here: Linux
    keeps the parent's high-water mark across fork + exec, so every child reported the parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def bench_b4(sizes: Sequence[int], want: Sequence[int]) -> dict[str, Any]:
    measured: dict[int, dict[str, float]] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with workdir() as tmp:
        for n in sizes:
            out = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--b4-child",
                    str(n),
                    str(tmp / f"b4-{n}.sqlite"),
                ],
                check=True,
                capture_output=True,
                env=env,
            )
            measured[n] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    peak = {str(n): measured[n]["peak_rss_mb"] for n in sizes}
    extrapolated = {}
    # growth per message within one plan() call (one gemeente: at most PER_GEMEENTE clients)
    lo, hi = sorted(sizes)[0], sorted(sizes)[1]
    slope = (measured[hi]["peak_rss_mb"] - measured[lo]["peak_rss_mb"]) / (hi - lo)
    for n in want:
        if str(n) not in peak:
            top = max(sizes)
            peak[str(n)] = measured[top]["peak_rss_mb"] + slope * (n - top)
            extrapolated[str(n)] = True
    big = measured[max(sizes)]
    return {
        "peak_rss_mb": peak,
        "bytes_per_message": big["db_bytes"] / big["n"],
        "loadavg": list(os.getloadavg()),
        "details": {
            "measured_sizes": list(sizes),
            "extrapolated": extrapolated,
            "rss_growth_kb_per_message": slope * 1024,
        },
    }


# ---------------------------------------------------------------------------------- B5

PAYLOAD = (ROOT / "tests/core/samples/valid/wmo401-start.xml").read_bytes()


def b5_ledger(db: Path, starts: int, reserve: int) -> dict[str, list[Any]]:
    """A ledger of one gemeente with ``starts`` accepted starts (with stops, one-month periods, several
    per person: the test BSN range is small). The last ``reserve`` test BSNs stay unused. Returns the
    desired state that reproduces the ledger (for re-planning)."""
    from ieb.ledger.planner import Period

    open_db(db).dispose()
    people = BSNS[: len(BSNS) - reserve]
    per = max(1, math.ceil(starts / len(people)))
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN")
    rows, nummers = [], []
    desired: dict[str, list[Any]] = {}
    now = now_text()
    ident = 0
    for nummer in range(1, starts + 1):
        person = people[(nummer - 1) // per]
        k = (nummer - 1) % per
        month = dt.date(2020 + k // 12, k % 12 + 1, 1)
        stop = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        for bericht, datum in (("WMO401", month), ("WMO403", stop)):
            ident += 1
            rows.append(
                (
                    MAIN_GEMEENTE,
                    str(ident),
                    month.isoformat(),
                    bericht,
                    person,
                    nummer,
                    "1",
                    datum.isoformat(),
                    PAYLOAD,
                    "accepted",
                    now,
                )
            )
        nummers.append((MAIN_GEMEENTE, nummer, person, now))
        desired.setdefault(person, []).append(Period(start=month, stop=stop))
    con.executemany(
        "INSERT INTO deliveries (afzender, identificatie, dagtekening, bericht, bsn, eb_start_nummer, status, datum,"
        " payload, outcome, created_at, release) VALUES (?,?,?,?,?,?,?,?,?,?,?,'ieb-1.0')",
        rows,
    )
    con.executemany(
        "INSERT INTO eb_start_nummers (afzender, eb_start_nummer, bsn, created_at) VALUES (?,?,?,?)", nummers
    )
    con.executemany(
        "INSERT INTO counters (scope, kind, last_value) VALUES (?,?,?)",
        [(MAIN_GEMEENTE, "eb_start_nummer", starts), (MAIN_GEMEENTE, "identificatie", ident)],
    )
    con.execute("COMMIT")
    con.close()
    return desired


def bench_b5(sizes: Sequence[int], reps: int, replan: int | None) -> dict[str, Any]:
    """All ledgers open at once; every repetition plans on each of them in turn (rotating order),
    so a change in the machine's load hits every size alike. ``record=False``: the ledgers stay
    the same size (numbers are allocated and rolled back, as in a real dry run)."""
    from ieb.ledger.planner import Period, plan
    from ieb.ledger.store import Ledger

    reserve = 400
    fresh = BSNS[len(BSNS) - reserve :]
    all_sizes = [0, *sizes]
    times1: dict[int, list[float]] = {n: [] for n in all_sizes}
    times200: dict[int, list[float]] = {n: [] for n in all_sizes}
    details: dict[str, Any] = {"reps": reps}
    with workdir() as tmp:
        ledgers: dict[int, Any] = {}
        desired: dict[int, dict[str, list[Any]]] = {}
        for size in all_sizes:
            db = tmp / f"b5-{size}.sqlite"
            if size:
                desired[size] = b5_ledger(db, size, reserve)
            else:
                open_db(db).dispose()
            ledgers[size] = Ledger.open(db)
            plan(
                ledgers[size], MAIN_GEMEENTE, {fresh[0]: [Period(START)]}, today=TODAY, record=False
            )  # warm-up
        try:
            group = {b: [Period(START)] for b in fresh[200:400]}
            for r in range(reps):
                order = all_sizes[r % len(all_sizes) :] + all_sizes[: r % len(all_sizes)]
                for size in order:
                    led, who = ledgers[size], fresh[1 + r]
                    times1[size].append(
                        timed(
                            lambda led=led, who=who: plan(
                                led, MAIN_GEMEENTE, {who: [Period(START)]}, today=TODAY, record=False
                            )
                        )  # type: ignore[misc]
                    )
                if r < max(3, reps // 3):
                    for size in order:
                        led = ledgers[size]
                        times200[size].append(
                            timed(lambda led=led: plan(led, MAIN_GEMEENTE, group, today=TODAY, record=False))  # type: ignore[misc]
                        )
            if replan:
                led, want = ledgers[replan], desired[replan]
                seconds = timed(lambda: plan(led, MAIN_GEMEENTE, want, today=TODAY, record=False))
                check = plan(led, MAIN_GEMEENTE, dict(list(want.items())[:50]), today=TODAY, record=False)
                assert not check.messages, "re-planning an unchanged ledger planned messages"
                details["replan_unchanged"] = {"starts": replan, "persons": len(want), "seconds": seconds}
        finally:
            for led in ledgers.values():
                led.close()
    one = {str(n): statistics.median(v) * 1000 for n, v in times1.items()}
    details["plan_200_ms"] = {str(n): statistics.median(v) * 1000 for n, v in times200.items()}
    details["plan_one_vs_empty"] = {k: v / one["0"] for k, v in one.items()}
    return {"plan_one_ms": one, "loadavg": list(os.getloadavg()), "details": details}


# ---------------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import lxml
    import sqlalchemy

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "lxml": lxml.__version__,
        "sqlalchemy": sqlalchemy.__version__,
    }


def table(results: dict[str, Any]) -> str:
    lines = [f"{'benchmark':<58} {'value':>14} {'ratio':>8}"]

    def row(label: str, value: str, ratio: float | None = None) -> None:
        lines.append(f"{label:<58} {value:>14} {'' if ratio is None else f'{ratio:8.2f}'}")

    if "B1" in results:
        b = results["B1"]
        d = b["details"]
        row(f"B1 initial delivery to outbox ({d['n']} msgs), ieb", f"{b['msgs_per_s']:.0f}/s", b["vs_floor"])
        row("   floor: lxml + XMLSchema + raw sqlite3", f"{d['delivery_msgs_per_s']['floor']:.0f}/s")
        if "exchange" in d["delivery_msgs_per_s"]:
            row(
                "   Exchange.plan_and_queue, one transaction (vs floor)",
                f"{d['delivery_msgs_per_s']['exchange']:.0f}/s",
                d["exchange_vs_floor"],
            )
        mem = d["in_memory_msgs_per_s"]
        row("B1 build + serialise + check in memory, ieb (vs xsdata)", f"{mem['ieb']:.0f}/s", b["vs_xsdata"])
        if "ieb_typed" in mem:
            row("   typed API: Wmo401.build + to_xml + validate_bytes", f"{mem['ieb_typed']:.0f}/s")
        row("   xsdata dataclasses + XMLSchema", f"{mem['xsdata']:.0f}/s")
        row(
            "   floor: lxml build + XMLSchema (ieb vs floor)",
            f"{mem['floor']:.0f}/s",
            d["in_memory_vs_floor"],
        )
        if "initial_delivery" in d:
            big = d["initial_delivery"]
            row(
                f"B1 initial delivery of {big['clients']} clients ({big['gemeenten']} gemeenten), ieb",
                f"{big['ieb_seconds']:.1f} s",
                big["floor_seconds"] / big["ieb_seconds"],
            )
            row("   floor", f"{big['floor_seconds']:.1f} s")
    if "B2" in results:
        b = results["B2"]
        row(
            f"B2 WMO402 retours applied ({b['details']['n']}), ieb", f"{b['msgs_per_s']:.0f}/s", b["vs_floor"]
        )
        row("   floor: lxml parse + XSD + UPDATE", f"{b['details']['floor_msgs_per_s']:.0f}/s")
        if "cli_vs_floor" in b:  # issue 22 (bench/bench_retour.py)
            c = b["details"]["cli"]
            row(
                f"B2 ieb retour FILES, {c['files']:,} files as a process (load {b['loadavg']})",
                f"{b['cli_msgs_per_s']:.0f}/s",
                b["cli_vs_floor"],
            )
            row(
                "   floor process: lxml parse + XSD + UPDATE, one transaction",
                f"{c['floor_msgs_per_s']:.0f}/s",
            )
    if "B3" in results:
        b = results["B3"]
        r = b["details"]["msgs_per_s"]
        row(
            f"B3 send Di01 -> receiver, ack'd ({b['details']['m']}), 1 thread",
            f"{r['ieb']:.0f}/s",
            b["vs_requests"],
        )
        row("   bare requests keep-alive, same bytes, 1 thread", f"{r['requests']:.0f}/s")
        row("   plain zeep loop (ieb vs zeep)", f"{r['zeep']:.0f}/s", b["vs_zeep"])
        row(
            "   WS-Security signed (signed vs unsigned)",
            f"{r['ieb_signed']:.0f}/s",
            b["details"]["signed_vs_unsigned"],
        )
        if b["details"].get("signed_rsa_ceiling") is not None:  # bench/bench_wssec.py: RSA alone allows
            rsa_ms = b["details"]["rsa_ms"]
            row(
                f"   ceiling: 2 RSA signs ({rsa_ms['sign']:.2f} ms) + 2 verifies, rest free",
                "",
                b["details"]["signed_rsa_ceiling"],
            )
        sl = b["details"].get("signed_at_latency")
        if sl:  # bench/bench_transport.py: ieb send, 1 worker, signed vs unsigned with the GGk's latency
            row(
                f"   ieb send signed vs unsigned, 1 worker, GGk +{sl['latency_ms']:g} ms, "
                f"load {sl['loadavg'][0]:.1f}",
                f"{sl['msgs_per_s_signed']:.0f}/s",
                b["details"]["signed_vs_unsigned_at_latency"],
            )
        row("   receiver ceiling: bare requests, 4 threads", f"{r['requests_4_threads']:.0f}/s")
        cc = b["details"].get("client_cpu")
        if cc:  # bench/bench_b3.py: the client thread's CPU per send (requests / ieb)
            row("   client CPU per send, ieb vs bare requests", f"{cc['ieb_cpu_ms']:.2f} ms", cc["cpu_ratio"])
        sw = b["details"].get("send_workers", {})
        for key, label in (("workers4_vs_1", "sqlite"), ("workers4_vs_1_postgresql", "postgresql")):
            if b.get(key) is not None:
                d = sw.get(label, {})
                row(
                    f"   ieb send 4 vs 1 workers, {label}, GGk +{d.get('latency_ms', 0):g} ms, "
                    f"load {b['loadavg'][0]:.1f}",
                    f"{d.get('msgs_per_s_4', 0):.0f}/s",
                    b[key],
                )
                if "loopback" in d:
                    row(
                        f"     same on loopback, no latency ({label})",
                        f"{d['loopback']['msgs_per_s_4']:.0f}/s",
                        d["loopback"]["ratio"],
                    )
        if "loopback_ceiling" in sw:
            row("     loopback ceiling: bare requests 4 vs 1 thread", "", sw["loopback_ceiling"]["ratio"])
    if "RECV" in results:
        b = results["RECV"]
        row(
            f"RECV receiver CPU per message (bare app {b['bare_cpu_ms_per_msg']:.2f} ms, load {b['loadavg'][0]:.1f})",
            f"{b['cpu_ms_per_msg']:.2f} ms",
            1 / b["ratio"],
        )
        if "postgresql" in b["details"]:
            p = b["details"]["postgresql"]
            row(
                f"     same on PostgreSQL (bare app {p['bare_cpu_ms_per_msg']:.2f} ms, load {p['loadavg'][0]:.1f})",
                f"{p['cpu_ms_per_msg']:.2f} ms",
                1 / p["ratio"],
            )
    if "B4" in results:
        b = results["B4"]
        for n, mb in b["peak_rss_mb"].items():
            mark = " (extrapolated)" if n in b["details"]["extrapolated"] else ""
            row(f"B4 peak RSS of B1 at {int(n):,}{mark}", f"{mb:.0f} MB")
        row(
            "   growth per message within one plan() call",
            f"{b['details']['rss_growth_kb_per_message']:.2f} KB",
        )
        row("   ledger bytes per message", f"{b['bytes_per_message']:.0f} B")
    if "B5" in results:
        b = results["B5"]
        d = b["details"]
        for n, ms in b["plan_one_ms"].items():
            row(
                f"B5 plan one new person, ledger of {int(n):,} starts (vs empty)",
                f"{ms:.1f} ms",
                d["plan_one_vs_empty"][n],
            )
        for n, ms in d["plan_200_ms"].items():
            row(f"B5 plan 200 new persons, ledger of {int(n):,} starts", f"{ms:.0f} ms")
        if "replan_unchanged" in d:
            rp = d["replan_unchanged"]
            row(
                f"B5 re-plan {rp['persons']:,} unchanged persons ({rp['starts']:,} starts)",
                f"{rp['seconds']:.1f} s",
            )
    if "VAL" in results:  # issue 22 (bench/bench_validate.py)
        v, d = results["VAL"], results["VAL"]["details"]
        row(
            f"VAL validate_bytes per WMO401 vs libxml2 (load {v['loadavg']})",
            f"{d['validate_bytes_us']:.0f} us",
            v["vs_libxml2"],
        )
        row(
            f"VAL ieb validate {d['files']:,} files vs xmllint (CPU)",
            f"{d['ieb_validate_cpu_s']:.2f} s",
            v["cli_10k_vs_xmllint"],
        )
        if "cli_own_us_per_file" in d:  # the command's own share (bench_validate._cli_vs_xmllint)
            row("VAL ieb validate: CPU per file besides validate_bytes", f"{d['cli_own_us_per_file']:.0f} us")
    if "CLI" in results:  # issue 22 (bench/bench_cli.py)
        c = results["CLI"]
        row(
            f"CLI ieb --help CPU (python -c pass {c['python_cpu_s']} s; load {c['loadavg']})",
            f"{c['help_cpu_s']:.3f} s",
        )
        row("CLI ieb validate one.xml CPU", f"{c['validate_one_cpu_s']:.3f} s")
        row("CLI pytest plugin: import pytest + plugin vs import pytest", "", c["plugin_vs_pytest"])
    return "\n".join(lines)


def _b3_extra(b3: dict[str, Any], quick: bool) -> dict[str, Any]:
    from bench.bench_transport import b3_extra  # issue 22: workers4_vs_1, signed_vs_unsigned

    return b3_extra(b3, quick)


def _b3_client_cpu(b3: dict[str, Any], quick: bool) -> dict[str, Any]:
    """B3 ``details.client_cpu``: the client thread's CPU per send, ieb vs bare requests (``cpu_ratio``
    = requests / ieb), which the load moves far less than the wall-clock ratio (bench/bench_b3.py)."""
    from bench.bench_b3 import bench_client

    b3["details"]["client_cpu"] = bench_client(100 if quick else 300, 2 if quick else 3)
    return b3


def _bench_b2(quick: bool) -> dict[str, Any]:
    from bench.bench_retour import bench_b2 as b2  # issue 22: + the `ieb retour FILES` process vs its floor

    return b2(1000 if quick else 10_000, 1 if quick else 3, 1000 if quick else 10_000)


def _bench_recv(n: int, rounds: int) -> dict[str, Any]:
    from bench.bench_recv import bench_recv  # issue 22: receiver CPU per message vs a bare app

    out = bench_recv(n, rounds)
    if os.environ.get("IEB_TEST_POSTGRES_URL"):  # the same on PostgreSQL (receiver process CPU)
        pg = bench_recv(n, rounds, postgresql=True)
        out["details"]["postgresql"] = {
            k: pg[k] for k in ("cpu_ms_per_msg", "bare_cpu_ms_per_msg", "ratio", "loadavg")
        }
        out["details"]["postgresql"]["details"] = {
            k: pg["details"][k] for k in ("method", "ratio_quartiles", "ratio_of_totals", "old_method")
        }
    return out


#: the names ``--only`` takes (E2E also gives E2E_1M in the full run)
BENCHMARKS = ("B1", "B2", "B3", "RECV", "B4", "B5", "VAL", "CLI", "E2E")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (about a minute)")
    parser.add_argument("--json", action="store_true", help="print the JSON contract only")
    parser.add_argument(
        "--only",
        default="B1,B2,B3,B4,B5,RECV,E2E",
        help=f"comma-separated subset of {','.join(BENCHMARKS)} (default: all of them)",
    )
    parser.add_argument("--save", metavar="PATH", help="also write the JSON result to PATH")
    parser.add_argument("--b4-child", nargs=2, metavar=("N", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.b4_child:
        b4_child(int(args.b4_child[0]), Path(args.b4_child[1]))
        return 0
    only = {s.strip().upper() for s in args.only.split(",")}
    unknown = sorted(only - set(BENCHMARKS))
    if unknown:  # a misspelt name ran nothing and printed an empty table, exit 0
        parser.error(f"--only: unknown {', '.join(unknown)}; choose from {','.join(BENCHMARKS)}")
    q = args.quick
    started = time.perf_counter()
    results: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("B1", lambda: bench_b1(1000 if q else 5000, 1 if q else 3, None if q else 100_000)),
        ("B2", lambda: _bench_b2(q)),
        (
            "B3",
            lambda: _b3_client_cpu(
                _b3_extra(bench_b3(60 if q else 500, 1 if q else 3, 20 if q else 100), q), q
            ),
        ),
        ("RECV", lambda: _bench_recv(300 if q else 500, 1 if q else 3)),
        ("B4", lambda: bench_b4([1000, 2000] if q else [1000, PER_GEMEENTE, 100_000], [1000, 100_000])),
        (
            "B5",
            lambda: bench_b5(
                [1000, 100_000] if q else [1000, 10_000, 100_000], 6 if q else 30, None if q else 100_000
            ),
        ),
    ]
    # issue 22: validation and CLI start-up (bench/bench_validate.py, bench/bench_cli.py), on by default
    from bench_cli import bench_cli
    from bench_validate import bench_val

    steps += [("VAL", lambda: bench_val(q)), ("CLI", lambda: bench_cli(q))]
    if args.only == parser.get_default("only"):
        only |= {"VAL", "CLI"}
    for name, fn in steps:
        if name in only:
            t = time.perf_counter()
            _log(f"{name} ...")
            results[name] = fn()
            _log(f"{name} done in {time.perf_counter() - t:.1f} s")
    if "E2E" in only:  # issue 22: `ieb plan --queue` as a process vs the floor (bench/bench_e2e.py)
        from bench_e2e import bench_e2e

        _log("E2E ...")
        results.update(bench_e2e(5_000 if q else 100_000, million=not q))
        _log(json.dumps({k: results[k] for k in ("E2E", "E2E_1M") if k in results}))
    results["machine"] = machine()
    results["seconds"] = time.perf_counter() - started
    results["mode"] = "quick" if q else "full"
    if args.save:
        Path(args.save).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(table(results))
        print(
            f"\n{results['mode']} run, {results['seconds']:.0f} s; {results['machine']['cpu']}, {results['machine']['cores']} cores"
        )
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    raise SystemExit(main())
