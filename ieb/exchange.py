"""The exchange as one facade: from desired state to accepted retours, for one gemeente or many.

:class:`Exchange` is what the ``ieb`` commands and vendors' software use::

    ex = Exchange.from_config("ieb.toml")            # or Exchange(IebConfig(...))
    preview = ex.plan("gewenst.csv")                 # nothing recorded: what would be sent
    queued = ex.queue(preview)                       # ledger deliveries + outbox envelopes, ONE transaction
    queued = ex.queue_files(["wmo401.xml"])          # hand-built files, after validation + history pre-flight
    result = ex.send()                               # drain the outbox (ieb send)
    service = ex.serve().start()                     # sender + receiver in one process (ieb serve)
    status = ex.status()                             # Status: .as_json() is the ieb status contract
    ex.requeue(dead=True)                            # put dead letters back
    ex.retry_failed_retours()                        # re-apply inbox entries that failed

Shapes: amounts in eurocent, dates :class:`datetime.date`, BSNs masked in every text this module
produces. Errors: :class:`ExchangeError` (and the errors it wraps: ``PlanningError``,
``PreflightError``, ``InputRowError``, ``ConfigurationError``, ``OutboxError``), all
:class:`ieb.errors.IebError`; each lists its problems as ``.issues``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa

from ieb.config import IebConfig, load_config
from ieb.errors import ConfigurationError, IebError, InputRowError

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Connection, Engine

    from ieb.ggk import Envelope
    from ieb.ledger.planner import Period, Plan
    from ieb.ledger.retour import RetourOutcome
    from ieb.ledger.store import Ledger
    from ieb.service import Service
    from ieb.transport.client import GgkClient
    from ieb.transport.outbox import DrainResult, Outbox, ResultCallback, RetryCallback, RetryPolicy
    from ieb.transport.server import InboxEntry, Receiver

__all__ = [
    "DEADLINE_MONTHS",
    "Exchange",
    "ExchangeError",
    "Preview",
    "Queued",
    "Status",
    "read_desired_records",
]

log = logging.getLogger("ieb.exchange")

#: the law gives one month from the start of the voorziening to reach the CAK
DEADLINE_MONTHS = 1


class ExchangeError(IebError):
    """The exchange cannot do what was asked; ``issues`` lists every problem (Dutch, BSNs masked)."""

    def __init__(self, message: str, issues: Sequence[str] = (), *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.issues = tuple(issues)


# ------------------------------------------------------------------------------ desired state


def read_desired_records(path: str | os.PathLike[str]) -> list[Mapping[str, Any]]:
    """The rows of a desired-state file through :func:`ieb.tabular.read_table` (CSV with ``,`` or
    ``;``, a JSON array or JSON lines; bounded; true line numbers in ``row.line``), for
    :func:`ieb.ledger.planner.desired_from_records`: columns ``bsn, start`` and optionally ``stop,
    kostprijs_cent, kostprijs_start, gemeente``. Raises :class:`ieb.tabular.TableError`."""
    from ieb.tabular import read_table

    p = Path(path)
    table = read_table(
        p,
        name=str(p),
        required=("bsn", "start"),
        optional=("stop", "kostprijs_cent", "kostprijs_start", "gemeente"),
    )
    return list(table.rows)


# ------------------------------------------------------------------------------ results


@dataclass
class Preview:
    """What :meth:`Exchange.plan` found: one :class:`~ieb.ledger.planner.Plan` per gemeente (nothing
    recorded). ``retroactive``: planned starts whose EbStartdatum lies more than a month before the
    Dagtekening (late: "stapelfacturen"), as ``Delivery.describe()`` lines."""

    plans: dict[str, Plan]
    desired: dict[str, dict[str, list[Period]]]
    today: dt.date
    partial: bool = False
    retroactive: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[Any]:
        """The planned messages of all gemeenten, in sending order per gemeente."""
        return [m for p in self.plans.values() for m in p.messages]

    @property
    def problems(self) -> list[str]:
        """Persons that could not be planned (with ``partial``), prefixed by their gemeente."""
        return [f"{g}: {x}" for g, p in self.plans.items() for x in p.problems]

    @property
    def deferred(self) -> list[Any]:
        """Steps left out because their date is more than a month ahead, all gemeenten."""
        return [d for p in self.plans.values() for d in p.deferred]


@dataclass
class Queued:
    """What :meth:`Exchange.queue` / :meth:`Exchange.queue_files` stored: per message its
    (gemeente, identificatie, referentienummer, describe-line)."""

    messages: list[tuple[str, str, str, str]] = field(default_factory=list)
    preview: Preview | None = None

    def __len__(self) -> int:
        return len(self.messages)


@dataclass
class Status:
    """The state of the exchange (``ieb status``). :meth:`as_json` is the contract."""

    gemeenten: list[str]
    deliveries: dict[str, int]
    retourcodes: dict[str, int]
    outbox: dict[str, int]
    inbox_failed: int
    overdue: int
    oldest_open_seconds: float | None = None
    retourcode_text: dict[str, str] = field(default_factory=dict)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    failed_inbox: list[dict[str, Any]] = field(default_factory=list)
    overdue_list: list[dict[str, Any]] = field(default_factory=list)
    detail: list[dict[str, Any]] = field(default_factory=list)
    #: open rows (pending/sending) that failed at least once: why, and when the next attempt is due
    retrying: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """The status as plain data (the JSON contract; ``detail`` adds per-message rows)."""
        data: dict[str, Any] = {
            "gemeenten": self.gemeenten,
            "deliveries": self.deliveries,
            "retourcodes": self.retourcodes,
            "outbox": self.outbox,
            "inbox_failed": self.inbox_failed,
            "overdue": self.overdue,
            "oldest_open_seconds": self.oldest_open_seconds,
            "retourcode_text": self.retourcode_text,
            "dead_letters": self.dead_letters,
            "failed_inbox": self.failed_inbox,
            "overdue_list": self.overdue_list,
            "retrying": self.retrying,
        }
        if detail:
            data["detail"] = self.detail
        return data

    def as_json(self, *, detail: bool = False) -> str:
        """The status as indented JSON (see :meth:`as_dict`)."""
        return json.dumps(self.as_dict(detail=detail), indent=2, ensure_ascii=False, default=str)


# ------------------------------------------------------------------------------ in one transaction


class _Savepoint:
    """A connection-like object handed to the planner as its 'engine': ``begin()`` opens a
    savepoint on the caller's connection, so the planner's recording joins the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect

    @contextlib.contextmanager
    def begin(self) -> Iterator[_SavepointConn]:
        sp = self._conn.begin_nested()
        proxy = _SavepointConn(self._conn, sp)
        try:
            yield proxy
        except BaseException:
            if sp.is_active:
                sp.rollback()
            raise
        if sp.is_active:
            sp.commit()

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        yield self._conn


