"""The GGk + CAK simulator on loopback with mutual TLS, plus the gemeente's receiver that collects
what the simulator answers: the harness behind the pytest plugin (:mod:`ieb.testing.plugin`) and
the scenario suite (``ieb conformance run``).

::

    pki = create_test_pki(tmp_path / "pki", ["0363", "GGK"])   # ieb.testing.pki
    with SimulatorHarness(tmp_path, pki=pki) as sim:  # simulator, receiver
        ref = sim.send(wmo401_bytes)                 # Di01 over mutual TLS, Bv03 back
        [answer] = sim.wait()                        # the Du01 (retour) or Fo01 for it
        answer.codes                                 # ('9102',) / () when accepted

A vendor's own sender talks to :attr:`SimulatorHarness.endpoint` with the gemeente's certificate
(:attr:`tls`: chain, key, trusted roots as PEM files).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
from lxml import etree

from ieb.errors import IebError
from ieb.simulator.faults import FaultConfig, FaultInjector
from ieb.transport.tls import TlsFiles

if TYPE_CHECKING:  # the caller makes the test PKI (ieb.testing.pki sits above this floor)
    from ieb.testing.pki import TestPki

__all__ = ["Answer", "Arrival", "ClientTls", "SimulatorHarness", "functie_of", "retour_codes"]

GGK = "GGK"


class HarnessError(IebError):
    """The simulator harness could not start, or an answer did not arrive in time."""

    def __init__(self, message: str, *, issues: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.issues = issues


def functie_of(payload: bytes) -> str:
    """The StUF functie (the message name) of an iEb file, from its root namespace in the registered
    release packs; the first heenbericht of the default pack when the file is unreadable (the
    simulator then answers it with a Fo01 or 0001)."""
    from ieb.releases import default_registry, get_pack

    head = payload[:2048]
    for pack in default_registry:
        for row in pack.messages.values():
            if row.namespace.encode() in head:
                return row.name
    return get_pack().heen()[0].name


def retour_codes(retour: bytes) -> tuple[str, ...]:
    """Every RetourCode in an iEb retour (Header, Client, class), in document order."""
    from ieb.xmlsafe import XmlProblem, parse_bytes

    try:
        root = parse_bytes(retour)
    except (XmlProblem, IebError):
        return ()
    return tuple(
        (el.text or "").strip()
        for el in root.iter()
        if isinstance(el.tag, str) and etree.QName(el).localname == "RetourCode"
    )


@dataclass(frozen=True)
class Arrival:
    """A Di01 the simulator received (redeliveries of the same referentienummer are one arrival)."""

    id: int
    referentienummer: str
    functie: str | None
    payload: bytes
    status: str


@dataclass(frozen=True)
class Answer:
    """What the simulator sent back for one Di01: a ``Du01`` carrying the retour or a ``Fo01``."""

    cross_refnummer: str
    kind: Literal["Du01", "Fo01"]
    functie: str | None
    retour: bytes
    fo01_code: str | None
    fo01_omschrijving: str | None
    envelope: bytes
    heen: bytes | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        """RetourCodes of the retour (empty for a Fo01 and for an accepted heenbericht)."""
        return retour_codes(self.retour) if self.kind == "Du01" else ()

    @property
    def accepted(self) -> bool:
        """A Du01 whose retour rejects nothing (no codes, or only 0200 / 0233)."""
        return self.kind == "Du01" and all(c in ("0200", "0233") for c in self.codes)


@dataclass(frozen=True)
class ClientTls(TlsFiles):
    """The gemeente's TLS files for a client of the simulator: a :class:`TlsFiles` (``cert``,
    ``key``, ``ca``, as every ``ieb`` API takes them) that also answers to the names of the test PKI
    (``chain`` = ``cert``, ``roots`` = ``ca``). docs/conformance.md documents ``cert``/``key``/``ca``."""

    @property
    def chain(self) -> Path:
        """The certificate chain (PEM): the same file as :attr:`cert`."""
        return self.cert

    @property
    def roots(self) -> Path:
        """The trusted roots (PEM): the same file as :attr:`ca`."""
        return self.ca


class SimulatorHarness:
    """The simulator (GGk + CAK) on loopback with mutual TLS and the gemeente's receiver for the
    Du01/Fo01 callbacks, in ``workdir``, with certificates from ``pki``: a test PKI
    (:func:`ieb.testing.pki.create_test_pki`) holding the gemeente ``gemeente`` and ``"GGK"``.

    ``faults``: :class:`~ieb.simulator.faults.FaultConfig` (or its text form ``"fo01=1.0,seed=3"``);
    ``level1``: ``"retour"`` (IV028, header + 0001) or ``"none"`` (IV032, no retour);
    ``today``: the CAK's system date (default: the real date).
    """

    def __init__(
        self,
        workdir: str | Path,
        *,
        pki: TestPki,
        gemeente: str = "0363",
        faults: FaultConfig | str | None = None,
        level1: Literal["retour", "none"] = "retour",
        today: dt.date | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.gemeente = gemeente
        self._pki = pki
        self._faults = FaultConfig.parse(faults) if isinstance(faults, str) else faults
        self.level1: Literal["retour", "none"] = level1
        self.today = today
        self._started = False
        self._lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SimulatorHarness:
        """Start the GGk/CAK simulator and the gemeente's receiver on loopback (mutual TLS); returns ``self``. Idempotent."""
        from ieb.simulator.cak import CakConfig
        from ieb.simulator.server import SimulatorService
        from ieb.transport.outbox import open_ledger
        from ieb.transport.sender import RetryPolicy
        from ieb.transport.server import HttpsServer, Receiver

        if self._started:
            return self
        pki = self._pki
        gem, ggk = pki.party(self.gemeente), pki.party(GGK)
        self.receiver_engine = open_ledger(f"sqlite:///{self.workdir / 'gemeente-ontvanger.sqlite'}")
        self.receiver = Receiver(self.receiver_engine, organisatie=self.gemeente, allowed_oins={ggk.oin})
        self.receiver_server = HttpsServer(self.receiver, TlsFiles(gem.chain, gem.key, pki.roots), threads=4)
        self.receiver_server.start()
        try:
            self.service = SimulatorService(
                db=f"sqlite:///{self.workdir / 'ggk-cak.sqlite'}",
                tls=TlsFiles(ggk.chain, ggk.key, pki.roots),
                callback_url=self.receiver_server.url,
                allowed_oins={gem.oin},
                faults=self._faults,
                today=self.today,
                retry=RetryPolicy(
                    max_attempts=50,
                    attempts_per_claim=3,
                    backoff_initial=0.05,
                    backoff_max=0.5,
                    requeue_initial=0.2,
                    requeue_max=1.0,
                ),
            )
            self.service.app.cak.config = CakConfig(level1=self.level1)
            self.service.start()
        except BaseException:
            self.receiver_server.stop()
            self.receiver_engine.dispose()
            raise
        self._started = True
        return self

    def stop(self) -> None:
        """Stop the simulator and the receiver and release their databases. Idempotent."""
        if not self._started:
            return
        self._started = False
        try:
            self.service.stop()
        finally:
            self.receiver_server.stop()
            self.receiver_engine.dispose()

    def __enter__(self) -> SimulatorHarness:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a sender needs ------------------------------------------------------------------

    @property
    def pki(self) -> TestPki:
        """The test PKI of the gemeente and the GGk (as given)."""
        return self._pki

    @property
    def endpoint(self) -> str:
        """The simulator's OntvangAsynchroon URL (``https://127.0.0.1:PORT/ggk0210/OntvangAsynchroon``)."""
        return str(self.service.url)

    @property
    def tls(self) -> ClientTls:
        """The gemeente's certificate chain, key and the trusted roots (PEM files): ``.cert``,
        ``.key``, ``.ca`` (also as ``.chain`` and ``.roots``)."""
        p = self.pki.party(self.gemeente)
        return ClientTls(p.chain, p.key, self.pki.roots)

    @property
    def oin(self) -> str:
        """The gemeente's test OIN (20 digits, ``00000099...``) from the harness PKI; raises :class:`HarnessError` before :meth:`start`."""
        return str(self.pki.party(self.gemeente).oin)

    def set_faults(self, faults: FaultConfig | str | None) -> None:
        """Change the fault injection from now on (``None``: no faults)."""
        config = FaultConfig.parse(faults) if isinstance(faults, str) else faults
        self.service.app.faults = FaultInjector(config)

    def set_today(self, today: dt.date | None) -> None:
        """The CAK's system date from now on (8848 compares the Dagtekening with it)."""
        self.today = today
        self.service.app.cak.today = today

    def send(self, payload: bytes, *, functie: str | None = None, attempts: int = 5) -> str:
        """Send an iEb file as a Di01 from the gemeente (retrying transient failures with the same
        envelope); returns the Di01's referentienummer."""
        from ieb.ggk import build, new_di01
        from ieb.transport.client import GgkClient, TransientSendError

        di01 = new_di01(payload, functie or functie_of(payload), self.gemeente)
        data = build(di01)
        with GgkClient(self.endpoint, tls=self.tls) as client:
            for attempt in range(1, attempts + 1):
                try:
                    client.send(data)
                    break
                except TransientSendError:
                    if attempt == attempts:
                        raise
                    time.sleep(0.05 * attempt)
        return str(di01.referentienummer)

    # -- what arrived and what was answered ---------------------------------------------------

    def arrivals(self, since: int = 0) -> list[Arrival]:
        """The Di01s the simulator received (in order), with id greater than ``since``."""
        from ieb.ggk import Di01
        from ieb.ggk.soap import unwrap_soap
        from ieb.transport.outbox import ledger_tables

        t = ledger_tables().inbox
        with self.service.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.berichtcode == "Di01", t.c.id > since).order_by(t.c.id)
            ).all()
        out = []
        for r in rows:
            if r.status == "duplicate":  # resent after a transient Fo01: the new row stands for it
                continue
            payload = b""
            try:
                env = unwrap_soap(bytes(r.envelope), validate=False)
                if isinstance(env, Di01):
                    payload = env.payload
            except (IebError, ValueError):
                payload = b""
            out.append(Arrival(int(r.id), str(r.referentienummer), r.functie, payload, str(r.status)))
        return out

    def answers(self) -> list[Answer]:
        """Every Du01/Fo01 the gemeente's receiver got (duplicates of one callback counted once)."""
        from ieb.ggk import Du01, Fo01
        from ieb.ggk.soap import unwrap_soap
        from ieb.transport.outbox import ledger_tables

        heen = {a.referentienummer: a.payload for a in self.arrivals()}
        t = ledger_tables().inbox
        with self.receiver_engine.connect() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.berichtcode.in_(("Du01", "Fo01"))).order_by(t.c.id)
            ).all()
        found: dict[str, Answer] = {}  # per Di01 the LAST answer (a resend after a transient Fo01)
        seen: set[bytes] = set()
        for r in rows:
            cross = str(r.cross_ref_nummer or "")
            try:
                env = unwrap_soap(bytes(r.envelope), validate=False)
            except (IebError, ValueError):
                continue
            key = str(env.referentienummer).encode()
            if key in seen:  # the same callback delivered twice
                continue
            seen.add(key)
            out: list[Answer] = []
            if isinstance(env, Du01):
                out.append(
                    Answer(
                        cross,
                        "Du01",
                        env.functie,
                        env.payload,
                        None,
                        None,
                        bytes(r.envelope),
                        heen.get(cross),
                    )
                )
            elif isinstance(env, Fo01):
                out.append(
                    Answer(
                        cross,
                        "Fo01",
                        None,
                        b"",
                        env.body.code,
                        str(env.body.omschrijving or ""),
                        bytes(r.envelope),
                        heen.get(cross),
                    )
                )
            if out:
                found.pop(cross, None)  # keep the order of the latest answers
                found[cross] = out[0]
        return list(found.values())

    def wait(self, refs: set[str] | None = None, *, timeout: float = 30.0) -> list[Answer]:
        """Wait until every Di01 (or those in ``refs``) has its Du01/Fo01 at the receiver; returns all
        answers. With ``level1="none"`` a level-1 failure never gets one: it is skipped after the CAK
        side went idle. Raises :class:`HarnessError` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            answers = self.answers()
            want = refs if refs is not None else {a.referentienummer for a in self.arrivals()}
            got = {a.cross_refnummer for a in answers}
            missing = want - got
            if missing and self.level1 == "none" and self.service.app.idle():
                missing -= self._unanswerable()
            if not missing:
                return answers
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"{len(missing)} bericht(en) zonder antwoord na {timeout:.0f} s",
                    issues=tuple(sorted(missing)),
                )
            time.sleep(0.05)

    def _unanswerable(self) -> set[str]:
        from ieb.transport.outbox import ledger_tables

        t = ledger_tables().outbox
        with self.service.engine.connect() as conn:
            pending = conn.execute(
                sa.select(sa.func.count()).select_from(t).where(t.c.status.in_(("pending", "sending")))
            ).scalar()
        if pending:
            return set()
        return {a.referentienummer for a in self.arrivals() if a.status == "processed"}

    def cak_periods(self) -> dict[str, list[tuple[int, dt.date, dt.date | None, int | None]]]:
        """The CAK's current periods of this gemeente per Bsn: (EbStartNummer, start, stop, kostprijs)."""
        out: dict[str, list[tuple[int, dt.date, dt.date | None, int | None]]] = {}
        for (_, bsn), periods in self.service.app.cak.periods(self.gemeente).items():
            out[bsn] = sorted(
                (p.eb_start_nummer, p.start.datum, p.end, p.start.kostprijs_bedrag) for p in periods
            )
        return out

    def cak_process(self, payload: bytes) -> tuple[str, ...]:
        """Let the CAK process ``payload`` directly (history that a scenario presupposes, as if the
        gemeente had sent it earlier); returns the retour codes."""
        result = self.service.app.cak.process(payload, source="scenario-opzet", today=self.today)
        return tuple(result.codes)