class _SavepointConn:
    def __init__(self, conn: Connection, sp: Any) -> None:
        self._conn = conn
        self._sp = sp
        self.dialect = conn.dialect

    def rollback(self) -> None:
        if self._sp.is_active:
            self._sp.rollback()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


# ------------------------------------------------------------------------------ the facade


class Exchange:
    """The exchange of one organisation, configured by :class:`~ieb.config.IebConfig`.

    ``engine``: an open database (default: opened from ``config.database`` on first use).
    ``must_exist``: refuse a SQLite database file that does not exist (read-only commands).
    """

    def __init__(self, config: IebConfig, *, engine: Engine | None = None, must_exist: bool = False) -> None:
        self.config = config
        self._engine = engine
        self.must_exist = must_exist
        self.on_retour: Callable[[str, tuple[str, ...]], None] | None = None
        #: applied to the desired-state records before planning (``ieb plan`` sets the accepted
        #: Wlz stops here, ``ieb.wlz.WlzSignalen.overlay``); the facade imports no such module
        self.desired_overlay: Callable[[list[Any]], list[Any]] | None = None

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str] | None = None, *, must_exist: bool = False, **overrides: Any
    ) -> Exchange:
        """Load ``ieb.toml`` (``path``, ``$IEB_CONFIG`` or ``./ieb.toml``) with ``IEB_*`` overrides."""
        return cls(load_config(path, **overrides), must_exist=must_exist)

    # -- resources --------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The database engine, opened (and migrated) on first use; see ``must_exist``."""
        if self._engine is None:
            from ieb.ledger.db import open_database

            url = self.config.database_url
            if self.must_exist:
                parsed = sa.make_url(url)
                if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                    if not Path(str(parsed.database)).is_file():
                        raise ConfigurationError(
                            f"database {parsed.database} bestaat niet (nog niets gepland of verstuurd?); "
                            "controleer 'database' in ieb.toml of IEB_DATABASE",
                            code="NO_DATABASE",
                            location=str(parsed.database),
                        )
            self._engine = open_database(url)
        return self._engine

    @property
    def ledger(self) -> Ledger:
        """The ledger (:class:`ieb.ledger.store.Ledger`) on :attr:`engine`."""
        from ieb.ledger.store import Ledger

        return Ledger(self.engine)

    def outbox(self, **kwargs: Any) -> Outbox:
        """An :class:`ieb.transport.outbox.Outbox` on :attr:`engine` with :attr:`lease_seconds`."""
        from ieb.transport.outbox import Outbox

        kwargs.setdefault("lease_seconds", self.lease_seconds)
        return Outbox(self.engine, **kwargs)

    @property
    def lease_seconds(self) -> float:
        """Lease per claimed message: ``retry.lease_seconds`` or 1.5 x one attempt (at least 10 s)."""
        r = self.config.retry
        if r.lease_seconds is not None:
            return r.lease_seconds
        g = self.config.ggk
        return max(10.0, 1.5 * (g.connect_timeout + g.operation_timeout))

    @property
    def retry_policy(self) -> RetryPolicy:
        """The sender's :class:`ieb.transport.outbox.RetryPolicy` from ``[retry]``."""
        from ieb.transport.outbox import RetryPolicy

        r = self.config.retry
        return RetryPolicy(
            max_attempts=r.max_attempts,
            attempts_per_claim=r.attempts_per_claim,
            backoff_initial=r.backoff_initial,
            backoff_max=r.backoff_max,
            requeue_initial=r.requeue_initial,
            requeue_max=r.requeue_max,
        )

    def close(self) -> None:
        """Dispose of the database engine (it is opened again on next use)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Exchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _gemeenten(self) -> list[str]:
        return list(self.config.gemeenten)

    def _tls(self) -> Any:
        from ieb.transport.tls import TlsFiles

        o = self.config.organisatie
        cert, key, ca = self.config.resolve(o.cert), self.config.resolve(o.key), self.config.resolve(o.ca)
        missing = [
            n
            for n, v in (("organisatie.cert", cert), ("organisatie.key", key), ("organisatie.ca", ca))
            if not v
        ]
        if missing:
            raise ConfigurationError(f"ontbreekt in ieb.toml: {', '.join(missing)}", code="CONFIG")
        for name, p in (("organisatie.cert", cert), ("organisatie.key", key), ("organisatie.ca", ca)):
            assert p is not None
            if not p.is_file():
                raise ConfigurationError(f"{name}: bestand {p} bestaat niet", code="CONFIG", location=str(p))
        assert cert is not None and key is not None and ca is not None
        if o.oin:
            from ieb.transport.pki import load_certificates, oin_from_certificate

            try:
                found = oin_from_certificate(load_certificates(cert)[0])
            except (ValueError, IndexError) as exc:
                raise ConfigurationError(
                    f"organisatie.cert: {cert} is geen PEM-certificaat", code="CONFIG", location=str(cert)
                ) from exc
            if found != o.oin:
                raise ConfigurationError(
                    f"organisatie.oin {o.oin} past niet bij het certificaat {cert} (OIN {found or 'geen'})",
                    code="CONFIG",
                )
        return TlsFiles(cert=cert, key=key, ca=ca)

    def client(self) -> GgkClient:
        """The GGk client from the config (mutual TLS, limits, optional WUS signing)."""
        from ieb.transport.client import GgkClient, WusSigning

        g = self.config.ggk
        if not g.endpoint:
            raise ConfigurationError("ggk.endpoint ontbreekt in ieb.toml", code="CONFIG")
        tls = self._tls()
        signing = WusSigning.from_files(tls.key, tls.cert, tls.ca) if g.sign else None
        return GgkClient(
            g.endpoint,
            tls=tls,
            connect_timeout=g.connect_timeout,
            operation_timeout=g.operation_timeout,
            check_hostname=g.check_hostname,
            signing=signing,
            pool_maxsize=self.config.retry.workers,
            max_answer_bytes=g.max_answer_bytes,
        )

    # -- planning ---------------------------------------------------------------------------

    def _desired(
        self, desired: str | os.PathLike[str] | Iterable[Mapping[str, Any]], gemeente: str | None
    ) -> dict[str, dict[str, list[Period]]]:
        from ieb.ledger.planner import record_problems

        configured = self._gemeenten()
        if isinstance(desired, str | os.PathLike):
            records: list[Any] = read_desired_records(desired)
            source = str(desired)
        else:
            records = list(desired)
            source = "<records>"
        if self.desired_overlay is not None:
            records = list(self.desired_overlay(records))
        present: dict[str, int] = {}
        for n, rec in enumerate(records, start=1):
            g = _gemeente_of(rec)
            where = f"{source}:{getattr(rec, 'line', n)}"
            if not g:
                if gemeente is None and len(configured) != 1:
                    raise InputRowError(
                        "kolom 'gemeente' is verplicht: ieb.toml noemt "
                        + (f"{len(configured)} gemeenten" if configured else "geen gemeente")
                        + " (of geef --gemeente)",
                        location=where,
                    )
                continue
            if configured and g not in configured:
                raise InputRowError(
                    f"gemeente {g[:10]!r} staat niet in ieb.toml (gemeenten = {configured})",
                    location=where,
                )
            if gemeente is not None and g != gemeente:
                continue
            present[g] = present.get(g, 0) + 1
        default = gemeente or (configured[0] if len(configured) == 1 else None)
        if gemeente is not None and configured and gemeente not in configured:
            raise ConfigurationError(
                f"gemeente {gemeente} staat niet in ieb.toml ({configured})", code="CONFIG"
            )
        codes = sorted(set(present) | ({default} if default else set()))
        from ieb.tabular import RowIssue, TableError

        out: dict[str, dict[str, list[Period]]] = {g: {} for g in codes}
        problems: list[RowIssue] = []
        for n, rec in enumerate(records, start=1):
            line = int(getattr(rec, "line", n))
            own = _gemeente_of(rec)
            for g in [own] if own else ([default] if default else []):
                if g not in out:
                    continue
                bsn, period, issues = record_problems(rec, line=line, gemeente=g)
                if issues:
                    problems += issues  # every problem of the row, with its column and hint
                    break
                if bsn is not None:
                    out[g].setdefault(bsn, []).extend([period] if period is not None else [])
        if problems:
            raise TableError(source, problems)
        return out

    def _plan_all(
        self,
        ledger: Ledger,
        wanted: dict[str, dict[str, list[Period]]],
        today: dt.date,
        *,
        record: bool,
        partial: bool,
    ) -> dict[str, Plan]:
        from ieb.ledger.planner import plan

        plans: dict[str, Plan] = {}
        for g, desired in wanted.items():
            plans[g] = plan(ledger, g, desired, today=today, record=record, partial=partial)
        return plans

    def plan(
        self,
        desired: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
        *,
        gemeente: str | None = None,
        today: dt.date | None = None,
        partial: bool = False,
    ) -> Preview:
        """Plan the WMO401/WMO403 messages that bring the ledger to ``desired`` (a file or records),
        per gemeente, WITHOUT recording anything. Raises ``PlanningError`` / ``PreflightError``
        (nothing planned) unless ``partial``; ``InputRowError`` for a bad file."""
        day = today or dt.date.today()
        wanted = self._desired(desired, gemeente)
        plans = self._plan_all(self.ledger, wanted, day, record=False, partial=partial)
        preview = Preview(plans, wanted, day, partial)
        preview.retroactive = _retroactive(preview)
        return preview

    def queue(self, preview: Preview) -> Queued:
        """Record the previewed messages as pending deliveries AND put their envelopes in the outbox,
        in ONE transaction (a crash leaves either both or neither). The plan is made again inside
        the transaction; when the ledger changed since the preview an :class:`ExchangeError` is
        raised and nothing is stored."""
        return self._record(preview.desired, preview.today, preview.partial, expect=preview)

    def plan_and_queue(
        self,
        desired: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
        *,
        gemeente: str | None = None,
        today: dt.date | None = None,
        partial: bool = False,
    ) -> Queued:
        """:meth:`plan` and :meth:`queue` in one step and one transaction (planned once):
        what ``ieb plan FILE --queue`` does. ``Queued.preview`` holds the plan."""
        wanted = self._desired(desired, gemeente)
        return self._record(wanted, today or dt.date.today(), partial, expect=None)

    def _record(
        self,
        wanted: dict[str, dict[str, list[Period]]],
        day: dt.date,
        partial: bool,
        *,
        expect: Preview | None,
    ) -> Queued:
        from ieb.ledger.store import Ledger

        with self.engine.begin() as conn:
            ledger = Ledger(cast("Engine", _Savepoint(conn)))
            plans = self._plan_all(ledger, wanted, day, record=True, partial=partial)
            preview = Preview(plans, wanted, day, partial)
            preview.retroactive = _retroactive(preview)
            if expect is not None:
                before = [m.delivery.describe() for m in expect.messages]
                after = [m.delivery.describe() for m in preview.messages]
                if before != after:
                    conn.rollback()
                    raise ExchangeError(
                        "het grootboek is veranderd sinds de voorvertoning; plan opnieuw", code="STALE_PLAN"
                    )
            queued = Queued(preview=preview)
            outbox = self.outbox()
            for g, p in plans.items():
                rows = [self._row(g, m.bericht, m.xml, m.delivery.identificatie) for m in p.messages]
                outbox.enqueue_many(rows, conn=conn)  # multi-row inserts (issue 9), same transaction
                for m, row in zip(p.messages, rows, strict=True):
                    ref = str(row["referentienummer"])
                    queued.messages.append((g, m.delivery.identificatie, ref, m.delivery.describe()))
        return queued

    @staticmethod
    def _row(gemeente: str, bericht: str, xml: bytes, identificatie: str) -> dict[str, Any]:
        from ieb.ggk import build, new_di01

        di01 = new_di01(xml, bericht, gemeente)
        return {
            "envelope": build(di01),
            "referentienummer": di01.referentienummer,
            "afzender": gemeente,
            "functie": bericht,
            "payload": xml,
            "bericht_identificatie": identificatie,
        }

    def _enqueue(
        self, outbox: Outbox, conn: Connection, gemeente: str, bericht: str, xml: bytes, identificatie: str
    ) -> str:
        from ieb.ggk import build, new_di01

        di01 = new_di01(xml, bericht, gemeente)
        outbox.enqueue(
            build(di01),
            referentienummer=di01.referentienummer,
            afzender=gemeente,
            functie=bericht,
            payload=xml,
            bericht_identificatie=identificatie,
            conn=conn,
        )
        return di01.referentienummer

    def queue_files(self, paths: Sequence[str | os.PathLike[str]], *, today: dt.date | None = None) -> Queued:
        """Put existing WMO401/WMO403 files (``ieb build``, hand-made) in the ledger and the outbox,
        all or nothing: every file is validated (all levels) and checked against the history (the
        ledger plus the files before it); a file whose Afzender is not in ``gemeenten``, whose
        BerichtIdentificatie is already in the ledger, or that breaks a rule makes the whole call
        raise :class:`ExchangeError` listing every refused file with its rule codes."""
        from ieb.codec import from_xml
        from ieb.ledger.history import Delivery, check_history
        from ieb.ledger.schema import counters, eb_start_nummers
        from ieb.messages import Wmo401, Wmo403
        from ieb.types import mask_bsns
        from ieb.validation import validate_bytes

        day = today or dt.date.today()
        configured = self._gemeenten()
        problems: list[str] = []
        loaded: list[tuple[str, bytes, Delivery]] = []
        for p in paths:
            name = str(p)
            try:
                data = Path(p).read_bytes()
            except OSError as exc:
                problems.append(f"{name}: niet te lezen ({exc.strerror})")
                continue
            report = validate_bytes(data, today=day)
            if not report.valid:
                codes = ", ".join(sorted({f"{i.code}" for i in report.issues}))
                first = report.issues[0]
                problems.append(mask_bsns(f"{name}: afgekeurd [{codes}]: {first.message}"))
                continue
            try:
                message = from_xml(data, today=day)
            except IebError as exc:
                problems.append(mask_bsns(f"{name}: {exc}"))
                continue
            if not isinstance(message, Wmo401 | Wmo403):
                problems.append(f"{name}: een {message.bericht} is geen heenbericht (WMO401/WMO403)")
                continue
            d = Delivery.from_message(message)
            if configured and d.afzender not in configured:
                problems.append(
                    f"{name}: Afzender {d.afzender} staat niet in ieb.toml (gemeenten = {configured})"
                )
                continue
            loaded.append((name, data, d))
        with self.engine.begin() as conn:
            ledger = self.ledger
            histories: dict[str, Any] = {}
            seen: set[tuple[str, str, dt.date]] = set()
            for name, _data, d in loaded:
                key = (d.afzender, d.identificatie, d.dagtekening)
                if key in seen or ledger.find(conn, *key) is not None:
                    problems.append(
                        f"{name}: BerichtIdentificatie {d.identificatie}/{d.dagtekening} van {d.afzender} "
                        "staat al in het grootboek"
                    )
                    continue
                seen.add(key)
                if d.afzender not in histories:
                    histories[d.afzender] = ledger.full_history(conn, d.afzender)
                issues = check_history(d, histories[d.afzender])
                if issues:
                    codes = ", ".join(f"{i.code} ({i.retourcode})" for i in issues)
                    problems.append(mask_bsns(f"{name}: {d.describe()}: {codes}: {issues[0].message}"))
                    continue
                histories[d.afzender].add(d)
            if problems:
                conn.rollback()
                raise ExchangeError(
                    f"{len(problems)} bestand(en) geweigerd; er is niets in de wachtrij gezet",
                    problems,
                    code="QUEUE_REFUSED",
                )
            outbox = self.outbox()
            queued = Queued()
            for name, data, d in loaded:
                ledger.add(conn, d, outcome="pending", payload=data, source=name, detail="bestand")
                # keep the planner's sequences ahead of hand-made numbers
                if d.is_start and d.status == "1":
                    exists = conn.execute(
                        sa.select(eb_start_nummers.c.bsn).where(
                            eb_start_nummers.c.afzender == d.afzender,
                            eb_start_nummers.c.eb_start_nummer == d.eb_start_nummer,
                        )
                    ).first()
                    if exists is None:
                        conn.execute(
                            sa.insert(eb_start_nummers).values(
                                afzender=d.afzender, eb_start_nummer=d.eb_start_nummer, bsn=d.bsn
                            )
                        )
                    _bump(conn, counters, d.afzender, "eb_start_nummer", d.eb_start_nummer)
                if d.identificatie.isdigit():
                    _bump(conn, counters, d.afzender, "identificatie", int(d.identificatie))
                ref = self._enqueue(outbox, conn, d.afzender, d.bericht, data, d.identificatie)
                queued.messages.append((d.afzender, d.identificatie, ref, d.describe()))
        return queued

    # -- sending and serving ----------------------------------------------------------------

    def send(
        self,
        *,
        workers: int | None = None,
        timeout: float | None = None,
        on_result: ResultCallback | None = None,
        stop_on_permanent: bool = True,
        stop_when_unreachable: bool = False,
        on_retry: RetryCallback | None = None,
    ) -> DrainResult:
        """Send what the outbox holds until it is empty (``ieb send``). A permanent fault
        (certificate, hostname, HTTP 4xx, Fo03, WSDL) stops the run at once:
        ``result.permanent`` holds it with its ``hint``. With ``stop_when_unreachable``, a run in
        which every open message failed to reach the GGk (refused, timed out) and nothing was
        acknowledged stops after that round: ``result.unreachable`` holds the last error and the
        messages stay pending. ``on_retry(message, text)`` hears every transient failure within a
        claim. Ctrl-C releases the leases."""
        from ieb.transport.outbox import Sender

        client = self.client()
        try:
            sender = Sender(
                self.outbox(),
                client,
                policy=self.retry_policy,
                on_result=on_result,
                stop_on_permanent=stop_on_permanent,
                stop_when_unreachable=stop_when_unreachable,
                on_retry=on_retry,
            )
            return sender.drain(workers=workers or self.config.retry.workers, timeout=timeout)
        finally:
            client.close()

    def receiver(self) -> Receiver:
        """The receiver app (WSGI) of ``ieb serve``: stores and processes retouren (Du01) and Fo01."""
        from ieb.transport.server import Receiver

        configured = self._gemeenten()
        allowed = self.config.receiver.allowed_oins
        if not allowed:
            raise ConfigurationError(
                "receiver.allowed_oins is leeg: wie mag retouren afleveren?", code="CONFIG"
            )
        return Receiver(
            self.engine,
            organisatie=configured[0] if configured else "0000",
            allowed_oins=set(allowed),
            handler=self.handle_envelope,
        )

    def serve(self) -> Service:
        """Sender + receiver as one service (``ieb serve``); call ``.start()`` / ``.run()``."""
        from ieb.service import Service

        return Service(self)

    # -- retours ----------------------------------------------------------------------------

    def handle_envelope(self, envelope: Envelope, entry: InboxEntry) -> str | None:
        """Process what the receiver stored: a Du01's retour into the ledger, a Fo01 marks its
        heenbericht ``technical`` (the GGk refused the envelope). Raises on an unreadable retour
        (the receiver then stores the entry as ``failed`` with the reason)."""
        from ieb.ggk import Du01, Fo01
        from ieb.ledger.retour import process_retours

        if isinstance(envelope, Du01):
            (first,) = process_retours(self.ledger, [(f"Du01 {envelope.referentienummer}", envelope.payload)])
            if self.on_retour is not None and not first.duplicate:
                self.on_retour(first.outcome, first.codes)
            return "duplicate" if first.duplicate else first.outcome
        if isinstance(envelope, Fo01):
            self._fo01(envelope)
            if self.on_retour is not None:
                self.on_retour("technical", (envelope.body.code,))
            return f"Fo01 {envelope.body.code}"
        return None

    def _fo01(self, fo01: Any) -> None:
        from ieb.ledger.schema import deliveries, outbox

        cross = fo01.stuurgegevens.cross_refnummer
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(outbox.c.afzender, outbox.c.bericht_identificatie).where(
                    outbox.c.referentienummer == cross
                )
            ).first()
            if row is None or row.bericht_identificatie is None:
                raise ExchangeError(f"Fo01 op onbekend heenbericht {cross}", code="UNKNOWN_FO01")
            conn.execute(
                sa.update(deliveries)
                .where(
                    deliveries.c.afzender == row.afzender,
                    deliveries.c.identificatie == row.bericht_identificatie,
                    deliveries.c.outcome == "pending",
                )
                .values(
                    outcome="technical",
                    retour_codes=fo01.body.code,
                    detail=f"Fo01 {fo01.body.code}: {fo01.body.omschrijving}"[:500],
                    retour_at=dt.datetime.now(dt.UTC),
                )
            )

    def process_retour_files(
        self, paths: Sequence[str | os.PathLike[str]], *, today: dt.date | None = None
    ) -> tuple[list[RetourOutcome], list[tuple[str, str]]]:
        """Process retour files one by one (``ieb retour FILES``): a file that cannot be processed
        is stored in the inbox as ``failed`` with its reason and does not block the others.
        Returns (outcomes, [(file, reason)])."""
        from ieb.ledger.retour import process_retours

        done: list[RetourOutcome] = []
        failed: list[tuple[str, str]] = []
        for p in paths:
            name = str(p)
            try:
                data = Path(p).read_bytes()
            except OSError as exc:
                failed.append((name, f"niet te lezen ({exc.strerror})"))
                continue
            try:
                done.extend(process_retours(self.ledger, [(name, data)], today=today))
            except IebError as exc:
                reason = str(exc)
                self._store_failed_file(name, data, reason)
                failed.append((name, reason))
        return done, failed

    def _store_failed_file(self, name: str, data: bytes, reason: str) -> None:
        import hashlib

        from ieb.ledger.schema import inbox
        from ieb.types import mask_bsns

        ref = "bestand-" + hashlib.sha256(data).hexdigest()[:28]
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(inbox.c.id).where(inbox.c.referentienummer == ref)).first()
            values = {"status": "failed", "error": mask_bsns(reason)[:2000], "processed_at": now}
            if exists is None:
                conn.execute(
                    sa.insert(inbox).values(
                        referentienummer=ref,
                        berichtcode="bestand",
                        functie="retour",
                        zender=Path(name).name[:32],
                        envelope=data,
                        received_at=now,
                        **values,
                    )
                )
            else:
                conn.execute(sa.update(inbox).where(inbox.c.id == exists.id).values(**values))

    def retry_failed_retours(self, *, today: dt.date | None = None) -> list[tuple[str, str, str | None]]:
        """Re-apply every ``failed`` inbox entry (Du01, Fo01 or a retour file): returns
        (referentienummer, new status, reason when it failed again)."""
        from ieb.ggk.soap import unwrap_soap
        from ieb.ledger.retour import process_retours
        from ieb.ledger.schema import inbox
        from ieb.transport.server import InboxEntry
        from ieb.types import mask_bsns

        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(inbox).where(inbox.c.status == "failed").order_by(inbox.c.id)).all()
        out: list[tuple[str, str, str | None]] = []
        for row in rows:
            error: str | None = None
            try:
                if row.berichtcode == "bestand":
                    process_retours(
                        self.ledger, [(row.zender or row.referentienummer, bytes(row.envelope))], today=today
                    )
                else:
                    envelope = unwrap_soap(bytes(row.envelope))
                    entry = InboxEntry(
                        int(row.id),
                        row.referentienummer,
                        row.cross_ref_nummer,
                        row.berichtcode,
                        row.functie,
                        row.peer_oin,
                    )
                    self.handle_envelope(envelope, entry)
            except IebError as exc:
                error = mask_bsns(str(exc))[:2000]
            status = "failed" if error else "processed"
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(inbox)
                    .where(inbox.c.id == row.id)
                    .values(status=status, error=error, processed_at=dt.datetime.now(dt.UTC))
                )
            out.append((row.referentienummer, status, error))
        return out

    def requeue(
        self, referentienummers: Sequence[str] = (), *, dead: bool = False, failed: bool = False
    ) -> list[str]:
        """Put dead / failed outbox rows back to pending (after the cause is fixed); their
        deliveries that a Fo01 marked ``technical`` become ``pending`` again."""
        from ieb.ledger.schema import deliveries, outbox

        if not referentienummers and not dead and not failed:
            raise ExchangeError("noem referentienummers, of --dead en/of --failed", code="REQUEUE")
        with self.engine.begin() as conn:
            refs = self.outbox().requeue(referentienummers, dead=dead, failed=failed, conn=conn)
            if refs:
                rows = conn.execute(
                    sa.select(outbox.c.afzender, outbox.c.bericht_identificatie).where(
                        outbox.c.referentienummer.in_(refs)
                    )
                ).all()
                for r in rows:
                    conn.execute(
                        sa.update(deliveries)
                        .where(
                            deliveries.c.afzender == r.afzender,
                            deliveries.c.identificatie == r.bericht_identificatie,
                            deliveries.c.outcome == "technical",
                            deliveries.c.retour_payload.is_(None),
                        )
                        .values(outcome="pending", retour_codes=None, detail="opnieuw in de wachtrij")
                    )
        return refs

    # -- status -----------------------------------------------------------------------------

    def status(
        self, *, gemeente: str | None = None, today: dt.date | None = None, detail: bool = False
    ) -> Status:
        """The state of the exchange (see :class:`Status`); ``gemeente`` limits it to one."""
        from ieb.ledger.schema import deliveries as d_t
        from ieb.ledger.schema import inbox as i_t
        from ieb.ledger.schema import outbox as o_t
        from ieb.types import RetourCode, mask_bsn

        day = today or dt.date.today()
        now = dt.datetime.now(dt.UTC)
        with self.engine.connect() as conn:
            dq = sa.select(
                d_t.c.afzender,
                d_t.c.identificatie,
                d_t.c.dagtekening,
                d_t.c.bericht,
                d_t.c.bsn,
                d_t.c.eb_start_nummer,
                d_t.c.status,
                d_t.c.datum,
                d_t.c.outcome,
                d_t.c.retour_codes,
                d_t.c.created_at,
            )
            oq = sa.select(
                o_t.c.referentienummer,
                o_t.c.afzender,
                o_t.c.bericht_identificatie,
                o_t.c.status,
                o_t.c.created_at,
                o_t.c.acknowledged_at,
                o_t.c.last_error,
                o_t.c.attempts,
                o_t.c.functie,
                o_t.c.next_attempt_at,
            )
            if gemeente is not None:
                dq = dq.where(d_t.c.afzender == gemeente)
                oq = oq.where(o_t.c.afzender == gemeente)
            drows = conn.execute(dq.order_by(d_t.c.id)).all()  # no payloads: status stays cheap
            orows = conn.execute(oq).all()
            irows = conn.execute(
                sa.select(
                    i_t.c.referentienummer,
                    i_t.c.cross_ref_nummer,
                    i_t.c.berichtcode,
                    i_t.c.error,
                    i_t.c.received_at,
                ).where(i_t.c.status == "failed")
            ).all()
            known = sorted(set(conn.execute(sa.select(d_t.c.afzender).distinct()).scalars()))
        gemeenten = [gemeente] if gemeente else sorted(set(self._gemeenten()) | set(known))
        by_key = {(o.afzender, o.bericht_identificatie): o for o in orows}
        refs = {o.referentienummer for o in orows}
        deliveries = dict.fromkeys(("pending", "accepted", "rejected", "technical", "not_assessed"), 0)
        codes: dict[str, int] = {}
        detail_rows: list[dict[str, Any]] = []
        overdue_list: list[dict[str, Any]] = []
        for r in drows:
            deliveries[r.outcome] = deliveries.get(r.outcome, 0) + 1
            for c in (r.retour_codes or "").split():
                codes[c] = codes.get(c, 0) + 1
            o = by_key.get((r.afzender, r.identificatie))
            late = _lateness(r, o, day, now)
            if late is not None:
                overdue_list.append(late)
            if detail:
                detail_rows.append(
                    {
                        "gemeente": r.afzender,
                        "bericht": r.bericht,
                        "identificatie": r.identificatie,
                        "dagtekening": r.dagtekening.isoformat(),
                        "bsn": mask_bsn(r.bsn),
                        "eb_start_nummer": r.eb_start_nummer,
                        "status": r.status,
                        "datum": r.datum.isoformat(),
                        "outcome": r.outcome,
                        "retour_codes": (r.retour_codes or "").split(),
                        "outbox": o.status if o is not None else None,
                        "referentienummer": o.referentienummer if o is not None else None,
                    }
                )
        outbox_counts = dict.fromkeys(("pending", "sending", "acknowledged", "failed", "dead"), 0)
        oldest: dt.datetime | None = None
        dead: list[dict[str, Any]] = []
        retrying: list[dict[str, Any]] = []
        for o in orows:
            if o.status in ("pending", "sending") and (o.attempts or 0) > 0:
                due = _aware(o.next_attempt_at)
                retrying.append(
                    {
                        "referentienummer": o.referentienummer,
                        "gemeente": o.afzender,
                        "identificatie": o.bericht_identificatie,
                        "status": o.status,
                        "attempts": o.attempts,
                        "reason": _mask(o.last_error),
                        "next_attempt_at": due.isoformat(timespec="seconds") if due else None,
                        "next_attempt_in_seconds": max(0, round((due - now).total_seconds()))
                        if due
                        else None,
                    }
                )
            outbox_counts[o.status] = outbox_counts.get(o.status, 0) + 1
            created = _aware(o.created_at)
            if (
                o.status in ("pending", "sending")
                and created is not None
                and (oldest is None or created < oldest)
            ):
                oldest = created
            if o.status in ("dead", "failed"):
                dead.append(
                    {
                        "referentienummer": o.referentienummer,
                        "gemeente": o.afzender,
                        "identificatie": o.bericht_identificatie,
                        "status": o.status,
                        "attempts": o.attempts,
                        "reason": _mask(o.last_error),
                    }
                )
        failed_inbox = [
            {
                "referentienummer": i.referentienummer,
                "cross_ref_nummer": i.cross_ref_nummer,
                "berichtcode": i.berichtcode,
                "reason": _mask(i.error),
                "received_at": str(i.received_at) if i.received_at else None,
            }
            for i in irows
            if gemeente is None or i.cross_ref_nummer in refs or i.berichtcode == "bestand"
        ]

        def text(code: str) -> str:
            try:
                return RetourCode(code).omschrijving
            except ValueError:
                from ieb.ggk.codes import FoutCode

                try:
                    return FoutCode(code).omschrijving
                except ValueError:
                    return ""

        return Status(
            gemeenten=gemeenten,
            deliveries=deliveries,
            retourcodes=dict(sorted(codes.items())),
            outbox=outbox_counts,
            inbox_failed=len(failed_inbox),
            overdue=len(overdue_list),
            oldest_open_seconds=round((now - oldest).total_seconds(), 1) if oldest else None,
            retourcode_text={c: text(c) for c in sorted(codes)},
            dead_letters=dead,
            failed_inbox=failed_inbox,
            overdue_list=overdue_list,
            detail=detail_rows,
            retrying=retrying,
        )

    def report(
        self, out: str | os.PathLike[str], *, gemeente: str | None = None, today: dt.date | None = None
    ) -> Path:
        """Write the self-contained HTML report (``ieb report``); returns its path."""
        from ieb.report import write_report

        return write_report(self, Path(out), gemeente=gemeente, today=today)


# ------------------------------------------------------------------------------ helpers


def _gemeente_of(rec: Any) -> str:
    from ieb.tabular import restore_zeros

    value = rec.get("gemeente") if isinstance(rec, Mapping) else getattr(rec, "gemeente", None)
    return restore_zeros(value or "", 4)  # Excel's 363 is gemeente 0363


def _bump(conn: Connection, counters: sa.Table, scope: str, kind: str, value: int) -> None:
    updated = conn.execute(
        sa.update(counters)
        .where(counters.c.scope == scope, counters.c.kind == kind, counters.c.last_value < value)
        .values(last_value=value)
    ).rowcount
    if updated == 0:
        exists = conn.execute(
            sa.select(counters.c.last_value).where(counters.c.scope == scope, counters.c.kind == kind)
        ).first()
        if exists is None:
            conn.execute(sa.insert(counters).values(scope=scope, kind=kind, last_value=value))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _mask(text: str | None) -> str | None:
    from ieb.types import mask_bsns

    return mask_bsns(text) if text else text


def deadline_of(start: dt.date) -> dt.date:
    """The last day a start with EbStartdatum ``start`` reaches the CAK in time (one month)."""
    from ieb.validation.rules import add_months

    return add_months(start, DEADLINE_MONTHS)


def _lateness(r: Any, o: Any, day: dt.date, now: dt.datetime) -> dict[str, Any] | None:
    """The overdue entry of a start delivery (WMO401 status 1), or None when it is in time."""
    from ieb.types import mask_bsn

    if r.bericht != "WMO401" or r.status != "1":
        return None
    limit = deadline_of(r.datum)
    queued = _aware(r.created_at)
    sent = _aware(o.acknowledged_at) if o is not None else None
    base = {
        "gemeente": r.afzender,
        "identificatie": r.identificatie,
        "bsn": mask_bsn(r.bsn),
        "eb_startdatum": r.datum.isoformat(),
        "deadline": limit.isoformat(),
    }
    if sent is not None:
        if sent.date() > limit:
            return base | {"kind": "sent_late", "when": sent.date().isoformat()}
        return None
    if queued is not None and queued.date() > limit:
        return base | {"kind": "queued_late", "when": queued.date().isoformat()}
    if day > limit and r.outcome == "pending":
        return base | {"kind": "unsent", "when": None}
    return None


def _retroactive(preview: Preview) -> list[str]:
    out = []
    for m in preview.messages:
        d = m.delivery
        if d.bericht == "WMO401" and d.status == "1" and d.dagtekening > deadline_of(d.datum):
            out.append(f"{d.describe()}: EbStartdatum {d.datum} ligt meer dan een maand voor {d.dagtekening}")
    return out
